-- coverage.request_recompute looks for the institution's queued or running run through the
-- queue's partial indexes: the per-function index it walked no longer holds running runs
-- (engine/0076), and a walk of that index read the function's whole history to find none.

create or replace function coverage.request_recompute(institution_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id constant uuid := request_recompute.institution_id;
    v_run_id uuid;
    v_status text;
begin
    perform coverage._require_institution(v_id);
    -- Two concurrent requests for one institution would otherwise both find no active run and
    -- both enqueue one. Requests for one institution take turns until commit.
    perform pg_catalog.pg_advisory_xact_lock(1314062368, pg_catalog.hashtext(v_id::text));  -- 0x4E530020: 'NS', coverage

    -- Each status from its own partial index: queued runs from the claim indexes, running ones
    -- from the lease index (runs_function_id_created_at_idx holds no running runs, engine/0076).
    select r.id, r.status into v_run_id, v_status
    from (select r.id, r.status, r.created_at, r.payload from nightshift.runs r
          where r.status = 'queued' and r.concurrency_limit is not null and r.function_id = 'coverage/nightly-recompute'
          union all
          select r.id, r.status, r.created_at, r.payload from nightshift.runs r
          where r.status = 'queued' and r.concurrency_limit is null and r.function_id = 'coverage/nightly-recompute'
          union all
          select r.id, r.status, r.created_at, r.payload from nightshift.runs r
          where r.status = 'running' and r.function_id = 'coverage/nightly-recompute') r
    where pg_catalog.lower(r.payload ->> 'institution_id') = v_id::text
    order by r.created_at
    limit 1;
    if found then
        return pg_catalog.jsonb_build_object('job_id', v_run_id, 'status', v_status, 'created', false);
    end if;

    v_run_id := nightshift.trigger('coverage/nightly-recompute', pg_catalog.jsonb_build_object('institution_id', v_id));
    return pg_catalog.jsonb_build_object('job_id', v_run_id, 'status', 'queued', 'created', true);
end
$$;
