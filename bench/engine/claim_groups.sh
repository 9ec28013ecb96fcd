#!/usr/bin/env bash
# bench/engine/claim_groups.sh: claim_runs with many concurrency groups (issue 11a).
# On a scratch database of the running cluster (created, migrated, dropped at the end):
#   1. N tenants of a function limited per tenant (.limit(1, key: "tenant")), two runs each
#      queued by one enqueue_many: claiming one run of every tenant (every group has a free
#      place) in batches of BATCH by CLIENTS concurrent claimers, which also fold the enqueue's
#      2N hints into the groups as they go: runs claimed per second;
#   2. then every group is full (one running, one queued behind it) but one, and one unlimited
#      run is queued: a claim of 10, ROUNDS times (each rolled back, so every claim meets the
#      same state): median and p95, and what one claim returned.
#   bash bench/engine/claim_groups.sh [DB]        (DB default nightshift_bench_claim, or BENCH_DB)
#   N=100000 BATCH=50 CLIENTS=1 ROUNDS=200 DATABASE_URL=postgresql://postgres@127.0.0.1:54329/x BENCH_KEEP_DB=1
# Prints the machine and the figures; writes bench/results/claim-groups-<stamp>.{md,jsonl}.
set -uo pipefail
cd "$(dirname "$0")/../.."
PROJECT=$(pwd)
URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:54329/nightshift}
SERVER=${URL%/*}
DB=${1:-${BENCH_DB:-nightshift_bench_claim}}
N=${N:-100000}
BATCH=${BATCH:-50}
CLIENTS=${CLIENTS:-1}
ROUNDS=${ROUNDS:-200}
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
RESULTS=$PROJECT/bench/results/claim-groups-$STAMP.jsonl
MD=$PROJECT/bench/results/claim-groups-$STAMP.md
WORK=$(mktemp -d)
: >"$RESULTS"
cleanup() {
  rm -rf "$WORK"
  [ -n "${BENCH_KEEP_DB:-}" ] || psql "$SERVER/postgres" -Xqc "drop database if exists $DB with (force)" >/dev/null 2>&1
}
trap cleanup EXIT
psql "$SERVER/postgres" -Atc 'select 1' >/dev/null 2>&1 || { echo "claim_groups: no server at $SERVER (make db?)"; exit 1; }
Q() { psql "$SERVER/$DB" -XAtq -v ON_ERROR_STOP=1 "$@"; }

source bench/support/machine.sh
ENV_TEXT=$(machine)
echo "$ENV_TEXT"

echo "== $DB: migrating"
psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" >/dev/null || exit 1
# The engine's migrations alone (claiming is the engine's), recorded as the migrator records them.
Q -c "create schema nightshift; create table nightshift.schema_migrations (name text not null, checksum text not null,
      applied_at timestamptz not null default now(), duration_ms integer not null default 0,
      component text not null default '', primary key (component, name))"
for f in sql/migrations/engine/*.sql; do
  { cat "$f"; echo; echo "insert into nightshift.schema_migrations (component, name, checksum) values ('engine', '$(basename "$f")', '$(sha256sum "$f" | cut -d' ' -f1)');"; } \
    | Q -1 >/dev/null 2>"$WORK/migrate.err" || { cat "$WORK/migrate.err"; echo "claim_groups: $f failed"; exit 1; }
done

record() {  # record FIGURE VALUE UNIT DETAIL
  printf '{"bench":"claim_groups","figure":"%s","value":%s,"unit":"%s","detail":"%s","settings":"N=%s groups, batch %s, %s clients","ts":"%s"}\n' \
    "$1" "$2" "$3" "$4" "$N" "$BATCH" "$CLIENTS" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$RESULTS"
}
stats() {  # stats LOGFILES...: median and p95 of pgbench's per-transaction latencies (µs) in ms
  cat "$@" | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; p = v[int(NR*0.95 + 0.999)];
    printf "%.3f %.3f %d\n", m/1000, p/1000, NR}'
}

echo "== building: $N tenants × 2 queued runs of bench/tenant (limit 1 per tenant)"
t0=$(date +%s.%N)
Q <<SQL
select nightshift.sync_functions('[{"id": "bench/tenant", "concurrency": {"limit": 1, "key": "tenant"}}, {"id": "bench/plain"}]');
select nightshift.enqueue_many('bench/tenant',
    (select jsonb_agg(jsonb_build_object('tenant', 't' || (i % $N))) from generate_series(0, 2 * $N - 1) i));
vacuum analyze nightshift.runs;
vacuum analyze nightshift.concurrency_groups;
SQL
build_s=$(echo "$(date +%s.%N) - $t0" | bc)
printf "   built in %.1f s\n" "$build_s"

echo "== 1. free places: claim one run of each of $N groups, batches of $BATCH, $CLIENTS client(s)"
cat >"$WORK/claim.sql" <<SQL
select count(*) from nightshift.claim_runs('bench-' || :client_id, $BATCH, '1 hour', '{bench/tenant,bench/plain}');
SQL
tx=$(( (N + BATCH - 1) / BATCH / CLIENTS + 1 ))
t0=$(date +%s.%N)
pgbench -n -f "$WORK/claim.sql" -c "$CLIENTS" -t "$tx" "$SERVER/$DB" >"$WORK/free.out" 2>&1 || { cat "$WORK/free.out"; exit 1; }
elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
claimed=$(Q -c "select count(*) from nightshift.runs where status = 'running'")
rate=$(echo "$claimed / $elapsed" | bc)
printf "   %s runs claimed in %.2f s: %s runs/s (%s claims; pgbench: %s)\n" "$claimed" "$elapsed" "$rate" "$((tx * CLIENTS))" \
  "$(grep -E '^tps' "$WORK/free.out" | sed 's/ (.*//')"
record "claimed per second, free places" "$rate" "runs/s" "$claimed runs in $elapsed s, claims of $BATCH"
[ "$claimed" -eq "$N" ] || echo "   WARNING: expected $N running (one per group), found $claimed"
over=$(Q -c "select count(*) from (select payload ->> 'tenant' from nightshift.runs where status = 'running' group by 1 having count(*) > 1) x")
echo "   groups over their limit: $over"

echo "== 2. every group full but one, one unlimited run: claim of 10, $ROUNDS times (rolled back)"
Q <<SQL >/dev/null
select nightshift.trigger('bench/tenant', '{"tenant": "free"}');
select nightshift.trigger('bench/plain');
select nightshift._fold_concurrency_hints(1000000);
vacuum analyze nightshift.runs;
vacuum analyze nightshift.concurrency_groups;
SQL
echo "   groups at their limit: $(Q -c "select count(*) filter (where at_limit) || ' of ' || count(*) from nightshift.concurrency_groups")"
cat >"$WORK/full.sql" <<'SQL'
begin;
select count(*) from nightshift.claim_runs('bench-full', 10, '1 minute', '{bench/tenant,bench/plain}');
rollback;
SQL
got=$(Q -c "begin" -c "select string_agg(function_id || coalesce(':' || (payload ->> 'tenant'), ''), ', ' order by function_id) from nightshift.claim_runs('bench-full', 10, '1 minute', '{bench/tenant,bench/plain}')" -c "rollback")
echo "   one claim returns: $got"
(cd "$WORK" && pgbench -n -f full.sql -c 1 -t "$ROUNDS" -l --log-prefix=latency "$SERVER/$DB" >full.out 2>&1) || { cat "$WORK/full.out"; exit 1; }
read -r med p95 n < <(stats "$WORK"/latency.*)
echo "   claim of 10 (with begin/rollback round trips): median $med ms, p95 $p95 ms over $n claims"
record "claim of 10, all full but one, median" "$med" "ms" "$n claims, each rolled back; returned: $got"
record "claim of 10, all full but one, p95" "$p95" "ms" "$n claims"
explain=$(Q -c "begin" -c "explain (analyze, buffers, costs off, timing off) select count(*) from nightshift.claim_runs('bench-full', 10, '1 minute', '{bench/tenant,bench/plain}')" -c "rollback" | grep -E "Execution|Buffers" | tr '\n' ' ')
echo "   EXPLAIN ANALYZE of one claim in a fresh session (plans not cached yet): $explain"

{
  echo "# bench/engine/claim_groups — $STAMP"
  echo
  echo "claim_runs with $N concurrency groups (\`bash bench/engine/claim_groups.sh\`; N=$N BATCH=$BATCH CLIENTS=$CLIENTS ROUNDS=$ROUNDS)."
  echo "Single runs on a shared, noisy 2-core VM: compare medians."
  echo
  echo '```'
  echo "$ENV_TEXT"
  echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
  echo '```'
  echo
  echo "| figure | value |"
  echo "| --- | ---: |"
  echo "| runs claimed per second, $N groups with free places (claims of $BATCH, $CLIENTS client(s)) | **$rate runs/s** |"
  echo "| claim of 10, $N groups all full but one, median | **$med ms** |"
  echo "| claim of 10, $N groups all full but one, p95 | $p95 ms |"
  echo "| what one such claim returned | $got |"
} >"$MD"
echo "== wrote ${MD#$PROJECT/} and ${RESULTS#$PROJECT/}"
