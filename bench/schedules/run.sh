#!/usr/bin/env bash
# bench/schedules: what tick() and the schedule helpers cost, in SQL only (no Swift build):
#   - a tick that enqueues one slot of each of 200 every-second schedules ('1 second'),
#   - an idle tick (nothing due; the once-a-minute retired-runs check included),
#   - _cron_count of a 70-day downtime of a per-minute job (recorded as one skipped range),
#   - one pass of _fail_retired_runs over 1000 queued runs of a retired function.
# Each figure is the median of ROUNDS rounds of N calls, timed with clock_timestamp() inside
# the database (no client round trip). Uses its own throwaway database, migrated with psql.
#   SERVER=postgresql://postgres@127.0.0.1:54329 BENCH_DB=nightshift_bench_schedules bash bench/schedules/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVER=${SERVER:-postgresql://postgres@127.0.0.1:54329}
DB=${BENCH_DB:-nightshift_bench_schedules}
ROUNDS=${ROUNDS:-5}
. bench/support/machine.sh
machine

psql "$SERVER/postgres" -Xq -c "set client_min_messages = warning" -c "drop database if exists $DB with (force)" -c "create database $DB"
trap 'psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)"' EXIT
# The engine's migrations alone (the schedules are the engine's), with the migrator's bookkeeping table.
psql "$SERVER/$DB" -Xq -c "create schema nightshift; create table nightshift.schema_migrations (name text not null, checksum text not null, applied_at timestamptz not null default now(), duration_ms integer not null default 0, component text not null default '', primary key (component, name))"
for f in sql/migrations/engine/*.sql; do psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null 2>&1 || { echo "migration $f failed"; exit 1; }; done

PGOPTIONS="-c bench.rounds=$ROUNDS" psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 <<'SQL'
set client_min_messages = warning;
create temporary table timings (what text, round integer, ms numeric);
\o /dev/null
select from nightshift.sync_functions((
    select jsonb_agg(jsonb_build_object('id', 'bench/s' || i,
        'schedule', jsonb_build_object('cron', '1 second', 'catch_up', 'all', 'catch_up_cap', 10)))
    from generate_series(1, 200) i) || '[{"id": "bench/retired"}]'::jsonb);

-- Every tick commits, as the ticker's do: one transaction per tick (the DO block commits).
do $$
declare
    v_rounds constant integer := coalesce(current_setting('bench.rounds', true)::integer, 5);
    v_started timestamptz;
    v_at timestamptz;
    v_n integer;
    v_total interval;
begin
    for v_round in 1..v_rounds loop
        -- 60 ticks a second apart, each enqueueing one slot of every schedule (200 runs).
        v_at := '2030-01-01 00:00:00Z'::timestamptz + v_round * interval '1 hour';
        update nightshift.schedules set next_slot = v_at;
        commit;
        v_total := interval '0';
        for i in 0..59 loop
            v_started := clock_timestamp();
            v_n := nightshift.tick(v_at + i * interval '1 second' + interval '0.2 seconds');
            commit;
            v_total := v_total + (clock_timestamp() - v_started);
            if v_n <> 200 then raise exception 'tick enqueued %, expected 200', v_n; end if;
        end loop;
        insert into timings values ('tick, 200 every-second schedules due (per tick)', v_round,
            extract(epoch from v_total) * 1000 / 60);

        -- 1000 idle ticks: nothing due.
        update nightshift.schedules set next_slot = 'infinity';
        commit;
        v_started := clock_timestamp();
        for i in 1..1000 loop
            perform nightshift.tick(v_at);
            commit;
        end loop;
        insert into timings values ('tick, nothing due (per tick)', v_round,
            extract(epoch from clock_timestamp() - v_started) * 1000 / 1000);

        -- A different start each call, so nothing is folded or cached.
        v_started := clock_timestamp();
        for i in 1..20 loop
            perform nightshift._cron_count(nightshift._cron_parse('* * * * *'), 'Europe/London',
                '2026-01-01 00:00Z'::timestamptz + i * interval '1 second', '2026-03-12 00:00Z');
        end loop;
        insert into timings values ('_cron_count, per-minute job down 70 days (per call)', v_round,
            extract(epoch from clock_timestamp() - v_started) * 1000 / 20);
        commit;
    end loop;
end
$$;
-- One pass of _fail_retired_runs over 1000 queued runs, each round in a transaction rolled back.
select from nightshift.enqueue_many('bench/retired', (select jsonb_agg(jsonb_build_object('n', i)) from generate_series(1, 1000) i));
update nightshift.functions set retired_at = now() - interval '30 days' where id = 'bench/retired';
do $$
declare
    v_started timestamptz;
    v_ms numeric;
begin
    for v_round in 1..coalesce(current_setting('bench.rounds', true)::integer, 5) loop
        begin
            v_started := clock_timestamp();
            if nightshift._fail_retired_runs('7 days', 1000) <> 1000 then raise exception 'expected 1000'; end if;
            v_ms := extract(epoch from clock_timestamp() - v_started) * 1000;
            raise sqlstate 'P0001' using message = 'undo';
        exception when sqlstate 'P0001' then
            insert into timings values ('_fail_retired_runs, 1000 queued runs (per pass)', v_round, v_ms);
        end;
    end loop;
end
$$;
\o
\echo
\echo 'median of the rounds, ms:'
select what, round(percentile_cont(0.5) within group (order by ms)::numeric, 3) as median_ms,
       round(min(ms), 3) as min_ms, round(max(ms), 3) as max_ms, count(*) as rounds
from timings group by what order by what;
SQL
