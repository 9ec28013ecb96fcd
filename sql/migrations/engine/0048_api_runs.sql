-- The operator's API over runs (issue 14 §2): list and search runs, one run with its steps and
-- attempts, cancel and rerun. Operators (app_metadata.role = operator) read everything and change
-- nothing; super admins and the service role read and act; anyone else is refused (42501).
-- Every function answers jsonb in the shape the HTTP route returns, with timestamps in UTC.

create function auth.is_operator()
returns boolean
language sql
stable
set search_path = ''
as $$
    -- coalesce: a missing app_metadata.role must be false, never a null that slips through
    -- "if not (... or is_operator())".
    select coalesce(
        auth.role() = 'authenticated'
        and auth.uid() is not null
        and auth.jwt() -> 'app_metadata' ->> 'role' = 'operator',
        false)
$$;
comment on function auth.is_operator() is
    'A signed-in user (role authenticated, a sub) with app_metadata.role = operator: reads the engine, changes nothing; '
    'false (never null) otherwise.';

create function auth.require_reader(p_what text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
    if not (auth.is_service() or auth.is_super_admin() or auth.is_operator()) then
        raise exception '%: needs the service role, a super admin or an operator', p_what
            using errcode = 'insufficient_privilege';
    end if;
end
$$;
comment on function auth.require_reader(text) is
    'Returns when the caller may read the engine (service, super admin, operator); 42501 naming p_what otherwise.';

create function auth.require_admin(p_what text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
    if auth.is_service() or auth.is_super_admin() then
        return;
    end if;
    if auth.is_operator() then
        raise exception '%: an operator reads but does not change; needs the service role or a super admin', p_what
            using errcode = 'insufficient_privilege';
    end if;
    raise exception '%: needs the service role or a super admin', p_what using errcode = 'insufficient_privilege';
end
$$;
comment on function auth.require_admin(text) is
    'Returns when the caller may change the engine (service, super admin); 42501 naming p_what otherwise, operators included.';

-- Keyset paging over (created_at, id), newest first: the answer's next_before names the last row.
-- Read backwards; ascending so that new runs land on the rightmost leaf (a descending index
-- splits its leftmost leaf half-empty on every page of inserts). Its cost: like every index on
-- runs, one entry per insert and per non-HOT update (claim, complete), as much as runs_pkey.
create index runs_created_at_id_idx on nightshift.runs (created_at, id);

create function nightshift._run_cursor(p_created_at timestamptz, p_id uuid)
returns text
language sql
immutable
set search_path = ''
set timezone = 'UTC'
as $$
    -- Microseconds, UTC, and '~' (URL-safe) between the parts: the cursor round-trips exactly.
    select pg_catalog.to_char(p_created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '~' || p_id::text
$$;
comment on function nightshift._run_cursor(timestamptz, uuid) is
    'The keyset cursor of a run in api.runs'' order: created_at (UTC, microseconds) ~ id.';

create function nightshift._run_summary(p_run nightshift.runs)
returns jsonb
language sql
stable
set search_path = ''
set timezone = 'UTC'
as $$
    select pg_catalog.jsonb_build_object(
        'id', p_run.id, 'function_id', p_run.function_id, 'status', p_run.status, 'trigger', p_run.trigger_kind,
        'cron_slot', p_run.trigger_slot, 'event_id', p_run.trigger_event_id, 'rerun_of', p_run.rerun_of,
        'correlation_id', p_run.correlation_id, 'attempt', p_run.attempt, 'max_attempts', p_run.max_attempts,
        'error', p_run.error, 'run_at', p_run.run_at, 'created_at', p_run.created_at, 'started_at', p_run.started_at,
        'finished_at', p_run.finished_at)
$$;
comment on function nightshift._run_summary(nightshift.runs) is
    'A run as api.runs lists it: everything but payload, output, steps and attempts (api.run has those).';

create function api.runs(
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
    -- are ordered by id, so a page boundary never drops or repeats one.
    select coalesce(pg_catalog.jsonb_agg(nightshift._run_summary(p.run) order by p.n) filter (where p.n <= runs."limit"), '[]'::jsonb),
           case when pg_catalog.count(*) > runs."limit" then
               pg_catalog.max(nightshift._run_cursor((p.run).created_at, (p.run).id)) filter (where p.n = runs."limit")
           end
    into v_runs, v_next
    from (
        select r as run, pg_catalog.row_number() over (order by r.created_at desc, r.id desc) as n
        from nightshift.runs r
        where (runs.function_id is null or r.function_id = runs.function_id)
          and (runs.status is null or r.status = runs.status)
          and (runs."trigger" is null or r.trigger_kind = runs."trigger")
          and (runs.since is null or r.created_at >= runs.since)
          and (runs.until is null or r.created_at < runs.until)
          and (runs.id is null or r.id = runs.id)
          and (runs.correlation_id is null or r.correlation_id = runs.correlation_id)
          and (v_before_at is null or (r.created_at, r.id) < (v_before_at, v_before_id))
        order by r.created_at desc, r.id desc
        limit runs."limit" + 1) p;
    return pg_catalog.jsonb_build_object('runs', v_runs, 'next_before', v_next);
end
$$;
comment on function api.runs(text, text, text, timestamptz, timestamptz, integer, text, uuid, uuid) is
    'Runs newest first (created_at, id), filtered by function, status, trigger, created_at in [since, until), id or '
    'correlation id; at most limit (1-200); next_before pages on. Readers: service, super admin, operator.';

create function api.run(id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
declare
    v_run nightshift.runs;
begin
    perform auth.require_reader('api.run');
    select r.* into v_run from nightshift.runs r where r.id = run.id;
    if not found then
        raise exception 'unknown run "%"', run.id using errcode = 'NSR01';
    end if;
    return nightshift._run_summary(v_run) || pg_catalog.jsonb_build_object(
        'payload', v_run.payload, 'output', v_run.output, 'idempotency_key', v_run.idempotency_key,
        'crash_count', v_run.crash_count, 'updated_at', v_run.updated_at,
        -- The claim in progress, if any (an ended claim is one of the attempts).
        'lease', case when v_run.status = 'running' then pg_catalog.jsonb_build_object(
            'worker', v_run.lease_owner, 'token', v_run.lease_token, 'claimed_at', v_run.claimed_at,
            'expires_at', v_run.lease_expires_at) end,
        'steps', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'name', s.name, 'output', s.output, 'attempt', s.attempt, 'completed_at', s.completed_at)
                   order by s.completed_at, s.name)
            from nightshift.steps s where s.run_id = v_run.id), '[]'::jsonb),
        'attempts', coalesce((
            select pg_catalog.jsonb_agg(a.attempt order by a.started_at, a.lease_token)
            from (
                select pg_catalog.jsonb_build_object(
                           'attempt', t.attempt, 'worker', t.worker, 'lease_token', t.lease_token, 'outcome', t.outcome,
                           'error', t.error, 'started_at', t.started_at, 'finished_at', t.finished_at) as attempt,
                       t.started_at, t.lease_token
                from nightshift.run_attempts t where t.run_id = v_run.id
                union all
                select pg_catalog.jsonb_build_object(
                           'attempt', v_run.attempt, 'worker', v_run.lease_owner, 'lease_token', v_run.lease_token,
                           'outcome', 'running', 'error', null, 'started_at', v_run.claimed_at, 'finished_at', null),
                       v_run.claimed_at, v_run.lease_token
                where v_run.status = 'running') a), '[]'::jsonb));
end
$$;
comment on function api.run(uuid) is
    'One run with payload, output, its current lease, its steps and every attempt (worker, lease token, outcome; the claim '
    'in progress as outcome running). NSR01 for an unknown id. Readers: service, super admin, operator.';

create function api.cancel_run(id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_status text;
begin
    perform auth.require_admin('api.cancel_run');
    -- nightshift.cancel locks the run and raises NSR01 for an unknown id.
    if not nightshift.cancel(cancel_run.id) then
        select r.status into v_status from nightshift.runs r where r.id = cancel_run.id;
        raise exception 'run "%" has already finished: %', cancel_run.id, v_status
            using errcode = 'NSR02', detail = v_status;
    end if;
    return pg_catalog.jsonb_build_object('run_id', cancel_run.id, 'status', 'cancelled');
end
$$;
comment on function api.cancel_run(uuid) is
    'Cancels a queued or running run; NSR01 for an unknown id, NSR02 (DETAIL: its status) when it has already finished. '
    'Service and super admins only.';

create function api.rerun_run(id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform auth.require_admin('api.rerun_run');
    return pg_catalog.jsonb_build_object(
        'run_id', nightshift.rerun(rerun_run.id), 'rerun_of', rerun_run.id, 'status', 'queued');
end
$$;
comment on function api.rerun_run(uuid) is
    'Enqueues a new run of the run''s function and payload (nightshift.rerun); NSR01 for an unknown run, NSF01 for a '
    'retired function. Service and super admins only.';

revoke all on function auth.is_operator(), auth.require_reader(text), auth.require_admin(text) from public;
grant execute on function auth.is_operator(), auth.require_reader(text), auth.require_admin(text)
    to nightshift_anon, nightshift_authenticated, nightshift_service;
revoke all on function nightshift._run_cursor(timestamptz, uuid), nightshift._run_summary(nightshift.runs) from public;
revoke all on function
    api.runs(text, text, text, timestamptz, timestamptz, integer, text, uuid, uuid), api.run(uuid),
    api.cancel_run(uuid), api.rerun_run(uuid)
    from public;
grant execute on function
    api.runs(text, text, text, timestamptz, timestamptz, integer, text, uuid, uuid), api.run(uuid),
    api.cancel_run(uuid), api.rerun_run(uuid)
    to nightshift_authenticated, nightshift_service;
