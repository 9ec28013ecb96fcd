#!/usr/bin/env python3
"""The chaos suite's webhook receiver: answers 500 to a share of requests, stalls another share
past the dispatcher's request timeout, and 200 to the rest; every request is appended to a
JSON-lines log the checks read. A separate process so it can live on the database "host"
(network namespace) that every worker reaches.

Faults are drawn from a seeded generator, but a key that already got `max_faults` bad answers
is always answered 200: the dispatcher gives a delivery 5 attempts, and an unbounded draw would
make "every delivery received" a matter of luck rather than of the engine.
"""
import argparse
import json
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--log", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.20)
    parser.add_argument("--stall-rate", type=float, default=0.05)
    parser.add_argument("--stall-seconds", type=float, default=20.0)
    parser.add_argument("--max-faults", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    lock = threading.Lock()
    faults_by_key = {}
    log = open(args.log, "a", buffering=1)

    def record(entry):
        with lock:
            log.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            key = self.headers.get("Idempotency-Key")
            try:
                notification = json.loads(body).get("id")
            except Exception:
                notification = None
            with lock:
                draw = rng.random()
                faults = faults_by_key.get(key, 0)
                if faults >= args.max_faults:
                    answer = 200
                elif draw < args.stall_rate:
                    answer = "stall"
                elif draw < args.stall_rate + args.error_rate:
                    answer = 500
                else:
                    answer = 200
                if answer != 200:
                    faults_by_key[key] = faults + 1
            record({"at": time.time(), "key": key, "notification": notification, "answer": answer})
            if answer == "stall":
                # Longer than the dispatcher's request timeout: it gives up, and retries later.
                time.sleep(args.stall_seconds)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            payload = b"{}"
            self.send_response(answer)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"receiver listening on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
