#!/usr/bin/env python3
"""A webhook receiver that checks every request with PyPI's `standardwebhooks`, the Standard
Webhooks reference library: an implementation of the signature scheme independent of
Nightshift's own signer. The Swift tests (Tests/NotificationsTests/VerifyingReceiver.swift)
start one per test from the venv that `make webhook-verifier` builds.

  POST any path   204 when the signature verifies (503 to the first --fail-first verified
                  requests, to make the dispatcher retry); 401 {"error": ...} when it does not
  GET /received   every POST so far, as JSON: [{path, headers, body, verified, error}],
                  header names lower-case

It listens on 127.0.0.1 on a free port, writes the port to --port-file once listening, and
exits when its standard input closes, so it never outlives the test process that started it.
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True, help="whsec_... as the channel is configured")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()

    webhook = Webhook(args.secret)
    lock = threading.Lock()
    received = []
    verified_count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def answer(self, status, payload=None):
            body = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            # The raw bytes, never re-serialised JSON: the signature covers the body as sent.
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                webhook.verify(body, headers, json_parse=False)
                verified, error = True, None
            except WebhookVerificationError as e:
                verified, error = False, str(e)
            with lock:
                received.append({
                    "path": self.path, "headers": headers, "body": body.decode("utf-8", "replace"),
                    "verified": verified, "error": error,
                })
                if verified:
                    verified_count[0] += 1
                failing = verified and verified_count[0] <= args.fail_first
            if not verified:
                self.answer(401, {"error": error})
            elif failing:
                self.answer(503, {"error": "failing on purpose (--fail-first)"})
            else:
                self.answer(204)

        def do_GET(self):
            if self.path != "/received":
                return self.answer(404, {"error": "only GET /received"})
            with lock:
                snapshot = list(received)
            self.answer(200, snapshot)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # Written whole, then renamed: the test polls for the file and must never read half a port.
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(temporary, args.port_file)

    def exit_when_stdin_closes():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
