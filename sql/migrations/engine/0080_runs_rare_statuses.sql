-- "What failed last night": api.runs (and `nightshift runs`) filtered to failed or cancelled runs
-- walked each function's whole history through runs_function_id_created_at_idx, one heap fetch
-- per run, to find the few that match: a healthy function with a million runs and no failure
-- read all million for an empty page. The rare statuses now have partial indexes in the walk's
-- order, and nightshift._runs_newest reads them through those:
--   runs_failed_idx     (function_id, created_at, id) where failed; it was (function_id,
--                       finished_at), which nothing reads by function (failures_last_24h scans
--                       every function's failures either way);
--   runs_cancelled_idx  (function_id, created_at, id) where cancelled: new.
-- Neither costs a claim or a completion anything: only a row version whose status is failed or
-- cancelled enters them. The builds read the table once each (about 1 s per million runs here).

drop index nightshift.runs_failed_idx;
create index runs_failed_idx on nightshift.runs (function_id, created_at, id) where status = 'failed';
create index runs_cancelled_idx on nightshift.runs (function_id, created_at, id) where status = 'cancelled';

create or replace function nightshift._runs_newest(
    p_function_id text, p_status text, p_trigger text, p_since timestamptz, p_until timestamptz,
    p_before_at timestamptz, p_before_id uuid, p_limit integer)
returns setof nightshift.runs
language plpgsql
stable
set search_path = ''
as $$
begin
    -- One statement per case rather than one union of them all: the union was planned whole on
    -- every call, and each branch added to it cost every list 0.5 ms (pgbench, 1M runs).
    if p_status = 'failed' then
        -- The literal status lets the planner match the partial index's predicate.
        return query
        select l.*
        from nightshift.functions f
        cross join lateral (
            select r.* from nightshift.runs r
            where r.status = 'failed' and r.function_id = f.id
              and (r.created_at, r.id) < (coalesce(p_before_at, 'infinity'), coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
              and r.created_at >= coalesce(p_since, '-infinity')
              and r.created_at < coalesce(p_until, 'infinity')
              and (p_trigger is null or r.trigger_kind = p_trigger)
            order by r.created_at desc, r.id desc
            limit p_limit) l
        where p_function_id is null or f.id = p_function_id
        order by l.created_at desc, l.id desc
        limit p_limit;
    elsif p_status = 'cancelled' then
        return query
        select l.*
        from nightshift.functions f
        cross join lateral (
            select r.* from nightshift.runs r
            where r.status = 'cancelled' and r.function_id = f.id
              and (r.created_at, r.id) < (coalesce(p_before_at, 'infinity'), coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
              and r.created_at >= coalesce(p_since, '-infinity')
              and r.created_at < coalesce(p_until, 'infinity')
              and (p_trigger is null or r.trigger_kind = p_trigger)
            order by r.created_at desc, r.id desc
            limit p_limit) l
        where p_function_id is null or f.id = p_function_id
        order by l.created_at desc, l.id desc
        limit p_limit;
    else
        -- Any status, completed, queued or running: as engine/0076 read them.
        return query
            select l.*
            from nightshift.functions f
            cross join lateral (
                select r.*
                from nightshift.runs r
                where r.function_id = f.id
                  and r.status <> 'running'  -- the index's predicate; running runs come from the lease index below
                  -- Always a bound, never "is null or": the walk starts at the cursor in every plan.
                  and (r.created_at, r.id) < (coalesce(p_before_at, 'infinity'), coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
                  and r.created_at >= coalesce(p_since, '-infinity')
                  and r.created_at < coalesce(p_until, 'infinity')
                  and (p_status is null or r.status = p_status)
                  and (p_trigger is null or r.trigger_kind = p_trigger)
                order by r.created_at desc, r.id desc
                limit p_limit) l
            where (p_function_id is null or f.id = p_function_id)
              and (p_status is null or p_status not in ('queued', 'running'))
            union all
            -- The literal statuses let the planner match the partial indexes' predicates.
            select r.* from (
                select r.* from nightshift.runs r where (p_status is null or p_status = 'running') and r.status = 'running'
                union all
                select r.* from nightshift.runs r where p_status = 'queued' and r.status = 'queued' and r.concurrency_limit is null
                union all
                select r.* from nightshift.runs r where p_status = 'queued' and r.status = 'queued' and r.concurrency_limit is not null) r
            where (p_function_id is null or r.function_id = p_function_id)
              and (r.created_at, r.id) < (coalesce(p_before_at, 'infinity'), coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
              and r.created_at >= coalesce(p_since, '-infinity')
              and r.created_at < coalesce(p_until, 'infinity')
              and (p_trigger is null or r.trigger_kind = p_trigger)
            order by created_at desc, id desc
            limit p_limit;
    end if;
end
$$;
comment on function nightshift._runs_newest(text, text, text, timestamptz, timestamptz, timestamptz, uuid, integer) is
    'The newest runs (created_at, id descending) before a keyset cursor, filtered, at most p_limit: running ones from '
    'the lease index, queued ones (when asked for) from the claim indexes, failed or cancelled ones from their own '
    'indexes, the others by one walk of runs_function_id_created_at_idx per function, merged.';
