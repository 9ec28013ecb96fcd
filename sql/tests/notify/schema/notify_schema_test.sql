-- The notify schema's shape: tables, keys and the constraints that keep the outbox and the
-- inbox consistent whatever writes them.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(12);

select has_schema('notify', 'the notify schema exists');
select tables_are('notify', array['settings', 'channels', 'notifications', 'daily_counts', 'suppressed', 'deliveries'],
    'notify has exactly its six tables');
select views_are('notify', array['delivery_status', 'suppressed_today'], 'notify has its two views');
select col_is_pk('notify', 'daily_counts', array['user_id', 'day'], 'the cap ledger has one row per user and day');
select col_is_unique('notify', 'notifications', 'dedupe_key', 'a dedupe key is unique');
select col_is_unique('notify', 'deliveries', 'idempotency_key', 'an idempotency key is unique');
select is((select count(*)::integer from notify.settings), 1, 'settings hold one row');
select throws_ok($$insert into notify.settings (id) values (false)$$, '23514', null, 'settings cannot get a second row');
select throws_ok($$update notify.settings set daily_cap_per_user = -1$$, '23514', null, 'the cap cannot be negative');

select notify.configure(10, array['ops']);
create temporary table t_sent as select * from notify.send('00000000-0000-0000-0000-0000000d0001', 't', 'm');
select throws_ok($$update notify.deliveries set status = 'sent' where notification_id = (select notification_id from t_sent)$$,
    '23514', null, 'a delivery status is one of pending, delivering, delivered, failed');
select throws_ok($$update notify.deliveries set status = 'delivering' where notification_id = (select notification_id from t_sent)$$,
    '23514', null, 'a delivering delivery must hold a lease');
select throws_ok($$delete from notify.channels where name = 'ops'$$, '23503', null,
    'a channel with deliveries cannot be deleted (configure disables it instead)');

select * from finish();
rollback;
