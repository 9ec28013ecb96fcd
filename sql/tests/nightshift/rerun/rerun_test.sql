-- rerun: a new queued run of the same function and payload, with fresh steps.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(6);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/again", "max_attempts": 2, "concurrency": {"limit": 3, "key": "k"}}]');
select nightshift.trigger('tests/again', '{"k": "x", "n": 1}');
create temporary table t_claim as select * from nightshift.claim_runs('w1', 1, '30 seconds');
select nightshift.checkpoint_step(id, lease_token, 'step', '{}') from t_claim;
select nightshift.fail_run(id, lease_token, '{"message": "no"}', false) from t_claim;

create temporary table t_rerun as select nightshift.rerun((select id from t_claim)) as id;
select results_eq(
    $$select function_id, payload, status, attempt, max_attempts, trigger_kind, rerun_of, concurrency_key, concurrency_limit
      from nightshift.runs where id = (select id from t_rerun)$$,
    $$select 'tests/again', '{"k": "x", "n": 1}'::jsonb, 'queued', 1, 2, 'rerun', id, 'x', 3 from t_claim$$,
    'a rerun is a new queued run of the same function and payload, linked to the original');
select is((select correlation_id from nightshift.runs where id = (select id from t_rerun)),
    (select correlation_id from nightshift.runs where id = (select id from t_claim)),
    'a rerun shares the original''s correlation id');
select is((select count(*)::integer from nightshift.steps where run_id = (select id from t_rerun)), 0,
    'a rerun starts with fresh steps');
select is((select status from nightshift.runs where id = (select id from t_claim)), 'failed',
    'the original run is left as it was');

select throws_ok(format($$select nightshift.rerun(%L)$$, '00000000-0000-0000-0000-000000000000'),
    'NSR01', 'unknown run "00000000-0000-0000-0000-000000000000"',
    'an unknown run cannot be rerun');
select nightshift.sync_functions('[]');
select throws_ok(format($$select nightshift.rerun(%L)$$, (select id from t_claim)),
    'NSF01', 'function "tests/again" is retired',
    'a run of a retired function cannot be rerun');

select * from finish();
rollback;
