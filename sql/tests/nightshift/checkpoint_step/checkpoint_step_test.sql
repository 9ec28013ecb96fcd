-- checkpoint_step: memoises a step under a valid lease, first output wins; a stale token is
-- fenced out with NSL01.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/steps"}]');
select nightshift.trigger('tests/steps');
create temporary table t_old as select * from nightshift.claim_runs('w1', 1, '30 seconds');

select lives_ok($$select nightshift.checkpoint_step(id, lease_token, 'fetch', '{"rows": 3}') from t_old$$,
    'the owner checkpoints a step');
select results_eq(
    $$select name, output, attempt, completed_at from nightshift.steps where run_id = (select id from t_old)$$,
    $$values ('fetch', '{"rows": 3}'::jsonb, 1, now())$$,
    'the step is stored with its output and attempt');
select lives_ok($$select nightshift.checkpoint_step(id, lease_token, 'fetch', '{"rows": 99}') from t_old$$,
    'checkpointing the same step again is accepted');
select is((select output from nightshift.steps where run_id = (select id from t_old) and name = 'fetch'), '{"rows": 3}'::jsonb,
    'the first recorded output wins');

-- The lease expires and another worker takes the run over.
update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_old);
create temporary table t_new as select * from nightshift.claim_runs('w2', 1, '30 seconds');
select throws_ok(
    format($$select nightshift.checkpoint_step(%L, %s, 'store', '{}')$$, (select id from t_old), (select lease_token from t_old)),
    'NSL01', format('lease lost: run %s is no longer owned by this worker', (select id from t_old)),
    'the old owner''s checkpoint is refused with lease lost');
select lives_ok(
    format($$select nightshift.checkpoint_step(%L, %s, 'store', '{"ok": true}')$$, (select id from t_new), (select lease_token from t_new)),
    'the new owner checkpoints');
select is((select count(*)::integer from nightshift.steps where run_id = (select id from t_old) and name = 'store'), 1,
    'only the new owner''s step is stored');

select * from finish();
rollback;
