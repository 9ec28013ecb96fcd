-- The operator's API over functions, schedules, events and deliveries (issue 14 §2), for the
-- readers and actors of 0048: every function with its kind, state, settings and schedule (the
-- next five fire times in the schedule's zone), enabling and disabling one; every schedule with
-- its next, last and missed slots; events with the runs they fanned out to, and replaying one;
-- notification deliveries by channel and status, and retrying a failed one.
--
-- A worker's sync rewrites `enabled` from what its code declares at every start-up, so an
-- operator's choice is kept apart in enabled_override and wins over the sync (trigger below):
-- a function an operator disabled stays disabled across deploys until an operator enables it.

alter table nightshift.functions add column enabled_override boolean;
comment on column nightshift.functions.enabled_override is
    'An operator''s enable/disable (api.set_function_enabled): null = follow the declaration; otherwise enabled is '
    'kept equal to it whatever a sync declares.';

create function nightshift._apply_enabled_override()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.enabled := new.enabled_override;
    return new;
end
$$;
comment on function nightshift._apply_enabled_override() is
    'Keeps functions.enabled equal to an operator''s enabled_override when a sync (or anything) writes the row.';
create trigger functions_enabled_override
    before insert or update on nightshift.functions
    for each row when (new.enabled_override is not null)
    execute function nightshift._apply_enabled_override();

create function nightshift._in_zone(p_at timestamptz, p_zone text)
returns text
language sql
stable
set search_path = ''
as $$
    -- RFC 3339 with the zone's offset at that instant (what a wall clock there shows).
    select pg_catalog.to_char(p_at at time zone p_zone, 'YYYY-MM-DD"T"HH24:MI:SS')
        || case when v.offset_minutes < 0 then '-' else '+' end
        || pg_catalog.lpad((abs(v.offset_minutes) / 60)::text, 2, '0') || ':'
        || pg_catalog.lpad((abs(v.offset_minutes) % 60)::text, 2, '0')
    from (select (extract(epoch from (p_at at time zone p_zone) - (p_at at time zone 'UTC')) / 60)::integer) v(offset_minutes)
$$;
comment on function nightshift._in_zone(timestamptz, text) is 'An instant as RFC 3339 local time with the offset of an IANA zone.';

create function nightshift._next_fires(p_cron text, p_zone text, p_after timestamptz, p_count integer)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
    v_fields constant nightshift.cron_fields := nightshift._cron_parse(p_cron);
    v_at timestamptz := p_after;
    v_fires jsonb := '[]';
begin
    for i in 1 .. p_count loop
        v_at := nightshift._cron_next(v_fields, p_zone, v_at);
        exit when v_at is null;
        v_fires := v_fires || pg_catalog.to_jsonb(nightshift._in_zone(v_at, p_zone));
    end loop;
    return v_fires;
end
$$;
comment on function nightshift._next_fires(text, text, timestamptz, integer) is
    'The next p_count fire times of a schedule after an instant, as local times with the zone''s offset.';

create function nightshift._function_json(p_function nightshift.functions)
returns jsonb
language sql
stable
set search_path = ''
set timezone = 'UTC'
as $$
    select pg_catalog.jsonb_build_object(
        'id', p_function.id, 'kind', p_function.kind, 'defined_in', p_function.defined_in,
        'enabled', p_function.enabled, 'enabled_override', p_function.enabled_override,
        'retired', p_function.retired_at is not null, 'retired_at', p_function.retired_at,
        'max_attempts', p_function.max_attempts,
        'backoff', pg_catalog.jsonb_build_object(
            'base_ms', p_function.backoff_base_ms, 'multiplier', p_function.backoff_multiplier,
            'max_ms', p_function.backoff_max_ms, 'jitter', p_function.backoff_jitter),
        'concurrency_limit', p_function.concurrency_limit, 'concurrency_key', p_function.concurrency_key,
        'timeout_ms', p_function.timeout_ms, 'crash_limit', p_function.crash_limit, 'events', pg_catalog.to_jsonb(p_function.event_names),
        'schedule', (
            select pg_catalog.jsonb_build_object(
                'cron', s.cron, 'timezone', s.timezone, 'enabled', s.enabled, 'catch_up', s.catch_up,
                'catch_up_cap', s.catch_up_cap, 'next_slot', s.next_slot, 'last_slot', s.last_enqueued_slot,
                -- Only an active schedule fires.
                'next_fires', case when s.enabled and p_function.enabled and p_function.retired_at is null
                                   then nightshift._next_fires(s.cron, s.timezone, pg_catalog.now(), 5)
                                   else '[]'::jsonb end)
            from nightshift.schedules s where s.function_id = p_function.id))
$$;
comment on function nightshift._function_json(nightshift.functions) is
    'A function as api.functions shows it: kind, state, retry and concurrency settings, events, and its schedule '
    'with the next five fire times in the schedule''s zone (none while it cannot fire).';

create function api.functions()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.functions');
    return coalesce((select pg_catalog.jsonb_agg(nightshift._function_json(f) order by f.id) from nightshift.functions f),
                    '[]'::jsonb);
end
$$;
comment on function api.functions() is
    'Every function (api.functions'' shape: nightshift._function_json), by id. Readers: service, super admin, operator.';

create function api.set_function_enabled(id text, enabled boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_function nightshift.functions;
    v_schedule nightshift.schedules;
    v_fields nightshift.cron_fields;
begin
    perform auth.require_admin('api.set_function_enabled');
    if set_function_enabled.enabled is null then
        raise exception 'enabled must be true or false' using errcode = 'invalid_parameter_value';
    end if;
    -- Locks the function, then its schedule, in the order a sync does: a sync at the same
    -- moment either sees the override or is overridden by it, and a tick never enqueues a
    -- slot we are about to record as skipped.
    select f.* into v_function from nightshift.functions f where f.id = set_function_enabled.id for update;
    if not found then
        raise exception 'unknown function "%"', set_function_enabled.id using errcode = 'NSF01';
    end if;
    select s.* into v_schedule from nightshift.schedules s where s.function_id = v_function.id for update;

    if set_function_enabled.enabled and not v_function.enabled and v_schedule.function_id is not null
       and v_schedule.next_slot <= pg_catalog.now() then
        -- Back on after being off: slots that fell due meanwhile do not run (as when a sync
        -- re-enables it); record them, and start from now.
        v_fields := nightshift._cron_parse(v_schedule.cron);
        perform nightshift._skip_slots(
            v_function.id, v_fields, v_schedule.timezone, v_schedule.next_slot,
            (nightshift._cron_latest(v_fields, v_schedule.timezone, v_schedule.next_slot, pg_catalog.now(), 1))[1],
            'disabled');
        update nightshift.schedules s
        set next_slot = nightshift._cron_next(v_fields, v_schedule.timezone, pg_catalog.now()), updated_at = pg_catalog.now()
        where s.function_id = v_function.id;
    end if;

    update nightshift.functions f
    set enabled_override = set_function_enabled.enabled, updated_at = pg_catalog.now()
    where f.id = v_function.id
    returning f.* into v_function;
    return nightshift._function_json(v_function);
end
$$;
comment on function api.set_function_enabled(text, boolean) is
    'Enables or disables a function for good (enabled_override: kept across syncs); re-enabling records the slots that '
    'fell due meanwhile as skipped (disabled) and starts the schedule from now. NSF01 for an unknown id. '
    'Service and super admins only.';

-- ---------------------------------------------------------------------------------------------
-- Schedules.

create function api.schedules()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.schedules');
    return coalesce((
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'function_id', s.function_id, 'cron', s.cron, 'timezone', s.timezone,
                   'enabled', s.enabled, 'function_enabled', f.enabled, 'retired', f.retired_at is not null,
                   'catch_up', s.catch_up, 'catch_up_cap', s.catch_up_cap,
                   'next_slot', s.next_slot, 'last_slot', s.last_enqueued_slot,
                   -- Due and not yet handled: a ticker that is not running, or a schedule that is off.
                   'overdue_slots', case when s.next_slot <= pg_catalog.now()
                       then nightshift._cron_count(nightshift._cron_parse(s.cron), s.timezone, s.next_slot, pg_catalog.now() + interval '1 microsecond')
                       else 0 end,
                   'skipped_slots', (select coalesce(pg_catalog.sum(k.slot_count), 0) from nightshift.skipped_slots k
                                     where k.function_id = s.function_id),
                   'skipped', coalesce((
                       select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                  'first_slot', x.first_slot, 'last_slot', x.last_slot, 'slot_count', x.slot_count,
                                  'reason', x.reason, 'recorded_at', x.recorded_at) order by x.first_slot desc)
                       from (select k.* from nightshift.skipped_slots k where k.function_id = s.function_id
                             order by k.first_slot desc limit 10) x), '[]'::jsonb))
               order by s.function_id)
        from nightshift.schedules s
        join nightshift.functions f on f.id = s.function_id), '[]'::jsonb);
