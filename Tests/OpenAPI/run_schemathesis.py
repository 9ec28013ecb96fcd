#!/usr/bin/env python3
"""The OpenAPI check (`make openapi-check`; issue 14 §2).

Starts the real server the way the fuzzer does (Tests/Fuzz/fuzz.py's Harness: a throwaway
database of the running cluster, migrated with `nightshift migrate`, functions registered,
seeded; `nightshift serve --no-worker` on a free loopback port as nightshift_app, the write
rate limit off), then:

  1. fetches GET /api/v1/openapi.json without a token and validates it with PyPI's
     openapi-spec-validator as OpenAPI 3.1;
  2. sends one request per operation on what the seed made (a real run, dossier, portfolio,
     notification) and checks each answer's status, media type and body against the document
     (jsonschema, draft 2020-12): the 2xx bodies random ids rarely reach;
  3. runs PyPI's schemathesis against it with the service-role key (Authorization: Bearer),
     then with a signed-in user's token and a super admin's (the admin route), seeded and
     bounded (--examples per operation, --time-limit for all passes), with the
     checks not_a_server_error, status_code_conformance, content_type_conformance and
     response_schema_conformance: no 5xx, no status or media type the document does not
     list, no body that breaks its schema.

Prints a summary (operations, cases, failures, time, the server's logged errors) and exits 1
on any failure, 2 on a setup error. The database, the server and the copy of the binary are
removed afterwards. Reports and the server log stay in .nightshift/openapi/.
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Fuzz"))
sys.dont_write_bytecode = True  # no __pycache__ beside fuzz.py from this import
import fuzz  # noqa: E402  (the harness: database, seed, server)

OUT = os.path.join(ROOT, ".nightshift", "openapi")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def log(message):
    print(f"[openapi {datetime.now(timezone.utc).strftime('%H:%M:%S')}] {message}", flush=True)


def fetch_document(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/v1/openapi.json")
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise fuzz.SetupError(f"GET /api/v1/openapi.json answered {response.status} without a token: {body[:300]!r}")
    if not (response.getheader("Content-Type") or "").startswith("application/json"):
        raise fuzz.SetupError(f"GET /api/v1/openapi.json is {response.getheader('Content-Type')}, not application/json")
    return body


def validate_document(body):
    """openapi-spec-validator's OpenAPI 3.1 validator; returns the problems (empty: valid)."""
    from openapi_spec_validator import OpenAPIV31SpecValidator
    spec = json.loads(body)
    if not str(spec.get("openapi", "")).startswith("3.1."):
        return [f"openapi is {spec.get('openapi')!r}, not 3.1.x"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in OpenAPIV31SpecValidator(spec).iter_errors()]


def inline_refs(node, spec):
    """The schema with every local $ref replaced by what it points to (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/"):
            target = spec
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return inline_refs({**target, **rest}, spec)
        return {k: inline_refs(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(v, spec) for v in node]
    return node


def known_requests(known):
    """Requests on what the seed made, each with the status it must get: the 2xx answers that
    schemathesis' random ids rarely reach (a real run, a real dossier, a real portfolio)."""
    dossier, other = known.dossiers[0], known.dossiers[1]
    rules = [{"metric": "dividend_yield", "operator": ">=", "threshold": 4, "points": 10},
             {"metric": "pe_ratio", "operator": "between", "threshold": [5, 15], "points": 5.5}]
    return [
        ("GET", "/health", "/health", None, None, 200),
        ("GET", "/api/v1/runs/{id}", f"/api/v1/runs/{known.runs[0]}", "service", None, 200),
        ("GET", "/api/v1/functions", "/api/v1/functions", "service", None, 200),
        # The stream, ended by its own timeout after one second (": connected", maybe a ping).
        ("GET", "/api/v1/stream", "/api/v1/stream?timeout=1", "service", None, 200),
        ("POST", "/api/v1/functions/{function_id}/runs", "/api/v1/functions/nightshift/noop/runs", "service",
         {"payload": {"check": "openapi"}, "idempotency_key": "openapi-check"}, 202),
        ("POST", "/api/v1/events", "/api/v1/events", "service", {"name": "openapi.check", "data": {"n": 1}}, 202),
        ("GET", "/api/dashboard", "/api/dashboard", "user_a", None, 200),
        ("GET", "/api/v1/audit/assets/{assetId}/calculations",
         f"/api/v1/audit/assets/{known.assets[0]}/calculations?limit=5", "user_a", None, 200),
        ("POST", "/api/v1/criteria", "/api/v1/criteria", "user_a", {"criteria": rules}, 201),
        ("POST", "/api/v1/admin/coverage/recompute", "/api/v1/admin/coverage/recompute", "super_admin",
         {"institution_id": known.institutions[0]}, 202),
        ("POST", "/functions/v1/hello", "/functions/v1/hello", "anon", {"name": "Ada"}, 200),
        ("POST", "/functions/v1/dossier-stats", "/functions/v1/dossier-stats", "user_a", {"dossierId": dossier}, 200),
        ("POST", "/functions/v1/dossier-stats", "/functions/v1/dossier-stats", "user_a",
         {"dossierIds": [dossier, other, "00000000-0000-4000-8000-000000000000"]}, 200),
        ("POST", "/functions/v1/calculate-health-score", "/functions/v1/calculate-health-score", "user_a",
         {"dossierId": dossier, "forceRecalculation": True}, 200),
        ("POST", "/functions/v1/detect-overdue-commitments", "/functions/v1/detect-overdue-commitments", "service", {"dryRun": True}, 200),
        ("POST", "/functions/v1/refresh-commitment-stats", "/functions/v1/refresh-commitment-stats", "service", {}, 200),
        ("POST", "/functions/v1/trigger-health-recalculation", "/functions/v1/trigger-health-recalculation", "service",
         {"dossierIds": [dossier]}, 200),
        ("POST", "/functions/v1/notifications", "/functions/v1/notifications", "user_a", {"limit": 10}, 200),
        ("POST", "/functions/v1/mark-notification-read", "/functions/v1/mark-notification-read", "user_a",
         {"notificationId": known.notifications[0]}, 200),
    ]


