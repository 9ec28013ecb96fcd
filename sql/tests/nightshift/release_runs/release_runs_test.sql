-- release_runs: a worker shutting down hands its runs back, due now, with the same attempt and
-- their memoised steps; runs it no longer holds are left alone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/long"}]');
select nightshift.trigger('tests/long', '{"n": 1}');
select nightshift.trigger('tests/long', '{"n": 2}');
create temporary table t_claim as select * from nightshift.claim_runs('w1', 2, '30 seconds');
select nightshift.checkpoint_step(id, lease_token, 'first', '1') from t_claim;
-- The second run completes before the shutdown gives the runs back.
select nightshift.complete_run(id, lease_token, '{}') from t_claim where payload->>'n' = '2';

create temporary table t_released as
    select * from nightshift.release_runs(array(select id from t_claim), array(select lease_token from t_claim)) as r(id);
select results_eq($$select id from t_released$$, $$select id from t_claim where payload->>'n' = '1'$$,
    'only the run still held is released');
select results_eq(
    $$select status, run_at, attempt, lease_token, crash_count from nightshift.runs where id = (select id from t_released)$$,
    $$values ('queued', now(), 1, null::bigint, 0)$$,
    'a released run is queued and due now, same attempt, lease gone, no crash counted');
select is((select status from nightshift.runs r join t_claim c using (id) where c.payload->>'n' = '2'), 'completed',
    'a run that completed meanwhile stays completed');
select results_eq($$select outcome, worker from nightshift.run_attempts where run_id = (select id from t_released)$$,
    $$values ('released', 'w1')$$, 'the attempt is recorded as released');

create temporary table t_again as select * from nightshift.claim_runs('w2', 5, '30 seconds');
select results_eq($$select id, attempt, steps from t_again$$,
    $$select id, 1, '{"first": 1}'::jsonb from t_released$$,
    'another worker claims it at once, same attempt, with its finished step');
select is_empty(format($$select * from nightshift.release_runs(array[%L]::uuid[], array[%s])$$,
        (select id from t_released), (select lease_token from t_claim where payload->>'n' = '1')),
    'the old owner''s token releases nothing after the takeover');
select is((select lease_owner from nightshift.runs where id = (select id from t_released)), 'w2',
    'the new owner keeps the run');
select throws_ok($$select * from nightshift.release_runs(array[gen_random_uuid()], array[]::bigint[])$$,
    '22023', 'release_runs needs run_ids and lease_tokens of the same length',
    'mismatched arrays are refused');
select is_empty($$select * from nightshift.release_runs(array[]::uuid[], array[]::bigint[])$$,
    'nothing to release is not an error');

select * from finish();
rollback;
