-- sleep_run: a durable sleep is a memoised step plus run_at; it releases the lease and does
-- not use up an attempt.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/sleepy"}]');
select nightshift.trigger('tests/sleepy');
create temporary table t_claim as select * from nightshift.claim_runs('w1', 1, '30 seconds');

select lives_ok($$select nightshift.sleep_run(id, lease_token, 'wait-a-day', now() + interval '1 day') from t_claim$$,
    'the owner puts the run to sleep');
select results_eq(
    $$select status, run_at, attempt, lease_token, finished_at from nightshift.runs where id = (select id from t_claim)$$,
    $$values ('queued', now() + interval '1 day', 1, null::bigint, null::timestamptz)$$,
    'a sleeping run is queued until the wake-up time, same attempt, lease released');
select is((select output from nightshift.steps where run_id = (select id from t_claim) and name = 'wait-a-day'),
    jsonb_build_object('until', now() + interval '1 day'),
    'the sleep is memoised as a step holding its wake-up time');
select results_eq(
    $$select outcome, worker from nightshift.run_attempts where run_id = (select id from t_claim)$$,
    $$values ('sleeping', 'w1')$$,
    'the attempt is recorded as sleeping');
select is_empty($$select * from nightshift.claim_runs('w2', 5, '30 seconds')$$,
    'a sleeping run is not claimed before it wakes');

update nightshift.runs set run_at = now() where id = (select id from t_claim);
create temporary table t_woken as select * from nightshift.claim_runs('w2', 5, '30 seconds');
select results_eq($$select id, attempt, steps ? 'wait-a-day' from t_woken$$,
    $$select id, 1, true from t_claim$$,
    'the woken run is claimed with the same attempt and sees the sleep step done');

select throws_ok(format($$select nightshift.sleep_run(%L, %s, 'again', now())$$, (select id from t_claim), (select lease_token from t_claim)),
    'NSL01', format('lease lost: run %s is no longer owned by this worker', (select id from t_claim)),
    'a stale token cannot put the run to sleep');
select throws_ok(format($$select nightshift.sleep_run(%L, %s, 'never', null)$$, (select id from t_woken), (select lease_token from t_woken)),
    '22023', 'sleep_run needs an instant to sleep until',
    'a sleep without a wake-up time is refused');
select is((select status from nightshift.runs where id = (select id from t_woken)), 'running',
    'refused sleeps leave the run running');

select * from finish();
rollback;