def check_known(port, spec, tokens, known):
    """Sends known_requests; returns (count, problems): a wrong status, a media type or a body the
    document does not allow for that status."""
    from jsonschema import Draft202012Validator
    problems = []
    requests = known_requests(known)
    for method, template, path, kind, body, expected in requests:
        headers = {"Content-Type": "application/json"}
        if kind:
            headers["Authorization"] = f"Bearer {tokens[kind]}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        where = f"{method} {path} as {kind or 'no token'}"
        if response.status != expected:
            problems.append(f"{where}: {response.status}, expected {expected}: {raw[:300]!r}")
            continue
        answer = spec["paths"][template][method.lower()]["responses"].get(str(response.status))
        if answer is None:
            problems.append(f"{where}: status {response.status} is not documented")
            continue
        answer = inline_refs(answer, spec)
        media = (response.getheader("Content-Type") or "").split(";")[0].strip()
        if media not in answer["content"]:
            problems.append(f"{where}: {media} is not documented ({', '.join(answer['content'])})")
            continue
        # A JSON body is checked as JSON; a text one (an event stream) as a string.
        instance = json.loads(raw) if media.endswith("json") else raw.decode("utf-8")
        errors = sorted(Draft202012Validator(answer["content"][media]["schema"]).iter_errors(instance), key=str)
        for error in errors[:3]:
            problems.append(f"{where}: {'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message[:200]}")
    return len(requests), problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.environ.get("NIGHTSHIFT_BIN", ".build/debug/nightshift"))
    parser.add_argument("--seed", type=int, default=14, help="schemathesis' seed (default 14: CI runs the same cases)")
    parser.add_argument("--examples", type=int, default=100, help="cases per operation and phase (default 100)")
    parser.add_argument("--time-limit", type=float, default=170, help="seconds schemathesis may take in all (default 170)")
    parser.add_argument("--database", default=None, help="the throwaway database's name (default openapi_<pid>)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    # What fuzz's Harness reads of its arguments.
    harness_args = argparse.Namespace(bin=args.bin, keep=args.keep, keep_rate_limit=False, timeout=10.0)

    os.makedirs(OUT, exist_ok=True)
    started = time.monotonic()
    harness = None
    try:
        harness = fuzz.Harness(harness_args)
        name = args.database or f"openapi_{os.getpid()}"
        login = harness.owner_user + (":" + fuzz.urlsplit(harness.owner_base).password if fuzz.urlsplit(harness.owner_base).password else "")
        harness.db = name
        harness.owner_url = fuzz.with_database(harness.owner_base, login, name)
        harness.app_url = fuzz.with_database(harness.owner_base, "nightshift_app", name)
        harness.log_path = os.path.join(OUT, "serve.log")
        open(harness.log_path, "w").close()
        harness.copy_binary()
        log(f"database {name}: migrate, register functions, seed")
        harness.create_database()
        harness.seed()
        harness.start_server()
        base = f"http://127.0.0.1:{harness.port}"
        log(f"serve --no-worker on {base} as nightshift_app; log {os.path.relpath(harness.log_path, ROOT)}")
        tokens = fuzz.mint_tokens(harness.config["auth"], harness.config["project_id"], harness.known.users)
        fuzz.prime(harness, tokens)

        body = fetch_document(harness.port)
        spec = json.loads(body)
        with open(os.path.join(OUT, "openapi.json"), "wb") as f:
            f.write(body)
        operations = sum(1 for item in spec["paths"].values() for m in item if m in ("get", "post", "put", "patch", "delete"))
        problems = validate_document(body)
        if problems:
            log("openapi-spec-validator (3.1): INVALID\n  " + "\n  ".join(problems[:20]))
            return 1
        log(f"openapi-spec-validator (3.1): valid; {len(spec['paths'])} paths, {operations} operations")

        count, problems = check_known(harness.port, spec, tokens, harness.known)
        if problems:
            log(f"known resources: {len(problems)} of {count} answers break the document:\n  " + "\n  ".join(problems))
            return 1
        log(f"known resources: {count} requests on seeded rows (a real run, dossier, portfolio...) answer as documented")

        # A stream (text/event-stream) never ends: schemathesis would wait out each case.
        streams = sorted({path for path, item in spec["paths"].items() for op in item.values() if isinstance(op, dict)
                          for answer in op.get("responses", {}).values() if "text/event-stream" in answer.get("content", {})})
        skip = [arg for path in streams for arg in ("--exclude-path", path)]
        if streams:
            log(f"not fuzzed (event streams): {', '.join(streams)}")

        # The service-role key over every operation, then a signed-in user's token (the user-only
        # routes get past their 403 to their handlers) and a super admin's over the admin route.
        passes = [("service_role", "service", []), ("authenticated", "user_a", []),
                  ("super_admin", "super_admin", ["--include-tag", "coverage"])]
        deadline = time.monotonic() + args.time_limit
        totals = {"cases": 0, "failures": 0}
        failed = []
        for label, kind, extra in passes:
            remaining = deadline - time.monotonic()
            if remaining < 5:
                log(f"schemathesis as {label}: no time left of --time-limit {args.time_limit:.0f} s")
                failed.append(label)
                break
            command = [
                os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run", f"{base}/api/v1/openapi.json",
                "--url", base,
                "--header", f"Authorization: Bearer {tokens[kind]}",
                "--checks", CHECKS,
                "--phases", "examples,coverage,fuzzing",
                "--max-examples", str(args.examples),
                "--seed", str(args.seed),
                "--workers", "1",
                "--generation-with-security-parameters", "false",
                "--request-timeout", "10",
                "--suppress-health-check", "all",
                "--generation-database", "none",
                "--no-color",
                "--report", "junit", "--report-junit-path", os.path.join(OUT, f"junit-{label}.xml"),
                *extra, *skip,
            ]
            log(f"schemathesis as {label}: seed {args.seed}, {args.examples} examples per operation, checks {CHECKS}")
            ran = time.monotonic()
            try:
                result = subprocess.run(command, cwd=OUT, capture_output=True, text=True, timeout=remaining)
                output, code = result.stdout + result.stderr, result.returncode
            except subprocess.TimeoutExpired as expired:
                output = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
                output += f"\nschemathesis did not finish within --time-limit {args.time_limit:.0f} s"
                code = 124
            took = time.monotonic() - ran
            with open(os.path.join(OUT, f"schemathesis-{label}.txt"), "w", encoding="utf-8") as f:
                f.write(output)
            # A failure's curl line can carry a megabyte body: each line is cut for the console (the
            # whole output is in .nightshift/openapi/schemathesis-<caller>.txt).
            shown = output
            for token in tokens.values():
                shown = shown.replace(token, "<token>")
            print("\n".join(line if len(line) <= 400 else line[:400] + f" ... ({len(line)} characters)"
                            for line in shown.splitlines()), flush=True)
            cases = re.search(r"Test cases:\s*(\d+) generated(.*)", output)
            if cases:
                totals["cases"] += int(cases.group(1))
                found = re.search(r"(\d+) unique failure", cases.group(2))
                totals["failures"] += int(found.group(1)) if found else 0
            log(f"as {label}: {' '.join(cases.group(0).split()) if cases else 'no test-case line'}; exit {code} in {took:.0f} s")
            if code != 0:
                failed.append(label)

        causes = harness.causes_since(0)
        log(f"summary: {operations} operations; {totals['cases']} cases in {len(passes)} passes; "
            f"{totals['failures']} unique failures; server errors logged: {len(causes)}; total {time.monotonic() - started:.0f} s")
        for cause in sorted(set(causes))[:10]:
            log(f"  server: {cause}")
        if failed or causes:
            log(f"FAILED ({', '.join(failed) or 'server errors'}): see above; reports in .nightshift/openapi/")
            return 1
        log("passed: the document is valid OpenAPI 3.1 and the live server keeps to it")
        return 0
    except fuzz.SetupError as error:
        log(f"setup error: {error}")
        return 2
    except KeyboardInterrupt as error:
        log(f"interrupted ({error})")
        return 130
    finally:
        if harness is not None:
            fuzz.cleanup(harness, harness_args)


if __name__ == "__main__":
    sys.exit(main())
