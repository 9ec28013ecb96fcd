-- The worker's side: claim runs under a lease, renew it, checkpoint steps, and end each
-- attempt (complete, fail and maybe retry, sleep). Every write presents the lease token of
-- the claim; a worker whose lease expired and was taken over gets NSL01 instead of writing
-- over the new owner's work (fencing).

create function nightshift.claim_runs(worker text, max_runs integer, lease interval, function_ids text[] default null)
returns table (
    id uuid, function_id text, payload jsonb, attempt integer, max_attempts integer, lease_token bigint,
    correlation_id uuid, trigger_kind text, trigger_slot timestamptz, trigger_event_id uuid, steps jsonb,
    run_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
declare
    -- Runs picked and locked so far, by the three paths below; claimed together at the end.
    v_run_ids uuid[];
    v_group record;
    v_running integer;
begin
    if worker is null or worker = '' or max_runs is null or max_runs < 0 or lease is null or lease <= interval '0' then
        raise exception 'claim_runs needs a worker name, max_runs >= 0 and a positive lease'
            using errcode = 'invalid_parameter_value';
    end if;

    -- 1. Runs whose worker stopped renewing its lease (crash, kill -9, network cut). Each
    -- such attempt is recorded as crashed; a run that crashed crash_limit times in a row is
    -- quarantined as failed instead of taking down worker after worker.
    with expired as (
        select r.id, r.lease_token, r.lease_owner, r.lease_expires_at, r.claimed_at, r.attempt,
               r.crash_count + 1 as crash_count, f.crash_limit
        from nightshift.runs r
        join nightshift.functions f on f.id = r.function_id
        where r.status = 'running' and r.lease_expires_at < now()
          and (function_ids is null or r.function_id = any (function_ids))
        order by r.lease_expires_at
        limit max_runs
        -- A worker finishing or renewing this run right now holds its row: skip it rather
        -- than wait, and never reclaim a run whose owner is still writing to it.
        for update of r skip locked
    ), crashed as (
        -- The attempt ended, at the latest, when its lease expired.
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome, error)
        select e.id, e.lease_token, e.attempt, e.lease_owner, e.claimed_at, e.lease_expires_at, 'crashed',
               pg_catalog.jsonb_build_object(
                   'message', format('lease expired: worker "%s" stopped renewing it', e.lease_owner))
        from expired e
    ), quarantined as (
        update nightshift.runs r
        set status = 'failed', finished_at = now(), updated_at = now(), crash_count = e.crash_count,
            lease_token = null, lease_expires_at = null,
            error = pg_catalog.jsonb_build_object(
                'message', format('quarantined: worker lost %s times in a row', e.crash_count),
                'crash_count', e.crash_count,
                'last_worker', e.lease_owner)
        from expired e
        where r.id = e.id and e.crash_count >= e.crash_limit
    ), resumed as (
        update nightshift.runs r
        set crash_count = e.crash_count
        from expired e
        where r.id = e.id and e.crash_count < e.crash_limit
        returning r.id
    )
    select array(select resumed.id from resumed) into v_run_ids;

    -- 2. Runs of functions with a concurrency limit, per (function, key), oldest group first.
    for v_group in
        select r.function_id, r.concurrency_key, min(r.concurrency_limit) as concurrency_limit
        from nightshift.runs r
        where r.status = 'queued' and r.concurrency_limit is not null and r.run_at <= now()
          and (function_ids is null or r.function_id = any (function_ids))
        group by r.function_id, r.concurrency_key
        order by min(r.run_at)
    loop
        exit when pg_catalog.cardinality(v_run_ids) >= max_runs;
        -- Two workers counting the same group at once would both see a free place and both
        -- claim (limit + 1 running; for a singleton, a unique violation on runs_singleton_idx).
        -- Counting and claiming under a per-group transaction lock makes them take turns; the
        -- count's fresh snapshot then sees the previous holder's claims. try: a group another
        -- worker is claiming right now is skipped, not waited for (and no lock-order deadlock).
        continue when not pg_catalog.pg_try_advisory_xact_lock(
            1314062338,  -- 0x4E530002: 'NS' lock space 2, concurrency groups
            pg_catalog.hashtext(v_group.function_id || E'\n' || coalesce(v_group.concurrency_key, '')));

        -- A run whose lease expired still counts: it is resumed (or quarantined) first.
        select count(*)::integer into v_running
        from nightshift.runs r
        where r.status = 'running' and r.concurrency_limit is not null
          and r.function_id = v_group.function_id
          and r.concurrency_key is not distinct from v_group.concurrency_key;
        continue when v_running >= v_group.concurrency_limit;

        -- SKIP LOCKED here too: a run of this group still locked by a claimer of the previous
        -- turn, or by a cancel, is left alone rather than waited for.
        v_run_ids := v_run_ids || array(
            select r.id
            from nightshift.runs r
            where r.status = 'queued' and r.concurrency_limit is not null and r.run_at <= now()
              and r.function_id = v_group.function_id
              and r.concurrency_key is not distinct from v_group.concurrency_key
            order by r.run_at
            limit least(v_group.concurrency_limit - v_running, max_runs - pg_catalog.cardinality(v_run_ids))
            for update skip locked);
    end loop;

    -- 3. Unlimited runs, oldest first: the hot path, one scan of runs_claim_idx. SKIP LOCKED
    -- lets many workers claim at once, each taking rows no other claimer holds, without
    -- waiting on each other.
    if pg_catalog.cardinality(v_run_ids) < max_runs then
        v_run_ids := v_run_ids || array(
            select r.id
            from nightshift.runs r
            where r.status = 'queued' and r.concurrency_limit is null and r.run_at <= now()
              and (function_ids is null or r.function_id = any (function_ids))
            order by r.run_at
            limit max_runs - pg_catalog.cardinality(v_run_ids)
            for update skip locked);
    end if;

    -- Claim everything picked in one statement: a new fencing token and lease per run, and
    -- the memoised steps so a resumed run needs no second query. (= any keeps this on the
    -- primary key whatever the batch size; the run_attempts row is written when the claim ends.)
    return query
    with claimed as (
        update nightshift.runs r
        set status = 'running',
            lease_token = pg_catalog.nextval('nightshift.runs_lease_token_seq'),
            lease_owner = worker,
            lease_expires_at = now() + lease,
            claimed_at = now(),
            started_at = coalesce(r.started_at, now()),
            updated_at = now()
        where r.id = any (v_run_ids)
        returning r.id, r.function_id, r.payload, r.attempt, r.max_attempts, r.lease_token, r.correlation_id,
                  r.trigger_kind, r.trigger_slot, r.trigger_event_id, r.run_at
    )
    select c.id, c.function_id, c.payload, c.attempt, c.max_attempts, c.lease_token, c.correlation_id,
           c.trigger_kind, c.trigger_slot, c.trigger_event_id,
           (select coalesce(pg_catalog.jsonb_object_agg(s.name, s.output), '{}')
            from nightshift.steps s where s.run_id = c.id),
           c.run_at  -- when it became due: the worker's pickup-latency metric starts here
    from claimed c;
