-- Least privilege: the service role executes every notify function and reads the tables and
-- views, but writes nothing directly; public, anon and authenticated get nothing.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

select isnt_empty($$select from pg_proc where pronamespace = 'notify'::regnamespace$$, 'the notify schema has functions');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'notify'::regnamespace and not has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may execute every notify function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where p.pronamespace = 'notify'::regnamespace and a.grantee = 0 and a.privilege_type = 'EXECUTE'$$,
    'public may execute no notify function');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'notify'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'anon and authenticated may execute no notify function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'notify'::regnamespace
        and not (p.prosecdef and p.proconfig @> array['search_path=""'])$$,
    'every notify function is security definer with an empty search_path');
select ok(not has_schema_privilege('nightshift_authenticated', 'notify', 'usage'), 'authenticated cannot even use the schema');
select ok(has_table_privilege('nightshift_service', 'notify.notifications', 'select')
          and has_table_privilege('nightshift_service', 'notify.delivery_status', 'select'),
    'the service role reads tables and views');
select ok(not has_table_privilege('nightshift_service', 'notify.daily_counts', 'insert,update,delete'),
    'the service role changes the cap ledger only through the functions');

-- Acting as the service role
select notify.configure(10, '{}');
set local role nightshift_service;
select lives_ok($$select notify.send('00000000-0000-0000-0000-0000000b0001', 'Hi', 'from the service role')$$,
    'the service role sends through notify.send');
select throws_ok($$update notify.daily_counts set sent = 0$$, '42501', null, 'the service role cannot reset the cap ledger');
reset role;

select * from finish();
rollback;
