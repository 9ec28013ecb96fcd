-- Row-level security on the inbox (0041), acting as each request role with forged claims: a
-- user sees only their own notifications, deliveries, suppressed notifications and daily
-- counts, marks only their own read (by hand: read/read_at only, or through
-- api.mark_notification_read), and changes nothing else; api.notifications lists the caller's
-- only; a token without a user sees nothing and cannot call the api; anon is refused outright;
-- the service role sees everything, whatever its claims.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(36);

-- Two users' notifications (one delivery each on channel hook), daily counts, suppressed ones.
select notify.configure(100, array['hook']);
create temporary table n (label text primary key, id uuid);
insert into n select 'a1', notification_id from notify.send('a0000000-0000-4000-8000-00000000000a', 'A one', 'm');
insert into n select 'a2', notification_id from notify.send('a0000000-0000-4000-8000-00000000000a', 'A two', 'm');
insert into n select 'b1', notification_id from notify.send('b0000000-0000-4000-8000-00000000000b', 'B one', 'm');
insert into notify.suppressed (user_id, title, message) values
    ('a0000000-0000-4000-8000-00000000000a', 'A held back', 'm'), ('b0000000-0000-4000-8000-00000000000b', 'B held back', 'm');
create function pg_temp.id(p_label text) returns uuid language sql stable return (select id from n where label = p_label);
create temporary table owner_counts as
    select (select count(*) from notify.notifications) as notifications, (select count(*) from notify.deliveries) as deliveries,
           (select count(*) from notify.suppressed) as suppressed, (select count(*) from notify.daily_counts) as daily_counts;
grant select on n, owner_counts to public;

-- As the server does per request: the role, and the verified claims.
create function pg_temp.act_as(p_role text, p_claims jsonb default '{}') returns void language plpgsql as $$
begin
    perform set_config('role', p_role, true), set_config('request.jwt.claims', p_claims::text, true);
end
$$;
create function pg_temp.as_user(p_user uuid) returns void language sql
return pg_temp.act_as('nightshift_authenticated', jsonb_build_object('sub', p_user, 'role', 'authenticated'));
-- How many rows a statement changed, as the current role.
create function pg_temp.affected(p_sql text) returns bigint language plpgsql as $$
declare
    v_rows bigint;
begin
    execute p_sql;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;

-- User A
select pg_temp.as_user('a0000000-0000-4000-8000-00000000000a');
select set_eq($$select id from notify.notifications$$, $$select id from n where label in ('a1', 'a2')$$,
    'A sees A''s notifications, not B''s');
select set_eq($$select notification_id from notify.deliveries$$, $$select id from n where label in ('a1', 'a2')$$,
    'A sees the deliveries of A''s notifications only');
select set_eq($$select user_id from notify.suppressed$$, $$values ('a0000000-0000-4000-8000-00000000000a'::uuid)$$,
    'A sees A''s suppressed notifications only');
select set_eq($$select user_id from notify.daily_counts$$, $$values ('a0000000-0000-4000-8000-00000000000a'::uuid)$$,
    'A sees A''s daily counts only');
select is_empty($$select from notify.notifications where id = pg_temp.id('b1')$$, 'B''s notification is not found by its id');

select is(pg_temp.affected(format($$update notify.notifications set read = true, read_at = now() where id = %L$$, pg_temp.id('b1'))),
    0::bigint, 'marking B''s notification read by hand changes no row');
select is(pg_temp.affected(format($$update notify.notifications set read = true, read_at = now() where id = %L$$, pg_temp.id('a1'))),
    1::bigint, 'marking A''s own read by hand changes it');
select throws_ok(format($$update notify.notifications set title = 'changed' where id = %L$$, pg_temp.id('a1')), '42501', null,
    'A may not change anything else of A''s notification (the title)');
select throws_ok(format($$update notify.notifications set user_id = 'b0000000-0000-4000-8000-00000000000b' where id = %L$$,
                        pg_temp.id('a2')), '42501', null, 'nor give it to B');
select throws_ok(format($$delete from notify.notifications where id = %L$$, pg_temp.id('b1')), '42501', null,
    'A may not delete B''s notification');
select throws_ok(format($$delete from notify.notifications where id = %L$$, pg_temp.id('a2')), '42501', null, 'nor A''s own');
select throws_ok($$insert into notify.notifications (user_id, title, message) values ('b0000000-0000-4000-8000-00000000000b', 'x', 'y')$$,
    '42501', null, 'A may not write B a notification');
