-- claim_deliveries: due pending deliveries oldest first, never before next_attempt_at, under
-- a lease (delivering, attempts + 1), expired leases reclaimed, the last attempt's expired
-- lease failed, and the payload the webhook receives. (SKIP LOCKED: skip_locked_test.sql.)
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(14);

-- Only this file's deliveries are claimable in this transaction.
update notify.deliveries set next_attempt_at = 'infinity' where status = 'pending';
update notify.deliveries set lease_expires_at = 'infinity' where status = 'delivering';
select notify.configure(100, array['ops']);

create temporary table t_sent (label text primary key, notification_id uuid);
insert into t_sent
select label, (select notification_id from notify.send('00000000-0000-0000-0000-00000000b001', 'T ' || label, 'M ' || label,
                                                          jsonb_build_object('label', label)))
from unnest(array['oldest', 'middle', 'newest', 'future']) label;
update notify.deliveries d set next_attempt_at = now() - case t.label when 'oldest' then interval '3 minutes'
    when 'middle' then interval '2 minutes' when 'newest' then interval '1 minute' else interval '-1 second' end
from t_sent t where d.notification_id = t.notification_id;

create temporary table t_first as select * from notify.claim_deliveries(2, '30 seconds');
select set_eq($$select notification_id from t_first$$, $$select notification_id from t_sent where label in ('oldest', 'middle')$$,
    'a claim takes the deliveries due longest first, up to the limit');
select results_eq(
    $$select distinct d.status, d.attempts, d.lease_expires_at from notify.deliveries d join t_first f on f.id = d.id$$,
    $$values ('delivering', 1, now() + interval '30 seconds')$$,
    'claimed deliveries are delivering, attempt 1, leased until now + lease');
select ok((select bool_and(f.attempt = 1 and f.channel = 'ops' and f.idempotency_key = f.notification_id::text || ':ops') from t_first f),
    'a claim returns the attempt, channel and idempotency key');
select results_eq(
    $$select f.payload from t_first f join t_sent t on t.notification_id = f.notification_id where t.label = 'oldest'$$,
    $$select jsonb_build_object('id', n.id, 'user_id', n.user_id, 'title', 'T oldest', 'message', 'M oldest',
                                'metadata', '{"label": "oldest"}'::jsonb, 'created_at', n.created_at, 'channel', 'ops')
      from notify.notifications n join t_sent t on t.notification_id = n.id where t.label = 'oldest'$$,
    'the payload is {id, user_id, title, message, metadata, created_at, channel}');

create temporary table t_second as select * from notify.claim_deliveries(10, '30 seconds');
select set_eq($$select notification_id from t_second$$, $$select notification_id from t_sent where label = 'newest'$$,
    'a later claim takes what is left, never a delivery already leased');
select is_empty($$select from t_second s join t_sent t on t.notification_id = s.notification_id where t.label = 'future'$$,
    'a delivery is not claimed before its next_attempt_at');

update notify.deliveries d set next_attempt_at = now() from t_sent t where d.notification_id = t.notification_id and t.label = 'future';
select set_eq($$select notification_id from notify.claim_deliveries(10, '30 seconds')$$,
    $$select notification_id from t_sent where label = 'future'$$, 'it is claimed once it is due');

-- Lease expiry
select is_empty($$select * from notify.claim_deliveries(10, '30 seconds')$$, 'nothing is claimable while every lease holds');
update notify.deliveries d set lease_expires_at = now() - interval '1 second'
from t_sent t where d.notification_id = t.notification_id and t.label = 'oldest';
create temporary table t_reclaimed as select * from notify.claim_deliveries(10, '1 minute');
select results_eq($$select r.notification_id, r.attempt from t_reclaimed r$$,
    $$select notification_id, 2 from t_sent where label = 'oldest'$$,
    'a delivery whose lease expired is reclaimed as the next attempt');
select is((select lease_expires_at from notify.deliveries where id = (select id from t_reclaimed)), now() + interval '1 minute',
    'the reclaim holds a new lease');

-- The last attempt's lease expired: failed, not sent once more
update notify.deliveries d set attempts = 5, lease_expires_at = now() - interval '1 second'
from t_sent t where d.notification_id = t.notification_id and t.label = 'middle';
select is_empty($$select * from notify.claim_deliveries(10, '30 seconds')$$,
    'a delivery whose lease expired on its last attempt is not claimed again');
select results_eq(
    $$select d.status, d.attempts, d.lease_expires_at, d.last_error from notify.deliveries d join t_sent t on t.notification_id = d.notification_id
      where t.label = 'middle'$$,
    $$values ('failed', 5, null::timestamptz,
              'lease expired during the last attempt (the dispatcher stopped before reporting an outcome)')$$,
    'it fails, saying why');

select is_empty($$select * from notify.claim_deliveries(0, '30 seconds')$$, 'a limit of 0 claims nothing');
select throws_ok($$select * from notify.claim_deliveries(1, '0 seconds')$$, '22023',
    'notify.claim_deliveries needs a limit >= 0 and a positive lease', 'a lease must be positive');

select * from finish();
rollback;
