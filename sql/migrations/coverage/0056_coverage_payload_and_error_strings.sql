-- The nightly coverage job's documented payload and telemetry (issue 15 §9).
--
--  * Every run of coverage/nightly-recompute carries the story's NightlyCoverageJobPayload:
--    {"triggered_at": ISO 8601 UTC, "trigger_type": "cron" | "manual"}. A trigger on
--    nightshift.runs stamps it as the row is inserted, so every door gets it the same way: the
--    schedule's slot (tick, pg_cron) is "cron" at the slot's time; the admin route, the SQL
--    console, the CLI, a rerun are "manual" at the time of the request. The database decides:
--    a caller's own values are replaced.
--  * coverage_job_runs.errors holds what the story's CoverageJobTelemetry says, `errors:
--    string[]`: one sentence per failed institution, "<institution_id>: <message> (SQLSTATE
--    <code>)". The structured detail moves to the new column error_details (one object per
--    failed institution: institution_id, sqlstate, message, attempts); rows written before are
--    migrated (their objects become error_details, errors their sentences).
--  * coverage.record_job_run keeps its signature: its `errors` argument is the structured
--    detail (objects; a string is taken as a message of its own), and it writes both columns.

create function coverage._error_text(p_detail jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
    -- Rows before 0056 wrote {"error": "<sqlstate>: <message>"} (the Swift job) or
    -- {"sqlstate", "message"}: both read the same.
    select case pg_catalog.jsonb_typeof(p_detail)
        when 'string' then p_detail #>> '{}'
        when 'object' then
            coalesce((p_detail ->> 'institution_id') || ': ', '')
            || coalesce(p_detail ->> 'message',
                        pg_catalog.regexp_replace(p_detail ->> 'error', '^[0-9A-Z]{5}: ', ''),
                        p_detail::text)
            || coalesce(' (SQLSTATE ' || coalesce(p_detail ->> 'sqlstate',
                                                 pg_catalog.substring(p_detail ->> 'error', '^([0-9A-Z]{5}): ')) || ')', '')
        else p_detail::text
    end
$$;
comment on function coverage._error_text(jsonb) is
    'One failed institution''s detail as the sentence coverage_job_runs.errors holds: '
    '"<institution_id>: <message> (SQLSTATE <code>)"; a string is itself.';

create function coverage._error_detail(p_detail jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
    select case pg_catalog.jsonb_typeof(p_detail)
        when 'object' then p_detail
        else pg_catalog.jsonb_build_object('message', p_detail #>> '{}')
    end
$$;
comment on function coverage._error_detail(jsonb) is
    'One failed institution''s structured detail for coverage_job_runs.error_details: an object as it is, anything else as {"message"}.';

create function coverage._strings_only(p_array jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
    -- Not an array: coverage_job_runs_errors_is_array says so, with its own name.
    select pg_catalog.jsonb_typeof(p_array) <> 'array'
        or not exists (select from pg_catalog.jsonb_array_elements(p_array) e where pg_catalog.jsonb_typeof(e) <> 'string')
$$;
comment on function coverage._strings_only(jsonb) is 'Whether a JSON array holds only strings (true for anything but an array).';

-- The whole migration runs in one transaction: ALTER TABLE's exclusive lock holds the table
-- until the rows are rewritten, so no telemetry row is written between the two in the old shape.
alter table coverage.coverage_job_runs
    add column error_details jsonb not null default '[]',
    add constraint coverage_job_runs_error_details_is_array check (pg_catalog.jsonb_typeof(error_details) = 'array');

update coverage.coverage_job_runs j
set error_details = (select coalesce(pg_catalog.jsonb_agg(coverage._error_detail(e) order by o), '[]')
                     from pg_catalog.jsonb_array_elements(j.errors) with ordinality t(e, o)),
    errors = (select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(coverage._error_text(e)) order by o), '[]')
              from pg_catalog.jsonb_array_elements(j.errors) with ordinality t(e, o))
where pg_catalog.jsonb_typeof(j.errors) = 'array' and j.errors <> '[]';

alter table coverage.coverage_job_runs
    add constraint coverage_job_runs_errors_are_strings check (coverage._strings_only(errors));

comment on column coverage.coverage_job_runs.errors is
    'The story''s CoverageJobTelemetry.errors (string[]): one sentence per failed institution, '
    '"<institution_id>: <message> (SQLSTATE <code>)". The structured detail is error_details.';
comment on column coverage.coverage_job_runs.error_details is
    'One object per failed institution, in the order of errors: {"institution_id", "sqlstate", "message", "attempts"}.';

create or replace function coverage.record_job_run(
    started_at timestamptz,
    completed_at timestamptz,
    institutions_processed integer,
    institutions_failed integer,
    total_gaps_detected integer,
    total_gaps_resolved integer,
    errors jsonb default '[]',
    run_id uuid default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_id uuid;
    v_errors jsonb := coalesce(record_job_run.errors, '[]');
    v_texts jsonb;
    v_details jsonb;
begin
    if record_job_run.started_at is null or record_job_run.completed_at is null then
        raise exception 'a job run needs started_at and completed_at'
            using errcode = 'invalid_parameter_value';
    end if;
    if record_job_run.completed_at < record_job_run.started_at then
        raise exception 'a job run cannot complete (%) before it started (%)',
            record_job_run.completed_at, record_job_run.started_at
            using errcode = 'invalid_parameter_value';
    end if;

    if pg_catalog.jsonb_typeof(v_errors) = 'array' then
        select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(coverage._error_text(e)) order by o), '[]'),
               coalesce(pg_catalog.jsonb_agg(coverage._error_detail(e) order by o), '[]')
        into v_texts, v_details
        from pg_catalog.jsonb_array_elements(v_errors) with ordinality t(e, o);
    else
        -- Not an array: written as given, so coverage_job_runs_errors_is_array refuses it by name.
        v_texts := v_errors;
        v_details := '[]';
    end if;

    -- A run resumed after its telemetry step was lost records again: same run id, one row.
    insert into coverage.coverage_job_runs (
        run_id, started_at, completed_at, duration_ms, institutions_processed, institutions_failed,
        total_gaps_detected, total_gaps_resolved, errors, error_details)
    values (
        record_job_run.run_id, record_job_run.started_at, record_job_run.completed_at,
        round(extract(epoch from record_job_run.completed_at - record_job_run.started_at) * 1000)::bigint,
        record_job_run.institutions_processed, record_job_run.institutions_failed,
        record_job_run.total_gaps_detected, record_job_run.total_gaps_resolved,
        v_texts, v_details)
    on conflict (run_id) do update set
        started_at = excluded.started_at,
        completed_at = excluded.completed_at,
        duration_ms = excluded.duration_ms,
        institutions_processed = excluded.institutions_processed,
        institutions_failed = excluded.institutions_failed,
        total_gaps_detected = excluded.total_gaps_detected,
        total_gaps_resolved = excluded.total_gaps_resolved,
        errors = excluded.errors,
        error_details = excluded.error_details
    returning id into v_id;
    return v_id;
end
$$;
comment on function coverage.record_job_run(timestamptz, timestamptz, integer, integer, integer, integer, jsonb, uuid) is
    'Writes the telemetry row of one run of coverage/nightly-recompute (duration_ms derived from the times) and '
    'returns its id. errors is the structured detail, a JSON array of one object per failed institution '
    '({institution_id, sqlstate, message, attempts}; a string is a message of its own): stored in error_details, '
    'and as the story''s sentences "<institution_id>: <message> (SQLSTATE <code>)" in errors. With a run_id, '
    'recording the same run again updates its row instead of adding one.';

create function coverage._stamp_recompute_payload()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    -- trigger_slot is the cron slot the run stands for (also after a catch-up); any other run
    -- was asked for now. UTC with a Z, whatever the session's TimeZone.
    new.payload := coalesce(new.payload, '{}') || pg_catalog.jsonb_build_object(
        'trigger_type', case when new.trigger_kind = 'cron' then 'cron' else 'manual' end,
        'triggered_at', pg_catalog.to_char(
            (case when new.trigger_kind = 'cron' then new.trigger_slot else pg_catalog.now() end) at time zone 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    return new;
end
$$;
comment on function coverage._stamp_recompute_payload() is
    'Before a run of coverage/nightly-recompute is inserted: its payload gets the story''s triggered_at (the cron '
    'slot, else now; ISO 8601 UTC) and trigger_type ("cron" for the schedule''s runs, "manual" for every other).';

-- Only the recompute's rows fire it (the WHEN clause is checked without calling the function).
create trigger runs_coverage_recompute_payload
    before insert on nightshift.runs
    for each row
    when (new.function_id = 'coverage/nightly-recompute')
    execute function coverage._stamp_recompute_payload();

-- As 0024: the helpers are the owner's (a trigger function is not called by the inserting role's
-- privileges); record_job_run keeps its grant through create or replace, restated here.
revoke all on function
    coverage._error_text(jsonb), coverage._error_detail(jsonb), coverage._strings_only(jsonb),
    coverage._stamp_recompute_payload()
from public;
grant execute on function
    coverage.record_job_run(timestamptz, timestamptz, integer, integer, integer, integer, jsonb, uuid)
to nightshift_service;