select throws_ok($$insert into notify.notifications (user_id, title, message) values ('a0000000-0000-4000-8000-00000000000a', 'x', 'y')$$,
    '42501', null, 'nor A one (only notify.send, as the service, sends)');
select throws_ok($$update notify.deliveries set status = 'failed'$$, '42501', null, 'A may not change a delivery');
select throws_ok($$update notify.daily_counts set sent = 0$$, '42501', null, 'nor reset a daily count');
select throws_ok($$delete from notify.suppressed$$, '42501', null, 'nor delete suppressed notifications');

select set_eq($$select id from api.notifications()$$, $$select id from n where label in ('a1', 'a2')$$,
    'api.notifications lists A''s notifications only');
select set_eq($$select id from api.notifications(unread_only => true)$$, $$select id from n where label = 'a2'$$,
    'and A''s unread ones only');
select is(api.mark_notification_read(pg_temp.id('b1')), false, 'api.mark_notification_read of B''s notification is false');
select is(api.mark_notification_read(pg_temp.id('a2')), true, 'of A''s own, true');
select is(pg_temp.affected($$update notify.notifications set read = true, read_at = now()$$), 2::bigint,
    'marking every notification read (no WHERE clause, so only the update policy filters) reaches A''s two only');
select throws_ok(format($$select * from notify.list_notifications('b0000000-0000-4000-8000-00000000000b')$$), '42501', null,
    'A cannot call notify.list_notifications for B directly');
select throws_ok(format($$select notify.mark_read('b0000000-0000-4000-8000-00000000000b', %L)$$, pg_temp.id('b1')), '42501', null,
    'nor notify.mark_read');

-- User B: their notification is as it was.
select pg_temp.as_user('b0000000-0000-4000-8000-00000000000b');
select results_eq($$select id, read, read_at from notify.notifications$$, format($$values (%L::uuid, false, null::timestamptz)$$, pg_temp.id('b1')),
    'B sees B''s notification, still unread');
select set_eq($$select notification_id from notify.deliveries$$, $$select id from n where label = 'b1'$$, 'and its delivery');

-- A token without a user under the authenticated role.
select pg_temp.act_as('nightshift_authenticated', '{"role": "anon"}');
select is((select count(*) from notify.notifications) + (select count(*) from notify.deliveries)
          + (select count(*) from notify.suppressed) + (select count(*) from notify.daily_counts), 0::bigint,
    'without a sub the authenticated role sees nothing');
select throws_ok($$select * from api.notifications()$$, '42501', null, 'and api.notifications refuses it');
select throws_ok(format($$select api.mark_notification_read(%L)$$, pg_temp.id('b1')), '42501', null, 'as does api.mark_notification_read');

-- The anon role
select pg_temp.act_as('nightshift_anon', '{"sub": "b0000000-0000-4000-8000-00000000000b", "role": "anon"}');
select throws_ok($$select * from notify.notifications$$, '42501', null, 'anon may not read the inbox at all');
select throws_ok($$select * from api.notifications()$$, '42501', null, 'nor call api.notifications, even with a sub');
select throws_ok(format($$select api.mark_notification_read(%L)$$, pg_temp.id('b1')), '42501', null, 'nor api.mark_notification_read');

-- The service role
select pg_temp.act_as('nightshift_service');
select results_eq(
    $$select (select count(*) from notify.notifications), (select count(*) from notify.deliveries),
             (select count(*) from notify.suppressed), (select count(*) from notify.daily_counts)$$,
    $$select * from owner_counts$$,
    'the service role sees every row of the four tables');
select pg_temp.act_as('nightshift_service', '{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated"}');
select is((select count(*) from notify.notifications), (select notifications from owner_counts),
    'with a user''s claims too: the role decides, not the claims');
select throws_ok($$select * from api.notifications()$$, '42501', null,
    'api.notifications is for users, not the service role');
reset role;

-- Back as the owner: what A's attempts left.
select results_eq(format($$select read from notify.notifications where id in (%L, %L, %L) order by title$$,
                         pg_temp.id('a1'), pg_temp.id('a2'), pg_temp.id('b1')),
    $$values (true), (true), (false)$$, 'A''s two are read, B''s is not');
select results_eq(format($$select user_id, title from notify.notifications where id = %L$$, pg_temp.id('a2')),
    $$values ('a0000000-0000-4000-8000-00000000000a'::uuid, 'A two')$$, 'and A''s is still A''s, unchanged');

select * from finish();
rollback;
