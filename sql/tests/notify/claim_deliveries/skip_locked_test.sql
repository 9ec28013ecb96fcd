-- claim_deliveries with another session holding a delivery's row lock (dblink): the claim
-- skips it rather than waiting, takes the next one, and gets it once the lock is gone.
--
-- The other session needs committed rows, so this file commits its own (a fixed user and
-- channel) through dblink and deletes them before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

-- Leftovers of an interrupted run.
delete from notify.notifications where user_id = '00000000-0000-0000-0000-0000000e0001';
delete from notify.daily_counts where user_id = '00000000-0000-0000-0000-0000000e0001';
delete from notify.channels where name = 'tests-skip-locked';

begin;
select plan(5);
-- A claim that waited for the lock instead of skipping it fails here rather than hanging.
set local lock_timeout = '2s';
create extension if not exists dblink;

-- Only this file's deliveries are claimable in this transaction (rows committed later are not touched here).
update notify.deliveries set next_attempt_at = 'infinity' where status = 'pending';
update notify.deliveries set lease_expires_at = 'infinity' where status = 'delivering';

select is(dblink_connect('notify_skip', format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user)), 'OK', 'a second session connects');

-- Two committed deliveries, due 2 and 1 minutes ago, on a (disabled) channel of their own.
select from dblink_exec('notify_skip', $q$insert into notify.channels (name, enabled) values ('tests-skip-locked', false)$q$) s;
select from dblink_exec('notify_skip', $q$
    insert into notify.notifications (id, user_id, title, message) values
        ('00000000-0000-0000-0000-0000000e0101', '00000000-0000-0000-0000-0000000e0001', 'Locked', 'm'),
        ('00000000-0000-0000-0000-0000000e0102', '00000000-0000-0000-0000-0000000e0001', 'Free', 'm');
    insert into notify.deliveries (notification_id, channel, idempotency_key, next_attempt_at) values
        ('00000000-0000-0000-0000-0000000e0101', 'tests-skip-locked', 'e0101:tests-skip-locked', now() - interval '2 minutes'),
        ('00000000-0000-0000-0000-0000000e0102', 'tests-skip-locked', 'e0102:tests-skip-locked', now() - interval '1 minute')$q$) s;

-- The other session locks the older delivery, as a claimer in mid-statement would.
select from dblink_exec('notify_skip', 'begin') s;
select is((select n from dblink('notify_skip', $q$
    select count(*)::integer from (
        select from notify.deliveries where idempotency_key = 'e0101:tests-skip-locked' for update) locked$q$)
    as r(n integer)), 1, 'the other session holds the older delivery''s row lock');

create temporary table t_first as select * from notify.claim_deliveries(10, '30 seconds');
select results_eq($$select idempotency_key from t_first$$, $$values ('e0102:tests-skip-locked')$$,
    'the claim skips the locked delivery, without waiting, and takes the next one');

select from dblink_exec('notify_skip', 'rollback') s;
select results_eq($$select idempotency_key, attempt from notify.claim_deliveries(10, '30 seconds')$$,
    $$values ('e0101:tests-skip-locked', 1)$$, 'once the lock is released the delivery is claimed');
select is_empty($$select * from notify.claim_deliveries(10, '30 seconds')$$, 'and nothing is claimed twice');

select from dblink_disconnect('notify_skip') s;
select * from finish();
rollback;

delete from notify.notifications where user_id = '00000000-0000-0000-0000-0000000e0001';
delete from notify.channels where name = 'tests-skip-locked';
