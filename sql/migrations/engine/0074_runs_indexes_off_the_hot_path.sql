-- The console's indexes cost the engine half its throughput (issue 16 §2). A claim and a
-- completion change status, which partial indexes name, so neither update is HOT: every index on
-- nightshift.runs gets a new entry for each of a run's three row versions (enqueued, claimed,
-- finished). Measured on the enqueue → claim 500 → complete 500 cycle (pgbench, one client):
-- 57-60 cycles/s without 0048/0053/0054's four indexes, 20-25 with them, the random
-- correlation_id the dearest (bench/engine/index_cost.sh).
--
-- Kept: runs_function_id_created_at_idx (0053). Every list now walks it, one function at a time:
--   runs newest first (api.runs, `nightshift runs`): per function the newest page, merged;
--   the overview's last 24 h: function_id = any(every function) and created_at >= since.
-- Dropped:
--   runs_created_at_id_idx (0048)      replaced by the per-function walk above;
--   runs_active_function_id_idx (0053) the queue is read through the claim and lease indexes;
--   runs_correlation_id_idx (0054)     replaced by a partial index of the few runs whose
--                                      correlation id is neither their own id nor their event's.
--
-- Correlation ids: a run triggered or enqueued by hand now takes its own id as correlation id
-- (it was a fresh random one); an event's runs keep the event id (runs_trigger_event_id_idx
-- finds them), a rerun keeps the original's. So a search by correlation id X reads: the run
-- whose id is X, the runs of event X, and runs_correlation_idx, which holds every other run
-- whose correlation id is X (whatever wrote it): reruns, cron runs and runs written before.

drop index nightshift.runs_created_at_id_idx;
drop index nightshift.runs_active_function_id_idx;
drop index nightshift.runs_correlation_id_idx;
create index runs_correlation_idx on nightshift.runs (correlation_id)
    where correlation_id <> id and correlation_id is distinct from trigger_event_id;

comment on column nightshift.runs.correlation_id is
    'Ties log lines together: a run''s own id when triggered or enqueued, the event id for an event''s runs, the '
    'original''s for a rerun (and a fresh one for a cron run).';

