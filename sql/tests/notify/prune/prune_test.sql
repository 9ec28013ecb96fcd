-- prune: finished deliveries, read notifications, daily counts and suppressed rows older
-- than the retention go; unread notifications and unfinished deliveries stay whatever their age.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

-- Everything already in the database is recent enough to survive this file's prunes (old day counts are just gone).
update notify.deliveries set created_at = now();
update notify.notifications set created_at = now();
delete from notify.daily_counts where day < (now() at time zone 'UTC')::date;
update notify.suppressed set suppressed_at = now();
select notify.configure(100, array['ops']);

insert into notify.notifications (id, user_id, title, message, read, read_at, created_at) values
    ('00000000-0000-0000-0000-0000000a0001', '00000000-0000-0000-0000-00000000aa01', 'old read', 'm', true, now(), now() - interval '100 days'),
    ('00000000-0000-0000-0000-0000000a0002', '00000000-0000-0000-0000-00000000aa01', 'old unread', 'm', false, null, now() - interval '100 days'),
    ('00000000-0000-0000-0000-0000000a0003', '00000000-0000-0000-0000-00000000aa01', 'new read', 'm', true, now(), now() - interval '10 days'),
    ('00000000-0000-0000-0000-0000000a0004', '00000000-0000-0000-0000-00000000aa01', 'old read, still delivering', 'm', true, now(), now() - interval '100 days');
insert into notify.deliveries (notification_id, channel, idempotency_key, status, delivered_at, created_at) values
    ('00000000-0000-0000-0000-0000000a0002', 'ops', 'a2:ops', 'delivered', now(), now() - interval '100 days'),
    ('00000000-0000-0000-0000-0000000a0003', 'ops', 'a3:ops', 'delivered', now(), now() - interval '10 days'),
    ('00000000-0000-0000-0000-0000000a0004', 'ops', 'a4:ops', 'pending', null, now() - interval '100 days');
insert into notify.deliveries (notification_id, channel, idempotency_key, status, created_at) values
    ('00000000-0000-0000-0000-0000000a0002', 'ops', 'a2:ops:failed', 'failed', now() - interval '100 days');
insert into notify.daily_counts (user_id, day, sent, suppressed) values
    ('00000000-0000-0000-0000-00000000aa01', (now() at time zone 'UTC')::date - 100, 10, 3),
    ('00000000-0000-0000-0000-00000000aa01', (now() at time zone 'UTC')::date - 10, 10, 3);
insert into notify.suppressed (user_id, title, message, suppressed_at) values
    ('00000000-0000-0000-0000-00000000aa01', 'old', 'm', now() - interval '100 days'),
    ('00000000-0000-0000-0000-00000000aa01', 'new', 'm', now() - interval '10 days');

select is(notify.prune(), 5, 'prune with the default 90 days removes 2 deliveries, 1 notification, 1 day count, 1 suppressed row');
select results_eq($$select title from notify.notifications where user_id = '00000000-0000-0000-0000-00000000aa01' order by title$$,
    $$values ('new read'), ('old read, still delivering'), ('old unread')$$,
    'old read notifications go; unread ones and ones with a delivery under way stay');
select results_eq($$select idempotency_key from notify.deliveries where idempotency_key like 'a_:ops%' order by 1$$,
    $$values ('a3:ops'), ('a4:ops')$$, 'old finished deliveries go; recent and unfinished ones stay');
select results_eq($$select (now() at time zone 'UTC')::date - day from notify.daily_counts where user_id = '00000000-0000-0000-0000-00000000aa01'$$,
    $$values (10)$$, 'old daily counts go');
select results_eq($$select title from notify.suppressed where user_id = '00000000-0000-0000-0000-00000000aa01'$$,
    $$values ('new')$$, 'old suppressed rows go');
select is(notify.prune(), 0, 'a second prune finds nothing');
select is(notify.prune('5 days'), 4, 'a shorter retention reaches further: delivery, notification, day count, suppressed row');
select throws_ok($$select notify.prune(null)$$, '22023', 'notify.prune needs a retention of zero or more, got null',
    'a null retention is refused');
select throws_ok($$select notify.prune('-1 day')$$, '22023', null, 'a negative retention is refused');

select * from finish();
rollback;
