-- finalize_overnight_run: completed / partial / failed from the counts, metrics merged,
-- completed_at set once, idempotent; fail_overnight_run marks the run failed.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(12);

create temp table runs on commit drop as
select n, (portfolio.start_overnight_run(('e0000000-0000-4000-8000-00000000000' || n)::uuid)).job_run_id from generate_series(1, 6) n;
update portfolio.overnight_job_runs set metrics = '{"ratesStale": false}';

select is(portfolio.finalize_overnight_run((select job_run_id from runs where n = 1), 10, 0, '[]', '{"users_total": 10}'),
    'completed', 'no failures: completed');
select is(portfolio.finalize_overnight_run((select job_run_id from runs where n = 2), 10, 3,
    '[{"userId": "a0000000-0000-4000-8000-000000000001", "sqlstate": "P0002", "message": "m"}]', '{}'),
    'partial', 'some failed, some succeeded: partial');
select is(portfolio.finalize_overnight_run((select job_run_id from runs where n = 3), 4, 4, '[]', '{}'), 'failed', 'all failed: failed');
select is(portfolio.finalize_overnight_run((select job_run_id from runs where n = 4), 0, 2, '[]', '{}'), 'failed',
    'none processed, failures: failed');
select is(portfolio.finalize_overnight_run((select job_run_id from runs where n = 5), 0, 0, null, null), 'completed',
    'nothing to do: completed');
select is((select metrics from portfolio.overnight_job_runs where id = (select job_run_id from runs where n = 1)),
    '{"ratesStale": false, "users_total": 10}', 'the metrics are merged');
select is((select (users_processed, users_failed, jsonb_array_length(error_details))::text from portfolio.overnight_job_runs
           where id = (select job_run_id from runs where n = 2)), '(10,3,1)', 'the counts and error details are stored');
create temp table before on commit drop as select completed_at from portfolio.overnight_job_runs where id = (select job_run_id from runs where n = 1);
select is(portfolio.finalize_overnight_run((select job_run_id from runs where n = 1), 10, 0, '[]', '{"users_total": 10}'),
    'completed', 'finalizing again gives the same status');
select is((select completed_at from portfolio.overnight_job_runs where id = (select job_run_id from runs where n = 1)),
    (select completed_at from before), 'and keeps completed_at');
select throws_ok($$select portfolio.finalize_overnight_run((select job_run_id from runs where n = 6), -1, 0, '[]', '{}')$$,
    '22023', 'users_processed: must be >= 0, got -1', 'negative counts are refused');

select lives_ok($$select portfolio.fail_overnight_run((select job_run_id from runs where n = 6), '{"step": "fetch-prices", "error": "timeout"}')$$,
    'a run fails');
select is((select (status, completed_at is not null, error_details)::text from portfolio.overnight_job_runs
           where id = (select job_run_id from runs where n = 6)),
    ('failed', true, '[{"step": "fetch-prices", "error": "timeout"}]'::jsonb)::text, 'status failed, completed, the error recorded');

select * from finish();
rollback;
