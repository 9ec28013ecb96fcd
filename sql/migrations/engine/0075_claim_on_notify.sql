-- The claim a worker makes on its listener's connection the moment a NOTIFY names a function it
-- runs (issue 16 §1): the run just triggered, taken in one statement by a backend that is awake.
-- claim_runs does four things before it gets there (expired leases, concurrency hints, limited
-- groups, the merge with limited runs), which cost as much again on every pickup; those stay the
-- claim loop's, which still claims on every poll, timer and freed slot. So this claims only
-- what claim_runs' unlimited path would: queued runs without a concurrency limit, oldest first,
-- of the named functions, SKIP LOCKED, with the same lease, fencing token and memoised steps.

create function nightshift.claim_unlimited_runs(worker text, max_runs integer, lease interval, function_ids text[])
returns table (
    id uuid, function_id text, payload jsonb, attempt integer, max_attempts integer, lease_token bigint,
    correlation_id uuid, trigger_kind text, trigger_slot timestamptz, trigger_event_id uuid, steps jsonb,
    run_at timestamptz, quarantined boolean, error jsonb)
language plpgsql
security definer
set search_path = ''
-- As claim_runs (engine/0074): probing a handful of ids is cheaper than reading the table.
set random_page_cost = 1.1
as $$
#variable_conflict use_column
begin
    if worker is null or worker = '' or max_runs is null or max_runs < 0 or lease is null or lease <= interval '0'
       or function_ids is null then
        raise exception 'claim_unlimited_runs needs a worker name, max_runs >= 0, a positive lease and function ids'
            using errcode = 'invalid_parameter_value';
    end if;

    return query
    with picked as (
        select r.id
        from nightshift.runs r
        where r.status = 'queued' and r.concurrency_limit is null and r.run_at <= now()
          and r.function_id = any (claim_unlimited_runs.function_ids)
        order by r.run_at
        limit max_runs
        for update skip locked
    ), claimed as (
        update nightshift.runs r
        set status = 'running',
            lease_token = pg_catalog.nextval('nightshift.runs_lease_token_seq'),
            lease_owner = worker,
            lease_expires_at = now() + lease,
            claimed_at = now(),
            started_at = coalesce(r.started_at, now()),
            updated_at = now()
        from picked p
        where r.id = p.id
        returning r.id, r.function_id, r.payload, r.attempt, r.max_attempts, r.lease_token, r.correlation_id,
                  r.trigger_kind, r.trigger_slot, r.trigger_event_id, r.run_at
    )
    select c.id, c.function_id, c.payload, c.attempt, c.max_attempts, c.lease_token, c.correlation_id,
           c.trigger_kind, c.trigger_slot, c.trigger_event_id,
           (select coalesce(pg_catalog.jsonb_object_agg(s.name, s.output), '{}')
            from nightshift.steps s where s.run_id = c.id),
           c.run_at, false, null::jsonb
    from claimed c;
end
$$;
comment on function nightshift.claim_unlimited_runs(text, integer, interval, text[]) is
    'Claims up to max_runs queued runs without a concurrency limit of function_ids, oldest first, under a lease (as '
    'claim_runs does for them): the worker''s claim on a NOTIFY. Expired leases and limited runs are claim_runs'' only.';
revoke all on function nightshift.claim_unlimited_runs(text, integer, interval, text[]) from public;
grant execute on function nightshift.claim_unlimited_runs(text, integer, interval, text[]) to nightshift_service;
