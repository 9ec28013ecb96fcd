-- fail_delivery: a retriable failure goes back to pending after 1 s, 2 s, 4 s, 8 s (2^(n-1)
-- seconds, capped at an hour), the last attempt fails for good, a permanent error fails at
-- once, and a report from a stale claim changes nothing.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

update notify.deliveries set next_attempt_at = 'infinity' where status = 'pending';
update notify.deliveries set lease_expires_at = 'infinity' where status = 'delivering';
select notify.configure(100, array['ops']);

-- Claims the given notification's due delivery (time passes: the retry is due), fails it,
-- and returns the new status and the delay before the next attempt.
create function pg_temp.fail_attempt(p_notification uuid, p_retriable boolean default true, p_code integer default 503)
returns table (status text, delay interval)
language plpgsql as $$
declare
    v_claim record;
begin
    update notify.deliveries d set next_attempt_at = now() where d.notification_id = p_notification and d.status = 'pending';
    select * into strict v_claim from notify.claim_deliveries(1, '30 seconds') c where c.notification_id = p_notification;
    status := notify.fail_delivery(v_claim.id, format('attempt %s: HTTP %s', v_claim.attempt, p_code), p_code, p_retriable);
    select d.next_attempt_at - now() into delay from notify.deliveries d where d.id = v_claim.id;
    return next;
end
$$;

create temporary table t_flaky as select * from notify.send('00000000-0000-0000-0000-00000000c001', 'Flaky', 'm');
select results_eq($$select * from pg_temp.fail_attempt((select notification_id from t_flaky))$$,
    $$values ('pending', interval '1 second')$$, 'attempt 1 fails: pending again, due in 1 s');
select results_eq(
    $$select status, attempts, lease_expires_at, last_status_code, last_error from notify.deliveries
      where notification_id = (select notification_id from t_flaky)$$,
    $$values ('pending', 1, null::timestamptz, 503, 'attempt 1: HTTP 503')$$,
    'the lease is released and the error and status code are kept');
select is_empty($$select * from notify.claim_deliveries(10, '30 seconds')$$, 'the retry is not claimable before its backoff');
select results_eq($$select * from pg_temp.fail_attempt((select notification_id from t_flaky))$$,
    $$values ('pending', interval '2 seconds')$$, 'attempt 2 fails: due in 2 s');
select results_eq($$select * from pg_temp.fail_attempt((select notification_id from t_flaky))$$,
    $$values ('pending', interval '4 seconds')$$, 'attempt 3 fails: due in 4 s');
select results_eq($$select * from pg_temp.fail_attempt((select notification_id from t_flaky))$$,
    $$values ('pending', interval '8 seconds')$$, 'attempt 4 fails: due in 8 s');
select results_eq($$select status from pg_temp.fail_attempt((select notification_id from t_flaky))$$,
    $$values ('failed')$$, 'attempt 5 of 5 fails the delivery for good');
select results_eq(
    $$select status, attempts, lease_expires_at, last_error, delivered_at from notify.deliveries
      where notification_id = (select notification_id from t_flaky)$$,
    $$values ('failed', 5, null::timestamptz, 'attempt 5: HTTP 503', null::timestamptz)$$,
    'the failed delivery keeps its last error');

-- Permanent errors
create temporary table t_rejected as select * from notify.send('00000000-0000-0000-0000-00000000c002', 'Rejected', 'm');
select results_eq($$select status from pg_temp.fail_attempt((select notification_id from t_rejected), false, 400)$$,
    $$values ('failed')$$, 'a permanent error (4xx) fails the delivery at once');
select is((select attempts from notify.deliveries where notification_id = (select notification_id from t_rejected)), 1,
    'no retry was used');

-- The cap of an hour
create temporary table t_patient as select * from notify.send('00000000-0000-0000-0000-00000000c003', 'Patient', 'm');
update notify.deliveries set max_attempts = 40 where notification_id = (select notification_id from t_patient);
update notify.deliveries set attempts = 30 where notification_id = (select notification_id from t_patient);
select results_eq($$select * from pg_temp.fail_attempt((select notification_id from t_patient))$$,
    $$values ('pending', interval '1 hour')$$, 'the backoff is capped at an hour (and a large attempt number does not overflow)');

-- Stale reports
create temporary table t_stale as select * from notify.send('00000000-0000-0000-0000-00000000c004', 'Stale', 'm');
create temporary table t_old_claim as select * from notify.claim_deliveries(1, '30 seconds');
update notify.deliveries set lease_expires_at = now() - interval '1 second' where id = (select id from t_old_claim);
create temporary table t_new_claim as select * from notify.claim_deliveries(1, '30 seconds');
select is((select attempt from t_new_claim), 2, 'the expired claim was taken over as attempt 2');
select is(notify.fail_delivery((select id from t_old_claim), 'late timeout', null, true, (select attempt from t_old_claim)),
    'delivering', 'a failure reported for a stale attempt changes nothing and returns the current status');
select results_eq($$select status, last_error from notify.deliveries where id = (select id from t_new_claim)$$,
    $$values ('delivering', null::text)$$, 'the new claim is untouched');
select is(notify.fail_delivery((select id from t_new_claim), 'boom', 500, true, (select attempt from t_new_claim)),
    'pending', 'the current attempt''s failure counts');
select is(notify.fail_delivery((select id from t_new_claim), 'again', 500, true), 'pending',
    'failing a delivery that is not delivering changes nothing');

select throws_ok($$select notify.fail_delivery(-1, 'x', null, true)$$, 'NSN01', 'notify.fail_delivery: unknown delivery -1',
    'an unknown delivery is an error');

select * from finish();
rollback;