end
$$;
comment on function nightshift.claim_runs(text, integer, interval, text[]) is
    'Claims up to max_runs runnable runs for a worker under a lease: expired leases first (resumed or quarantined), '
    'then concurrency-limited runs within their limits, then unlimited runs, oldest run_at first. '
    'function_ids (null = all) limits the claim to the functions the worker has handlers for.';

create function nightshift.heartbeat(run_ids uuid[], lease_tokens bigint[], lease interval)
returns setof uuid
language sql
security definer
set search_path = ''
as $$
    update nightshift.runs r
    set lease_expires_at = now() + lease, updated_at = now()
    from rows from (pg_catalog.unnest(run_ids), pg_catalog.unnest(lease_tokens)) as u(run_id, lease_token)
    -- The token match is re-checked on the row version the update finally locks, so a run
    -- taken over meanwhile is not renewed for its old owner. No status test: a lease token is
    -- set only while running (runs_lease_matches_status), and leaving it out keeps the plan
    -- on the primary key whatever the statistics say.
    where r.id = u.run_id and r.lease_token = u.lease_token
    returning r.id
$$;
comment on function nightshift.heartbeat(uuid[], bigint[], interval) is
    'Extends the leases still held (matching token, running); returns their ids: the worker drops the others.';

-- The run a worker still owns, locked until the end of the transaction; NSL01 otherwise.
create function nightshift._owned_run(p_run_id uuid, p_lease_token bigint)
returns nightshift.runs
language plpgsql
set search_path = ''
as $$
declare
    v_run nightshift.runs;
