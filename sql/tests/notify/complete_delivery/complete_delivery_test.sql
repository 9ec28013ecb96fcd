-- complete_delivery: delivered with the status code and time, idempotent, and accepted from
-- a late claimer too (the receiver has the notification whoever reports it).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

update notify.deliveries set next_attempt_at = 'infinity' where status = 'pending';
update notify.deliveries set lease_expires_at = 'infinity' where status = 'delivering';
select notify.configure(100, array['ops']);

create temporary table t_sent as select * from notify.send('00000000-0000-0000-0000-00000000d001', 'Done', 'm');
create temporary table t_claim as select * from notify.claim_deliveries(1, '30 seconds');
select lives_ok(format('select notify.complete_delivery(%s, 204)', (select id from t_claim)), 'a claimed delivery completes');
select results_eq($$select status, attempts, last_status_code, delivered_at, lease_expires_at from notify.deliveries where id = (select id from t_claim)$$,
    $$values ('delivered', 1, 204, now(), null::timestamptz)$$, 'it is delivered, with the status code and time, the lease released');
select is_empty($$select * from notify.claim_deliveries(10, '30 seconds')$$, 'a delivered delivery is never claimed again');

update notify.deliveries set delivered_at = now() - interval '1 minute' where id = (select id from t_claim);
select lives_ok(format('select notify.complete_delivery(%s, 200)', (select id from t_claim)), 'completing twice is not an error');
select results_eq($$select last_status_code, delivered_at from notify.deliveries where id = (select id from t_claim)$$,
    $$values (204, now() - interval '1 minute')$$, 'the first report of success is kept');

-- A late success after the delivery was put back for a retry still counts.
create temporary table t_late as select * from notify.send('00000000-0000-0000-0000-00000000d002', 'Late', 'm');
create temporary table t_late_claim as select * from notify.claim_deliveries(1, '30 seconds');
select notify.fail_delivery((select id from t_late_claim), 'timeout', null, true);
select notify.complete_delivery((select id from t_late_claim), 200);
select is((select status from notify.deliveries where id = (select id from t_late_claim)), 'delivered',
    'a success reported after a retry was scheduled marks the delivery delivered');

select throws_ok($$select notify.complete_delivery(-1, 200)$$, 'NSN01', 'notify.complete_delivery: unknown delivery -1',
    'an unknown delivery is an error');

select * from finish();
rollback;
