-- The operator's API over functions (issue 14 §2): every function with its kind, state,
-- settings and schedule (the next five fire times in the schedule's zone), for the readers of
-- 0048; enabling and disabling one, for the service and super admins.
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

revoke all on function nightshift._apply_enabled_override(), nightshift._in_zone(timestamptz, text),
    nightshift._next_fires(text, text, timestamptz, integer), nightshift._function_json(nightshift.functions) from public;
revoke all on function api.functions(), api.set_function_enabled(text, boolean) from public;
grant execute on function api.functions(), api.set_function_enabled(text, boolean) to nightshift_authenticated, nightshift_service;
