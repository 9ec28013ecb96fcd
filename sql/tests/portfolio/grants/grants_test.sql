-- Least privilege: the service role reads every portfolio table and calls the public
-- functions; it writes no table directly and cannot call helpers (_*); the anon and
-- authenticated roles get nothing.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'portfolio'::regnamespace and p.proname !~ '^_' and p.proname <> 'seed'
        and not has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may execute every public portfolio function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'portfolio'::regnamespace and p.proname = 'seed'
        and has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the seed generator (sql/seed/portfolio_seed.sql), when loaded, is the owner''s alone');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace in ('portfolio'::regnamespace, 'cache'::regnamespace) and p.proname !~ '^_' and p.proname <> 'seed'
        and (not p.prosecdef or not coalesce(p.proconfig @> array['search_path=""'], false))$$,
    'every public portfolio and cache function is security definer with search_path = ''''');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'cache'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'anon and authenticated may execute no cache function');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_service'), ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'portfolio'::regnamespace and p.proname ~ '^_'
        and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'nobody but the owner executes a helper');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'portfolio'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'anon and authenticated may execute no portfolio function');
select ok(not has_schema_privilege('nightshift_anon', 'portfolio', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'portfolio', 'usage'),
    'anon and authenticated cannot even use the schema');
select is_empty(
    $$select c.relname from pg_class c where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p')
        and not c.relispartition and not has_table_privilege('nightshift_service', c.oid, 'select')$$,
    'the service role reads every portfolio table (partitions through their parent)');
select is_empty(
    $$select c.relname, p.privilege from pg_class c
      cross join (values ('insert'), ('update'), ('delete'), ('truncate')) p(privilege)
      where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p')
        and has_table_privilege('nightshift_service', c.oid, p.privilege)$$,
    'the service role writes no portfolio table directly');

select * from finish();
rollback;
