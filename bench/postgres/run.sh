#!/usr/bin/env bash
# bench/postgres: the Swift libpq wrapper against libpq itself, pgbench and psql, same cluster, same run.
#   ROUNDS=3 N_RT=20000 N_ROWS=1000000 bash bench/postgres/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
N_RT=${N_RT:-20000}
N_ROWS=${N_ROWS:-1000000}
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
# libpq takes the URL as its conninfo, so all three clients connect the same way.
CONNINFO=$URL
out=$(mktemp -d)

echo "machine: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "server:  $(psql "$URL" -Atc 'select version()')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"

gcc -O2 -o "$out/libpq_baseline" bench/postgres/libpq_baseline.c -I"$(pg_config --includedir)" -lpq
swift build -c release --product bench-postgres 2>&1 | grep -E "error" && exit 1 || true
swift_bin=$(swift build -c release --show-bin-path)/bench-postgres

# pgbench's own tables for the -S comparison (scale 1 = 100,000 accounts), in a database of their own.
psql "$URL" -Atc "select 1 from pg_database where datname = 'nightshift_bench'" | grep -q 1 \
  || psql "$URL" -qc "create database nightshift_bench"
BENCH_URL=${URL%/*}/nightshift_bench
BENCH_CONNINFO=$BENCH_URL
psql "$BENCH_URL" -Atc "select to_regclass('pgbench_accounts') is not null" | grep -q t \
  || pgbench -q -i -s 1 "$BENCH_URL" >/dev/null 2>&1
echo 'select 1;' > "$out/select1.sql"

for round in $(seq "$ROUNDS"); do
  "$swift_bin" "$CONNINFO" roundtrips "$N_RT" >>"$out/swift.txt"
  "$out/libpq_baseline" "$CONNINFO" roundtrips "$N_RT" >>"$out/libpq.txt"
  pgbench -n -M extended -c 1 -j 1 -t "$N_RT" -f "$out/select1.sql" "$URL" 2>/dev/null \
    | awk -v n="$N_RT" '/^tps/{printf "roundtrips %d %.6f\n", n, n/$3}' >>"$out/pgbench.txt"
  "$swift_bin" "$BENCH_CONNINFO" pgbench-s "$N_RT" >>"$out/swift.txt"
  "$out/libpq_baseline" "$BENCH_CONNINFO" pgbench-s "$N_RT" >>"$out/libpq.txt"
  pgbench -n -S -M extended -c 1 -j 1 -t "$N_RT" "$BENCH_URL" 2>/dev/null \
    | awk -v n="$N_RT" '/^tps/{printf "pgbench-s %d %.6f\n", n, n/$3}' >>"$out/pgbench.txt"
  "$swift_bin" "$CONNINFO" decode "$N_ROWS" >>"$out/swift.txt"
  "$out/libpq_baseline" "$CONNINFO" decode "$N_ROWS" >>"$out/libpq.txt"
  start=$(date +%s.%N)
  psql "$URL" -Atc "select g::int8, 'name-' || g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', (g * 1.25)::numeric(20,4) from generate_series(1, $N_ROWS) g" >/dev/null
  echo "decode $N_ROWS $(echo "$(date +%s.%N) - $start" | bc)" >>"$out/psql.txt"
done

python3 - "$out" <<'PY'
import sys, statistics, pathlib
out = pathlib.Path(sys.argv[1])
def load(name):
    rows = {}
    p = out / name
    if not p.exists(): return rows
    for line in p.read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("roundtrips", "pgbench-s", "decode"):
            rows.setdefault(parts[0], []).append((int(parts[1]), float(parts[2])))
    return rows
swift, libpq, pgb, psql = load("swift.txt"), load("libpq.txt"), load("pgbench.txt"), load("psql.txt")
peak = [l for l in (out / "swift.txt").read_text().split("\n") if l.startswith("peak_rss")]
def rate(rows): return statistics.median(n / s for n, s in rows)
print()
print(f"{'workload':<34}{'Swift wrapper':>16}{'libpq (C)':>14}{'pgbench':>12}{'psql':>10}{'Swift / libpq cost':>22}")
for mode, label, unit in [("roundtrips", "select 1 round trips", "/s"), ("pgbench-s", "pgbench -S query by random aid", "/s"), ("decode", "decode 1M rows x 4 columns", " rows/s")]:
    s, c = rate(swift[mode]), rate(libpq[mode])
    p = rate(pgb[mode]) if mode in pgb else None
    q = rate(psql[mode]) if mode in psql else None
    fmt = lambda v: f"{v:,.0f}" if v else "-"
    print(f"{label:<34}{fmt(s):>16}{fmt(c):>14}{fmt(p):>12}{fmt(q):>10}{c / s:>21.2f}x")
print("(median of rounds; cost ratio = Swift time / libpq time, target <= 1.5x)")
if peak: print("Swift " + peak[-1].replace("_", " "))
PY
rm -rf "$out"
