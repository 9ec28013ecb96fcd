-- heartbeat: extends the leases still held and returns their ids; the worker drops the rest.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(6);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/beat"}]');
select nightshift.enqueue_many('tests/beat', '[{"n": 1}, {"n": 2}, {"n": 3}]');
create temporary table t_claim as select * from nightshift.claim_runs('w1', 3, '30 seconds');
create temporary table t_pick as
    select row_number() over (order by id) as n, id, lease_token from t_claim;

select set_eq(
    $$select nightshift.heartbeat(array(select id from t_pick order by n), array(select lease_token from t_pick order by n), '2 minutes')$$,
    $$select id from t_pick$$,
    'every lease still held is renewed and reported');
select is((select count(*)::integer from nightshift.runs r join t_pick p on p.id = r.id
           where r.lease_expires_at = now() + interval '2 minutes'), 3,
    'the leases now end at now + the new lease');

update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_pick where n = 1);
select set_eq(
    $$select nightshift.heartbeat(array(select id from t_pick order by n), array(select lease_token from t_pick order by n), '1 minute')$$,
    $$select id from t_pick$$,
    'an expired lease that nobody took over yet is still the worker''s to renew');

select nightshift.cancel((select id from t_pick where n = 2));
update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_pick where n = 3);
select nightshift.claim_runs('w2', 5, '30 seconds');
select set_eq(
    $$select nightshift.heartbeat(array(select id from t_pick order by n), array(select lease_token from t_pick order by n), '1 minute')$$,
    $$select id from t_pick where n = 1$$,
    'a cancelled run and a run taken over by another worker are not renewed, so the worker drops them');
select is((select lease_owner from nightshift.runs where id = (select id from t_pick where n = 3)), 'w2',
    'the lost worker''s heartbeat does not touch the new owner''s lease');
select is_empty($$select nightshift.heartbeat('{}', '{}', '1 minute')$$,
    'an empty heartbeat renews nothing');

select * from finish();
rollback;
