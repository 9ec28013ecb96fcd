-- send: the three outcomes (sent, duplicate, suppressed), the cap at exactly N per user and
-- UTC day, suppressed notifications kept and counted, one pending delivery per enabled
-- channel and none for a disabled one, and null arguments refused by name.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(33);

-- ops and audit enabled, retired known but disabled.
select notify.configure(3, array['ops', 'audit', 'retired']);
select notify.configure(3, array['ops', 'audit']);

-- Sent
create temporary table t_first as
    select * from notify.send('00000000-0000-0000-0000-00000000a001', 'Hello', 'First', '{"k": 1}', 'key-1');
select is((select outcome from t_first), 'sent', 'a first send is sent');
select isnt((select notification_id from t_first), null, 'a sent notification has an id');
select results_eq(
    $$select user_id, title, message, metadata, read, read_at, dedupe_key from notify.notifications
      where id = (select notification_id from t_first)$$,
    $$values ('00000000-0000-0000-0000-00000000a001'::uuid, 'Hello', 'First', '{"k": 1}'::jsonb, false, null::timestamptz, 'key-1')$$,
    'the notification is in the user''s inbox, unread, with its metadata and dedupe key');
select results_eq(
    $$select channel, status, attempts, max_attempts, idempotency_key, next_attempt_at <= now() from notify.deliveries
      where notification_id = (select notification_id from t_first) order by channel$$,
    $$select c, 'pending', 0, 5, (select notification_id from t_first)::text || ':' || c, true
      from unnest(array['audit', 'ops']) c$$,
    'one pending delivery per enabled channel, due now, keyed notification id:channel');
select is_empty(
    $$select from notify.deliveries where notification_id = (select notification_id from t_first) and channel = 'retired'$$,
    'a disabled channel gets no delivery');
select results_eq(
    $$select sent, suppressed from notify.daily_counts
      where user_id = '00000000-0000-0000-0000-00000000a001' and day = (now() at time zone 'UTC')::date$$,
    $$values (1, 0)$$, 'the send is counted for the user''s UTC day');

-- Duplicate
select results_eq(
    $$select * from notify.send('00000000-0000-0000-0000-00000000a001', 'Hello again', 'Second', '{}', 'key-1')$$,
    $$select notification_id, 'duplicate' from t_first$$,
    'a repeated dedupe key is a duplicate and returns the existing id');
select is((select count(*)::integer from notify.notifications where dedupe_key = 'key-1'), 1,
    'a duplicate adds no inbox row');
select is((select count(*)::integer from notify.deliveries where notification_id = (select notification_id from t_first)), 2,
    'a duplicate adds no delivery');
select is((select sent from notify.daily_counts where user_id = '00000000-0000-0000-0000-00000000a001'), 1,
    'a duplicate does not count against the cap');

-- The cap, at exactly N = 3
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a001', 'Two', 'm')), 'sent',
    'the second notification of the day is sent');
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a001', 'Three', 'm')), 'sent',
    'the third, exactly at the cap, is sent');
select results_eq(
    $$select * from notify.send('00000000-0000-0000-0000-00000000a001', 'Four', 'over the cap', '{"n": 4}', 'key-4')$$,
    $$values (null::uuid, 'suppressed')$$,
    'the fourth is suppressed, without an id');
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a001', 'Five', 'm')), 'suppressed',
    'and so is every further one that day');
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a001', 'Six', 'm', '{}', 'key-1')), 'duplicate',
    'a duplicate is still recognised once the cap is used up');

-- Suppressed rows are kept and counted
select results_eq(
    $$select sent, suppressed from notify.daily_counts
      where user_id = '00000000-0000-0000-0000-00000000a001' and day = (now() at time zone 'UTC')::date$$,
    $$values (3, 2)$$, 'daily_counts holds 3 sent and 2 suppressed');
