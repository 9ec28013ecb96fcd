#!/usr/bin/env bash
# bench/engine/wakeups.sh: how soon a run is claimed after it becomes runnable without a new
# enqueue, for each way that happens: a retry's backoff ends, a durable sleep ends, a
# singleton's place is freed by the run before it. One `nightshift worker` (500 ms poll),
# a scratch database on the embedded cluster; figures from the database's own clock.
#   N=200 BIN=.build/release/nightshift bash bench/engine/wakeups.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
SERVER=${URL%/*}
DB=${BENCH_DB:-bench_wakeups}
N=${N:-200}
BIN=${BIN:-.build/debug/nightshift}
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
OUT=bench/results/wakeups-$STAMP
source bench/support/machine.sh
psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" || exit 1
export DATABASE_URL=$SERVER/$DB
"$BIN" migrate >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
CONFIG=$(mktemp --suffix=.toml)
cp supabase-like-config/config.toml "$CONFIG"
printf '\n[jobs."nightshift/noop"]\nmax_concurrency = 1\n' >>"$CONFIG"
NIGHTSHIFT_CONFIG=$CONFIG NIGHTSHIFT_LOG_LEVEL=warning "$BIN" worker --no-ticker --concurrency 50 >/dev/null 2>&1 &
WORKER=$!
trap 'kill -TERM $WORKER 2>/dev/null; wait $WORKER 2>/dev/null; rm -f "$CONFIG"; psql "$SERVER/postgres" -Xqc "drop database if exists $DB with (force)" >/dev/null' EXIT
until psql "$DATABASE_URL" -Atc "select concurrency_limit from nightshift.functions where id = 'nightshift/noop'" 2>/dev/null | grep -q 1; do sleep 0.2; done
psql "$DATABASE_URL" -Xq <<SQL
select nightshift.trigger('nightshift/diagnostics', '{"steps": 1, "sleep_ms": 300}') from generate_series(1, $N);
select nightshift.trigger('nightshift/diagnostics', '{"steps": 1, "fail_attempts": 1}') from generate_series(1, $N);
select nightshift.trigger('nightshift/noop') from generate_series(1, $N);
SQL
until [ "$(psql "$DATABASE_URL" -Atc "select count(*) from nightshift.runs where status <> 'completed'")" = 0 ]; do sleep 0.5; done
# Expired leases: a worker with a 2 s lease is killed (-9) holding LEASED runs; the survivor has
# armed its timer for their expiry. The crashed attempt's finished_at is the lease's expiry.
kill -TERM $WORKER; wait $WORKER
LEASED=${LEASED:-40}
NIGHTSHIFT_CONFIG=$CONFIG NIGHTSHIFT_LOG_LEVEL=warning "$BIN" worker --no-ticker --concurrency $LEASED --lease-seconds 2 >/dev/null 2>&1 &
VICTIM=$!
psql "$DATABASE_URL" -Xqc "select nightshift.trigger('nightshift/diagnostics', '{\"steps\": 10, \"step_ms\": 300}') from generate_series(1, $LEASED)" >/dev/null
until [ "$(psql "$DATABASE_URL" -Atc "select count(*) from nightshift.runs where status = 'running'")" = "$LEASED" ]; do sleep 0.1; done
NIGHTSHIFT_CONFIG=$CONFIG NIGHTSHIFT_LOG_LEVEL=warning "$BIN" worker --no-ticker --concurrency $LEASED --lease-seconds 2 >/dev/null 2>&1 &
WORKER=$!
sleep 1.5; kill -9 $VICTIM
until [ "$(psql "$DATABASE_URL" -Atc "select count(*) from nightshift.runs where status <> 'completed'")" = 0 ]; do sleep 0.5; done
{ echo "# Wake-ups without a new enqueue, $STAMP"; echo; echo '```'; machine; echo '```'; echo
  echo "N = $N per kind; one worker, 500 ms poll; milliseconds from runnable to claimed (database clock)."; echo
  echo "| kind | n | p50 | p99 | max |"; echo "| --- | --- | --- | --- | --- |"
  psql "$DATABASE_URL" -AtF' | ' <<'SQL'
with lat as (
  -- a durable sleep's end: the attempt after it started at its claim
  select 'durable sleep ends' as kind, extract(epoch from a.started_at - (s.output->>'until')::timestamptz) * 1000 as ms
  from nightshift.steps s join nightshift.ended_attempts a on a.run_id = s.run_id and a.outcome = 'completed'
  where s.name = 'pause'
  union all
  -- a retry's backoff (1 s, no jitter) ends
  select 'retry backoff ends', extract(epoch from c.started_at - (f.finished_at + interval '1 second')) * 1000
  from nightshift.ended_attempts f join nightshift.ended_attempts c on c.run_id = f.run_id and c.outcome = 'completed'
  where f.outcome = 'retrying'
  union all
  -- an expired lease: the crashed attempt ended at the expiry; the next claim resumed it
  select 'lease expires', extract(epoch from n.started_at - c.finished_at) * 1000
  from nightshift.ended_attempts c join nightshift.ended_attempts n on n.run_id = c.run_id and n.started_at > c.started_at
  where c.outcome = 'crashed' and n.lease_token = (select min(x.lease_token) from nightshift.ended_attempts x
                                                   where x.run_id = c.run_id and x.lease_token > c.lease_token)
  union all
  -- a singleton's place freed by the run before it
  select 'singleton place freed', extract(epoch from r.started_at - lag(r.finished_at) over (order by r.started_at)) * 1000
  from nightshift.runs r where r.function_id = 'nightshift/noop')
select kind, count(ms), round(percentile_cont(0.5) within group (order by ms)::numeric, 2),
       round(percentile_cont(0.99) within group (order by ms)::numeric, 2), round(max(ms)::numeric, 2)
from lat where ms is not null group by kind order by kind
SQL
  echo; echo "worker peak RSS: $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$WORKER/status)"
} | sed 's/^\([a-z].* | \)/| \1/; s/^| \(.*[0-9]\)$/| \1 |/' >"$OUT.md"
cat "$OUT.md"
