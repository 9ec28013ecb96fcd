-- Least privilege: the service role reads every portfolio table and calls the public
-- functions; it writes no table directly and cannot call helpers (_*); anon gets nothing, and
-- nobody but the service touches the cache. Since 0044 authenticated uses the schema: it reads
-- the tables of a user's data under row-level security and the reference data (markets,
-- assets), inserts criteria versions (validated by the trigger, so it executes
-- validate_criteria) and nothing else; it executes no other portfolio function (the API goes
-- through api.dashboard, api.asset_calculations and api.save_criteria).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

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
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'portfolio'::regnamespace and has_function_privilege('nightshift_anon', p.oid, 'execute')$$,
    'anon may execute no portfolio function');
select set_eq(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'portfolio'::regnamespace and has_function_privilege('nightshift_authenticated', p.oid, 'execute')$$,
    array['portfolio.validate_criteria(jsonb)'],
    'authenticated executes only validate_criteria (the criteria_versions trigger runs as the inserting role): '
    'not dashboard_document, save_criteria or asset_calculations');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where p.pronamespace in ('portfolio'::regnamespace, 'cache'::regnamespace) and a.grantee = 0 and a.privilege_type = 'EXECUTE'$$,
    'public may execute no portfolio or cache function');
select ok(not has_schema_privilege('nightshift_anon', 'portfolio', 'usage'), 'anon cannot even use the schema');
select ok(has_schema_privilege('nightshift_authenticated', 'portfolio', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'portfolio', 'create'),
    'authenticated uses the schema, and creates nothing in it');
select ok(not has_schema_privilege('nightshift_anon', 'cache', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'cache', 'usage'),
    'anon and authenticated cannot use the cache schema (it holds every user''s dashboard)');
select set_eq(
    $$select c.relname::text from pg_class c
      where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
        and has_table_privilege('nightshift_authenticated', c.oid, 'select')$$,
    array['users', 'user_markets', 'portfolios', 'holdings', 'allocation_targets', 'criteria_versions', 'asset_scores',
          'score_history', 'recommendations', 'calculation_events', 'markets', 'assets'],
    'authenticated reads the tables of a user''s data and the reference data (markets, assets), not the overnight '
    'run''s tables, prices, rates or metrics, and no partition directly');
select set_eq(
    $$select c.relname::text, p.privilege from pg_class c
      cross join (values ('insert'), ('update'), ('delete'), ('truncate'), ('references'), ('trigger')) p(privilege)
      where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
        and has_table_privilege('nightshift_authenticated', c.oid, p.privilege)$$,
    $$values ('criteria_versions', 'insert')$$,
    'authenticated writes nothing but a new criteria version');
select is_empty(
    $$select c.relname from pg_class c
      where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
        and has_table_privilege('nightshift_anon', c.oid, 'select,insert,update,delete,truncate')$$,
    'anon reads and writes no portfolio table');
select set_eq(
    $$select c.relname::text from pg_class c
      where c.relnamespace = 'portfolio'::regnamespace and c.relrowsecurity and not c.relispartition$$,
    array['users', 'user_markets', 'portfolios', 'holdings', 'allocation_targets', 'criteria_versions', 'asset_scores',
          'score_history', 'recommendations', 'calculation_events'],
    'row-level security is on for exactly the tables of a user''s data');
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
