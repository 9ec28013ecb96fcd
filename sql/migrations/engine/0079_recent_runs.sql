-- `nightshift runs` (EngineClient.runs) lists through the walk api.runs uses
-- (nightshift._runs_newest): queued runs from the claim indexes, running ones from the lease
-- index, the others by one walk of runs_function_id_created_at_idx per function. Its own copy of
-- that SQL walked a function's whole history for `--status queued`.

create function nightshift.recent_runs(function_id text default null, status text default null, "limit" integer default 20)
returns setof nightshift.runs
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if recent_runs."limit" is null or recent_runs."limit" not between 1 and 10000 then
        raise exception 'limit must be between 1 and 10000, got %', coalesce(recent_runs."limit"::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if recent_runs.status is not null and recent_runs.status not in ('queued', 'running', 'completed', 'failed', 'cancelled') then
        raise exception 'status must be one of queued, running, completed, failed, cancelled, got "%"', left(recent_runs.status, 64)
            using errcode = 'invalid_parameter_value';
    end if;
    return query
    select r.*
    from nightshift._runs_newest(recent_runs.function_id, recent_runs.status, null, null, null, null, null, recent_runs."limit") r
    order by r.created_at desc, r.id desc;
end
$$;
comment on function nightshift.recent_runs(text, text, integer) is
    'The newest runs (created_at, id descending), at most limit (1-10000), of one function and/or one status if given: '
    'what `nightshift runs` lists. Raises 22023 for a limit out of range or an unknown status.';
revoke all on function nightshift.recent_runs(text, text, integer) from public;
grant execute on function nightshift.recent_runs(text, text, integer) to nightshift_service;
