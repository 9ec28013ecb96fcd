#!/usr/bin/env bash
# bench/dossier: the dossier pack at the issue's scale (100,000 dossiers, 5,000,000 engagements,
# 500,000 commitments) on a throwaway database of the running cluster, beside the seed
# system's own floor figures (issue 4), per operation and per item.
#   ROUNDS=3 BENCH_NOTIFICATIONS=10000 BENCH_OVERDUE=10000 bash bench/dossier/run.sh
# Smaller for a smoke run: BENCH_DOSSIERS=2000 BENCH_NOTIFICATIONS=500 BENCH_OVERDUE=200.
# Database: $DATABASE_URL's server (default the embedded cluster, local-db.sh url), database
# $BENCH_DB (default bench_dossier), dropped at the end unless KEEP_DB=1 (BENCH_REUSE=1 then
# reuses it without seeding again: development only). Needs a few GB of disk while it runs.
# Writes bench/results/dossier-<stamp>.{env.txt,jsonl,md} (report.py renders the .md); prints the markdown.
set -uo pipefail
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
URL=${URL%%\?*}
SERVER=${URL%/*}
DB=${BENCH_DB:-bench_dossier}
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
OUT=$(pwd)/bench/results/dossier-$STAMP
export BENCH_RESULTS=$OUT.jsonl
: >"$BENCH_RESULTS"

psql "$SERVER/postgres" -Atc 'select 1' >/dev/null || { echo "bench/dossier: no server at $SERVER (make db)"; exit 1; }

echo "== release build"
swift build -c release --product bench-dossier 2>&1 | grep -E "error:" && exit 1
BIN=$(swift build -c release --show-bin-path)/bench-dossier

settings() {
  psql "$SERVER/postgres" -Atc "select string_agg(name || '=' || current_setting(name), ', ' order by name) from pg_settings
    where name in ('shared_buffers', 'work_mem', 'maintenance_work_mem', 'effective_cache_size', 'max_parallel_workers_per_gather',
                   'max_wal_size', 'synchronous_commit', 'fsync', 'jit', 'max_connections')"
}
ENVF=$OUT.env.txt
{
  echo "date (UTC):   $(date -u '+%Y-%m-%d %H:%M:%S')"
  echo "host:         $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory:       $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "postgres:     $(psql "$SERVER/postgres" -Atc 'select version()' | cut -d, -f1) at ${SERVER#*@}"
  echo "pg settings:  $(settings)"
  echo "swift:        $(swift --version 2>&1 | grep -m1 -o 'Swift version [^ ]*')"
  echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (start)"
} >"$ENVF"
cat "$ENVF"

if [ "${KEEP_DB:-0}" != 1 ]; then
  trap 'psql "$SERVER/postgres" -qc "drop database if exists $DB with (force)" >/dev/null 2>&1' EXIT
fi

echo "== bench-dossier on $DB (seeding takes a few minutes)"
started=$(date +%s)
timeout --kill-after=10 "${BENCH_TIMEOUT:-5400}" "$BIN" "$SERVER" "$DB" >/dev/null
status=$?
echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end, after $(( $(date +%s) - started )) s)" >>"$ENVF"
[ $status -eq 0 ] || { echo "bench/dossier: bench-dossier failed (exit $status); figures so far in $BENCH_RESULTS"; exit 1; }

python3 bench/dossier/report.py "$BENCH_RESULTS" "$ENVF" >"$OUT.md"
echo
cat "$OUT.md"
