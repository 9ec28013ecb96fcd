-- The operator views: deliveries per channel and status, and who the cap held back today.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(3);

select notify.configure(1, array['tests-a', 'tests-b']);
select notify.send('00000000-0000-0000-0000-0000000c0001', 'One', 'm');
select notify.send('00000000-0000-0000-0000-0000000c0001', 'Two', 'm');
select notify.send('00000000-0000-0000-0000-0000000c0001', 'Three', 'm');
select notify.send('00000000-0000-0000-0000-0000000c0002', 'Only', 'm');
update notify.deliveries set status = 'failed' where channel = 'tests-b' and notification_id in (
    select id from notify.notifications where user_id = '00000000-0000-0000-0000-0000000c0002');

select results_eq(
    $$select channel, status, delivery_count from notify.delivery_status where channel like 'tests-%' order by channel, status$$,
    $$values ('tests-a', 'pending', 2::bigint), ('tests-b', 'failed', 1::bigint), ('tests-b', 'pending', 1::bigint)$$,
    'delivery_status counts deliveries per channel and status');
select results_eq(
    $$select user_id, sent, suppressed, daily_cap_per_user from notify.suppressed_today
      where user_id::text like '00000000-0000-0000-0000-0000000c%'$$,
    $$values ('00000000-0000-0000-0000-0000000c0001'::uuid, 1, 2, 1)$$,
    'suppressed_today lists users the cap held back today, with their counts and the cap');
insert into notify.daily_counts (user_id, day, sent, suppressed)
values ('00000000-0000-0000-0000-0000000c0003', (now() at time zone 'UTC')::date - 1, 1, 5);
select is_empty($$select from notify.suppressed_today where user_id = '00000000-0000-0000-0000-0000000c0003'$$,
    'yesterday''s suppressions are not today''s');

select * from finish();
rollback;
