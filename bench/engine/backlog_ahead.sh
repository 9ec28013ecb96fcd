#!/usr/bin/env bash
# bench/engine/backlog_ahead.sh: what a claim costs when other functions' runs wait ahead of it
# (engine/0083). A worker serving bench/served claims its one new run while AHEAD older runs of
# bench/other are queued (another worker's backlog, or a retired function's runs until tick
# fails them) and bench/served keeps HISTORY completed runs (its retained history). One pgbench
# client, paced at 50 transactions/s for CYCLE_SECONDS (default 10): trigger a run and claim it
# on the NOTIFY path (claim_unlimited_runs), trigger another and claim it on the claim loop's
# path (claim_runs); the mean of each statement, per migration set and backlog, alternating,
# each on a freshly migrated throwaway database with fresh statistics:
#   bash bench/engine/backlog_ahead.sh
#   MIGRATIONS=sql/migrations,/tmp/before AHEAD="0 30000 100000" ROUNDS=2 bash bench/engine/backlog_ahead.sh
# (/tmp/before: a copy of sql/migrations without engine/0083.)
#   BENCH_DB=bench_backlog_ahead (dropped and recreated per run)  NIGHTSHIFT_BIN=.build/debug/nightshift
# Prints the machine and the figures; writes them to bench/results/backlog-ahead-<stamp>.txt too.
set -uo pipefail
export PGOPTIONS="-c client_min_messages=warning"
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
URL=${URL%%\?*}
SERVER=${URL%/*}
DB=${BENCH_DB:-bench_backlog_ahead}
ROUNDS=${ROUNDS:-1} SECONDS_PER_RUN=${CYCLE_SECONDS:-10}
AHEAD=${AHEAD:-0 30000 100000} HISTORY=${HISTORY:-100000}
MIGRATIONS=${MIGRATIONS:-sql/migrations}
BIN=${NIGHTSHIFT_BIN:-.build/debug/nightshift}
PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
mkdir -p bench/results
exec > >(tee "bench/results/backlog-ahead-$(date -u +%Y-%m-%d_%H%MZ).txt")
source bench/support/machine.sh
machine
echo "== a claim of one bench/served run with N older bench/other runs queued ahead and $HISTORY completed"
echo "   bench/served runs; one client at 50/s, ${SECONDS_PER_RUN}s per run, $ROUNDS rounds; mean ms per statement"

CYCLE=$(mktemp)
trap 'rm -f "$CYCLE"; psql "$SERVER/postgres" -Xqc "drop database if exists $DB with (force)" >/dev/null 2>&1' EXIT
cat >"$CYCLE" <<'SQL'
select nightshift.trigger('bench/served');
select count(*) from nightshift.claim_unlimited_runs('bench', 1, '30 s', array['bench/served']);
select nightshift.trigger('bench/served');
select count(*) from nightshift.claim_runs('bench', 1, '30 s', array['bench/served']);
SQL

one_run() {  # $1 migrations folder, $2 runs ahead
  psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" || exit 1
  DATABASE_URL=$SERVER/$DB "$BIN" migrate --only engine --migrations-dir "$1" --log-level error >/dev/null || { echo "migrate failed"; exit 1; }
  psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 >/dev/null <<SQL || exit 1
select nightshift.sync_functions('[{"id": "bench/served"}, {"id": "bench/other"}]');
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, run_at, created_at, started_at, finished_at)
select 'bench/served', 'completed', 1, 'manual', t, t, t, t
from generate_series(1, $HISTORY) i, lateral (select now() - interval '1 day' + i * interval '1 ms' as t) x;
insert into nightshift.runs (function_id, max_attempts, trigger_kind, run_at)
select 'bench/other', 1, 'manual', now() - interval '1 hour' from generate_series(1, $2);
vacuum analyze nightshift.runs;
checkpoint;
SQL
  local out
  out=$("$PGBENCH" -n -M simple -c 1 -R 50 -T "$SECONDS_PER_RUN" -r -f "$CYCLE" "$SERVER/$DB" 2>&1)
  printf "  %-24s ahead %7s   claim_unlimited_runs %7s ms   claim_runs %7s ms   trigger %6s ms   claimed %s\n" "$1" "$2" \
    "$(echo "$out" | awk '/claim_unlimited_runs/ {print $1}')" "$(echo "$out" | awk '/claim_runs\(/ {print $1}')" \
    "$(echo "$out" | awk '/trigger/ {print $1; exit}')" \
    "$(psql "$SERVER/$DB" -Atc "select count(*) filter (where status = 'running') || ' of ' || count(*) from nightshift.runs where function_id = 'bench/served' and status <> 'completed'")"
}

IFS=, read -ra SETS <<<"$MIGRATIONS"
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  for ahead in $AHEAD; do
    for set in "${SETS[@]}"; do one_run "$set" "$ahead"; done
  done
done
