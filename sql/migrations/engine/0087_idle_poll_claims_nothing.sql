-- An idle poll claims nothing, and no longer runs the claim's update for no ids (issue 16).
-- A worker polls every pollInterval (500 ms by default, 200 ms in bench/engine) whether or not
-- runs wait; each poll ran claim_runs' final `update … where r.id = any (v_run_ids)` with an empty
-- array, and PostgreSQL planned that statement anew on every call (a custom plan each time: the
-- plan cache never found a generic plan for an id array cheaper), opening runs and its indexes
-- for nothing. Measured on the bench cluster, one client, runs' table idle
-- (`select c.* from nightshift.claim_runs('bench', 500, '30 s', '{bench/latency}') c`):
-- back to back 0.465 → 0.232 ms per poll (pgbench, median of 3); paced at 5/s, as a worker polls,
-- 1.68–1.87 → 0.99–1.12 ms. Everything else claim_runs does is unchanged (the groups it visited
-- are still updated and quarantined runs still returned when nothing else was picked).

create or replace function nightshift.claim_runs(worker text, max_runs integer, lease interval, function_ids text[] default null)
returns table (id uuid, function_id text, payload jsonb, attempt integer, max_attempts integer, lease_token bigint, correlation_id uuid, trigger_kind text, trigger_slot timestamp with time zone, trigger_event_id uuid, steps jsonb, run_at timestamp with time zone, quarantined boolean, error jsonb)
language plpgsql
security definer
set search_path = ''
set random_page_cost = 1.1
as $$
declare
    -- Two workers losing their leases within a third of a lease of each other (one heartbeat
    -- period) died of the same cause, as far as this claim can tell.
    v_window constant interval := lease / 3;
    -- Rows this claim may still return (resumed, quarantined and newly claimed runs).
    v_budget integer := max_runs;
    v_resumed uuid[] := '{}';
    v_quarantined uuid[] := '{}';
    v_expired record;
    v_steps integer;
    v_counted boolean;
    v_reason text;
    v_streak integer;
    v_delay_ms numeric;
    v_group_function_ids text[];
    v_group_keys text[];
    v_group_limits integer[];
    v_run_ids uuid[];
    -- Of the runs picked, those claimed before (started_at set): only they (and the resumed
    -- ones) can have memoised steps to look up.
    v_started uuid[];
