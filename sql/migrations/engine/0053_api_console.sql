-- What the operator console (issue 14 §1) reads beyond 0048/0049: the overview's figures, each
-- function's latest runs, the events a run sent, the notification counts per day, and "run now"
-- for super admins (the HTTP trigger route is the service role's alone). Same readers and
-- actors as 0048: service role, super admin and operator read; service role and super admin act.

-- Each function's newest runs (api.function_runs, and the runs page filtered by function):
-- without it, a rare function's latest runs are found by walking runs_created_at_id_idx past
-- every other function's. Its write cost: one entry per insert and per non-HOT update, as
-- runs_created_at_id_idx.
create index runs_function_id_created_at_idx on nightshift.runs (function_id, created_at, id);
-- The queue (api.overview): queued and running runs by function. Partial, so it holds only the
-- live runs (small), but every claim and completion moves a run in or out of it.
create index runs_active_function_id_idx on nightshift.runs (function_id) where status in ('queued', 'running');

create function api.overview()
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
begin
    perform auth.require_reader('api.overview');
    return pg_catalog.jsonb_build_object(
        'at', v_now,
        'since', v_since,
        -- Queued (due now or later) and running, per function: the live part of the table.
        'queue', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'function_id', q.function_id, 'queued', q.queued, 'due', q.due, 'running', q.running)
                   order by q.queued + q.running desc, q.function_id)
            from (select r.function_id,
                         pg_catalog.count(*) filter (where r.status = 'queued') as queued,
                         pg_catalog.count(*) filter (where r.status = 'queued' and r.run_at <= v_now) as due,
                         pg_catalog.count(*) filter (where r.status = 'running') as running
                  from nightshift.runs r
                  where r.status in ('queued', 'running')
                  group by r.function_id) q), '[]'::jsonb),
        -- Runs created per minute over the last 24 h, and how many of them failed: only the
        -- minutes that had runs (the chart fills the rest with zero).
        'per_minute', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(m.minute_index, m.runs, m.failed) order by m.minute_index)
            from (select (extract(epoch from pg_catalog.date_trunc('minute', r.created_at) - v_since) / 60)::integer as minute_index,
                         pg_catalog.count(*) as runs,
                         pg_catalog.count(*) filter (where r.status = 'failed') as failed
                  from nightshift.runs r
                  where r.created_at >= v_since
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
                  select pg_catalog.jsonb_build_object('id', r.id, 'function_id', r.function_id, 'status', r.status,
                             'reason', 'due, not claimed', 'since', r.run_at, 'worker', null),
                         r.run_at
                  from nightshift.runs r
                  where r.status = 'queued' and r.run_at < v_now - interval '5 minutes'
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
                  where r.created_at >= v_since and r.status = 'completed' and r.started_at is not null
                  group by r.function_id) d), '[]'::jsonb));
end
$$;
comment on function api.overview() is
    'The console''s overview: queue depth per function, runs and failures per minute over the last 24 h (minute '
    'index from since, runs, failed), stuck runs (expired lease; due and unclaimed for 5 min), missed slots '
    '(overdue, skipped in 24 h), p50/p95 duration of the last 24 h''s completed runs. Readers: service, super admin, operator.';

create function api.function_runs("limit" integer default 20)
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
    -- One index walk per function (runs_function_id_created_at_idx), newest first.
    return coalesce((
        select pg_catalog.jsonb_object_agg(f.id, coalesce(l.runs, '[]'::jsonb))
        from nightshift.functions f
        cross join lateral (
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'id', r.id, 'status', r.status, 'created_at', r.created_at) order by r.created_at desc, r.id desc) as runs
            from (select r.id, r.status, r.created_at from nightshift.runs r
                  where r.function_id = f.id
                  order by r.created_at desc, r.id desc
                  limit function_runs."limit") r) l), '{}'::jsonb);
end
$$;
comment on function api.function_runs(integer) is
    'Each function''s newest runs (id, status, created_at), at most limit (1-100) each, as an object by function id. '
    'Readers: service, super admin, operator.';

create function api.run_events(id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.run_events');
    -- A run sends an event in a memoised step named send-event:<name>[#n] whose output is the
    -- event's id (Step.sendEvent), so the steps lead to the events without scanning them.
    return coalesce((
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'id', e.id, 'name', e.name, 'data', e.data, 'runs_enqueued', e.runs_enqueued, 'created_at', e.created_at,
                   'step', s.name) order by e.created_at, e.id)
        from nightshift.steps s
        join nightshift.events e on e.id = (s.output #>> '{}')::uuid
        where s.run_id = run_events.id
          and s.name like 'send-event:%'
          and pg_catalog.jsonb_typeof(s.output) = 'string'
          and (s.output #>> '{}') ~ '^[0-9a-fA-F-]{36}$'), '[]'::jsonb);
end
$$;
comment on function api.run_events(uuid) is
    'The events a run sent (its send-event steps), oldest first: id, name, data, runs enqueued, the step. '
    'Readers: service, super admin, operator.';

create function api.notification_stats(days integer default 14)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.notification_stats');
    if notification_stats.days is null or notification_stats.days not between 1 and 90 then
        raise exception 'days must be between 1 and 90, got %', coalesce(notification_stats.days::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    return pg_catalog.jsonb_build_object(
        -- The cap ledger's UTC days, newest first.
        'days', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('day', d.day, 'sent', d.sent, 'suppressed', d.suppressed)
                   order by d.day desc)
            from (select c.day, pg_catalog.sum(c.sent) as sent, pg_catalog.sum(c.suppressed) as suppressed
                  from notify.daily_counts c
                  where c.day > (pg_catalog.now() at time zone 'UTC')::date - notification_stats.days
                  group by c.day) d), '[]'::jsonb),
        'deliveries', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('channel', d.channel, 'status', d.status, 'count', d.n)
                   order by d.channel, d.status)
            from (select x.channel, x.status, pg_catalog.count(*) as n from notify.deliveries x group by x.channel, x.status) d),
            '[]'::jsonb));
end
$$;
comment on function api.notification_stats(integer) is
    'Notifications sent and suppressed per UTC day over the last days (1-90), and deliveries counted by channel and '
    'status. Readers: service, super admin, operator.';

create function api.trigger_run(function_id text, payload jsonb default '{}')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform auth.require_admin('api.trigger_run');
    if pg_catalog.jsonb_typeof(trigger_run.payload) is distinct from 'object' then
        raise exception 'payload must be a JSON object' using errcode = 'invalid_parameter_value';
    end if;
    -- nightshift.trigger raises NSF01 for an unknown or retired function.
    return pg_catalog.jsonb_build_object(
        'run_id', nightshift.trigger(trigger_run.function_id, trigger_run.payload, null), 'status', 'queued');
end
$$;
comment on function api.trigger_run(text, jsonb) is
    'Runs a function now with a payload object (nightshift.trigger, trigger manual); NSF01 for an unknown or retired '
    'function, 22023 for a payload that is not an object. Service and super admins only.';

revoke all on function api.overview(), api.function_runs(integer), api.run_events(uuid), api.notification_stats(integer),
    api.trigger_run(text, jsonb) from public;
grant execute on function api.overview(), api.function_runs(integer), api.run_events(uuid), api.notification_stats(integer),
    api.trigger_run(text, jsonb) to nightshift_authenticated, nightshift_service;
