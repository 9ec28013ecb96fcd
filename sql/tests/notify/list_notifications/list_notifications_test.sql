-- list_notifications: one user's notifications newest first, unread only when asked, at
-- most limit, never another user's.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

select notify.configure(100, '{}');
create temporary table t_sent (n integer, id uuid);
insert into t_sent
select n, (select notification_id from notify.send('00000000-0000-0000-0000-00000000e001', 'T' || n, 'm'))
from generate_series(1, 4) n;
insert into t_sent select 0, notification_id from notify.send('00000000-0000-0000-0000-00000000e002', 'Other user', 'm');
select notify.mark_read('00000000-0000-0000-0000-00000000e001', (select id from t_sent where n = 2));

select results_eq($$select title from notify.list_notifications('00000000-0000-0000-0000-00000000e001')$$,
    $$values ('T4'), ('T3'), ('T2'), ('T1')$$, 'a user''s notifications, newest first, read or not');
select results_eq($$select title from notify.list_notifications('00000000-0000-0000-0000-00000000e001', true)$$,
    $$values ('T4'), ('T3'), ('T1')$$, 'unread_only leaves the read ones out');
select results_eq($$select title from notify.list_notifications('00000000-0000-0000-0000-00000000e001', false, 2)$$,
    $$values ('T4'), ('T3')$$, 'at most limit rows');
select results_eq($$select title, read from notify.list_notifications('00000000-0000-0000-0000-00000000e002')$$,
    $$values ('Other user', false)$$, 'another user sees only their own');
select is_empty($$select * from notify.list_notifications('00000000-0000-0000-0000-00000000e003')$$,
    'a user without notifications gets none');
select throws_ok($$select * from notify.list_notifications(null)$$, '22004',
    'notify.list_notifications: user_id must not be null', 'a null user is refused by name');
select throws_ok($$select * from notify.list_notifications('00000000-0000-0000-0000-00000000e001', false, 0)$$, '22023',
    'notify.list_notifications: limit must be between 1 and 1000, got 0', 'the limit is bounded');

select * from finish();
rollback;
