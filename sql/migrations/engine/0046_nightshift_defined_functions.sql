-- Jobs without Swift (issue 13 §2), the SQL layer: a function's work may be one SQL statement
-- or one HTTP request instead of Swift code, and such a function may be defined from SQL.
--
--  * nightshift.functions gains kind ('swift', 'sql', 'http'), body (null for swift;
--    {"sql": "<one statement>"} or {"url", "method", "timeout_ms", "headers"}) and defined_in
--    ('code': declared by a worker's sync_functions, from Swift or its config; 'sql': by
--    nightshift.define_function).
--  * The per-spec upsert of sync_functions is now nightshift._upsert_function(spec), shared
--    with define_function. A spec may carry "kind" and "body" (a worker's config-declared
--    jobs); without them it is a Swift function, as before.
--  * sync_functions retires only absent functions defined in code: a function defined from
--    SQL is never retired by a worker's sync. A worker that declares an id defined from SQL
--    takes it over (its code is what runs it from then on).
--  * nightshift.define_function / drop_function, for the service only; both NOTIFY
--    nightshift_functions with the id, so that workers reload the defined functions.

alter table nightshift.functions
    add column kind text not null default 'swift',
    add column body jsonb,
    add column defined_in text not null default 'code',
    add constraint functions_kind_is_valid check (kind in ('swift', 'sql', 'http')),
    add constraint functions_defined_in_is_valid check (defined_in in ('code', 'sql')),
    -- The shape only; nightshift._check_body validates the content (and says what is wrong).
    add constraint functions_body_matches_kind check (coalesce(case kind
        when 'swift' then body is null
        when 'sql' then pg_catalog.jsonb_typeof(body -> 'sql') = 'string'
        when 'http' then pg_catalog.jsonb_typeof(body -> 'url') = 'string'
                     and pg_catalog.jsonb_typeof(body -> 'method') = 'string'
    end, false));
comment on column nightshift.functions.kind is
    'What a run executes: swift = the worker''s code for this id; sql = body.sql, one statement in its own '
    'transaction; http = a request to body.url.';
comment on column nightshift.functions.body is
    'Null for swift; {"sql": "<one statement>"} for sql; {"url": "http(s)://…", "method": "POST", '
    '"timeout_ms": 60000, "headers": {…}} for http (timeout_ms and headers optional).';
comment on column nightshift.functions.defined_in is
    'code = declared by a worker (sync_functions retires it when no worker declares it any more); '
    'sql = defined by nightshift.define_function (only drop_function retires it).';
comment on table nightshift.functions is
    'Every function: declared by a worker (synced by nightshift.sync_functions at start-up) or defined from SQL '
    '(nightshift.define_function).';

-- ---------------------------------------------------------------------------------------------
-- The body of a kind: validated, normalised (an http method in capitals, POST by default).

