#!/usr/bin/env bash
# bench/console: the operator console's server time per page with 1,000,000 runs (issue 14 §1:
# every page under 100 ms of server time, under 100 KB before data).
#
# Fills a throwaway database with 1M runs over 30 days, inserted in created_at order (generate_series:
# 24 functions, 92% completed, 5% failed (none of bench/f01's), 3% cancelled, the last hour's share queued, 300 running; 10% with three steps and
# an attempt row), 20k events and 5k deliveries; starts `nightshift serve --no-worker`, signs in
# with the service-role key, then times each page N times with curl (time_starttransfer: the
# server's time to the first byte on loopback, no download) and prints the median, p90 and the
# page's weight.
# The indexes the pages rely on: runs_function_id_created_at_idx (0053: the runs list and keyset
# pages, merged over the functions; a function's runs and its strip; the overview's last 24 h),
# runs_claim_idx, runs_queued_limited_run_at_idx and runs_lease_expires_at_idx (the queue, stuck
# runs), runs_pkey, runs_trigger_event_id_idx and runs_correlation_idx (0074: search by
# correlation id; events' runs), the primary keys (a run, its steps and attempts).
#   bash bench/console/run.sh                       # builds release if needed
#   NIGHTSHIFT_BIN=.build/debug/nightshift N=21 RUNS=1000000 bash bench/console/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVER=${SERVER:-postgresql://postgres@127.0.0.1:54329}
DB=${BENCH_DB:-console_bench}
N=${N:-21}
RUNS=${RUNS:-1000000}
KEEP=${KEEP:-0}          # 1: keep the filled database for the next run (FILL=0 reuses it)
FILL=${FILL:-1}
BIN=${NIGHTSHIFT_BIN:-.build/release/nightshift}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
. bench/support/machine.sh
machine

if [ ! -x "$BIN" ]; then
    echo "building $BIN (swift build -c release --product nightshift)"
    swift build -c release --product nightshift >/dev/null
fi
echo "binary: $BIN"

OWNER="$SERVER/$DB"
APP="${SERVER%%://*}://nightshift_app@${SERVER#*@}/$DB"
if [ "$FILL" = 1 ]; then
    psql "$SERVER/postgres" -Xq -c "set client_min_messages = warning" -c "drop database if exists $DB with (force)" -c "create database $DB"
    DATABASE_URL="$OWNER" "$BIN" migrate >/dev/null 2>&1
    started=$(date +%s)
    psql "$OWNER" -Xq -v ON_ERROR_STOP=1 -v runs="$RUNS" <<'SQL'
set client_min_messages = warning;
select from nightshift.sync_functions((
    select jsonb_agg(jsonb_build_object('id', 'bench/f' || lpad(i::text, 2, '0'), 'retries', 3)
           || case when i % 4 = 0 then jsonb_build_object('schedule', jsonb_build_object('cron', (i % 60) || ' * * * *')) else '{}' end
           || case when i % 5 = 0 then jsonb_build_object('events', jsonb_build_array('bench.e' || i)) else '{}' end)
    from generate_series(1, 24) i));
-- Functions skewed like a real project: a few busy ones, many rare ones (f01 has ~1/3 of runs).
-- Inserted in created_at order, as a live table fills: the last day's runs sit together.
create temporary table spread as
select g, 'bench/f' || lpad((1 + floor(24 * power(random(), 2.5)))::int::text, 2, '0') as function_id,
       now() - random() * interval '30 days' as created_at, random() as r, random() * random() * 20 as seconds
from generate_series(1, :runs) g;
insert into nightshift.runs (function_id, status, payload, output, error, attempt, max_attempts, run_at, trigger_kind, trigger_slot,
                             created_at, started_at, finished_at, updated_at)
select s.function_id,
       -- Queued: the runs of the last hour that drew it (a live queue), plus a few due long ago (stuck).
       case when s.r < 0.92 then 'completed' when s.r < 0.97 then 'failed'
            when s.created_at > now() - interval '1 hour' or s.r > 0.9995 then 'queued' else 'cancelled' end,
       jsonb_build_object('n', s.g), case when s.r < 0.92 then jsonb_build_object('ok', true) end,
       case when s.r >= 0.92 and s.r < 0.97 then jsonb_build_object('message', 'bench failure ' || s.g) end,
       1, 4, s.created_at, case when s.g % 7 = 0 then 'cron' else 'manual' end,
       case when s.g % 7 = 0 then s.created_at end,
       s.created_at,
       case when s.r < 0.97 then s.created_at + interval '50 ms' end,
       case when s.r < 0.97 or not (s.created_at > now() - interval '1 hour' or s.r > 0.9995)
            then s.created_at + interval '50 ms' + s.seconds * interval '1 second' end,
       s.created_at
from spread s
order by s.created_at
on conflict do nothing;
-- One busy function that never fails (bench/f01, a third of all runs): its failed filter finds
-- nothing, which walking its history (before engine 0080) took every one of its runs to learn.
update nightshift.runs set status = 'completed', error = null, output = '{"ok": true}'
where function_id = 'bench/f01' and status = 'failed';
-- A few hundred running (leases held by two workers).
with picked as (select id from nightshift.runs where status = 'queued' order by created_at desc limit 300)
update nightshift.runs r set status = 'running', lease_owner = 'bench-w' || (random() * 2)::int, lease_token = nextval('nightshift.runs_lease_token_seq'),
    lease_expires_at = now() + interval '1 minute', claimed_at = now(), started_at = now()
