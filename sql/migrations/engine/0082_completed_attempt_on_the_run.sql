-- A completed claim is read off its run instead of a run_attempts row of its own.
--
-- complete_runs wrote one run_attempts row per completed run: a heap tuple, a primary-key
-- entry and its WAL, about a tenth of the database's work per run on the hottest path. Every
-- field of that row is already on the run it completes (attempt, lease_owner, claimed_at,
-- finished_at) except the claim's token, which the lease release cleared. The run now keeps
-- that token in completed_lease_token, and nightshift.ended_attempts shows the completing
-- claim beside the recorded ones. Other outcomes (retrying, failed, crashed, cancelled,
-- sleeping) are still rows: they are rarer, carry an error, and a run has many of them.
--
-- Runs completed before this migration keep their 'completed' row and a null
-- completed_lease_token, so none is listed twice and nothing is rewritten.

alter table nightshift.runs add column completed_lease_token bigint;
comment on column nightshift.runs.completed_lease_token is
    'The token of the claim that completed the run (complete_runs); that attempt is read off the run '
    '(attempt, lease_owner, claimed_at, finished_at) in nightshift.ended_attempts, not stored in run_attempts.';

create view nightshift.ended_attempts with (security_invoker = true) as
    select a.run_id, a.lease_token, a.attempt, a.worker, a.started_at, a.finished_at, a.outcome, a.error
    from nightshift.run_attempts a
    union all
    select r.id, r.completed_lease_token, r.attempt, r.lease_owner, r.claimed_at, r.finished_at, 'completed', null::jsonb
    from nightshift.runs r
    where r.completed_lease_token is not null;
comment on view nightshift.ended_attempts is
    'How every ended claim of a run ended: the rows of run_attempts and each run''s completing claim, read off the run. '
    'The claim in progress is in runs (lease_owner, lease_token, claimed_at).';
grant select on nightshift.ended_attempts to nightshift_service;

create or replace function nightshift.complete_runs(run_ids uuid[], lease_tokens bigint[], outputs jsonb[])
returns integer
language plpgsql
security definer
set search_path = ''
set random_page_cost = 1.1
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
    -- (No status test, as in _owned_run: the token implies running.) The attempt stays on
    -- the run (completed_lease_token, lease_owner, claimed_at): see nightshift.ended_attempts.
    update nightshift.runs r
    set status = 'completed', output = u.output, finished_at = now(), updated_at = now(),
        completed_lease_token = r.lease_token, lease_token = null, lease_expires_at = null
    from rows from (pg_catalog.unnest(run_ids), pg_catalog.unnest(lease_tokens), pg_catalog.unnest(outputs))
        as u(run_id, lease_token, output)
    where r.id = u.run_id and r.lease_token = u.lease_token;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

-- api.run lists the attempts from ended_attempts (its completing claim included).
create or replace function api.run(id uuid)
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
                from nightshift.ended_attempts t where t.run_id = v_run.id
                union all
                select pg_catalog.jsonb_build_object(
                           'attempt', v_run.attempt, 'worker', v_run.lease_owner, 'lease_token', v_run.lease_token,
                           'outcome', 'running', 'error', null, 'started_at', v_run.claimed_at, 'finished_at', null),
                       v_run.claimed_at, v_run.lease_token
                where v_run.status = 'running') a), '[]'::jsonb));
end
$$;