create function nightshift._check_body(p_kind text, p_body jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_body jsonb := nullif(p_body, 'null'::jsonb);
    v_text text;
    v_method text;
    v_key text;
begin
    if p_kind is null or p_kind not in ('swift', 'sql', 'http') then
        raise exception 'unknown kind "%" (use swift, sql or http)', coalesce(p_kind, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    if p_kind = 'swift' then
        if v_body is not null then
            raise exception 'a swift function has no body (its code is the worker''s), got %', v_body
                using errcode = 'invalid_parameter_value';
        end if;
        return null;
    end if;

    if pg_catalog.jsonb_typeof(v_body) is distinct from 'object' then
        raise exception 'the body of a % function must be a JSON object, got %', p_kind, coalesce(v_body::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    if p_kind = 'sql' then
        for v_key in select k from pg_catalog.jsonb_object_keys(v_body) k where k <> 'sql' loop
            raise exception 'unknown key "%" in the body of a sql function (it has only "sql")', v_key
                using errcode = 'invalid_parameter_value';
        end loop;
        if pg_catalog.jsonb_typeof(v_body -> 'sql') is distinct from 'string'
           or pg_catalog.btrim(v_body ->> 'sql', E' \t\r\n;') = '' then
            raise exception 'the body of a sql function needs "sql", a statement, got %', v_body
                using errcode = 'invalid_parameter_value';
        end if;
        v_text := v_body ->> 'sql';
        -- One statement: it runs in its own transaction with a statement_timeout. Anything
        -- after a semicolon but blanks is refused (a semicolon in a string literal too: put
        -- such a statement in a SQL function and call that).
        if v_text ~ ';\s*\S' then
            raise exception 'the body of a sql function must be one statement, got "%"', v_text
                using errcode = 'invalid_parameter_value',
                      hint = 'Put several statements in a SQL function and call it.';
        end if;
        return v_body;
    end if;

    -- http
    for v_key in select k from pg_catalog.jsonb_object_keys(v_body) k
                 where k not in ('url', 'method', 'timeout_ms', 'headers') loop
        raise exception 'unknown key "%" in the body of an http function (url, method, timeout_ms, headers)', v_key
            using errcode = 'invalid_parameter_value';
    end loop;
    v_text := case when pg_catalog.jsonb_typeof(v_body -> 'url') = 'string' then v_body ->> 'url' end;
    if v_text is null or v_text !~* '^https?://[^/\s]+\S*$' then
        raise exception 'the url of an http function must be an http:// or https:// URL, got %',
            coalesce(v_body -> 'url', 'null'::jsonb)
            using errcode = 'invalid_parameter_value';
    end if;
    if v_body ? 'method' and pg_catalog.jsonb_typeof(v_body -> 'method') is distinct from 'string' then
        raise exception 'the method of an http function must be a string, got %', v_body -> 'method'
            using errcode = 'invalid_parameter_value';
    end if;
    v_method := pg_catalog.upper(coalesce(v_body ->> 'method', 'POST'));
    if v_method not in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE') then
        raise exception 'the method of an http function must be GET, POST, PUT, PATCH or DELETE, got "%"', v_body ->> 'method'
            using errcode = 'invalid_parameter_value';
    end if;
    if v_body ? 'timeout_ms' and (pg_catalog.jsonb_typeof(v_body -> 'timeout_ms') is distinct from 'number'
            or (v_body ->> 'timeout_ms')::numeric <> pg_catalog.trunc((v_body ->> 'timeout_ms')::numeric)
            or (v_body ->> 'timeout_ms')::numeric not between 1 and 2147483647) then
        raise exception 'the timeout_ms of an http function must be a positive whole number of milliseconds, got %',
            v_body -> 'timeout_ms'
            using errcode = 'invalid_parameter_value';
    end if;
    if v_body ? 'headers' and (pg_catalog.jsonb_typeof(v_body -> 'headers') is distinct from 'object'
            or exists (select 1 from pg_catalog.jsonb_each(v_body -> 'headers') h
                       where pg_catalog.jsonb_typeof(h.value) <> 'string')) then
        raise exception 'the headers of an http function must be an object of strings, got %', v_body -> 'headers'
            using errcode = 'invalid_parameter_value';
    end if;
    return v_body || pg_catalog.jsonb_build_object('method', v_method);
end
$$;
comment on function nightshift._check_body(text, jsonb) is
    'Validates a function''s kind and body (raises 22023 saying what is wrong); returns the body to store: null for '
    'swift, the http method in capitals (POST when left out).';

-- ---------------------------------------------------------------------------------------------
-- One spec's upsert: what sync_functions did per spec (0036), now shared with define_function.
-- The caller holds the sync advisory lock.

create function nightshift._upsert_function(p_spec jsonb)
returns nightshift.functions
language plpgsql
set search_path = ''
as $$
declare
    v_spec jsonb := p_spec;
    v_id text := p_spec ->> 'id';
    v_kind text;
    v_body jsonb;
    v_function nightshift.functions;
    v_old_function nightshift.functions;
    v_old_schedule nightshift.schedules;
    v_schedule jsonb;
    v_fields nightshift.cron_fields;
    v_zone text;
    v_was_active boolean;
    v_next_slot timestamptz;
    v_old_fields nightshift.cron_fields;
    v_restart boolean;
begin
    if v_id is null or v_id = '' then
        raise exception 'a function spec has no "id": %', v_spec
            using errcode = 'invalid_parameter_value';
    end if;

    begin
        v_kind := coalesce(v_spec ->> 'kind', 'swift');
        v_body := nightshift._check_body(v_kind, v_spec -> 'body');

        -- tick() locks a due schedule row (SKIP LOCKED), enqueues its slots and moves
        -- next_slot on. Read without a lock, a tick committing between this read and the
        -- upsert below was undone: the stale next_slot went back and the next tick handled
        -- the same slots again (issue 11: two identical skip records). Locking the row
        -- first makes a running tick finish before we read (FOR UPDATE then returns its
        -- committed row), and makes ticks skip this schedule until the sync commits.
        select s.* into v_old_schedule from nightshift.schedules s where s.function_id = v_id for update;
        select f.* into v_old_function from nightshift.functions f where f.id = v_id;
        v_restart := true;

        insert into nightshift.functions as f (
            id, max_attempts, backoff_base_ms, backoff_multiplier, backoff_max_ms, backoff_jitter,
            concurrency_limit, concurrency_key, timeout_ms, crash_limit, event_names, enabled, kind, body)
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
            coalesce((v_spec ->> 'enabled')::boolean, true),
            v_kind,
            v_body)
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
            kind = excluded.kind,
            body = excluded.body,
            retired_at = null,
            updated_at = now()
        returning f.* into v_function;

        v_schedule := nullif(v_spec -> 'schedule', 'null'::jsonb);
        if v_schedule is null then
            -- No cron trigger any more: nothing is due, so nothing is missed.
            delete from nightshift.schedules s where s.function_id = v_id;
            return v_function;
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
                v_restart := false;
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
            -- Only a restarted schedule gets a new next_slot; an unchanged one keeps the
            -- row's own, whatever a tick made of it.
            next_slot = case when v_restart then excluded.next_slot else s.next_slot end,
            updated_at = now();
        return v_function;
    exception when others then
        -- Keep the original SQLSTATE; say which function the problem belongs to.
        raise exception using
            errcode = sqlstate,
            message = format('invalid spec for function "%s": %s', v_id, sqlerrm);
    end;
end
$$;
comment on function nightshift._upsert_function(jsonb) is
    'Upserts one function spec (attempts, backoff, concurrency, timeout, events, kind and body) and its schedule, '
    'un-retiring it; errors name the function. The caller holds the sync lock (0x4E530001). defined_in is the caller''s.';

-- ---------------------------------------------------------------------------------------------
-- sync_functions: the per-spec upsert is the helper's; only functions defined in code retire.

create or replace function nightshift.sync_functions(specs jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_spec jsonb;
    v_id text;
    v_ids text[] := '{}'::text[];
begin
    -- Two processes starting together would each retire the functions only the other
    -- declares, and could both recompute a schedule from a half-applied state. Syncs take
    -- turns for the whole transaction; the second then sees the first's result in full.
    -- define_function and drop_function take the same lock.
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

        perform nightshift._upsert_function(v_spec);
        -- Declared by a worker: its code (or config) runs it, even if it was defined from SQL.
        update nightshift.functions f set defined_in = 'code' where f.id = v_id and f.defined_in <> 'code';
    end loop;

    -- Only what workers declare is retired by their absence: a function defined from SQL
    -- stays until drop_function.
    with retired as (
        update nightshift.functions f
        set retired_at = now(), updated_at = now()
        where f.retired_at is null and f.defined_in = 'code' and f.id <> all (v_ids)
        returning f.id
    )
    update nightshift.schedules s
    set enabled = false, updated_at = now()
    from retired r
    where s.function_id = r.id and s.enabled;
end
$$;
comment on function nightshift.sync_functions(jsonb) is
    'Upserts the declared functions and schedules (cron, macro or ''N seconds''; kind and body for config-declared '
    'sql and http jobs), retires the undeclared ones defined in code (never those defined from SQL); the worker '
    'calls it at start-up. A schedule''s row is locked while it is compared, so a concurrent tick is never undone.';

-- ---------------------------------------------------------------------------------------------
-- Defining a function from SQL.

create function nightshift.define_function(
    id text,
    kind text,
    body jsonb,
    cron text default null,
    timezone text default 'UTC',
    retries integer default 3,
    max_concurrency integer default null,
    catch_up text default 'latest',
    timeout interval default null)
returns nightshift.functions
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_body jsonb := define_function.body;
    v_defined_in text;
    v_timeout_ms numeric;
    v_spec jsonb;
    v_function nightshift.functions;
begin
    if not auth.is_service() then
        raise exception 'only the service role may define functions'
            using errcode = 'insufficient_privilege';
    end if;

    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- the sync lock (see sync_functions)

    if define_function.id is null or define_function.id = '' then
        raise exception 'define_function needs an id' using errcode = 'invalid_parameter_value';
    end if;
    if define_function.kind is null or define_function.kind not in ('sql', 'http') then
        raise exception 'cannot define function "%" of kind "%": use sql or http (swift functions are declared by a worker)',
            define_function.id, coalesce(define_function.kind, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- Shorthand: the statement or the URL alone, as a JSON string.
    if pg_catalog.jsonb_typeof(v_body) = 'string' then
        v_body := pg_catalog.jsonb_build_object(case define_function.kind when 'sql' then 'sql' else 'url' end, v_body);
    end if;
    if define_function.retries is null or define_function.retries < 0 then
        raise exception 'retries must be zero or more, got %', coalesce(define_function.retries::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if define_function.timeout is not null then
        v_timeout_ms := pg_catalog.ceil(extract(epoch from define_function.timeout) * 1000);
        if v_timeout_ms < 1 or v_timeout_ms > 2147483647 then
            raise exception 'timeout must be positive (at most 24 days), got %', define_function.timeout
                using errcode = 'invalid_parameter_value';
        end if;
    end if;

    select f.defined_in into v_defined_in from nightshift.functions f where f.id = define_function.id for update;
    if v_defined_in = 'code' then
        raise exception 'function "%" is declared by a worker''s code; define_function may not replace it', define_function.id
            using errcode = 'invalid_parameter_value',
                  hint = 'Pick another id, or change it where the worker declares it.';
    end if;

    v_spec := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'id', define_function.id,
        'kind', define_function.kind,
        'max_attempts', define_function.retries::bigint + 1,
        'concurrency', case when define_function.max_concurrency is not null
                            then pg_catalog.jsonb_build_object('limit', define_function.max_concurrency) end,
        'timeout_ms', v_timeout_ms,
        'schedule', case when define_function.cron is not null then pg_catalog.jsonb_build_object(
            'cron', define_function.cron,
            'timezone', coalesce(define_function.timezone, 'UTC'),
            'catch_up', coalesce(define_function.catch_up, 'latest')) end))
        -- After stripping: the body's own nulls (an http header, say) are the validator's to judge.
        || pg_catalog.jsonb_build_object('body', v_body);

    perform nightshift._upsert_function(v_spec);
    update nightshift.functions f set defined_in = 'sql', updated_at = now()
    where f.id = define_function.id
    returning f.* into strict v_function;

    -- Workers listen, and load (or reload) the defined functions without a restart.
    perform pg_catalog.pg_notify('nightshift_functions', define_function.id);
    return v_function;
end
$$;
comment on function nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval) is
    'Defines (or redefines) a function from SQL, for the service role only: kind sql (body {"sql": "<one statement>"} '
    'or the statement as a JSON string) or http (body {"url", "method", "timeout_ms", "headers"} or the URL as a JSON '
    'string), with an optional cron schedule, retries, concurrency limit, catch-up policy and per-attempt timeout. '
    'Refuses an id a worker declares. NOTIFYs nightshift_functions with the id; sync_functions never retires it.';

create function nightshift.drop_function(id text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_function nightshift.functions;
begin
    if not auth.is_service() then
        raise exception 'only the service role may drop functions'
            using errcode = 'insufficient_privilege';
    end if;

    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- the sync lock (see sync_functions)

    select f.* into v_function from nightshift.functions f where f.id = drop_function.id for update;
    if v_function.id is null then
        return false;
    end if;
    if v_function.defined_in <> 'sql' then
        raise exception 'function "%" is declared by a worker''s code; only functions defined from SQL can be dropped',
            drop_function.id
            using errcode = 'invalid_parameter_value',
                  hint = 'It retires when no worker declares it any more.';
    end if;
    if v_function.retired_at is not null then
        return false;
    end if;

    -- Retired like an undeclared function: its queued runs fail after settings.retired_grace
    -- (tick), its history stays; define_function brings it back.
    update nightshift.functions f set retired_at = now(), updated_at = now() where f.id = drop_function.id;
    update nightshift.schedules s set enabled = false, updated_at = now()
    where s.function_id = drop_function.id and s.enabled;

    perform pg_catalog.pg_notify('nightshift_functions', drop_function.id);
    return true;
end
$$;
comment on function nightshift.drop_function(text) is
    'Retires a function defined from SQL (its schedule off; its queued runs fail after settings.retired_grace), '
    'for the service role only; false when there is no such active function; refuses a function declared in code. '
    'NOTIFYs nightshift_functions with the id.';

-- ---------------------------------------------------------------------------------------------
-- Grants, as in 0008: the service role calls the public functions; helpers are the owner's.

revoke all on function nightshift._check_body(text, jsonb) from public;
revoke all on function nightshift._upsert_function(jsonb) from public;
revoke all on function
    nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval),
    nightshift.drop_function(text)
from public;
grant execute on function
    nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval),
    nightshift.drop_function(text)
to nightshift_service;
