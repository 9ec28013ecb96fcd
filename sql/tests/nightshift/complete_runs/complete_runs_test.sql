-- complete_runs / complete_run: completes runs still owned, skips (batch) or refuses (single)
-- stale tokens, and keeps each completed attempt on its run (nightshift.ended_attempts).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(15);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/done"}]');
select nightshift.enqueue_many('tests/done', '[{"n": 1}, {"n": 2}, {"n": 3}]');
create temporary table t_claim as
    select row_number() over (order by payload ->> 'n') as n, id, lease_token from nightshift.claim_runs('w1', 3, '30 seconds');

select is(
    nightshift.complete_runs(
        array(select id from t_claim order by n),
        array(select case when n = 3 then lease_token - 1000 else lease_token end from t_claim order by n),
        array['{"r": 1}', '{"r": 2}', '{"r": 3}']::jsonb[]),
    2, 'a batch completes the runs whose token matches and counts them');
select results_eq(
    $$select c.n::integer, r.status, r.output, r.finished_at, r.lease_token, r.lease_expires_at, r.lease_owner
      from t_claim c join nightshift.runs r on r.id = c.id where c.n < 3 order by c.n$$,
    $$values (1, 'completed', '{"r": 1}'::jsonb, now(), null::bigint, null::timestamptz, 'w1'),
             (2, 'completed', '{"r": 2}'::jsonb, now(), null::bigint, null::timestamptz, 'w1')$$,
    'completed runs have their output and finish time, the lease released, the last worker kept');
select is((select status from nightshift.runs where id = (select id from t_claim where n = 3)), 'running',
    'a run with a stale token in the batch is left untouched');
select results_eq(
    $$select a.lease_token = c.lease_token, a.attempt, a.worker, a.started_at, a.finished_at, a.outcome, a.error
      from nightshift.ended_attempts a join t_claim c on c.id = a.run_id where c.n = 1$$,
    $$values (true, 1, 'w1', now(), now(), 'completed', null::jsonb)$$,
    'each completion shows its attempt as completed, with the claim''s token');
select is((select count(*)::integer from nightshift.run_attempts a join t_claim c on c.id = a.run_id), 0,
    'a completed attempt is read off its run: no run_attempts row is written');
select is((select count(*)::integer from nightshift.ended_attempts a join t_claim c on c.id = a.run_id where c.n = 3), 0,
    'a run still running has no ended attempt');
select is(
    nightshift.complete_runs(array(select id from t_claim where n = 1), array(select lease_token from t_claim where n = 1), array['{}']::jsonb[]),
    0, 'completing a completed run again does nothing');
select is((select output from nightshift.runs where id = (select id from t_claim where n = 1)), '{"r": 1}'::jsonb,
    'a repeated completion does not overwrite the output');
select is(nightshift.complete_runs('{}', '{}', '{}'), 0, 'an empty batch completes nothing');
select throws_ok($$select nightshift.complete_runs(array[gen_random_uuid()], '{}', '{}')$$, '22023',
    'complete_runs needs run_ids, lease_tokens and outputs of the same length',
    'arrays of different lengths are refused');

-- complete_run
select lives_ok(format($$select nightshift.complete_run(%L, %s, '{"single": true}')$$,
        (select id from t_claim where n = 3), (select lease_token from t_claim where n = 3)),
    'the owner completes a single run');
select is((select output from nightshift.runs where id = (select id from t_claim where n = 3)), '{"single": true}'::jsonb,
    'the single completion stores its output');
select is((select outcome from nightshift.ended_attempts where run_id = (select id from t_claim where n = 3)), 'completed',
    'the single completion shows its attempt as completed');
select throws_ok(format($$select nightshift.complete_run(%L, %s, '{}')$$,
        (select id from t_claim where n = 3), (select lease_token from t_claim where n = 3)),
    'NSL01', format('lease lost: run %s is no longer owned by this worker', (select id from t_claim where n = 3)),
    'completing a run no longer owned is refused with lease lost');
select throws_ok(format($$select nightshift.complete_run(%L, 1, '{}')$$, gen_random_uuid()),
    'NSL01', null,
    'completing an unknown run is refused with lease lost');

select * from finish();
rollback;