begin
    -- The lock keeps the token valid until commit: a claimer reclaiming an expired lease
    -- skips this row, and a cancel waits; without it a zombie could pass this check, lose the
    -- run to a new owner, and then write over that owner's work.
    -- No status test: a lease token is set only while running (runs_lease_matches_status),
    -- and leaving it out keeps the plan on the primary key whatever the statistics say.
    select r.* into v_run
    from nightshift.runs r
    where r.id = p_run_id and r.lease_token = p_lease_token
    for no key update;
    if not found then
        raise exception 'lease lost: run % is no longer owned by this worker', p_run_id
            using errcode = 'NSL01',
                  hint = 'The lease expired and another worker took the run over, or it was cancelled; stop working on it.';
    end if;
    return v_run;
end
$$;
comment on function nightshift._owned_run(uuid, bigint) is
    'Locks and returns a run still owned under this lease token; raises NSL01 (lease lost) otherwise.';

-- Records how a claim ended, from the run as it was while claimed.
create function nightshift._end_attempt(p_run nightshift.runs, p_outcome text, p_error jsonb)
returns void
language sql
set search_path = ''
as $$
    insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome, error)
    values (p_run.id, p_run.lease_token, p_run.attempt, p_run.lease_owner, p_run.claimed_at, now(), p_outcome, p_error)
$$;
comment on function nightshift._end_attempt(nightshift.runs, text, jsonb) is
    'Writes the run_attempts row of a claim that just ended (outcome, error).';

