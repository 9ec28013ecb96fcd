-- Engine under fire (issue 11), the claim side:
--
-- a. Concurrency groups. A claim no longer walks every (function, key) group with a queued
--    run, locking each: nightshift.concurrency_groups keeps one row per group with its earliest
--    queued run_at and whether it is at its limit, and a partial index holds only the groups
--    that are not at their limit, so a claim reads the oldest claimable groups and nothing
--    else (at most as many groups as runs it may still hand out), locks them with SKIP LOCKED,
--    and never meets a full group. Every group predicate compares a group key
--    (coalesce('=' || concurrency_key, ''): the null key and every value distinct) that an index
--    serves, instead of `is not distinct from`, which none can.
--    Writers of runs never lock a group row: a trigger on runs appends a hint (a run became
--    queued, a run left running) to nightshift.concurrency_hints, and claims fold the hints
--    into the groups, one claimer at a time. So enqueues and completions add no lock wait and
--    no deadlock; the unlimited path never waits for any of it, and pays two empty index reads
--    per claim (hints to fold, claimable groups). runs_singleton_idx stays the backstop.
-- b. A quarantined run comes back from claim_runs once, to a worker that declares its
--    function, with quarantined = true and its error, so that worker calls onFailure.
-- e. A limited run leaving running NOTIFYs nightshift_runs when a due run of its group waits
--    (the trigger); nightshift.next_wake_at tells a worker when the next run comes due.
-- f. A crash counts towards quarantine only when the run made no progress since its previous
--    crash, and never when the database restarted or other workers lost leases at the same
--    time; a second crash in a row without progress resumes after a backoff.

-- Runs -----------------------------------------------------------------------------------

alter table nightshift.runs add column crash_steps integer;
comment on column nightshift.runs.crash_steps is
    'How many steps the run had finished at its last counted crash: a crash with more is progress and starts a new streak.';
comment on column nightshift.runs.crash_count is
    'Crashes in a row without progress (same number of finished steps), not counting database restarts and mass '
    'losses of leases; a retry or a durable sleep ends the streak. At the function''s crash_limit the run is quarantined.';
-- Runs crashed before this migration: their streak is measured from the steps they have now.
update nightshift.runs r
set crash_steps = (select count(*)::integer from nightshift.steps s where s.run_id = r.id)
where r.crash_count > 0 and r.status in ('queued', 'running');

-- The group key: `=` on it is served by an index for the null key too.
drop index nightshift.runs_claim_limited_idx;
create index runs_claim_limited_idx on nightshift.runs (function_id, (coalesce('=' || concurrency_key, '')), run_at)
    where status = 'queued' and concurrency_limit is not null;
drop index nightshift.runs_running_limited_idx;
create index runs_running_limited_idx on nightshift.runs (function_id, (coalesce('=' || concurrency_key, '')))
    where status = 'running' and concurrency_limit is not null;
-- next_wake_at: the earliest future run_at of limited runs (runs_claim_idx serves the others).
create index runs_queued_limited_run_at_idx on nightshift.runs (run_at)
    where status = 'queued' and concurrency_limit is not null;
-- Mass losses: which other workers' claims crashed around an instant. Only crashed attempts
-- are indexed, so completions (the hot path) pay nothing for it.
create index run_attempts_crashed_idx on nightshift.run_attempts (finished_at) where outcome = 'crashed';

-- Concurrency groups ------------------------------------------------------------------------

create table nightshift.concurrency_groups (
    function_id text not null,
    group_key text not null,
    concurrency_key text,
    concurrency_limit integer not null,
    at_limit boolean not null default false,
    next_run_at timestamptz,
    primary key (function_id, group_key),
    constraint concurrency_groups_key_matches check (group_key = coalesce('=' || concurrency_key, '')),
    constraint concurrency_groups_limit_is_positive check (concurrency_limit >= 1)
);
comment on table nightshift.concurrency_groups is
    'One row per (function, concurrency key) with queued or running limited runs; written only by claim_runs, '
    'which folds nightshift.concurrency_hints into it.';
