-- Least privilege: the service role executes every notify function and reads the tables and
-- views, but writes nothing directly; public and anon get nothing. Since 0041 authenticated
-- uses the schema to read its own inbox (row-level security on the four tables that hold a
-- user's data) and may change nothing but read/read_at of a notification; it executes no
-- notify function (the API goes through api.notifications and api.mark_notification_read).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

select isnt_empty($$select from pg_proc where pronamespace = 'notify'::regnamespace$$, 'the notify schema has functions');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'notify'::regnamespace and p.proname not like '\_%'
        and not has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may execute every notify function but the helpers (_*)');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where p.pronamespace = 'notify'::regnamespace and a.grantee = 0 and a.privilege_type = 'EXECUTE'$$,
    'public may execute no notify function');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'notify'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'anon and authenticated may execute no notify function (not even list_notifications or mark_read)');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'notify'::regnamespace
        and not (p.prosecdef and p.proconfig @> array['search_path=""'])$$,
    'every notify function is security definer with an empty search_path');
select ok(not has_schema_privilege('nightshift_anon', 'notify', 'usage'), 'anon cannot even use the schema');
select ok(has_schema_privilege('nightshift_authenticated', 'notify', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'notify', 'create'),
    'authenticated uses the schema (its inbox), and creates nothing in it');
select ok(has_table_privilege('nightshift_service', 'notify.notifications', 'select')
          and has_table_privilege('nightshift_service', 'notify.delivery_status', 'select'),
    'the service role reads tables and views');
select ok(not has_table_privilege('nightshift_service', 'notify.daily_counts', 'insert,update,delete'),
    'the service role changes the cap ledger only through the functions');

-- What authenticated may touch, exactly.
select set_eq(
    $$select c.relname::text from pg_class c
      where c.relnamespace = 'notify'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege('nightshift_authenticated', c.oid, 'select')$$,
    array['notifications', 'deliveries', 'suppressed', 'daily_counts'],
    'authenticated reads exactly the four tables of a user''s data (not settings, channels or the views, which bypass RLS)');
select is_empty(
    $$select c.relname, p.privilege from pg_class c
      cross join (values ('insert'), ('update'), ('delete'), ('truncate'), ('references'), ('trigger')) p(privilege)
      where c.relnamespace = 'notify'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege('nightshift_authenticated', c.oid, p.privilege)$$,
    'authenticated has no table-wide write privilege');
select set_eq(
    $$select a.attname::text from pg_attribute a
      where a.attrelid = 'notify.notifications'::regclass and a.attnum > 0 and not a.attisdropped
        and has_column_privilege('nightshift_authenticated', a.attrelid, a.attnum, 'update')$$,
    array['read', 'read_at'],
    'authenticated may update read and read_at of a notification, no other column');
select is_empty(
    $$select c.relname, a.attname from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0
      where c.relnamespace = 'notify'::regnamespace and c.relname <> 'notifications'
        and has_column_privilege('nightshift_authenticated', c.oid, a.attnum, 'insert,update')$$,
    'and no column of any other table');
select set_eq(
    $$select c.relname::text from pg_class c where c.relnamespace = 'notify'::regnamespace and c.relrowsecurity$$,
    array['notifications', 'deliveries', 'suppressed', 'daily_counts'],
    'row-level security is on for exactly the tables that hold a user''s data');

-- Acting as the service role
select notify.configure(10, '{}');
set local role nightshift_service;
select lives_ok($$select notify.send('00000000-0000-0000-0000-0000000b0001', 'Hi', 'from the service role')$$,
    'the service role sends through notify.send');
select throws_ok($$update notify.daily_counts set sent = 0$$, '42501', null, 'the service role cannot reset the cap ledger');
reset role;

select * from finish();
rollback;
