-- record_job_run writes the story's telemetry (issue 15 §9): coverage_job_runs.errors is a
-- string[] ("<institution_id>: <message> (SQLSTATE <code>)", one per failed institution) and
-- the structured detail is kept beside it in error_details; rows in the old shape read the same.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);

create temp table ids (name text primary key, id uuid) on commit drop;
insert into ids values ('two', coverage.record_job_run(
    '2026-01-01 02:00:00+00', '2026-01-01 02:01:30+00', 1, 2, 0, 0,
    '[{"institution_id": "c0000000-0000-4000-8000-000000000001", "sqlstate": "40001", "message": "could not serialize access", "attempts": 4},
      {"institution_id": "c0000000-0000-4000-8000-000000000002", "sqlstate": "23514", "message": "boom", "attempts": 1}]',
    'c0000000-0000-4000-8000-00000000b001'));

select is((select errors from coverage.coverage_job_runs where id = (select id from ids where name = 'two')),
    '["c0000000-0000-4000-8000-000000000001: could not serialize access (SQLSTATE 40001)",
      "c0000000-0000-4000-8000-000000000002: boom (SQLSTATE 23514)"]'::jsonb,
    'errors holds one string per failed institution, in order');
select is((select error_details from coverage.coverage_job_runs where id = (select id from ids where name = 'two')),
    '[{"institution_id": "c0000000-0000-4000-8000-000000000001", "sqlstate": "40001", "message": "could not serialize access", "attempts": 4},
      {"institution_id": "c0000000-0000-4000-8000-000000000002", "sqlstate": "23514", "message": "boom", "attempts": 1}]'::jsonb,
    'error_details keeps the structured detail, in the same order');
select is((select count(*) from coverage.coverage_job_runs j, jsonb_array_elements(j.errors) e
           where j.id = (select id from ids where name = 'two') and jsonb_typeof(e) = 'string'),
    2::bigint, 'every element of errors is a string, as CoverageJobTelemetry.errors: string[]');

insert into ids values ('text', coverage.record_job_run(now(), now(), 0, 1, 0, 0, '["the institution list could not be read"]'));
select row_eq($$select errors, error_details from coverage.coverage_job_runs where id = (select id from ids where name = 'text')$$,
    row('["the institution list could not be read"]'::jsonb, '[{"message": "the institution list could not be read"}]'::jsonb),
    'a string is a message of its own');

insert into ids values ('none', coverage.record_job_run(now(), now(), 2, 0, 0, 0));
select row_eq($$select errors, error_details from coverage.coverage_job_runs where id = (select id from ids where name = 'none')$$,
    row('[]'::jsonb, '[]'::jsonb), 'a run without failures has two empty arrays');

-- The shape rows had before (the Swift job wrote {"institution_id", "error", "attempts"}), as
-- the migration rewrote them.
select is(coverage._error_text('{"institution_id": "c0000000-0000-4000-8000-000000000003", "error": "57014: canceling statement due to statement timeout", "attempts": "2"}'),
    'c0000000-0000-4000-8000-000000000003: canceling statement due to statement timeout (SQLSTATE 57014)',
    'an old row''s object reads as the same sentence');

select throws_ok($$insert into coverage.coverage_job_runs (started_at, completed_at, duration_ms, errors)
                   values (now(), now(), 0, '[{"institution_id": "x"}]')$$,
    '23514', 'new row for relation "coverage_job_runs" violates check constraint "coverage_job_runs_errors_are_strings"',
    'the table refuses an object in errors');
select throws_ok($$select coverage.record_job_run(now(), now(), 0, 0, 0, 0, '{"not": "an array"}')$$,
    '23514', 'new row for relation "coverage_job_runs" violates check constraint "coverage_job_runs_errors_is_array"',
    'errors must still be a JSON array');

select * from finish();
rollback;
