#!/usr/bin/env bash
# bench/engine/index_cost.sh: what the indexes on nightshift.runs cost the engine's hot path, in
# SQL alone (no Swift build). The cycle a worker drives: enqueue_many 500, claim_runs 500
# (asynchronous commit, as a worker claims), complete_runs 500 (synchronous), one pgbench client
# for CYCLE_SECONDS (default 8); cycles/s and each statement's mean latency, per migration set, alternating, over
# ROUNDS rounds, each on a freshly migrated throwaway database:
#   MIGRATIONS=sql/migrations,/tmp/before ROUNDS=3 bash bench/engine/index_cost.sh
# (/tmp/before: a copy of sql/migrations without the migration to price, e.g. engine/0074.)
#   BENCH_DB=bench_index_cost (dropped and recreated per run)  NIGHTSHIFT_BIN=.build/debug/nightshift
set -uo pipefail
export PGOPTIONS="-c client_min_messages=warning"
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
URL=${URL%%\?*}
SERVER=${URL%/*}
DB=${BENCH_DB:-bench_index_cost}
ROUNDS=${ROUNDS:-3} SECONDS_PER_RUN=${CYCLE_SECONDS:-8}
MIGRATIONS=${MIGRATIONS:-sql/migrations}
BIN=${NIGHTSHIFT_BIN:-.build/debug/nightshift}
PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
source bench/support/machine.sh
machine
echo "== enqueue 500 → claim 500 → complete 500, one client, ${SECONDS_PER_RUN}s per run, $ROUNDS rounds"

CYCLE=$(mktemp)
trap 'rm -f "$CYCLE"; psql "$SERVER/postgres" -Xqc "drop database if exists $DB with (force)" >/dev/null 2>&1' EXIT
cat >"$CYCLE" <<'SQL'
select nightshift.enqueue_many('bench/noop', (select jsonb_agg('{}'::jsonb) from generate_series(1, 500)));
create temp table if not exists claimed (id uuid, token bigint);
truncate claimed;
insert into claimed select c.id, c.lease_token
from (select c.*, pg_catalog.set_config('synchronous_commit', 'off', true)
      from nightshift.claim_runs('bench', 500, '30 s', array['bench/noop']) c) c;
select nightshift.complete_runs(array(select id from claimed), array(select token from claimed), array(select '{}'::jsonb from claimed));
SQL

one_run() {  # $1 migrations folder
  psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" || exit 1
  DATABASE_URL=$SERVER/$DB "$BIN" migrate --only engine --migrations-dir "$1" --log-level error >/dev/null || { echo "migrate failed"; exit 1; }
  psql "$SERVER/$DB" -Xq -c "select nightshift.sync_functions('[{\"id\": \"bench/noop\"}]')" -c "checkpoint" >/dev/null
  local out
  out=$("$PGBENCH" -n -M simple -c 1 -T "$SECONDS_PER_RUN" -r -f "$CYCLE" "$SERVER/$DB" 2>&1)
  printf "  %-24s cycles/s %7s   ms per 500: enqueue %6s  claim %6s  complete %6s   full indexes: %s\n" "$1" \
    "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')" \
    "$(echo "$out" | awk '/enqueue_many/ {print $1}')" "$(echo "$out" | awk '/claim_runs/ {print $1}')" \
    "$(echo "$out" | awk '/complete_runs/ {print $1}')" \
    "$(psql "$SERVER/$DB" -Atc "select count(*) from pg_index where indrelid = 'nightshift.runs'::regclass and indpred is null")"
}

IFS=, read -ra SETS <<<"$MIGRATIONS"
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  for set in "${SETS[@]}"; do one_run "$set"; done
done
