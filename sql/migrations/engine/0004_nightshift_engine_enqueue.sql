-- The ways work comes in: the registry sync, manual triggers, bulk enqueue, events, the cron
-- tick, reruns; plus history pruning. Every function that makes a run runnable
-- NOTIFYs channel nightshift_runs with the function id; PostgreSQL folds identical payloads
-- within a transaction into one notification, so bulk enqueues wake workers once.
--
-- Errors callers can act on carry their own SQLSTATE:
--   NSF01 unknown or retired function, NSR01 unknown run, 22023 invalid argument.

create function nightshift._enqueueable_function(p_function_id text)
returns nightshift.functions
language plpgsql
stable
set search_path = ''
as $$
declare
    v_function nightshift.functions;
begin
    select f.* into v_function from nightshift.functions f where f.id = p_function_id;
    if not found then
        raise exception 'unknown function "%"', p_function_id
            using errcode = 'NSF01',
                  hint = 'Functions are registered by nightshift.sync_functions when a worker starts.';
    end if;
    if v_function.retired_at is not null then
        raise exception 'function "%" is retired', p_function_id
            using errcode = 'NSF01',
                  detail = format('No worker has declared it since %s.', v_function.retired_at);
    end if;
    return v_function;
end
$$;
comment on function nightshift._enqueueable_function(text) is
    'The function row runs may be enqueued for; raises NSF01 naming an unknown or retired function.';

-- Records the slots [p_first_slot, p_last_slot] (both slots of p_fields) as one range row.
create function nightshift._skip_slots(
    p_function_id text, p_fields nightshift.cron_fields, p_zone text,
    p_first_slot timestamptz, p_last_slot timestamptz, p_reason text)
returns void
language sql
set search_path = ''
as $$
    insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason)
    values (p_function_id, p_first_slot, p_last_slot,
            nightshift._cron_count(p_fields, p_zone, p_first_slot, p_last_slot + interval '1 microsecond'),
            p_reason)
$$;
comment on function nightshift._skip_slots(text, nightshift.cron_fields, text, timestamptz, timestamptz, text) is
    'Records a range of cron slots that will not run, with how many there were.';

