#!/usr/bin/env bash
# What any pickup costs on this machine before a queue adds anything: one client paced at 50/s
# (as the latency workloads are) doing (a) a durable INSERT of one small row (its commit waits
# for the WAL flush, as a trigger's does) and (b) `select 1` (a bare round trip to an idle
# backend). A pickup needs at least (a), a NOTIFY and (b). Appends one JSON line per figure to
# $BENCH_RESULTS in the peers' format (library "pgbench", workload "latency floor").
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
psql -qX "$server/postgres" -c "drop database if exists $db with (force)"
