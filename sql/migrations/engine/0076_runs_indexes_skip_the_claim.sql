-- A claim writes a new version of each run it takes; since status changes, which partial indexes
-- name, the update is never HOT and every index without a predicate gets an entry for it
-- (issue 16: the engine's throughput and its claim latency). Two of those entries serve nothing:
--   runs_function_id_created_at_idx  now leaves out running runs: the lists read them from
--                                    runs_lease_expires_at_idx, which holds exactly them, and no
--                                    more of them than workers have slots;
--   runs_finished_at_idx (BRIN)      now holds finished runs only, what pruning looks for.
-- Measured on the enqueue → claim 500 → complete 500 cycle (bench/engine/index_cost.sh, one
-- client, 4 rounds): 48-51 cycles/s before, 52-60 after (median +8 %, the BRIN alone half of it).
--
-- Every list that walked runs_function_id_created_at_idx names its predicate
-- (`status <> 'running'`) and adds the running runs: nightshift._runs_newest (api.runs),
-- api.function_runs, the overview's last 24 h, and `nightshift runs` (EngineClient.runs).
--
-- The two builds hold off writes to runs while they last: about 1.1 s per million runs here
-- (console bench's 1M: 0.92 s for the btree, 0.15 s for the BRIN).

drop index nightshift.runs_function_id_created_at_idx;
create index runs_function_id_created_at_idx on nightshift.runs (function_id, created_at, id) where status <> 'running';
drop index nightshift.runs_finished_at_idx;
-- Pruning's `finished_at < cutoff` implies the predicate, so it still uses the index.
create index runs_finished_at_idx on nightshift.runs using brin (finished_at) where finished_at is not null;

create or replace function nightshift._runs_newest(
    p_function_id text, p_status text, p_trigger text, p_since timestamptz, p_until timestamptz,
    p_before_at timestamptz, p_before_id uuid, p_limit integer)
returns setof nightshift.runs
language sql
stable
set search_path = ''
as $$
    select l.*
    from nightshift.functions f
    cross join lateral (
        select r.*
        from nightshift.runs r
        where r.function_id = f.id
          and r.status <> 'running'  -- the index's predicate; running runs come from the lease index below
          -- Always a bound, never "is null or": the walk starts at the cursor in every plan.
          and (r.created_at, r.id) < (coalesce(p_before_at, 'infinity'), coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
          and r.created_at >= coalesce(p_since, '-infinity')
          and r.created_at < coalesce(p_until, 'infinity')
          and (p_status is null or r.status = p_status)
          and (p_trigger is null or r.trigger_kind = p_trigger)
        order by r.created_at desc, r.id desc
        limit p_limit) l
    where (p_function_id is null or f.id = p_function_id)
      and (p_status is null or p_status not in ('queued', 'running'))
    union all
    -- The literal statuses let the planner match the partial indexes' predicates.
    select r.* from (
        select r.* from nightshift.runs r where (p_status is null or p_status = 'running') and r.status = 'running'
        union all
        select r.* from nightshift.runs r where p_status = 'queued' and r.status = 'queued' and r.concurrency_limit is null
        union all
        select r.* from nightshift.runs r where p_status = 'queued' and r.status = 'queued' and r.concurrency_limit is not null) r
    where (p_function_id is null or r.function_id = p_function_id)
      and (r.created_at, r.id) < (coalesce(p_before_at, 'infinity'), coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
      and r.created_at >= coalesce(p_since, '-infinity')
      and r.created_at < coalesce(p_until, 'infinity')
      and (p_trigger is null or r.trigger_kind = p_trigger)
    order by created_at desc, id desc
    limit p_limit
$$;
comment on function nightshift._runs_newest(text, text, text, timestamptz, timestamptz, timestamptz, uuid, integer) is
    'The newest runs (created_at, id descending) before a keyset cursor, filtered, at most p_limit: running ones from '
    'the lease index, queued ones (when asked for) from the claim indexes, the others by one walk of '
    'runs_function_id_created_at_idx per function, merged.';

create or replace function api.function_runs("limit" integer default 20)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.function_runs');
    if function_runs."limit" is null or function_runs."limit" not between 1 and 100 then
        raise exception 'limit must be between 1 and 100, got %', coalesce(function_runs."limit"::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- One index walk per function (runs_function_id_created_at_idx), newest first, merged with
    -- that function's running runs, read once for all functions from the lease index.
    return coalesce((
        with running as materialized (
            select r.id, r.function_id, r.status, r.created_at from nightshift.runs r where r.status = 'running')
        select pg_catalog.jsonb_object_agg(f.id, coalesce(l.runs, '[]'::jsonb))
        from nightshift.functions f
        cross join lateral (
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'id', r.id, 'status', r.status, 'created_at', r.created_at) order by r.created_at desc, r.id desc) as runs
            from (select w.id, w.status, w.created_at from (
                      (select r.id, r.status, r.created_at from nightshift.runs r
                       where r.function_id = f.id and r.status <> 'running'
                       order by r.created_at desc, r.id desc
                       limit function_runs."limit")
                      union all
                      select g.id, g.status, g.created_at from running g where g.function_id = f.id) w
                  order by w.created_at desc, w.id desc
                  limit function_runs."limit") r) l), '{}'::jsonb);
end
$$;

create or replace function api.overview()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_now constant timestamptz := pg_catalog.now();
    v_since constant timestamptz := pg_catalog.date_trunc('minute', v_now) - interval '1439 minutes';
    -- The last 24 h are read function by function (runs_function_id_created_at_idx), running
    -- runs from the lease index.
    v_functions constant text[] := array(select f.id from nightshift.functions f);
begin
    perform auth.require_reader('api.overview');
    return pg_catalog.jsonb_build_object(
        'at', v_now,
        'since', v_since,
        -- Queued (due now or later) and running, per function: the live part of the table, read
        -- through the claim indexes (queued) and the lease index (running).
        'queue', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'function_id', q.function_id, 'queued', q.queued, 'due', q.due, 'running', q.running)
                   order by q.queued + q.running desc, q.function_id)
            from (select l.function_id,
                         pg_catalog.count(*) filter (where l.status = 'queued') as queued,
                         pg_catalog.count(*) filter (where l.status = 'queued' and l.run_at <= v_now) as due,
                         pg_catalog.count(*) filter (where l.status = 'running') as running
                  from (select r.function_id, r.status, r.run_at from nightshift.runs r
                        where r.status = 'queued' and r.concurrency_limit is null
                        union all
                        select r.function_id, r.status, r.run_at from nightshift.runs r
                        where r.status = 'queued' and r.concurrency_limit is not null
                        union all
                        select r.function_id, r.status, r.run_at from nightshift.runs r
                        where r.status = 'running') l
                  group by l.function_id) q), '[]'::jsonb),
        -- Runs created per minute over the last 24 h, and how many of them failed: only the
        -- minutes that had runs (the chart fills the rest with zero).
        'per_minute', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(m.minute_index, m.runs, m.failed) order by m.minute_index)
            from (select (extract(epoch from pg_catalog.date_trunc('minute', r.created_at) - v_since) / 60)::integer as minute_index,
                         pg_catalog.count(*) as runs,
                         pg_catalog.count(*) filter (where r.status = 'failed') as failed
                  from (select r.created_at, r.status from nightshift.runs r
                        where r.function_id = any (v_functions) and r.created_at >= v_since and r.status <> 'running'
                        union all
                        select r.created_at, r.status from nightshift.runs r
                        where r.status = 'running' and r.created_at >= v_since) r
                  group by 1) m), '[]'::jsonb),
        -- Stuck: running past an expired lease (no worker reclaimed it), or queued and due for
        -- more than five minutes (no worker claims it).
        'stuck', coalesce((
            select pg_catalog.jsonb_agg(s.run order by s.since)
            from (select pg_catalog.jsonb_build_object('id', r.id, 'function_id', r.function_id, 'status', r.status,
                             'reason', 'lease expired', 'since', r.lease_expires_at, 'worker', r.lease_owner) as run,
                         r.lease_expires_at as since
                  from nightshift.runs r
                  where r.status = 'running' and r.lease_expires_at < v_now
                  union all
                  -- Queued runs, each kind from its claim index (one holds no other status).
                  select pg_catalog.jsonb_build_object('id', q.id, 'function_id', q.function_id, 'status', q.status,
                             'reason', 'due, not claimed', 'since', q.run_at, 'worker', null),
                         q.run_at
                  from (select r.id, r.function_id, r.status, r.run_at from nightshift.runs r
                        where r.status = 'queued' and r.concurrency_limit is null and r.run_at < v_now - interval '5 minutes'
                        union all
                        select r.id, r.function_id, r.status, r.run_at from nightshift.runs r
                        where r.status = 'queued' and r.concurrency_limit is not null and r.run_at < v_now - interval '5 minutes') q
                  order by 2
                  limit 20) s), '[]'::jsonb),
        -- Missed slots: due and not yet handled (a ticker that is not running), and knowingly
        -- skipped in the last 24 h (catch-up policy, disabled, rescheduled).
        'missed', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'function_id', m.function_id, 'overdue_slots', m.overdue, 'skipped_slots_24h', m.skipped)
                   order by m.function_id)
            from (select s.function_id,
                         case when s.next_slot <= v_now and s.enabled
                              then nightshift._cron_count(nightshift._cron_parse(s.cron), s.timezone, s.next_slot, v_now + interval '1 microsecond')
                              else 0 end as overdue,
                         (select coalesce(pg_catalog.sum(k.slot_count), 0) from nightshift.skipped_slots k
                          where k.function_id = s.function_id and k.recorded_at >= v_now - interval '24 hours') as skipped
                  from nightshift.schedules s) m
            where m.overdue > 0 or m.skipped > 0), '[]'::jsonb),
        -- Duration (started_at to finished_at) of the runs that completed in the last 24 h.
        'durations', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'function_id', d.function_id, 'runs', d.runs, 'p50_ms', d.p50, 'p95_ms', d.p95)
                   order by d.function_id)
            from (select r.function_id, pg_catalog.count(*) as runs,
                         round(pg_catalog.percentile_cont(0.5) within group (
                             order by extract(epoch from r.finished_at - r.started_at) * 1000)::numeric) as p50,
                         round(pg_catalog.percentile_cont(0.95) within group (
                             order by extract(epoch from r.finished_at - r.started_at) * 1000)::numeric) as p95
                  from nightshift.runs r
                  where r.function_id = any (v_functions) and r.created_at >= v_since
                    and r.status = 'completed' and r.started_at is not null
                  group by r.function_id) d), '[]'::jsonb));
end
$$;

