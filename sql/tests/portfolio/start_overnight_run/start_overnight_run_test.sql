-- start_overnight_run: one row per engine run, status started, idempotent on the run id (a
-- resumed run gets its row and correlation id back); the event partitions exist.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

create temp table first on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
create temp table again on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
select is((select count(*)::integer from first), 1, 'one row back');
select is((select status from portfolio.overnight_job_runs where id = (select job_run_id from first)), 'started', 'status started');
select is((select (job_run_id, correlation_id)::text from again), (select (job_run_id, correlation_id)::text from first),
    'the same engine run gets the same job run and correlation id');
select is((select count(*)::integer from portfolio.overnight_job_runs where run_id = 'e0000000-0000-4000-8000-000000000001'), 1,
    'and no second row');
select isnt((select job_run_id from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000002')),
    (select job_run_id from first), 'another engine run gets its own row');
select isnt((select job_run_id from portfolio.start_overnight_run(null)), (select job_run_id from portfolio.start_overnight_run(null)),
    'without an engine run every call is a new run');
select ok(to_regclass('portfolio.calculation_events_' || to_char(date_trunc('month', now() at time zone 'UTC') + interval '1 month', '"y"YYYY"m"MM')) is not null,
    'next month''s event partition exists');

select * from finish();
rollback;
