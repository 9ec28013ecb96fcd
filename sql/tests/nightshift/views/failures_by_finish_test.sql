-- engine/0085: failures_last_24h reads the failed runs of the last day, not every failed run
-- ever kept (runs_failed_finished_at_idx).
set client_min_messages = warning;
create extension if not exists pgtap;

begin;
select plan(3);

select nightshift.sync_functions('[{"id": "tests/failing"}]');
-- 3,000 failures three days ago (kept: retention is 14 days), four in the last hour.
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, created_at, started_at, finished_at, error)
select 'tests/failing', 'failed', 1, 'manual', now() - interval '3 days', now() - interval '3 days', now() - interval '3 days',
       '{"message": "old"}'
from generate_series(1, 3000);
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, created_at, started_at, finished_at, error)
select 'tests/failing', 'failed', 1, 'manual', now() - interval '1 hour', now() - interval '1 hour',
       now() - interval '1 hour' + i * interval '1 minute', jsonb_build_object('message', 'new ' || i)
from generate_series(1, 4) i;
analyze nightshift.runs;

-- Rows of runs this transaction read: index entries of any scan, and rows of sequential scans.
create function pg_temp.runs_read() returns bigint language sql volatile as $$
    select pg_stat_get_xact_tuples_returned('nightshift.runs'::regclass)
           + (select sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) from pg_index i where i.indrelid = 'nightshift.runs'::regclass) $$;
create temporary table t_read as select pg_temp.runs_read() as before;
create temporary table t_failures as select * from nightshift.failures_last_24h where function_id = 'tests/failing';

select results_eq($$select failed_count, last_error ->> 'message' from t_failures$$,
    $$values (4::bigint, 'new 4')$$, 'the last day''s four failures, with the latest error');
select cmp_ok(pg_temp.runs_read() - (select before from t_read), '<', 100::bigint,
    'read through the failed runs'' finish times: not the 3,000 failures of three days ago');
select has_index('nightshift', 'runs', 'runs_failed_finished_at_idx', 'runs_failed_finished_at_idx exists');

select * from finish();
rollback;
