-- Least privilege for the coverage pack, as for the engine (0008). nightshift_service (the role
-- the API and workers assume) changes coverage data only through the public functions, which
-- run as their owner (security definer, search_path = ''); it may read the tables.
-- nightshift_anon and nightshift_authenticated get nothing. Internal helpers (_*), the seed
-- generator and the demo's shift_coverage are for the owner only.

revoke all on schema coverage from public;
grant usage on schema coverage to nightshift_service;

revoke all on all functions in schema coverage from public;
revoke all on all tables in schema coverage from public;
revoke all on all sequences in schema coverage from public;
alter default privileges in schema coverage revoke execute on functions from public;

grant execute on function
    coverage.institution_exists(uuid),
    coverage.compute_for_institution(uuid),
    coverage.gap_deltas(jsonb, jsonb),
    coverage.active_institutions(),
    coverage.prune_snapshots(uuid, integer),
    coverage.process_institution(uuid, boolean),
    coverage.record_job_run(timestamptz, timestamptz, integer, integer, integer, integer, jsonb, uuid),
    coverage.list_admins(uuid),
    coverage.request_recompute(uuid)
to nightshift_service;

grant select on
    coverage.systems,
    coverage.disciplines,
    coverage.institutions,
    coverage.institution_admins,
    coverage.concepts,
    coverage.courses,
    coverage.sessions,
    coverage.assessment_items,
    coverage.course_teaches,
    coverage.session_teaches,
    coverage.item_assesses,
    coverage.coverage_snapshots,
    coverage.coverage_job_runs
to nightshift_service;