create or replace function nightshift.trigger(function_id text, payload jsonb default '{}', idempotency_key text default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_function nightshift.functions := nightshift._enqueueable_function(trigger.function_id);
    v_payload constant jsonb := coalesce(trigger.payload, '{}');
    -- Its own id as correlation id: no entry in runs_correlation_idx (see the file's head).
    v_new_id constant uuid := pg_catalog.gen_random_uuid();
    v_run_id uuid;
begin
    insert into nightshift.runs (
        id, correlation_id, function_id, payload, max_attempts, trigger_kind, idempotency_key, concurrency_key, concurrency_limit)
    values (
        v_new_id, v_new_id, v_function.id, v_payload, v_function.max_attempts, 'manual', trigger.idempotency_key,
        v_payload ->> v_function.concurrency_key, v_function.concurrency_limit)
    on conflict (function_id, idempotency_key) where idempotency_key is not null do nothing
    returning id into v_run_id;

    if v_run_id is null then
        -- The key was used before. A concurrent insert of the same key made ours wait for
        -- its commit, so this statement's fresh snapshot sees that run.
        select r.id into v_run_id
        from nightshift.runs r
        where r.function_id = v_function.id and r.idempotency_key = trigger.idempotency_key;
        return v_run_id;
    end if;

    perform pg_catalog.pg_notify('nightshift_runs', v_function.id);
    return v_run_id;
end
$$;

create or replace function nightshift.enqueue_many(function_id text, payloads jsonb)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_function nightshift.functions := nightshift._enqueueable_function(enqueue_many.function_id);
    v_count integer;
begin
    if pg_catalog.jsonb_typeof(payloads) is distinct from 'array' then
        raise exception 'enqueue_many expects a JSON array of payloads, got %', coalesce(pg_catalog.jsonb_typeof(payloads), 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    -- Each run its own correlation id (see the file's head); the id is drawn once per row.
    insert into nightshift.runs (id, correlation_id, function_id, payload, max_attempts, trigger_kind, concurrency_key, concurrency_limit)
    select p.id, p.id, v_function.id, p.value, v_function.max_attempts, 'manual',
           p.value ->> v_function.concurrency_key, v_function.concurrency_limit
    from (select pg_catalog.gen_random_uuid() as id, e.value from pg_catalog.jsonb_array_elements(payloads) e) p;
    get diagnostics v_count = row_count;

    if v_count > 0 then
        perform pg_catalog.pg_notify('nightshift_runs', v_function.id);
    end if;
    return v_count;
end
$$;

-- The runs newest first, as api.runs pages them, at most p_limit older than the cursor. Queued
-- and running runs (the live few) come from the claim and lease indexes, which hold only them;
-- any other filter walks runs_function_id_created_at_idx one function at a time and merges the
-- walks (with p_function_id only that function's). Filters apply inside each walk, so every
-- function contributes its newest matching runs. A walk for a status goes back as far as it
-- must to find p_limit of them: quick for finished statuses, which every function has many of;
-- the live statuses would walk whole histories, hence their own branch.
create function nightshift._runs_newest(
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
        select r.* from nightshift.runs r where p_status = 'running' and r.status = 'running'
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
    'The newest runs (created_at, id descending) before a keyset cursor, filtered, at most p_limit: queued or running '
    'ones from their partial indexes, others by one walk of runs_function_id_created_at_idx per function, merged.';
revoke all on function nightshift._runs_newest(text, text, text, timestamptz, timestamptz, timestamptz, uuid, integer) from public;

-- The runs whose correlation id is p_correlation_id (see the file's head for why these three).
create function nightshift._runs_by_correlation(p_correlation_id uuid)
returns setof nightshift.runs
language sql
stable
set search_path = ''
as $$
    select r.* from nightshift.runs r where r.id = p_correlation_id and r.correlation_id = p_correlation_id
    union all
    select r.* from nightshift.runs r where r.trigger_event_id = p_correlation_id and r.correlation_id = p_correlation_id
    union all
    select r.* from nightshift.runs r
    where r.correlation_id = p_correlation_id
      and r.correlation_id <> r.id and r.correlation_id is distinct from r.trigger_event_id
$$;
comment on function nightshift._runs_by_correlation(uuid) is
    'The runs sharing a correlation id: the run of that id, the runs of that event, and the others '
    '(reruns, cron runs) through runs_correlation_idx.';
revoke all on function nightshift._runs_by_correlation(uuid) from public;

create or replace function api.runs(
    function_id text default null,
    status text default null,
    "trigger" text default null,
    since timestamptz default null,
    until timestamptz default null,
    "limit" integer default 50,
    before text default null,
    id uuid default null,
    correlation_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_before_at timestamptz;
    v_before_id uuid;
    v_runs jsonb;
    v_next text;
begin
    perform auth.require_reader('api.runs');
    if runs."limit" is null or runs."limit" not between 1 and 200 then
        raise exception 'limit must be between 1 and 200, got %', coalesce(runs."limit"::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if runs.status is not null and runs.status not in ('queued', 'running', 'completed', 'failed', 'cancelled') then
        raise exception 'status must be one of queued, running, completed, failed, cancelled, got "%"', left(runs.status, 64)
            using errcode = 'invalid_parameter_value';
    end if;
    if runs."trigger" is not null and runs."trigger" not in ('cron', 'event', 'manual', 'rerun') then
        raise exception 'trigger must be one of cron, event, manual, rerun, got "%"', left(runs."trigger", 64)
            using errcode = 'invalid_parameter_value';
    end if;
    if runs.before is not null then
        begin
            if runs.before !~ '^[0-9T:.Z-]+~[0-9a-fA-F-]{36}$' then
                raise exception using errcode = 'invalid_datetime_format';
            end if;
            v_before_at := pg_catalog.split_part(runs.before, '~', 1)::timestamptz;
            v_before_id := pg_catalog.split_part(runs.before, '~', 2)::uuid;
        exception when invalid_datetime_format or invalid_text_representation or datetime_field_overflow then
            raise exception 'before must be a next_before from a previous page, got "%"', left(runs.before, 80)
                using errcode = 'invalid_parameter_value';
        end;
    end if;

    -- One row more than asked says whether another page follows; rows with equal created_at
    -- are ordered by id, so a page boundary never drops or repeats one. The candidates come
    -- from the cheapest index for the filters given: the run's id, the correlation id's three
    -- places, or each function's newest runs (nightshift._runs_newest).
    select coalesce(pg_catalog.jsonb_agg(nightshift._run_summary(p.run) order by p.n) filter (where p.n <= runs."limit"), '[]'::jsonb),
           case when pg_catalog.count(*) > runs."limit" then
               pg_catalog.max(nightshift._run_cursor((p.run).created_at, (p.run).id)) filter (where p.n = runs."limit")
           end
    into v_runs, v_next
    from (
        select r::nightshift.runs as run, pg_catalog.row_number() over (order by r.created_at desc, r.id desc) as n
        from (select c.* from nightshift.runs c where runs.id is not null and c.id = runs.id
              union all
              select c.* from nightshift._runs_by_correlation(runs.correlation_id) c
              where runs.id is null and runs.correlation_id is not null
              union all
              select c.* from nightshift._runs_newest(runs.function_id, runs.status, runs."trigger", runs.since, runs.until,
                                                      v_before_at, v_before_id, runs."limit" + 1) c
              where runs.id is null and runs.correlation_id is null) r
        where (runs.function_id is null or r.function_id = runs.function_id)
          and (runs.status is null or r.status = runs.status)
          and (runs."trigger" is null or r.trigger_kind = runs."trigger")
          and (runs.since is null or r.created_at >= runs.since)
          and (runs.until is null or r.created_at < runs.until)
          and (runs.correlation_id is null or r.correlation_id = runs.correlation_id)
          and (v_before_at is null or (r.created_at, r.id) < (v_before_at, v_before_id))
        order by r.created_at desc, r.id desc
        limit runs."limit" + 1) p;
    return pg_catalog.jsonb_build_object('runs', v_runs, 'next_before', v_next);
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
    -- The last 24 h are read function by function (runs_function_id_created_at_idx).
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
                  from nightshift.runs r
                  where r.function_id = any (v_functions) and r.created_at >= v_since
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

-- A claim's last statement updates its runs by id (`r.id = any (v_run_ids)`), a completion
-- batch joins its ids to the table. With random_page_cost at its default of 4 (a disk seek),
-- PostgreSQL priced 500 primary-key probes above reading a table of some 1,300 pages, and both
-- read the whole table until it grew far larger: 7 of a 500-run claim's 14 ms, 7 of a 500-run
-- completion's 18 ms (auto_explain, bench/engine's throughput run; 11.4 ms after). The engine's
-- tables are hot and in memory; priced as such, the probes win.
alter function nightshift.claim_runs(text, integer, interval, text[]) set random_page_cost = 1.1;
alter function nightshift.complete_runs(uuid[], bigint[], jsonb[]) set random_page_cost = 1.1;
alter function nightshift.heartbeat(uuid[], bigint[], interval) set random_page_cost = 1.1;
