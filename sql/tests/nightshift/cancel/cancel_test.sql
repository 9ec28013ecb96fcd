-- cancel: queued and running runs become cancelled; the running worker loses its lease;
-- finished runs are left alone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/stoppable", "concurrency": {"limit": 1}}]');

create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values ('queued', nightshift.trigger('tests/stoppable', '{"n": 1}'));
select is(nightshift.cancel((select id from t_runs where label = 'queued')), true, 'a queued run is cancelled');
select results_eq(
    $$select status, finished_at from nightshift.runs where id = (select id from t_runs where label = 'queued')$$,
    $$values ('cancelled', now())$$,
    'the cancelled run is finished');

insert into t_runs values ('running', nightshift.trigger('tests/stoppable', '{"n": 2}'));
create temporary table t_claim as select * from nightshift.claim_runs('w1', 1, '30 seconds');
select is(nightshift.cancel((select id from t_claim)), true, 'a running run is cancelled');
select results_eq(
    $$select status, lease_token, lease_expires_at from nightshift.runs where id = (select id from t_claim)$$,
    $$values ('cancelled', null::bigint, null::timestamptz)$$,
    'its lease is gone');
select throws_ok(format($$select nightshift.checkpoint_step(%L, %s, 'next', '{}')$$, (select id from t_claim), (select lease_token from t_claim)),
    'NSL01', null,
    'its worker finds out at the next checkpoint');
select is_empty(format($$select nightshift.heartbeat(array[%L]::uuid[], array[%s], '1 minute')$$, (select id from t_claim), (select lease_token from t_claim)),
    'or at the next heartbeat');
select results_eq(
    $$select worker, outcome from nightshift.run_attempts where run_id = (select id from t_claim)$$,
    $$values ('w1', 'cancelled')$$,
    'the interrupted attempt is recorded as cancelled');
select nightshift.trigger('tests/stoppable', '{"n": 3}');
select is((select count(*)::integer from nightshift.claim_runs('w2', 5, '30 seconds')), 1,
    'the singleton can run again: the cancelled run no longer holds its place');

select is(nightshift.cancel((select id from t_runs where label = 'queued')), false, 'a finished run is not cancelled again');
select throws_ok(format($$select nightshift.cancel(%L)$$, '00000000-0000-0000-0000-000000000000'),
    'NSR01', 'unknown run "00000000-0000-0000-0000-000000000000"',
    'an unknown run is refused');

select * from finish();
rollback;