from picked where r.id = picked.id;
-- 10%: three steps and an attempt row each.
insert into nightshift.steps (run_id, name, output, attempt, completed_at)
select r.id, 'step-' || k, jsonb_build_object('k', k), 1, r.started_at + k * interval '100 ms'
from nightshift.runs r cross join generate_series(1, 3) k
where r.started_at is not null and (('x' || substr(r.id::text, 1, 2))::bit(8)::int) < 26;
insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome)
select r.id, nextval('nightshift.runs_lease_token_seq'), 1, 'bench-w1', r.started_at, r.finished_at,
       case r.status when 'completed' then 'completed' when 'failed' then 'failed' else 'cancelled' end
from nightshift.runs r
where r.finished_at is not null and r.started_at is not null and (('x' || substr(r.id::text, 1, 2))::bit(8)::int) < 26;
insert into nightshift.events (name, data, created_at)
select 'bench.e' || (5 * (1 + g % 4)), jsonb_build_object('g', g), now() - random() * interval '30 days' from generate_series(1, 20000) g;
insert into notify.channels (name) values ('webhook'), ('email') on conflict do nothing;
insert into notify.notifications (id, user_id, title, message)
select gen_random_uuid(), gen_random_uuid(), 'T', 'M' from generate_series(1, 5000);
insert into notify.deliveries (notification_id, channel, idempotency_key, status, attempts, delivered_at, last_error)
select n.id, case when random() < 0.7 then 'webhook' else 'email' end, 'bench-' || n.id,
       case when n.r < 0.9 then 'delivered' else 'failed' end, 1, case when n.r < 0.9 then now() end,
       case when n.r >= 0.9 then 'HTTP 500 from the receiver' end
from (select id, random() as r from notify.notifications) n;
insert into notify.daily_counts (user_id, day, sent, suppressed)
select gen_random_uuid(), current_date - d, 100 + d, d from generate_series(0, 13) d;
vacuum analyze;
SQL
    echo "filled $RUNS runs in $(( $(date +%s) - started )) s"
fi
[ "$KEEP" = 1 ] || trap 'kill $SERVER_PID 2>/dev/null || true; psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)"' EXIT
psql "$OWNER" -XAtc "select 'runs: ' || count(*) || ', steps: ' || (select count(*) from nightshift.steps) || ', attempts: ' || (select count(*) from nightshift.ended_attempts) from nightshift.runs"

LOG=$(mktemp /tmp/console-bench-serve.XXXXXX)
DATABASE_URL="$APP" DATABASE_OWNER_URL="$OWNER" ENABLE_SCHEDULED_JOBS=false NIGHTSHIFT_LOG_LEVEL=warning \
    "$BIN" serve --no-worker --port "$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
[ "$KEEP" = 1 ] && trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "http://127.0.0.1:$PORT/health" >/dev/null || { echo "server did not start:"; cat "$LOG"; exit 1; }

KEY=$(grep -E '^service_role_key' supabase-like-config/config.toml | sed -E 's/.*"(.*)".*/\1/')
KEY=${NIGHTSHIFT_SERVICE_ROLE_KEY:-$KEY}
JAR=$(mktemp)
BASE="http://127.0.0.1:$PORT"
FORM=$(curl -s -c "$JAR" "$BASE/console/sign-in")
CSRF=$(printf '%s' "$FORM" | sed -nE 's/.*name="csrf" value="([^"]*)".*/\1/p' | head -1)
curl -s -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "csrf=$CSRF" --data-urlencode "token=$KEY" "$BASE/console/sign-in"
grep -q nightshift_console "$JAR" || { echo "sign-in failed"; exit 1; }

RUN=$(psql "$OWNER" -XAtc "select r.id from nightshift.runs r join nightshift.steps s on s.run_id = r.id where r.status = 'completed' order by r.created_at desc limit 1")
CORR=$(psql "$OWNER" -XAtc "select correlation_id from nightshift.runs order by created_at limit 1")
BEFORE=$(psql "$OWNER" -XAtc "select nightshift._run_cursor(created_at, id) from nightshift.runs order by created_at desc, id desc offset 5000 limit 1")
PAGES=(
    "/console"
    "/console/functions"
    "/console/runs"
    "/console/runs?fragment=rows"
    "/console/runs?status=failed"
    "/console/runs?status=running"
    "/console/runs?function=bench/f24"
    "/console/runs?function=bench/f24&status=failed"
    "/console/runs?function=bench/f01&status=failed"
    "/console/runs?trigger=cron&since=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M)"
    "/console/runs?q=$CORR"
    "/console/runs?before=$BEFORE"
    "/console/runs/$RUN"
    "/console/schedules"
    "/console/events"
    "/console/notifications"
)
printf '\n%-58s %9s %9s %9s\n' "page ($N requests each, after 2 warm-ups)" "median ms" "p90 ms" "KB"
for page in "${PAGES[@]}"; do
    for _ in 1 2; do curl -s -b "$JAR" -o /dev/null "$BASE$page"; done
    times=()
    for _ in $(seq 1 "$N"); do
        times+=("$(curl -s -b "$JAR" -o /dev/null -w '%{time_starttransfer}' "$BASE$page")")
    done
    read -r median p90 < <(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; p=a[int(NR*0.9+0.5)]; printf "%.1f %.1f\n", m*1000, p*1000}')
    status=$(curl -s -b "$JAR" -o /tmp/console-bench-page.html -w '%{http_code}' "$BASE$page")
    size=$(wc -c </tmp/console-bench-page.html)
    printf '%-58s %9s %9s %9.1f%s\n' "${page:0:58}" "$median" "$p90" "$(echo "$size / 1024" | bc -l)" "$([ "$status" = 200 ] || echo "  HTTP $status")"
done
rm -f "$JAR" /tmp/console-bench-page.html
echo
echo "server log: $LOG"