end
$$;
comment on function api.schedules() is
    'Every cron schedule by function: next and last slot, slots overdue now, slots knowingly skipped (total, and the ten '
    'newest ranges with their reason). Readers: service, super admin, operator.';

-- ---------------------------------------------------------------------------------------------
-- Events.

alter table nightshift.events add column replay_of uuid;
comment on column nightshift.events.replay_of is 'The event this one replays (api.replay_event); a history link, not a foreign key.';
-- The runs an event fanned out to (api.events): event runs only, so the claim path's updates
-- never touch it and other runs' inserts do not pay for it.
create index runs_trigger_event_id_idx on nightshift.runs (trigger_event_id) where trigger_event_id is not null;

create function nightshift._event_json(p_event nightshift.events)
returns jsonb
language sql
stable
set search_path = ''
set timezone = 'UTC'
as $$
    select pg_catalog.jsonb_build_object(
        'id', p_event.id, 'name', p_event.name, 'data', p_event.data, 'idempotency_key', p_event.idempotency_key,
        'runs_enqueued', p_event.runs_enqueued, 'replay_of', p_event.replay_of, 'created_at', p_event.created_at,
        'runs', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', r.id, 'function_id', r.function_id, 'status', r.status)
                   order by r.function_id, r.id)
            from nightshift.runs r where r.trigger_event_id = p_event.id), '[]'::jsonb))
