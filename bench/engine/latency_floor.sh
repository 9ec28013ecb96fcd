#!/usr/bin/env bash
# What any pickup costs on this machine before a queue adds anything: one client paced at 50/s
# (as the latency workloads are) doing (a) a durable INSERT of one small row (its commit waits
# for the WAL flush, as a trigger's does) and (b) `select 1` (a bare round trip to an idle
# backend). A pickup needs at least (a), a NOTIFY and (b). Then (c) the whole of that, with
# nothing else: bench/engine/pickup_floor.c, a durable INSERT that NOTIFYs and a listener thread
# that answers with a one-row claim, in C on libpq (its pickup p99 is the least any LISTEN/NOTIFY
# queue's can be here). Appends one JSON line per figure to $BENCH_RESULTS in the peers' format
# (workload "latency floor"; library "pgbench" for (a) and (b), "libpq" for (c)).
#   bash bench/engine/latency_floor.sh <server-url> <run>
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"
server=$1 run=$2
seconds=${FLOOR_SECONDS:-10}
db=bench_latency_floor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql -qX "$server/postgres" -c "drop database if exists $db with (force)" -c "create database $db"
psql -qX "$server/$db" -c "create table jobs (id bigserial primary key, payload jsonb not null)"
echo "insert into jobs (payload) values ('{\"i\": 1}');" >"$work/insert.sql"
echo "select 1;" >"$work/select.sql"
version=$(pgbench --version | awk '{print $3}')
for script in insert select; do
  (cd "$work" && pgbench -n -M prepared -c 1 -R 50 -T "$seconds" -l --log-prefix="log_$script" -f "$script.sql" "$server/$db" >/dev/null 2>&1)
  python3 - "$work" "$script" "$run" "$version" "$seconds" >>"$BENCH_RESULTS" <<'PY'
import glob, json, statistics, sys, time
work, script, run, version, seconds = sys.argv[1:]
# pgbench's per-transaction log: client, transaction, latency in µs, ...
values = sorted(int(line.split()[2]) / 1000 for f in glob.glob(f"{work}/log_{script}.*") for line in open(f))
name = {"insert": "durable insert", "select": "select 1"}[script]
for label, q in (("p50", 0.50), ("p99", 0.99)):
    value = values[min(len(values) - 1, int(len(values) * q))] if values else None
    print(json.dumps({"library": "pgbench", "version": version, "workload": "latency floor", "figure": f"{name} {label}",
                      "value": round(value, 3) if value is not None else None, "unit": "ms", "run": int(run),
                      "settings": f"1 client paced at 50/s for {seconds} s, prepared",
                      "detail": f"{len(values)} transactions",
                      "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
PY
done
cc -O2 -pthread -I"$(pg_config --includedir)" -o "$work/pickup_floor" "$(dirname "$0")/pickup_floor.c" -lpq -lm
psql -qX "$server/$db" -c "create table floor_jobs (id bigserial primary key, status text not null default 'queued')" \
  -c "create index on floor_jobs (id) where status = 'queued'"
read -r p50 p99 max call50 call99 picked < <("$work/pickup_floor" "$server/$db" $((seconds * 50)) 50)
python3 - "$run" "$(pg_config --version | awk '{print $2}')" "$seconds" "$p50" "$p99" "$max" "$call50" "$call99" "$picked" >>"$BENCH_RESULTS" <<'PY'
import json, sys, time
run, version, seconds, p50, p99, peak, call50, call99, picked = sys.argv[1:]
detail = (f"{picked} jobs; bench/engine/pickup_floor.c: durable INSERT + NOTIFY in one statement, a listener thread "
          f"claims each with one UPDATE (asynchronous commit); enqueue call p50 {call50} ms, p99 {call99} ms")
for label, value in (("p50", p50), ("p99", p99), ("max", peak)):
    print(json.dumps({"library": "libpq", "version": version, "workload": "latency floor", "figure": f"notify pickup {label}",
                      "value": float(value), "unit": "ms", "run": int(run),
                      "settings": f"C, 2 connections, paced at 50/s for {seconds} s", "detail": detail,
                      "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
PY
psql -qX "$server/postgres" -c "drop database if exists $db with (force)"
