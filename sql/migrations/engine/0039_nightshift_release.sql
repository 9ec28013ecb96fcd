-- A worker that shuts down gives its unfinished runs back at once instead of leaving them to
-- their leases: another worker resumes each after its last finished step within moments, not
-- after the lease expires. Handing a run back is not a crash (the crash streak is untouched)
-- and not a failure (the attempt is not used up).

alter table nightshift.run_attempts drop constraint run_attempts_outcome_is_valid;
alter table nightshift.run_attempts add constraint run_attempts_outcome_is_valid check (
    outcome in ('completed', 'retrying', 'failed', 'crashed', 'cancelled', 'sleeping', 'released'));
comment on column nightshift.run_attempts.outcome is
    'completed, retrying (failed, will retry), failed, crashed (lease expired), cancelled, sleeping (durable sleep), '
    'released (its worker shut down and handed it back).';

create function nightshift.release_runs(run_ids uuid[], lease_tokens bigint[])
returns setof uuid
language plpgsql
security definer
set search_path = ''
as $$
begin
    if pg_catalog.cardinality(run_ids) is distinct from pg_catalog.cardinality(lease_tokens) then
        raise exception 'release_runs needs run_ids and lease_tokens of the same length'
            using errcode = 'invalid_parameter_value';
    end if;

    -- The token match is re-checked on the row version the update locks: a run that completed,
    -- failed or was taken over meanwhile is left alone (fencing), never handed back twice.
    return query
    with released as (
        update nightshift.runs r
        set status = 'queued', run_at = now(), updated_at = now(), lease_token = null, lease_expires_at = null
        from rows from (pg_catalog.unnest(run_ids), pg_catalog.unnest(lease_tokens)) as u(run_id, lease_token)
        where r.id = u.run_id and r.lease_token = u.lease_token
        returning r.id, r.function_id, u.lease_token, r.attempt, r.lease_owner, r.claimed_at
    ), attempts as (
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome)
        select l.id, l.lease_token, l.attempt, l.lease_owner, l.claimed_at, now(), 'released' from released l
    ), wake as (
        -- One notification per function: the other workers claim the runs now, not at their next poll.
        select pg_catalog.pg_notify('nightshift_runs', f.function_id)
        from (select distinct l.function_id from released l) f
    )
    select l.id from released l
    where (select count(*) from wake) >= 0;
end
$$;
comment on function nightshift.release_runs(uuid[], bigint[]) is
    'Hands runs back to the queue, due now, keeping their attempt and memoised steps (a worker shutting down); '
    'runs no longer held under these lease tokens are skipped. Returns the ids released.';

revoke all on function nightshift.release_runs(uuid[], bigint[]) from public;
grant execute on function nightshift.release_runs(uuid[], bigint[]) to nightshift_service;
