-- mark_read: marks one of the user's notifications read (true, idempotent, first read_at
-- kept); another user's id or an unknown one is false and changes nothing (HTTP 404).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

select notify.configure(100, '{}');
create temporary table t_mine as select * from notify.send('00000000-0000-0000-0000-00000000f001', 'Mine', 'm');
create temporary table t_theirs as select * from notify.send('00000000-0000-0000-0000-00000000f002', 'Theirs', 'm');

select is(notify.mark_read('00000000-0000-0000-0000-00000000f001', (select notification_id from t_mine)), true,
    'marking one of my notifications read is true');
select results_eq($$select read, read_at from notify.notifications where id = (select notification_id from t_mine)$$,
    $$values (true, now())$$, 'it is read, with the time');
update notify.notifications set read_at = now() - interval '1 hour' where id = (select notification_id from t_mine);
select is(notify.mark_read('00000000-0000-0000-0000-00000000f001', (select notification_id from t_mine)), true,
    'marking it again is still true');
select is((select read_at from notify.notifications where id = (select notification_id from t_mine)), now() - interval '1 hour',
    'and keeps the first read_at');

select is(notify.mark_read('00000000-0000-0000-0000-00000000f001', (select notification_id from t_theirs)), false,
    'another user''s notification id is false');
select results_eq($$select read, read_at from notify.notifications where id = (select notification_id from t_theirs)$$,
    $$values (false, null::timestamptz)$$, 'and the other user''s notification stays unread');
select is(notify.mark_read('00000000-0000-0000-0000-00000000f001', gen_random_uuid()), false, 'an unknown id is false');

select * from finish();
rollback;