begin
    if worker is null or worker = '' or max_runs is null or max_runs < 0 or lease is null or lease <= interval '0' then
        raise exception 'claim_runs needs a worker name, max_runs >= 0 and a positive lease'
            using errcode = 'invalid_parameter_value';
    end if;

    -- 1. Runs whose worker stopped renewing its lease (crash, kill -9, network cut, database
    -- restart). Each such claim is recorded as a crashed attempt. Quarantine is for a run that
    -- kills its worker, which crashes at the same point every time; so a crash counts only
    -- when the run finished no new step since its previous counted crash (the steps' primary
    -- key serves the count), and never when the database restarted since the lease was last
    -- renewed (every worker lost its connection) or when another worker lost a lease in the
    -- same window (a mass loss: a host, a network or a deploy, not this run). Uncounted, and
    -- on the first counted crash, the run resumes at once; a later crash in a row resumes
    -- after the function's backoff (1 s, 2 s, … by default), as a queued run with a later
    -- run_at; at crash_limit the run is failed, and returned once as quarantined.
    for v_expired in
        select r.id, r.function_id, r.lease_token, r.lease_owner, r.lease_expires_at, r.claimed_at, r.updated_at,
               r.attempt, r.crash_count, r.crash_steps, f.crash_limit, f.backoff_base_ms, f.backoff_multiplier,
               f.backoff_max_ms
        from nightshift.runs r
        join nightshift.functions f on f.id = r.function_id
        where r.status = 'running' and r.lease_expires_at < now()
          and (function_ids is null or r.function_id = any (function_ids))
        order by r.lease_expires_at
        limit max_runs
        -- A worker finishing or renewing this run right now holds its row: skip it rather
        -- than wait, and never reclaim a run whose owner is still writing to it.
        for update of r skip locked
    loop
        select count(*)::integer into v_steps from nightshift.steps s where s.run_id = v_expired.id;
        -- heartbeat and claim are the only writes to a running run, so updated_at is when
        -- its lease was last taken or renewed.
        if v_expired.updated_at < pg_catalog.pg_postmaster_start_time() then
            v_counted := false;
            v_reason := 'database restart';
        elsif exists (
                select 1 from nightshift.runs o
                where o.status = 'running' and o.id <> v_expired.id and o.lease_owner <> v_expired.lease_owner
                  and o.lease_expires_at between v_expired.lease_expires_at - v_window and v_expired.lease_expires_at + v_window)
           or exists (
                select 1 from nightshift.run_attempts a
                where a.outcome = 'crashed' and a.run_id <> v_expired.id and a.worker <> v_expired.lease_owner
                  and a.finished_at between v_expired.lease_expires_at - v_window and v_expired.lease_expires_at + v_window)
        then
            v_counted := false;
            v_reason := 'mass loss';
        elsif v_expired.crash_steps = v_steps then
            v_counted := true;
            v_reason := 'no progress since the previous crash';
        else
            v_counted := true;
            v_reason := case when v_expired.crash_steps is null then 'first crash' else 'progress since the previous crash' end;
        end if;
        v_streak := case
            when not v_counted then v_expired.crash_count
            when v_expired.crash_steps = v_steps then v_expired.crash_count + 1
            else 1
        end;

        -- The attempt ended, at the latest, when its lease expired.
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome, error)
        values (v_expired.id, v_expired.lease_token, v_expired.attempt, v_expired.lease_owner, v_expired.claimed_at,
                v_expired.lease_expires_at, 'crashed',
                pg_catalog.jsonb_build_object(
                    'message', format('lease expired: worker "%s" stopped renewing it', v_expired.lease_owner),
                    'counted', v_counted, 'reason', v_reason, 'steps', v_steps, 'crash_count', v_streak));

        if v_counted and v_streak >= v_expired.crash_limit then
            update nightshift.runs r
            set status = 'failed', finished_at = now(), updated_at = now(), crash_count = v_streak, crash_steps = v_steps,
                lease_token = null, lease_expires_at = null,
                error = pg_catalog.jsonb_build_object(
                    'message', format('quarantined: worker lost %s times in a row', v_streak),
                    'outcome', 'quarantined',
                    'crash_count', v_streak,
                    'steps', v_steps,
                    'last_worker', v_expired.lease_owner)
            where r.id = v_expired.id;
            v_quarantined := v_quarantined || v_expired.id;
            v_budget := v_budget - 1;
        elsif v_counted and v_streak >= 2 then
            v_delay_ms := least(v_expired.backoff_max_ms,
                v_expired.backoff_base_ms * pg_catalog.power(v_expired.backoff_multiplier, v_streak - 2));
            update nightshift.runs r
            set status = 'queued', run_at = now() + v_delay_ms * interval '1 millisecond', crash_count = v_streak,
                crash_steps = v_steps, lease_token = null, lease_expires_at = null, updated_at = now()
            where r.id = v_expired.id;
        else
            update nightshift.runs r
            set crash_count = v_streak, crash_steps = case when v_counted then v_steps else r.crash_steps end
            where r.id = v_expired.id;
            v_resumed := v_resumed || v_expired.id;
            v_budget := v_budget - 1;
        end if;
    end loop;

    -- 2. What changed in the concurrency groups since the last claim (checked here first:
    -- on the unlimited path there is nothing, and a function call is not free).
    if exists (
        select 1 from nightshift.concurrency_hints h
        where h.id > (select f.floor_id from nightshift.concurrency_hints_fold f))
    then
        perform nightshift._fold_concurrency_hints(greatest(1000, 4 * max_runs));
    end if;

    -- 3. Limited runs: the oldest claimable groups, at most one per run still to hand out, read
    -- from concurrency_groups_claim_idx (groups at their limit are not in it). SKIP LOCKED: a
    -- group another claimer holds is left to it, never waited for. Holding the group row is
    -- what lets this claim count and claim without a second claimer doing the same (limit + 1
    -- running, or for a singleton a unique violation on runs_singleton_idx).
    if v_budget > 0 then
        select pg_catalog.array_agg(g.function_id order by g.next_run_at), pg_catalog.array_agg(g.group_key order by g.next_run_at),
               pg_catalog.array_agg(g.concurrency_limit order by g.next_run_at)
        into v_group_function_ids, v_group_keys, v_group_limits
        from (
            select g.function_id, g.group_key, g.concurrency_limit, g.next_run_at
            from nightshift.concurrency_groups g
            where not g.at_limit and g.next_run_at <= now()
              and (function_ids is null or g.function_id = any (function_ids))
            order by g.next_run_at
            limit v_budget
            for update skip locked
        ) g;
    end if;

    -- Counted and picked in a statement of its own, so its snapshot is taken after the group
    -- locks were granted and sees every claim and completion committed before them. A run
    -- whose lease expired still counts (it is resumed, requeued or quarantined first). Within a
    -- group, runs go oldest first while fewer than the limit of each (the lowest so far) run.
    -- 4. Unlimited runs, oldest first, each function's read from runs_claim_idx
    -- (_lock_unlimited_runs). SKIP LOCKED lets many workers claim at once, each taking rows no
    -- other claimer holds, without waiting. The two kinds compete by run_at for what is left of
    -- the budget.
    if v_budget > 0 and v_group_function_ids is null then
        -- No limited group to claim from: the unlimited path alone, as plain as it gets.
        select pg_catalog.array_agg(p.id), pg_catalog.array_agg(p.id) filter (where p.started_at is not null)
        into v_run_ids, v_started
        from nightshift._lock_unlimited_runs(function_ids, v_budget) p;
    elsif v_budget > 0 then
        with limited as (
            select p.id, p.run_at, p.started_at
            from (
                select q.id, q.run_at, q.started_at, n.running,
                       row_number() over (partition by g.ord order by q.run_at) as nth,
                       min(q.concurrency_limit) over (partition by g.ord order by q.run_at) as lowest_limit
                from rows from (pg_catalog.unnest(v_group_function_ids), pg_catalog.unnest(v_group_keys),
                                pg_catalog.unnest(v_group_limits)) with ordinality
                    as g(function_id, group_key, concurrency_limit, ord)
                cross join lateral (
                    select count(*)::integer as running
                    from nightshift.runs r
                    where r.status = 'running' and r.concurrency_limit is not null
                      and r.function_id = g.function_id and coalesce('=' || r.concurrency_key, '') = g.group_key
                ) n
                cross join lateral (
                    select r.id, r.run_at, r.started_at, r.concurrency_limit
                    from nightshift.runs r
                    where r.status = 'queued' and r.concurrency_limit is not null and r.run_at <= now()
                      and r.function_id = g.function_id and coalesce('=' || r.concurrency_key, '') = g.group_key
                    order by r.run_at
                    limit greatest(0, least(g.concurrency_limit - n.running, v_budget))
                    -- A run still locked by a claimer of the previous turn, or by a cancel,
                    -- is left alone rather than waited for.
                    for update skip locked
                ) q
            ) p
            where p.running + p.nth <= p.lowest_limit
        ), unlimited as (
            select u.id, u.run_at, u.started_at from nightshift._lock_unlimited_runs(function_ids, v_budget) u
        )
        select pg_catalog.array_agg(c.id), pg_catalog.array_agg(c.id) filter (where c.started_at is not null)
        into v_run_ids, v_started
        from (
            select c.id, c.started_at
            from (select l.id, l.run_at, l.started_at from limited l
                  union all
                  select u.id, u.run_at, u.started_at from unlimited u) c
            order by c.run_at
            limit v_budget
        ) c;
    end if;
    v_run_ids := v_resumed || coalesce(v_run_ids, '{}');
    v_started := v_resumed || coalesce(v_started, '{}');

    -- Claim everything picked in one statement: a new fencing token and lease per run, and
    -- the memoised steps so a resumed run needs no second query, looked up only for runs
    -- claimed before (a run never started has none). (= any keeps this on the primary key
    -- whatever the batch size; the run_attempts row is written when the claim ends.)
    -- Nothing picked (an idle poll): no claim statement. It is planned anew on every call (its
    -- custom plan reads the ids' array), which was half of an idle poll's time.
    if pg_catalog.cardinality(v_run_ids) > 0 then
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
               case when c.id = any (v_started) then
                   (select coalesce(pg_catalog.jsonb_object_agg(s.name, s.output), '{}')
                    from nightshift.steps s where s.run_id = c.id)
               else '{}'::jsonb end,
               c.run_at,  -- when it became due: the worker's pickup-latency metric starts here
               false, null::jsonb
        from claimed c;
    end if;

    -- 5. The visited groups as they now stand (this statement sees the claim above): the
    -- oldest queued run sets next_run_at and the limit, and the count says whether the group
    -- is at it. A group with nothing queued or running is forgotten.
    if v_group_function_ids is not null then
        with visited as (
            select g.function_id, g.group_key, n.running, h.run_at, h.concurrency_limit
            from rows from (pg_catalog.unnest(v_group_function_ids), pg_catalog.unnest(v_group_keys))
                as g(function_id, group_key)
            cross join lateral (
                select count(*)::integer as running
                from nightshift.runs r
                where r.status = 'running' and r.concurrency_limit is not null
                  and r.function_id = g.function_id and coalesce('=' || r.concurrency_key, '') = g.group_key
            ) n
            left join lateral (
                select r.run_at, r.concurrency_limit
                from nightshift.runs r
                where r.status = 'queued' and r.concurrency_limit is not null
                  and r.function_id = g.function_id and coalesce('=' || r.concurrency_key, '') = g.group_key
                order by r.run_at
                limit 1
            ) h on true
        ), forgotten as (
            delete from nightshift.concurrency_groups g
            using visited v
            where g.function_id = v.function_id and g.group_key = v.group_key and v.run_at is null and v.running = 0
        )
        update nightshift.concurrency_groups g
        set next_run_at = v.run_at,
            concurrency_limit = coalesce(v.concurrency_limit, g.concurrency_limit),
            at_limit = v.running >= coalesce(v.concurrency_limit, g.concurrency_limit)
        from visited v
        where g.function_id = v.function_id and g.group_key = v.group_key and (v.run_at is not null or v.running > 0);
    end if;

    -- 6. Quarantined runs, once, to this worker (which declares their function): it calls
    -- onFailure as after fail_run returning 'failed'. They are failed already; never run them.
    if pg_catalog.cardinality(v_quarantined) > 0 then
        return query
        select r.id, r.function_id, r.payload, r.attempt, r.max_attempts, null::bigint, r.correlation_id,
               r.trigger_kind, r.trigger_slot, r.trigger_event_id, '{}'::jsonb, r.run_at, true, r.error
        from nightshift.runs r
        where r.id = any (v_quarantined);
    end if;
end
$$;