comment on column nightshift.concurrency_groups.group_key is
    'coalesce(''='' || concurrency_key, ''''): distinct for the null key and every value, and comparable with = (indexable).';
comment on column nightshift.concurrency_groups.concurrency_limit is 'The limit of the group''s oldest queued run (a run takes its limit when enqueued).';
comment on column nightshift.concurrency_groups.at_limit is
    'True when the last claim found as many runs running as the limit; a run leaving running clears it (through a hint).';
comment on column nightshift.concurrency_groups.next_run_at is
    'At or before the run_at of the group''s oldest queued run (never after it); null when none is queued.';
-- The claim's only way in: groups below their limit, oldest due run first. A full group is
-- not in it at all, however many runs wait behind it.
create index concurrency_groups_claim_idx on nightshift.concurrency_groups (next_run_at) where not at_limit;

create table nightshift.concurrency_hints (
    id bigint generated always as identity primary key,
    function_id text not null,
    concurrency_key text,
    concurrency_limit integer not null,
    run_at timestamptz,
    freed boolean not null
);
comment on table nightshift.concurrency_hints is
    'What changed in a concurrency group since claims last looked (appended by a trigger on runs, folded into '
    'concurrency_groups and deleted by claim_runs). Append-only for writers, so no enqueue or completion waits on a group.';
comment on column nightshift.concurrency_hints.run_at is 'A run of the group became queued, due at this instant (null: none did).';
comment on column nightshift.concurrency_hints.freed is 'A run of the group left running: the group has a free place again.';

-- A queue table's deleted rows stay in its primary key until VACUUM: a scan in id order from
-- the start would walk every hint ever folded since the last vacuum (200,000 of them: 2,400
-- index pages, 16 ms, on every claim). So the fold starts from a floor below which every
-- hint is known to be folded, and raises it safely (see _fold_concurrency_hints).
create table nightshift.concurrency_hints_fold (
    singleton boolean primary key default true,
    floor_id bigint not null default 0,
    pending_id bigint,
    pending_xmax xid8,
    constraint concurrency_hints_fold_is_one_row check (singleton)
);
comment on table nightshift.concurrency_hints_fold is
    'Where the fold of concurrency_hints starts (floor_id: every hint at or below it is folded), and the next floor '
    'waiting for the transactions that could still commit a hint below it (pending_id, pending_xmax).';
insert into nightshift.concurrency_hints_fold default values;

-- The groups as they stand now.
insert into nightshift.concurrency_groups (function_id, group_key, concurrency_key, concurrency_limit, at_limit, next_run_at)
select g.function_id, g.group_key, g.concurrency_key, coalesce(h.concurrency_limit, g.concurrency_limit),
       g.running >= coalesce(h.concurrency_limit, g.concurrency_limit), h.run_at
from (
    select r.function_id, coalesce('=' || r.concurrency_key, '') as group_key, r.concurrency_key,
           min(r.concurrency_limit) as concurrency_limit, count(*) filter (where r.status = 'running') as running
    from nightshift.runs r
    where r.status in ('queued', 'running') and r.concurrency_limit is not null
    group by 1, 2, 3
) g
left join lateral (
    select r.run_at, r.concurrency_limit
    from nightshift.runs r
    where r.status = 'queued' and r.concurrency_limit is not null and r.function_id = g.function_id
      and coalesce('=' || r.concurrency_key, '') = g.group_key
    order by r.run_at
    limit 1
) h on true;

create function nightshift._concurrency_hint()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_run nightshift.runs;
    v_freed boolean;
    v_run_at timestamptz;
begin
    -- OLD and NEW exist only for the operations that have them: test tg_op before reading.
    if tg_op = 'INSERT' then
        v_run := new;
        v_freed := false;
    elsif tg_op = 'UPDATE' then
        v_run := new;
        v_freed := old.status = 'running' and new.status <> 'running';
    else
        v_run := old;
        v_freed := true;
    end if;
    if tg_op <> 'DELETE' and v_run.status = 'queued' then
        v_run_at := v_run.run_at;
    end if;

    insert into nightshift.concurrency_hints (function_id, concurrency_key, concurrency_limit, run_at, freed)
    values (v_run.function_id, v_run.concurrency_key, v_run.concurrency_limit, v_run_at, v_freed);

    -- A freed place wakes the workers at once when a due run of the group waits for it
    -- (rather than at their next poll). One index probe, for limited runs only.
    if v_freed and exists (
        select 1 from nightshift.runs r
        where r.status = 'queued' and r.concurrency_limit is not null and r.function_id = v_run.function_id
          and coalesce('=' || r.concurrency_key, '') = coalesce('=' || v_run.concurrency_key, '')
          and r.run_at <= now())
    then
        perform pg_catalog.pg_notify('nightshift_runs', v_run.function_id);
    end if;
    return null;
end
$$;
comment on function nightshift._concurrency_hint() is
    'Trigger on runs: records that a limited run became queued or left running (a hint claim_runs folds into '
    'concurrency_groups), and NOTIFYs nightshift_runs when a freed place has a due run waiting for it.';

-- The WHEN clauses keep unlimited runs, claims (queued -> running), heartbeats and a run
-- resumed in place out of it: they cost one expression each and fire nothing.
create trigger runs_concurrency_insert_hint
    after insert on nightshift.runs
    for each row when (new.concurrency_limit is not null and new.status = 'queued')
    execute function nightshift._concurrency_hint();
create trigger runs_concurrency_update_hint
    after update on nightshift.runs
    for each row when (new.concurrency_limit is not null and (
        (old.status = 'running' and new.status <> 'running')
        or (new.status = 'queued' and (old.status <> 'queued' or new.run_at < old.run_at))))
    execute function nightshift._concurrency_hint();
create trigger runs_concurrency_delete_hint
    after delete on nightshift.runs
    for each row when (old.concurrency_limit is not null and old.status = 'running')
    execute function nightshift._concurrency_hint();

-- The oldest transaction of this database still in progress, as an xid8 (the snapshot's
-- xmax when there is none). Not pg_snapshot_xmin: a long transaction in another database of
-- the cluster cannot write a hint here, and must not hold the fold's floor back.
create function nightshift._oldest_writer(p_snapshot pg_catalog.pg_snapshot)
returns xid8
language sql
stable
set search_path = ''
as $$
    -- backend_xid is 32 bits: widen it by its signed distance from the snapshot's xmax (an
    -- xid in progress is within 2^31 of it, on either side).
    with next as (select pg_catalog.pg_snapshot_xmax(p_snapshot)::text::bigint as xid)
    select (coalesce(min(n.xid + (w.xid - n.xid % 4294967296 + 6442450944) % 4294967296 - 2147483648), n.xid))::text::xid8
    from next n
    left join (
        select a.backend_xid::text::bigint as xid
        from pg_catalog.pg_stat_activity a
        where a.datname = pg_catalog.current_database() and a.backend_xid is not null
        union all
        select p.transaction::text::bigint
        from pg_catalog.pg_prepared_xacts p
        where p.database = pg_catalog.current_database()
    ) w on true
    group by n.xid
$$;
comment on function nightshift._oldest_writer(pg_catalog.pg_snapshot) is
    'The oldest xid in progress in this database (prepared transactions included), or the snapshot''s xmax.';

-- Folds up to p_limit hints into concurrency_groups. Called by claim_runs only.
create function nightshift._fold_concurrency_hints(p_limit integer)
returns void
language plpgsql
set search_path = ''
as $$
declare
    v_function_ids text[];
    v_group_keys text[];
    v_keys text[];
    v_limits integer[];
    v_run_ats timestamptz[];
    v_freed boolean[];
    v_state nightshift.concurrency_hints_fold;
    v_max_id bigint;
    v_count integer;
    v_snapshot pg_catalog.pg_snapshot;
    v_lock_timeout text;
begin
    -- Nothing to fold (the common case on the unlimited path): one read, no lock.
    select f.* into v_state
    from nightshift.concurrency_hints_fold f
    where exists (select 1 from nightshift.concurrency_hints h where h.id > f.floor_id);
    if not found then
        return;
    end if;

    -- One folder at a time: two would lock the same group rows in different orders (a
    -- deadlock). Transaction-scoped, so it is held until the claim commits. A claim that finds
    -- another folding waits for it (a millisecond): the hints may have committed after that
    -- claim began, and a freed place or a new group seen by nobody would wait for the poll.
    -- Never a deadlock: the claim holding it waits for nothing this claim holds (claims lock
    -- runs and groups with SKIP LOCKED; its own fold waits only for claims past their fold).
    -- But at most 100 ms: a claim transaction left open (a stopped process, a console) must
    -- not stop every worker; past that, this claim goes on without folding.
    if not pg_catalog.pg_try_advisory_xact_lock(1314062339) then  -- 0x4E530003: 'NS' lock space 3, group hints
        v_lock_timeout := pg_catalog.current_setting('lock_timeout');
        begin
            perform pg_catalog.set_config('lock_timeout', '100ms', true);
            perform pg_catalog.pg_advisory_xact_lock(1314062339);
        exception when lock_not_available then
            -- (The subtransaction's rollback restored lock_timeout.)
            return;
        end;
        perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
    end if;

    -- Hints come only from the trigger on runs, after the run's own write, so a transaction
    -- has its xid before it takes a hint id. Hence when every transaction of this database
    -- older than pending_xmax (the next xid when pending_id was the largest folded id) has
    -- ended, every hint with an id up to pending_id is committed or gone, and a scan from the
    -- old floor that reached pending_id folded them all: pending_id becomes the floor.
    -- (Read again under the lock: the claim that held it may have moved the floor.)
    select f.* into strict v_state from nightshift.concurrency_hints_fold f;
    with folded as (
        delete from nightshift.concurrency_hints h
        -- = any (array): the primary key finds the rows, whatever the size of the backlog.
        where h.id = any (array(
            select h2.id from nightshift.concurrency_hints h2 where h2.id > v_state.floor_id order by h2.id limit p_limit))
        returning h.id, h.function_id, h.concurrency_key, h.concurrency_limit, h.run_at, h.freed
    ), per_group as (
        select f.function_id, coalesce('=' || f.concurrency_key, '') as group_key, f.concurrency_key,
               (pg_catalog.array_agg(f.concurrency_limit order by f.run_at) filter (where f.run_at is not null))[1] as concurrency_limit,
               min(f.run_at) as run_at, bool_or(f.freed) as freed
        from folded f
        group by 1, 2, 3
    )
    select pg_catalog.array_agg(p.function_id), pg_catalog.array_agg(p.group_key), pg_catalog.array_agg(p.concurrency_key),
           pg_catalog.array_agg(p.concurrency_limit), pg_catalog.array_agg(p.run_at), pg_catalog.array_agg(p.freed),
           (select max(f.id) from folded f), (select count(*)::integer from folded f),
           pg_catalog.pg_current_snapshot()  -- this statement's: what the scan above saw
    into v_function_ids, v_group_keys, v_keys, v_limits, v_run_ats, v_freed, v_max_id, v_count, v_snapshot
    from per_group p;

    if v_state.pending_id is not null
       and nightshift._oldest_writer(v_snapshot) >= v_state.pending_xmax
       and (v_count < p_limit or v_max_id >= v_state.pending_id)
    then
        update nightshift.concurrency_hints_fold
        set floor_id = v_state.pending_id,
            pending_id = case when v_max_id > v_state.pending_id then v_max_id end,
            pending_xmax = case when v_max_id > v_state.pending_id then pg_catalog.pg_snapshot_xmax(v_snapshot) end;
    elsif v_state.pending_id is null and v_max_id is not null then
        update nightshift.concurrency_hints_fold
        set pending_id = v_max_id, pending_xmax = pg_catalog.pg_snapshot_xmax(v_snapshot);
    end if;

    if v_function_ids is null then
        return;
    end if;

    -- Newly queued runs: next_run_at may only move earlier here (a claim moves it later, from
    -- the runs themselves). A group seen for the first time has no run of it running yet that
    -- a hint did not announce, so it is not at its limit. Waits for a group row a claim holds:
    -- claims never wait themselves, so that wait ends.
    insert into nightshift.concurrency_groups as g (function_id, group_key, concurrency_key, concurrency_limit, next_run_at)
    select u.function_id, u.group_key, u.concurrency_key, u.concurrency_limit, u.run_at
    from rows from (pg_catalog.unnest(v_function_ids), pg_catalog.unnest(v_group_keys), pg_catalog.unnest(v_keys),
                    pg_catalog.unnest(v_limits), pg_catalog.unnest(v_run_ats))
        as u(function_id, group_key, concurrency_key, concurrency_limit, run_at)
    where u.run_at is not null
    on conflict (function_id, group_key) do update
    set concurrency_limit = case when g.next_run_at is null or excluded.next_run_at < g.next_run_at
                                 then excluded.concurrency_limit else g.concurrency_limit end,
        next_run_at = least(g.next_run_at, excluded.next_run_at);

    -- Freed places: the group is claimable again (the next claim counts what really runs).
    update nightshift.concurrency_groups g
    set at_limit = false
    from rows from (pg_catalog.unnest(v_function_ids), pg_catalog.unnest(v_group_keys), pg_catalog.unnest(v_freed))
        as u(function_id, group_key, freed)
    where u.freed and g.function_id = u.function_id and g.group_key = u.group_key and g.at_limit;

    -- A group with nothing queued and nothing running is forgotten; a hint brings it back.
    delete from nightshift.concurrency_groups g
    using rows from (pg_catalog.unnest(v_function_ids), pg_catalog.unnest(v_group_keys), pg_catalog.unnest(v_freed))
        as u(function_id, group_key, freed)
    where u.freed and g.function_id = u.function_id and g.group_key = u.group_key and g.next_run_at is null
      and not exists (
        select 1 from nightshift.runs r
        where r.status = 'running' and r.concurrency_limit is not null and r.function_id = g.function_id
          and coalesce('=' || r.concurrency_key, '') = g.group_key);
end
$$;
comment on function nightshift._fold_concurrency_hints(integer) is
    'Folds the oldest hints into concurrency_groups (new queued runs, freed places, idle groups dropped); '
    'one claimer at a time (another waits for it); no lock at all when no hint is waiting.';

-- Claiming ------------------------------------------------------------------------------------

drop function nightshift.claim_runs(text, integer, interval, text[]);
create function nightshift.claim_runs(worker text, max_runs integer, lease interval, function_ids text[] default null)
returns table (
    id uuid, function_id text, payload jsonb, attempt integer, max_attempts integer, lease_token bigint,
    correlation_id uuid, trigger_kind text, trigger_slot timestamptz, trigger_event_id uuid, steps jsonb,
    run_at timestamptz, quarantined boolean, error jsonb)
language plpgsql
security definer
set search_path = ''
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
    -- 4. Unlimited runs, oldest first: one scan of runs_claim_idx. SKIP LOCKED lets many
    -- workers claim at once, each taking rows no other claimer holds, without waiting.
    -- The two kinds compete by run_at for what is left of the budget.
    if v_budget > 0 and v_group_function_ids is null then
        -- No limited group to claim from: the unlimited path alone, as plain as it gets.
        v_run_ids := array(
            select r.id
            from nightshift.runs r
            where r.status = 'queued' and r.concurrency_limit is null and r.run_at <= now()
              and (function_ids is null or r.function_id = any (function_ids))
            order by r.run_at
            limit v_budget
            for update skip locked);
    elsif v_budget > 0 then
        with limited as (
            select p.id, p.run_at
            from (
                select q.id, q.run_at, n.running,
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
                    select r.id, r.run_at, r.concurrency_limit
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
            select r.id, r.run_at
            from nightshift.runs r
            where r.status = 'queued' and r.concurrency_limit is null and r.run_at <= now()
              and (function_ids is null or r.function_id = any (function_ids))
            order by r.run_at
            limit v_budget
            for update skip locked
        )
        select pg_catalog.array_agg(c.id) into v_run_ids
        from (
            select c.id
            from (select l.id, l.run_at from limited l union all select u.id, u.run_at from unlimited u) c
            order by c.run_at
            limit v_budget
        ) c;
    end if;
    v_run_ids := v_resumed || coalesce(v_run_ids, '{}');

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
           c.run_at,  -- when it became due: the worker's pickup-latency metric starts here
           false, null::jsonb
    from claimed c;

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
comment on function nightshift.claim_runs(text, integer, interval, text[]) is
    'Claims up to max_runs runnable runs for a worker under a lease: expired leases first (resumed, requeued after '
    'a backoff, or quarantined), then the oldest of the limited runs within their limits and the unlimited runs. '
    'Rows with quarantined = true are runs this call failed after crash_limit crashes without progress: not leased '
    '(lease_token null), never to be run; the worker calls their onFailure with error. '
    'function_ids (null = all) limits the claim to the functions the worker has handlers for.';

create function nightshift.next_wake_at(function_ids text[] default null)
returns timestamptz
language sql
stable
security definer
set search_path = ''
as $$
    -- Three index-ordered reads of one row each (runs_claim_idx, runs_queued_limited_run_at_idx,
    -- runs_lease_expires_at_idx). A limited run due while its group is full wakes the worker
    -- for nothing; the freed place NOTIFYs when it comes.
    select least(
        (select r.run_at from nightshift.runs r
         where r.status = 'queued' and r.concurrency_limit is null and r.run_at > now()
           and (function_ids is null or r.function_id = any (function_ids))
         order by r.run_at limit 1),
        (select r.run_at from nightshift.runs r
         where r.status = 'queued' and r.concurrency_limit is not null and r.run_at > now()
           and (function_ids is null or r.function_id = any (function_ids))
         order by r.run_at limit 1),
        (select r.lease_expires_at from nightshift.runs r
         where r.status = 'running' and r.lease_expires_at > now()
           and (function_ids is null or r.function_id = any (function_ids))
         order by r.lease_expires_at limit 1))
$$;
comment on function nightshift.next_wake_at(text[]) is
    'The earliest future instant at which a run of these functions (null = all) may become claimable: a queued '
    'run coming due (retry backoff, durable sleep, crash backoff) or a lease expiring; null when none. A worker '
    'arms a timer for it instead of waiting for its poll.';

-- Per-schema default privileges cannot take back the global default (EXECUTE for PUBLIC),
-- so every function created here is closed explicitly before the service role gets its own.
revoke all on function
    nightshift._oldest_writer(pg_catalog.pg_snapshot),
    nightshift._concurrency_hint(),
    nightshift._fold_concurrency_hints(integer),
    nightshift.claim_runs(text, integer, interval, text[]),
    nightshift.next_wake_at(text[])
from public;
grant execute on function
    nightshift.claim_runs(text, integer, interval, text[]),
    nightshift.next_wake_at(text[])
to nightshift_service;
grant select on nightshift.concurrency_groups, nightshift.concurrency_hints, nightshift.concurrency_hints_fold to nightshift_service;
