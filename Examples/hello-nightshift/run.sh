#!/usr/bin/env bash
# `make example`: build hello-nightshift (its own package, depending on this one by path), then
# run it as its README says against the embedded PostgreSQL: migrate (the engine, then the
# pack's own migration), serve, greet through the edge function, run the cron function and see
# the event function it woke complete. Uses its own database (hello_nightshift) and API port.
#   DATABASE_URL  a superuser URL of the embedded cluster (the Makefile passes it)
set -euo pipefail
cd "$(dirname "$0")"

server=${DATABASE_URL:?DATABASE_URL must name the embedded cluster (make example sets it)}
server=${server%/*}
db=hello_nightshift

echo "example: building (first time: several minutes; log in .build/example-build.log)"
mkdir -p .build
if ! swift build ${SWIFT_FLAGS:-} >.build/example-build.log 2>&1; then
  grep -E 'error:' .build/example-build.log | head -20 >&2 || true
  tail -n 20 .build/example-build.log >&2
  echo "example: build failed" >&2
  exit 1
fi
bin=$(swift build ${SWIFT_FLAGS:-} --show-bin-path)/HelloNightshift

# The database is named here, not by config.toml's URLs alone: the server and the workers log in
# as nightshift_app, migrations as the cluster's superuser, both to $db.
host_port=${server#*://}; host_port=${host_port#*@}
export NIGHTSHIFT_CONFIG=$PWD/config.toml NIGHTSHIFT_LOG_LEVEL=warning
export DATABASE_URL="postgresql://nightshift_app@$host_port/$db" DATABASE_OWNER_URL="$server/$db"
api_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export NIGHTSHIFT_API_PORT=$api_port
psql "$server/postgres" -Xq -v ON_ERROR_STOP=1 -c "drop database if exists $db with (force)" -c "create database $db"

serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  psql "$server/postgres" -Xq -c "drop database if exists $db with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "example: $bin migrate"
"$bin" migrate
"$bin" migrate --list --output json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
hello = [r for r in rows if r["component"] == "hello"]
assert hello and all(r["state"] == "applied" for r in rows), rows
names = [r["name"] for r in hello]
print(f"example: {len(rows)} migrations applied, the pack'"'"'s own: {names}")'

"$bin" serve >.build/example-serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$api_port/health" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { cat .build/example-serve.log >&2; echo "example: serve exited" >&2; exit 1; }
  sleep 0.2
done

key=$(sed -nE 's/^service_role_key = "(.*)"/\1/p' config.toml)
answer=$(curl -fsS -X POST "http://127.0.0.1:$api_port/functions/v1/greet" \
  -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"name": "Ada"}')
echo "example: POST /functions/v1/greet -> $answer"
grep -q '"greeted":"Ada"' <<<"$answer"

echo "example: $bin run hello/count-greetings --wait"
"$bin" run hello/count-greetings --wait

# The event function is the server's worker's to run: wait for it.
for _ in $(seq 1 100); do
  done_runs=$("$bin" runs --function hello/log-count --status completed --output json)
  [ "$done_runs" != "[]" ] && break
  sleep 0.2
done
"$bin" runs --function hello/log-count --status completed --output json | python3 -c '
import json, sys
runs = json.load(sys.stdin)
assert runs, "hello/log-count never completed"
print(f"example: hello/log-count completed {len(runs)} time(s), woken by the event hello.counted")'
counted=$(psql "$server/$db" -XAtc "select max((output ->> 'count')::int) from nightshift.runs where function_id = 'hello/log-count' and status = 'completed'")
echo "example: the event function's payload said $counted greeting(s)"
[ "$counted" -ge 1 ]
"$bin" runs --limit 5
echo "example: ok"