create function nightshift.checkpoint_step(run_id uuid, lease_token bigint, name text, output jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_run nightshift.runs := nightshift._owned_run(checkpoint_step.run_id, checkpoint_step.lease_token);
begin
    -- The first recorded output wins: a replayed step must not change what later steps saw.
    insert into nightshift.steps (run_id, name, output, attempt)
    values (v_run.id, checkpoint_step.name, checkpoint_step.output, v_run.attempt)
    on conflict (run_id, name) do nothing;
end
$$;
comment on function nightshift.checkpoint_step(uuid, bigint, text, jsonb) is
    'Memoises a finished step''s output (idempotent per name); NSL01 when the lease is lost.';

create function nightshift.complete_runs(run_ids uuid[], lease_tokens bigint[], outputs jsonb[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count integer;
begin
    if pg_catalog.cardinality(run_ids) is distinct from pg_catalog.cardinality(lease_tokens)
       or pg_catalog.cardinality(run_ids) is distinct from pg_catalog.cardinality(outputs) then
        raise exception 'complete_runs needs run_ids, lease_tokens and outputs of the same length'
            using errcode = 'invalid_parameter_value';
    end if;

    -- The token match is re-checked on the row version the update finally locks, so a run
    -- reclaimed by another worker meanwhile is skipped, never completed by its old owner.
    -- (No status test, as in _owned_run: the token implies running.)
    with done as (
        update nightshift.runs r
        set status = 'completed', output = u.output, finished_at = now(), updated_at = now(),
            lease_token = null, lease_expires_at = null
        from rows from (pg_catalog.unnest(run_ids), pg_catalog.unnest(lease_tokens), pg_catalog.unnest(outputs))
            as u(run_id, lease_token, output)
        where r.id = u.run_id and r.lease_token = u.lease_token
        returning r.id, u.lease_token, r.attempt, r.lease_owner, r.claimed_at
    ), attempts as (
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome)
        select d.id, d.lease_token, d.attempt, d.lease_owner, d.claimed_at, now(), 'completed' from done d
    )
    select count(*)::integer into v_count from done;
    return v_count;
end
$$;
comment on function nightshift.complete_runs(uuid[], bigint[], jsonb[]) is
    'Completes a batch of runs in one statement; runs whose lease was lost are skipped. Returns how many completed.';

create function nightshift.complete_run(run_id uuid, lease_token bigint, output jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform nightshift._owned_run(complete_run.run_id, complete_run.lease_token);
    perform nightshift.complete_runs(array[complete_run.run_id], array[complete_run.lease_token], array[complete_run.output]);
end
$$;
comment on function nightshift.complete_run(uuid, bigint, jsonb) is
    'Completes one run with its output; NSL01 when the lease is lost.';

create function nightshift.fail_run(run_id uuid, lease_token bigint, error jsonb, retriable boolean default true)
returns text
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_run nightshift.runs := nightshift._owned_run(fail_run.run_id, fail_run.lease_token);
    v_function nightshift.functions;
    v_delay_ms numeric;
    v_run_at timestamptz;
begin
    if coalesce(fail_run.retriable, true) and v_run.attempt < v_run.max_attempts then
        select f.* into strict v_function from nightshift.functions f where f.id = v_run.function_id;
        -- Retry n (after attempt n failed) waits base * multiplier^(n-1), capped; jitter spreads
        -- the cap too, so runs that failed together do not all come back together.
        v_delay_ms := least(v_function.backoff_max_ms,
            v_function.backoff_base_ms * pg_catalog.power(v_function.backoff_multiplier, v_run.attempt - 1));
        if v_function.backoff_jitter then
            v_delay_ms := v_delay_ms * (0.8 + 0.4 * pg_catalog.random()::numeric);
        end if;
        v_run_at := now() + v_delay_ms * interval '1 millisecond';

        -- The retry is a later run_at, not a sleeping worker: the worker is free at once.
        update nightshift.runs r
        set status = 'queued', attempt = r.attempt + 1, run_at = v_run_at, error = fail_run.error,
            crash_count = 0, updated_at = now(), lease_token = null, lease_expires_at = null
        where r.id = v_run.id;
        perform nightshift._end_attempt(v_run, 'retrying', fail_run.error);

        if v_run_at <= now() then
            perform pg_catalog.pg_notify('nightshift_runs', v_run.function_id);
        end if;
        return 'queued';
    end if;

    update nightshift.runs r
    set status = 'failed', error = fail_run.error, finished_at = now(), updated_at = now(),
        lease_token = null, lease_expires_at = null
    where r.id = v_run.id;
    perform nightshift._end_attempt(v_run, 'failed', fail_run.error);
    return 'failed';
end
$$;
comment on function nightshift.fail_run(uuid, bigint, jsonb, boolean) is
    'Ends an attempt with an error: requeued with exponential backoff while attempts remain and the error is '
    'retriable (returns queued), otherwise failed (returns failed). NSL01 when the lease is lost.';

create function nightshift.sleep_run(run_id uuid, lease_token bigint, step_name text, until timestamptz)
returns void
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_run nightshift.runs := nightshift._owned_run(sleep_run.run_id, sleep_run.lease_token);
begin
    if sleep_run.until is null then
        raise exception 'sleep_run needs an instant to sleep until' using errcode = 'invalid_parameter_value';
    end if;

    -- The sleep is a memoised step, so the resumed run sees it done and goes on after it.
    insert into nightshift.steps (run_id, name, output, attempt)
    values (v_run.id, sleep_run.step_name, pg_catalog.jsonb_build_object('until', sleep_run.until), v_run.attempt)
    on conflict (run_id, name) do nothing;

    -- Sleeping is not failing: the attempt number stays, and the crash streak ends.
    update nightshift.runs r
    set status = 'queued', run_at = sleep_run.until, crash_count = 0, updated_at = now(),
        lease_token = null, lease_expires_at = null
    where r.id = v_run.id;
    perform nightshift._end_attempt(v_run, 'sleeping', null);

    if sleep_run.until <= now() then
        perform pg_catalog.pg_notify('nightshift_runs', v_run.function_id);
    end if;
end
$$;
comment on function nightshift.sleep_run(uuid, bigint, text, timestamptz) is
    'Durable sleep: records the step, releases the lease and requeues the run at until, without using an attempt.';

create function nightshift.cancel(run_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_run nightshift.runs;
begin
    -- Lock first: a worker completing the run at this moment either finishes before us (and
    -- we find it finished) or finds its lease gone after us; never both.
    select r.* into v_run
    from nightshift.runs r
    where r.id = cancel.run_id and r.status in ('queued', 'running')
    for update;
    if not found then
        if not exists (select 1 from nightshift.runs r where r.id = cancel.run_id) then
            raise exception 'unknown run "%"', cancel.run_id using errcode = 'NSR01';
        end if;
        return false;
    end if;

    update nightshift.runs r
    set status = 'cancelled', finished_at = now(), updated_at = now(), lease_token = null, lease_expires_at = null
    where r.id = v_run.id;

    if v_run.status = 'running' then
        perform nightshift._end_attempt(v_run, 'cancelled', null);
    end if;
    return true;
end
$$;
comment on function nightshift.cancel(uuid) is
    'Cancels a queued or running run (its worker loses the lease); false when it had already finished.';