$$;
comment on function nightshift._event_json(nightshift.events) is
    'An event as api.events shows it: name, data, and the runs it fanned out to (id, function, status).';

create function nightshift._parse_cursor(p_before text)
returns table (created_at timestamptz, id uuid)
language plpgsql
immutable
set search_path = ''
as $$
begin
    if p_before is null then
        return;
    end if;
    if p_before !~ '^[0-9T:.Z-]+~[0-9a-fA-F-]{36}$' then
        raise exception using errcode = 'invalid_datetime_format';
    end if;
    created_at := pg_catalog.split_part(p_before, '~', 1)::timestamptz;
    id := pg_catalog.split_part(p_before, '~', 2)::uuid;
    return next;
exception when invalid_datetime_format or invalid_text_representation or datetime_field_overflow then
    raise exception 'before must be a next_before from a previous page, got "%"', left(p_before, 80)
        using errcode = 'invalid_parameter_value';
end
$$;
comment on function nightshift._parse_cursor(text) is
    'The (created_at, id) of a next_before cursor (nightshift._run_cursor); 22023 naming before when it does not parse.';

create function api.events(
    name text default null,
    since timestamptz default null,
    until timestamptz default null,
    "limit" integer default 50,
    before text default null)
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
    v_events jsonb;
    v_next text;