create function nightshift.sync_functions(specs jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_spec jsonb;
    v_id text;
    v_ids text[] := '{}'::text[];
    v_function nightshift.functions;
    v_old_function nightshift.functions;
    v_old_schedule nightshift.schedules;
    v_schedule jsonb;
    v_fields nightshift.cron_fields;
    v_zone text;
    v_was_active boolean;
    v_next_slot timestamptz;
    v_old_fields nightshift.cron_fields;
begin
    -- Two processes starting together would each retire the functions only the other
    -- declares, and could both recompute a schedule from a half-applied state. Syncs take
    -- turns for the whole transaction; the second then sees the first's result in full.
    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- 0x4E530001: 'NS' lock space 1, sync

    if pg_catalog.jsonb_typeof(specs) is distinct from 'array' then
        raise exception 'sync_functions expects a JSON array of function specs, got %',
            coalesce(pg_catalog.jsonb_typeof(specs), 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    for v_spec in select e.value from pg_catalog.jsonb_array_elements(specs) e loop
        v_id := v_spec ->> 'id';
        if v_id is null or v_id = '' then
            raise exception 'a function spec has no "id": %', v_spec
                using errcode = 'invalid_parameter_value';
        end if;
        if v_id = any (v_ids) then
            raise exception 'function "%" is declared twice', v_id
                using errcode = 'invalid_parameter_value';
        end if;
        v_ids := v_ids || v_id;

        begin
            select f.* into v_old_function from nightshift.functions f where f.id = v_id;
            select s.* into v_old_schedule from nightshift.schedules s where s.function_id = v_id;

            insert into nightshift.functions as f (
                id, max_attempts, backoff_base_ms, backoff_multiplier, backoff_max_ms, backoff_jitter,
                concurrency_limit, concurrency_key, timeout_ms, crash_limit, event_names, enabled)
            values (
                v_id,
                coalesce((v_spec ->> 'max_attempts')::integer, 4),
                coalesce((v_spec -> 'backoff' ->> 'base_ms')::integer, 1000),
                coalesce((v_spec -> 'backoff' ->> 'multiplier')::numeric, 2),
                coalesce((v_spec -> 'backoff' ->> 'max_ms')::integer, 3600000),
                coalesce((v_spec -> 'backoff' ->> 'jitter')::boolean, false),
                (v_spec -> 'concurrency' ->> 'limit')::integer,
                v_spec -> 'concurrency' ->> 'key',
                (v_spec ->> 'timeout_ms')::integer,
                coalesce((v_spec ->> 'crash_limit')::integer, 3),
                array(select pg_catalog.jsonb_array_elements_text(coalesce(v_spec -> 'events', '[]'))),
                coalesce((v_spec ->> 'enabled')::boolean, true))
            on conflict (id) do update set
                max_attempts = excluded.max_attempts,
                backoff_base_ms = excluded.backoff_base_ms,
                backoff_multiplier = excluded.backoff_multiplier,
                backoff_max_ms = excluded.backoff_max_ms,
                backoff_jitter = excluded.backoff_jitter,
                concurrency_limit = excluded.concurrency_limit,
                concurrency_key = excluded.concurrency_key,
                timeout_ms = excluded.timeout_ms,
                crash_limit = excluded.crash_limit,
                event_names = excluded.event_names,
                enabled = excluded.enabled,
                retired_at = null,
                updated_at = now()
            returning f.* into v_function;

            v_schedule := nullif(v_spec -> 'schedule', 'null'::jsonb);
            if v_schedule is null then
                -- No cron trigger any more: nothing is due, so nothing is missed.
                delete from nightshift.schedules s where s.function_id = v_id;
                continue;
            end if;

            v_fields := nightshift._cron_parse(v_schedule ->> 'cron');
            v_zone := nightshift._time_zone(coalesce(v_schedule ->> 'timezone', 'UTC'));
            v_next_slot := nightshift._cron_next(v_fields, v_zone, now());

            if v_old_schedule.function_id is not null then
                v_was_active := v_old_schedule.enabled and v_old_function.enabled and v_old_function.retired_at is null;
                if v_old_schedule.cron <> v_schedule ->> 'cron' or v_old_schedule.timezone <> v_zone
                   or (not v_was_active and v_function.enabled and coalesce((v_schedule ->> 'enabled')::boolean, true))
                then
                    -- A new expression, or back on after being switched off: start from now.
                    -- Slots that fell due meanwhile will not run; record them (under the old
                    -- expression, which is the one they belong to).
                    if v_old_schedule.next_slot <= now() then
                        v_old_fields := nightshift._cron_parse(v_old_schedule.cron);
                        perform nightshift._skip_slots(
                            v_id, v_old_fields, v_old_schedule.timezone, v_old_schedule.next_slot,
                            (nightshift._cron_latest(v_old_fields, v_old_schedule.timezone, v_old_schedule.next_slot, now(), 1))[1],
                            case when v_was_active then 'rescheduled' else 'disabled' end);
                    end if;
                else
                    -- Unchanged: keep next_slot, so slots that fell due while no ticker ran are
                    -- caught up by the next tick according to the catch-up policy.
                    v_next_slot := v_old_schedule.next_slot;
                end if;
            end if;

            insert into nightshift.schedules as s (
                function_id, cron, timezone, enabled, catch_up, catch_up_cap, next_slot)
            values (
                v_id,
                v_schedule ->> 'cron',
                v_zone,
                coalesce((v_schedule ->> 'enabled')::boolean, true),
                coalesce(v_schedule ->> 'catch_up', 'latest'),
                coalesce((v_schedule ->> 'catch_up_cap')::integer, 10),
                v_next_slot)
            on conflict (function_id) do update set
                cron = excluded.cron,
                timezone = excluded.timezone,
                enabled = excluded.enabled,
                catch_up = excluded.catch_up,
                catch_up_cap = excluded.catch_up_cap,
                next_slot = excluded.next_slot,
                updated_at = now();
        exception when others then
            -- Keep the original SQLSTATE; say which function the problem belongs to.
            raise exception using
                errcode = sqlstate,
                message = format('invalid spec for function "%s": %s', v_id, sqlerrm);
        end;
    end loop;

    with retired as (
        update nightshift.functions f
        set retired_at = now(), updated_at = now()
        where f.retired_at is null and f.id <> all (v_ids)
        returning f.id
    )
    update nightshift.schedules s
    set enabled = false, updated_at = now()
    from retired r
    where s.function_id = r.id and s.enabled;
end
$$;
comment on function nightshift.sync_functions(jsonb) is
    'Upserts the declared functions and schedules, retires the undeclared ones; the worker calls it at start-up.';

create function nightshift.trigger(function_id text, payload jsonb default '{}', idempotency_key text default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_function nightshift.functions := nightshift._enqueueable_function(trigger.function_id);
    v_payload constant jsonb := coalesce(trigger.payload, '{}');
    v_run_id uuid;
begin
    insert into nightshift.runs (
        function_id, payload, max_attempts, trigger_kind, idempotency_key, concurrency_key, concurrency_limit)
    values (
        v_function.id, v_payload, v_function.max_attempts, 'manual', trigger.idempotency_key,
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
comment on function nightshift.trigger(text, jsonb, text) is
    'Enqueues a run now; the same (function, idempotency key) returns the existing run instead.';

create function nightshift.enqueue_many(function_id text, payloads jsonb)
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

    insert into nightshift.runs (function_id, payload, max_attempts, trigger_kind, concurrency_key, concurrency_limit)
    select v_function.id, p.value, v_function.max_attempts, 'manual',
           p.value ->> v_function.concurrency_key, v_function.concurrency_limit
    from pg_catalog.jsonb_array_elements(payloads) p;
    get diagnostics v_count = row_count;

    if v_count > 0 then
        perform pg_catalog.pg_notify('nightshift_runs', v_function.id);
    end if;
    return v_count;
end
$$;
comment on function nightshift.enqueue_many(text, jsonb) is
    'Enqueues one run per element of a JSON array of payloads in one statement; returns how many.';

create function nightshift.send_event(name text, data jsonb default '{}', idempotency_key text default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_data constant jsonb := coalesce(send_event.data, '{}');
    v_event_id uuid;
    v_count integer;
begin
    if send_event.name is null or send_event.name = '' then
        raise exception 'an event needs a name' using errcode = 'invalid_parameter_value';
    end if;

    -- ON CONFLICT rather than check-then-insert: of two concurrent sends with one key, the
    -- second waits for the first and then inserts nothing, so it can never fan out again.
    insert into nightshift.events (name, data, idempotency_key)
    values (send_event.name, v_data, send_event.idempotency_key)
    on conflict (idempotency_key) do nothing
    returning id into v_event_id;

    if v_event_id is null then
        select e.id into v_event_id from nightshift.events e where e.idempotency_key = send_event.idempotency_key;
        return v_event_id;
    end if;

    -- Every run of this event shares the event id as correlation id, tying their logs together.
    with inserted as (
        insert into nightshift.runs (
            function_id, payload, max_attempts, trigger_kind, trigger_event_id, correlation_id,
            concurrency_key, concurrency_limit)
        select f.id, v_data, f.max_attempts, 'event', v_event_id, v_event_id,
               v_data ->> f.concurrency_key, f.concurrency_limit
        from nightshift.functions f
        where f.enabled and f.retired_at is null and send_event.name = any (f.event_names)
        returning function_id
    )
    select count(pg_catalog.pg_notify('nightshift_runs', i.function_id))::integer into v_count from inserted i;

    if v_count > 0 then
        update nightshift.events e set runs_enqueued = v_count where e.id = v_event_id;
    end if;
    return v_event_id;
end
$$;
comment on function nightshift.send_event(text, jsonb, text) is
    'Stores an event and enqueues a run (payload = data) of every enabled function subscribed to its name, '
    'in one transaction; the same idempotency key returns the first event and never fans out twice.';

create function nightshift.prune(keep interval default '14 days')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_cutoff timestamptz;
    v_runs integer;
    v_events integer;
    v_skipped_slots integer;
begin
    if keep is null or keep < interval '0' then
        raise exception 'prune needs a retention of zero or more, got %', coalesce(keep::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    v_cutoff := now() - keep;

    -- Only finished runs: queued, running and sleeping runs are work, not history. Their
    -- steps go with them by cascade, their attempts (no foreign key) explicitly.
    with pruned as (
        delete from nightshift.runs r
        where r.status in ('completed', 'failed', 'cancelled') and r.finished_at < v_cutoff
        returning r.id
    ), attempts as (
        delete from nightshift.run_attempts a using pruned p where a.run_id = p.id
    )
    select count(*)::integer into v_runs from pruned;

    delete from nightshift.events e where e.created_at < v_cutoff;
    get diagnostics v_events = row_count;

    delete from nightshift.skipped_slots s where s.recorded_at < v_cutoff;
    get diagnostics v_skipped_slots = row_count;

    return pg_catalog.jsonb_build_object('runs', v_runs, 'events', v_events, 'skipped_slots', v_skipped_slots);
end
$$;
comment on function nightshift.prune(interval) is
    'Deletes finished runs (with their steps and attempts), events and skipped-slot records older than keep; '
    'returns the counts. tick() runs it with the default retention at most once an hour.';

create function nightshift.tick(at timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    -- The skip policy still runs a slot at most this late: pg_cron ticks once a minute.
    v_on_time constant interval := interval '60 seconds';
    v_schedule record;
    v_fields nightshift.cron_fields;
    v_keep integer;
    v_due timestamptz[];
    v_run timestamptz[];
    v_skipped_last timestamptz;
    v_inserted integer;
    v_total integer := 0;
begin
    if tick.at is null or not pg_catalog.isfinite(tick.at) then
        raise exception 'tick needs a finite instant, got %', coalesce(tick.at::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    for v_schedule in
        select s.function_id, s.cron, s.timezone, s.catch_up, s.catch_up_cap, s.next_slot,
               f.max_attempts, f.concurrency_limit
        from nightshift.schedules s
        join nightshift.functions f on f.id = s.function_id
        where s.enabled and f.enabled and f.retired_at is null and s.next_slot <= tick.at
        order by s.function_id
        -- pg_cron and every Swift process tick concurrently. Each schedule is handled by
        -- whichever ticker locks it first; the others skip it rather than queue behind it,
        -- and after its commit they see the advanced next_slot (re-checked on the locked
        -- row), so no slot is handled twice. runs_cron_slot_idx backs this up.
        for update of s skip locked
    loop
        v_fields := nightshift._cron_parse(v_schedule.cron);
        v_keep := case when v_schedule.catch_up = 'all' then v_schedule.catch_up_cap else 1 end;
        -- One more than we may run, to learn the newest slot left out (if any).
        v_due := nightshift._cron_latest(v_fields, v_schedule.timezone, v_schedule.next_slot, tick.at, v_keep + 1);
        v_run := v_due[greatest(1, pg_catalog.cardinality(v_due) - v_keep + 1):];
        if v_schedule.catch_up = 'skip' and tick.at - v_run[pg_catalog.cardinality(v_run)] > v_on_time then
            v_run := '{}';
        end if;

        v_skipped_last := v_due[pg_catalog.cardinality(v_due) - pg_catalog.cardinality(v_run)];
        if v_skipped_last is not null then
            perform nightshift._skip_slots(
                v_schedule.function_id, v_fields, v_schedule.timezone, v_schedule.next_slot, v_skipped_last,
                case v_schedule.catch_up
                    when 'skip' then 'catch_up_skip'
                    when 'latest' then 'catch_up_latest'
                    else 'catch_up_cap'
                end);
        end if;

        insert into nightshift.runs (
            function_id, payload, max_attempts, run_at, trigger_kind, trigger_slot, concurrency_limit)
        select v_schedule.function_id, '{}', v_schedule.max_attempts, slot, 'cron', slot, v_schedule.concurrency_limit
        from pg_catalog.unnest(v_run) slot
        on conflict (function_id, trigger_slot) where trigger_kind = 'cron' do nothing;
        get diagnostics v_inserted = row_count;
        if v_inserted > 0 then
            perform pg_catalog.pg_notify('nightshift_runs', v_schedule.function_id);
            v_total := v_total + v_inserted;
        end if;

        update nightshift.schedules s
        set next_slot = nightshift._cron_next(v_fields, v_schedule.timezone, tick.at),
            last_enqueued_slot = coalesce(v_run[pg_catalog.cardinality(v_run)], s.last_enqueued_slot),
            updated_at = now()
        where s.function_id = v_schedule.function_id;
    end loop;

    -- Default retention, at most hourly. SKIP LOCKED: a ticker that finds another one pruning
    -- goes on instead of waiting for it; the re-check on the locked row stops a second prune
    -- right after the first commits.
    perform 1 from nightshift.maintenance m
    where m.task = 'prune' and m.last_run_at < now() - interval '1 hour'
    for update skip locked;
    if found then
        update nightshift.maintenance m set last_run_at = now() where m.task = 'prune';
        perform nightshift.prune();
    end if;

    return v_total;
end
$$;
comment on function nightshift.tick(timestamptz) is
    'Enqueues every due cron slot exactly once (per catch-up policy, recording the slots it skips), '
    'advances each schedule past the instant, prunes history hourly; returns how many runs it enqueued.';

create function nightshift.rerun(run_id uuid)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_original nightshift.runs;
    v_function nightshift.functions;
    v_run_id uuid;
begin
    select r.* into v_original from nightshift.runs r where r.id = rerun.run_id;
    if not found then
        raise exception 'unknown run "%"', rerun.run_id using errcode = 'NSR01';
    end if;
    v_function := nightshift._enqueueable_function(v_original.function_id);

    -- Fresh steps and attempts, the function's current settings, the original's correlation id.
    insert into nightshift.runs (
        function_id, payload, max_attempts, trigger_kind, rerun_of, correlation_id, concurrency_key, concurrency_limit)
    values (
        v_function.id, v_original.payload, v_function.max_attempts, 'rerun', v_original.id, v_original.correlation_id,
        v_original.payload ->> v_function.concurrency_key, v_function.concurrency_limit)
    returning id into v_run_id;

    perform pg_catalog.pg_notify('nightshift_runs', v_function.id);
    return v_run_id;
end
$$;
comment on function nightshift.rerun(uuid) is
    'Enqueues a new run of the same function and payload (trigger rerun, fresh steps); returns its id.';
