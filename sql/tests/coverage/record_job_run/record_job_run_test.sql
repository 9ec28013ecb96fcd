-- record_job_run: the telemetry row of a run, written with failures and their errors; one row
-- per engine run however often it is recorded.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

create temp table ids (name text primary key, id uuid) on commit drop;
insert into ids values ('first', coverage.record_job_run(
    started_at => '2026-01-01 02:00:00+00', completed_at => '2026-01-01 02:00:01.5+00',
    institutions_processed => 2, institutions_failed => 1, total_gaps_detected => 4, total_gaps_resolved => 2,
    errors => '[{"institution_id": "c0000000-0000-4000-8000-000000000001", "sqlstate": "23514", "message": "boom"}]',
    run_id => 'c0000000-0000-4000-8000-00000000a001'));

select isnt((select id from ids where name = 'first'), null, 'recording returns the row''s id');
select row_eq(
    $$select j.run_id, j.duration_ms, j.institutions_processed, j.institutions_failed, j.total_gaps_detected, j.total_gaps_resolved, j.errors
      from coverage.coverage_job_runs j join ids on ids.name = 'first' and j.id = ids.id$$,
    row('c0000000-0000-4000-8000-00000000a001'::uuid, 1500::bigint, 2, 1, 4, 2,
        '["c0000000-0000-4000-8000-000000000001: boom (SQLSTATE 23514)"]'::jsonb),
    'the row holds the counts, the failures'' errors and the duration derived from the times');

insert into ids values ('again', coverage.record_job_run(
    '2026-01-01 02:00:00+00', '2026-01-01 02:00:03+00', 3, 0, 4, 2, '[]', 'c0000000-0000-4000-8000-00000000a001'));
select is((select id from ids where name = 'again'), (select id from ids where name = 'first'),
    'recording the same run again returns the same row');
select row_eq(
    $$select count(*)::integer, max(duration_ms), max(institutions_processed), max(errors::text)
      from coverage.coverage_job_runs where run_id = 'c0000000-0000-4000-8000-00000000a001'$$,
    row(1, 3000::bigint, 3, '[]'::text),
    'and updates it: one row per run');

select lives_ok($$select coverage.record_job_run(now(), now(), 0, 0, 0, 0)$$, 'errors and run id are optional');
select lives_ok($$select coverage.record_job_run(now(), now(), 0, 0, 0, 0)$$, 'rows without a run id never collide');
select is((select errors from coverage.coverage_job_runs where run_id is null order by created_at desc limit 1), '[]',
    'errors default to an empty array');

select throws_ok($$select coverage.record_job_run('2026-01-01 02:00:01+00', '2026-01-01 02:00:00+00', 0, 0, 0, 0)$$,
    '22023', null, 'a run that completes before it started is refused');
select throws_ok($$select coverage.record_job_run(now(), now(), 0, 0, 0, 0, '{"not": "an array"}')$$,
    '23514', 'new row for relation "coverage_job_runs" violates check constraint "coverage_job_runs_errors_is_array"',
    'errors must be a JSON array');
select throws_ok($$select coverage.record_job_run(now(), now(), -1, 0, 0, 0)$$,
    '23514', 'new row for relation "coverage_job_runs" violates check constraint "coverage_job_runs_counts_are_valid"',
    'negative counts are refused');

select * from finish();
rollback;