begin
    perform auth.require_reader('api.events');
    if events."limit" is null or events."limit" not between 1 and 200 then
        raise exception 'limit must be between 1 and 200, got %', coalesce(events."limit"::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select c.created_at, c.id into v_before_at, v_before_id from nightshift._parse_cursor(events.before) c;

    select coalesce(pg_catalog.jsonb_agg(nightshift._event_json(p.event) order by p.n) filter (where p.n <= events."limit"), '[]'::jsonb),
           case when pg_catalog.count(*) > events."limit" then
               pg_catalog.max(nightshift._run_cursor((p.event).created_at, (p.event).id)) filter (where p.n = events."limit")
           end
    into v_events, v_next
    from (
        select e as event, pg_catalog.row_number() over (order by e.created_at desc, e.id desc) as n
        from nightshift.events e
        where (events.name is null or e.name = events.name)
          and (events.since is null or e.created_at >= events.since)
          and (events.until is null or e.created_at < events.until)
          and (v_before_at is null or (e.created_at, e.id) < (v_before_at, v_before_id))
        order by e.created_at desc, e.id desc
        limit events."limit" + 1) p;
    return pg_catalog.jsonb_build_object('events', v_events, 'next_before', v_next);
end
$$;
comment on function api.events(text, timestamptz, timestamptz, integer, text) is
    'Events newest first (created_at, id), by name and created_at in [since, until), with the runs each fanned out to; '
    'at most limit (1-200); next_before pages on. Readers: service, super admin, operator.';

create function api.replay_event(id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_event nightshift.events;
    v_new_id uuid;
begin
    perform auth.require_admin('api.replay_event');
    select e.* into v_event from nightshift.events e where e.id = replay_event.id;
    if not found then
        raise exception 'unknown event "%"', replay_event.id using errcode = 'NSE01';
    end if;
    -- A new event (no idempotency key: a replay is meant to run again), fanned out to the
    -- functions subscribed now.
    v_new_id := nightshift.send_event(v_event.name, v_event.data, null);
    update nightshift.events e set replay_of = v_event.id where e.id = v_new_id returning e.* into v_event;
    return nightshift._event_json(v_event);
end
$$;
comment on function api.replay_event(uuid) is
    'Sends an event again with the same name and data (a new event, replay_of the original) to the functions '
    'subscribed now; NSE01 for an unknown id. Service and super admins only.';

-- ---------------------------------------------------------------------------------------------
-- Deliveries.

create function nightshift._delivery_json(p_delivery notify.deliveries)
returns jsonb
language sql
stable
set search_path = ''
set timezone = 'UTC'
as $$
    select pg_catalog.jsonb_build_object(
        'id', p_delivery.id, 'notification_id', p_delivery.notification_id, 'channel', p_delivery.channel,
        'status', p_delivery.status, 'attempts', p_delivery.attempts, 'max_attempts', p_delivery.max_attempts,
        'next_attempt_at', p_delivery.next_attempt_at, 'last_status_code', p_delivery.last_status_code,
        'last_error', p_delivery.last_error, 'delivered_at', p_delivery.delivered_at,
        'created_at', p_delivery.created_at, 'updated_at', p_delivery.updated_at)
$$;
comment on function nightshift._delivery_json(notify.deliveries) is
    'A delivery as api.deliveries shows it (the notification''s content stays with its recipient).';

create function api.deliveries(
    channel text default null,
    status text default null,
    "limit" integer default 50,
    before text default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_before bigint;
    v_deliveries jsonb;
    v_next text;
begin
    perform auth.require_reader('api.deliveries');
    if deliveries."limit" is null or deliveries."limit" not between 1 and 200 then
        raise exception 'limit must be between 1 and 200, got %', coalesce(deliveries."limit"::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if deliveries.status is not null and deliveries.status not in ('pending', 'delivering', 'delivered', 'failed') then
        raise exception 'status must be one of pending, delivering, delivered, failed, got "%"', left(deliveries.status, 64)
            using errcode = 'invalid_parameter_value';
    end if;
    if deliveries.before is not null then
        if deliveries.before !~ '^[0-9]{1,18}$' then
            raise exception 'before must be a next_before from a previous page, got "%"', left(deliveries.before, 80)
                using errcode = 'invalid_parameter_value';
        end if;
        v_before := deliveries.before::bigint;
    end if;

    -- Newest first by id (an identity: insertion order, unique, so pages never overlap).
    select coalesce(pg_catalog.jsonb_agg(nightshift._delivery_json(p.delivery) order by p.n) filter (where p.n <= deliveries."limit"), '[]'::jsonb),
           case when pg_catalog.count(*) > deliveries."limit" then
               pg_catalog.max((p.delivery).id::text) filter (where p.n = deliveries."limit")
           end
    into v_deliveries, v_next
    from (
        select d as delivery, pg_catalog.row_number() over (order by d.id desc) as n
        from notify.deliveries d
        where (deliveries.channel is null or d.channel = deliveries.channel)
          and (deliveries.status is null or d.status = deliveries.status)
          and (v_before is null or d.id < v_before)
        order by d.id desc
        limit deliveries."limit" + 1) p;
    return pg_catalog.jsonb_build_object('deliveries', v_deliveries, 'next_before', v_next);
end
$$;
comment on function api.deliveries(text, text, integer, text) is
    'Notification deliveries newest first, by channel and status; at most limit (1-200); next_before pages on. '
    'Readers: service, super admin, operator.';

create function api.retry_delivery(id bigint)
returns jsonb
language plpgsql
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_delivery notify.deliveries;
begin
    perform auth.require_admin('api.retry_delivery');
    -- Locked: a dispatcher claiming or reporting on it at this moment goes first or after,
    -- never interleaved with the status check below.
    select d.* into v_delivery from notify.deliveries d where d.id = retry_delivery.id for update;
    if not found then
        raise exception 'unknown delivery %', retry_delivery.id using errcode = 'NSN01';
    end if;
    if v_delivery.status <> 'failed' then
        raise exception 'delivery % is %: only a failed delivery can be retried', retry_delivery.id, v_delivery.status
            using errcode = 'NSN02', detail = v_delivery.status;
    end if;
    -- A fresh round of the column's default 5 attempts; attempts keeps counting, so a late
    -- report of an old attempt still fails notify.fail_delivery's fencing.
    update notify.deliveries d
    set status = 'pending', next_attempt_at = pg_catalog.now(), max_attempts = d.attempts + 5, updated_at = pg_catalog.now()
    where d.id = v_delivery.id
    returning d.* into v_delivery;
    perform pg_catalog.pg_notify('nightshift_deliveries', '');
    return nightshift._delivery_json(v_delivery);
end
$$;
comment on function api.retry_delivery(bigint) is
    'Queues a failed delivery again now, with 5 more attempts; NSN01 for an unknown id, NSN02 (DETAIL: its status) '
    'for one that is not failed. Service and super admins only.';

revoke all on function nightshift._apply_enabled_override(), nightshift._in_zone(timestamptz, text),
    nightshift._next_fires(text, text, timestamptz, integer), nightshift._function_json(nightshift.functions) from public;
revoke all on function nightshift._event_json(nightshift.events), nightshift._parse_cursor(text),
    nightshift._delivery_json(notify.deliveries) from public;
revoke all on function api.functions(), api.set_function_enabled(text, boolean), api.schedules(),
    api.events(text, timestamptz, timestamptz, integer, text), api.replay_event(uuid),
    api.deliveries(text, text, integer, text), api.retry_delivery(bigint) from public;
grant execute on function api.functions(), api.set_function_enabled(text, boolean), api.schedules(),
    api.events(text, timestamptz, timestamptz, integer, text), api.replay_event(uuid),
    api.deliveries(text, text, integer, text), api.retry_delivery(bigint) to nightshift_authenticated, nightshift_service;
