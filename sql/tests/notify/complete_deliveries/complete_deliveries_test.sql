-- complete_deliveries: complete_delivery for many at once: each delivered with its own status
-- code, the first success kept, the count of changes returned, an unknown id refused whole.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);

update notify.deliveries set next_attempt_at = 'infinity' where status = 'pending';
update notify.deliveries set lease_expires_at = 'infinity' where status = 'delivering';
select notify.configure(100, array['ops']);

select notify.send(('00000000-0000-0000-0000-00000000e00' || g)::uuid, 'Batch ' || g, 'm') from generate_series(1, 3) g;
create temporary table t_claim as select * from notify.claim_deliveries(3, '30 seconds');
select is((select count(*)::integer from t_claim), 3, 'three deliveries are claimed');

select is(notify.complete_deliveries((select array_agg(id order by id) from t_claim), array[200, 201, 204]), 3,
    'three deliveries complete in one call');
select results_eq($$select status, last_status_code, delivered_at, lease_expires_at from notify.deliveries
                    where id in (select id from t_claim) order by id$$,
    $$values ('delivered', 200, now(), null::timestamptz), ('delivered', 201, now(), null::timestamptz),
             ('delivered', 204, now(), null::timestamptz)$$,
    'each is delivered with its own status code and the time, its lease released');

update notify.deliveries set delivered_at = now() - interval '1 minute' where id in (select id from t_claim);
select is(notify.complete_deliveries((select array_agg(id order by id) from t_claim), array[202, 202, 202]), 0,
    'completing them again changes nothing');
select is((select array_agg(last_status_code order by id) from notify.deliveries where id in (select id from t_claim)),
    array[200, 201, 204], 'the first report of success is kept');

select notify.send('00000000-0000-0000-0000-00000000e004', 'Late', 'm');
create temporary table t_late as select * from notify.claim_deliveries(1, '30 seconds');
select throws_ok(format('select notify.complete_deliveries(array[%s, -1], array[200, 200])', (select id from t_late)),
    'NSN01', 'notify.complete_deliveries: unknown delivery -1', 'an unknown id is an error');
select is((select status from notify.deliveries where id = (select id from t_late)), 'delivering',
    'and nothing of that call is recorded');

select throws_ok($$select notify.complete_deliveries(array[1, 2], array[200])$$, '22023',
    'notify.complete_deliveries needs two arrays of the same length (ids, status codes), got 2 and 1',
    'arrays of different lengths are refused');

select * from finish();
rollback;