select results_eq(
    $$select title, message, metadata, dedupe_key, suppressed_at from notify.suppressed
      where user_id = '00000000-0000-0000-0000-00000000a001' order by id$$,
    $$values ('Four', 'over the cap', '{"n": 4}'::jsonb, 'key-4', now()), ('Five', 'm', '{}'::jsonb, null, now())$$,
    'what the cap suppressed is kept, with its content and dedupe key');
select is((select count(*)::integer from notify.notifications where user_id = '00000000-0000-0000-0000-00000000a001'), 3,
    'suppressed notifications do not reach the inbox');
select is(
    (select count(*)::integer from notify.deliveries d join notify.notifications n on n.id = d.notification_id
     where n.user_id = '00000000-0000-0000-0000-00000000a001'), 6,
    'suppressed notifications get no delivery');
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a009', 'Other', 'm', '{}', 'key-4')), 'sent',
    'a suppressed dedupe key is not taken: it may be sent later');

-- Per user
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a002', 'Hi', 'm')), 'sent',
    'another user has a cap of their own');

-- Per UTC day
insert into notify.daily_counts (user_id, day, sent, suppressed)
values ('00000000-0000-0000-0000-00000000a003', (now() at time zone 'UTC')::date - 1, 3, 7);
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a003', 'New day', 'm')), 'sent',
    'a cap used up yesterday does not hold back today');
-- 25 hours apart, these two zones are never on the same calendar date: counting by local
-- date would make two rows.
set local timezone = 'Pacific/Kiritimati';
create temporary table t_east as select * from notify.send('00000000-0000-0000-0000-00000000a004', 'East', 'm');
set local timezone = 'Pacific/Pago_Pago';
create temporary table t_west as select * from notify.send('00000000-0000-0000-0000-00000000a004', 'West', 'm');
reset timezone;
select results_eq(
    $$select day, sent from notify.daily_counts where user_id = '00000000-0000-0000-0000-00000000a004'$$,
    $$values ((now() at time zone 'UTC')::date, 2)$$,
    'the day is the UTC day whatever the session time zone');

-- The cap is read at send time
select notify.configure(4, array['ops', 'audit']);
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a001', 'Raised', 'm')), 'sent',
    'raising the cap lets the user receive up to the new cap');
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a001', 'Again', 'm')), 'suppressed',
    'and no further');
select notify.configure(0, array['ops', 'audit']);
select is((select outcome from notify.send('00000000-0000-0000-0000-00000000a005', 'Muted', 'm')), 'suppressed',
    'a cap of 0 suppresses even the first notification of the day');
select results_eq($$select sent, suppressed from notify.daily_counts where user_id = '00000000-0000-0000-0000-00000000a005'$$,
    $$values (0, 1)$$, 'with a cap of 0 the suppression is still counted');

-- Arguments
select notify.configure(10, array['ops']);
create temporary table t_null_metadata as select * from notify.send('00000000-0000-0000-0000-00000000a006', 't', 'm', null);
select is((select metadata from notify.notifications where id = (select notification_id from t_null_metadata)),
    '{}'::jsonb, 'null metadata is stored as an empty object');
select throws_ok($$select notify.send(null, 't', 'm')$$, '22004', 'notify.send: user_id must not be null',
    'a null user_id is refused by name');
select throws_ok($$select notify.send('00000000-0000-0000-0000-00000000a006', null, 'm')$$, '22004',
    'notify.send: title must not be null', 'a null title is refused by name');
select throws_ok($$select notify.send('00000000-0000-0000-0000-00000000a006', 't', null)$$, '22004',
    'notify.send: message must not be null', 'a null message is refused by name');
select throws_ok($$select notify.send('00000000-0000-0000-0000-00000000a006', 't', 'm', '[1, 2]')$$, '22023',
    'notify.send: metadata must be a JSON object, got array', 'metadata must be a JSON object');
select is((select sent from notify.daily_counts where user_id = '00000000-0000-0000-0000-00000000a006'), 1,
    'refused sends are not counted');

select * from finish();
rollback;
