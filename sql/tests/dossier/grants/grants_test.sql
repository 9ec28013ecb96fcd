-- Least privilege in schema dossier: the service role executes the public functions and
-- reads the tables and views; it writes nothing directly and calls no helper; anon gets
-- nothing. Every public function runs as its owner with an empty search_path. Since 0042
-- authenticated uses the schema: it reads and writes the dossier tables under row-level
-- security (the rls test says which rows), executes only the two functions the policies call
-- (caller_access, caller_may_edit), and never the pack's functions (the API goes through
-- api.dossier_stats and api.calculate_health_score).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(24);

-- The seed generator, when loaded, is the owner's alone. caller_access and caller_may_edit
-- are what the row-level security policies call (0042).
create temporary view public_functions as
    select p.oid from pg_proc p
    where p.pronamespace = 'dossier'::regnamespace and p.proname !~ '^_' and p.proname <> 'seed'
      and p.proname not in ('caller_access', 'caller_may_edit');

select set_eq(
    $$select p.proname::text from pg_proc p join public_functions f on f.oid = p.oid$$,
    array['calculate_health_score', 'recalculate_health_scores', 'recalculate_stale_scores', 'freshness_rate',
          'detect_overdue_commitments', 'refresh_engagement_stats', 'refresh_commitment_stats', 'stats',
          'configure', 'send_held_back_digests'],
    'the public functions of the pack');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p join public_functions f on f.oid = p.oid
      where not has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may execute every public function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'dossier'::regnamespace and (p.proname ~ '^_' or p.proname = 'seed')
        and has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may not execute helpers or the seed generator');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'dossier'::regnamespace and has_function_privilege('nightshift_anon', p.oid, 'execute')$$,
    'anon may execute no dossier function');
select set_eq(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'dossier'::regnamespace and has_function_privilege('nightshift_authenticated', p.oid, 'execute')$$,
    array['dossier.caller_access(uuid)', 'dossier.caller_may_edit(uuid)'],
    'authenticated executes only the functions the policies call: not stats, not calculate_health_score');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where p.pronamespace = 'dossier'::regnamespace and a.grantee = 0 and a.privilege_type = 'EXECUTE'$$,
    'public may execute no dossier function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p join public_functions f on f.oid = p.oid
      where not p.prosecdef or not coalesce(p.proconfig @> array['search_path=""'], false)$$,
    'every public function is security definer with search_path = ''''');
select ok((select prosecdef and proconfig @> array['search_path=""'] from pg_proc
           where oid = 'dossier.caller_access(uuid)'::regprocedure),
    'caller_access is security definer (it reads dossiers and members past their own policies) with search_path = ''''');
select ok((select proconfig @> array['search_path=""'] from pg_proc where oid = 'dossier.caller_may_edit(uuid)'::regprocedure),
    'caller_may_edit has search_path = '''' (it runs as the caller and asks caller_access)');
select ok(not has_schema_privilege('nightshift_anon', 'dossier', 'usage'), 'anon cannot even use the schema');
select ok(has_schema_privilege('nightshift_authenticated', 'dossier', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'dossier', 'create'),
    'authenticated uses the schema, and creates nothing in it');

select is_empty(
    $$select c.relname from pg_class c
      where c.relnamespace = 'dossier'::regnamespace and c.relkind in ('r', 'v', 'm')
        and not has_table_privilege('nightshift_service', c.oid, 'select')$$,
    'the service role reads every table and view');
select is_empty(
    $$select c.relname, p.privilege from pg_class c
      cross join (values ('insert'), ('update'), ('delete'), ('truncate')) p(privilege)
      where c.relnamespace = 'dossier'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege('nightshift_service', c.oid, p.privilege)$$,
    'and writes none of them directly');
select is_empty(
    $$select c.relname from pg_class c
      where c.relnamespace = 'dossier'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege('nightshift_anon', c.oid, 'select,insert,update,delete,truncate')$$,
    'anon reads and writes nothing');
select set_eq(
    $$select c.relname::text from pg_class c
      where c.relnamespace = 'dossier'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege('nightshift_authenticated', c.oid, 'select')$$,
    array['dossiers', 'members', 'engagements', 'commitments', 'health_scores'],
    'authenticated reads exactly the tables under row-level security (not settings, stats_refreshes, '
    'nor the views and materialised views, which would bypass it)');
select set_eq(
    $$select c.relname::text, p.privilege from pg_class c
      cross join (values ('insert'), ('update'), ('delete'), ('truncate'), ('references'), ('trigger')) p(privilege)
      where c.relnamespace = 'dossier'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege('nightshift_authenticated', c.oid, p.privilege)$$,
    $$values ('dossiers', 'insert'), ('dossiers', 'delete'),
             ('members', 'insert'), ('members', 'update'), ('members', 'delete'),
             ('engagements', 'insert'), ('engagements', 'update'), ('engagements', 'delete'),
             ('commitments', 'insert'), ('commitments', 'update'), ('commitments', 'delete')$$,
    'authenticated writes dossiers, members, engagements and commitments (policies decide which rows); '
    'never a health score, never truncate');
select set_eq(
    $$select a.attname::text from pg_attribute a
      where a.attrelid = 'dossier.dossiers'::regclass and a.attnum > 0 and not a.attisdropped
        and has_column_privilege('nightshift_authenticated', a.attrelid, a.attnum, 'update')$$,
    array['name', 'updated_at'],
    'of a dossier, authenticated changes the name only: owner_id never (a co-owner cannot take it)');
select set_eq(
    $$select c.relname::text from pg_class c where c.relnamespace = 'dossier'::regnamespace and c.relrowsecurity$$,
    array['dossiers', 'members', 'engagements', 'commitments', 'health_scores'],
    'row-level security is on for exactly those tables');

-- Acting as the service role.
truncate dossier.dossiers cascade;
insert into dossier.dossiers (id, name, owner_id) values ('00000000-0000-0000-0000-000000000001', 'Granted', gen_random_uuid());
set local role nightshift_service;
select lives_ok($$select dossier.calculate_health_score('00000000-0000-0000-0000-000000000001')$$,
    'the service role scores a dossier through the function');
select lives_ok($$select dossier.detect_overdue_commitments(true)$$, 'and runs the overdue check');
select lives_ok($$select dossier.refresh_commitment_stats()$$, 'and refreshes a statistics view it does not own');
select throws_ok($$insert into dossier.dossiers (name, owner_id) values ('x', gen_random_uuid())$$,
    '42501', null, 'the service role cannot insert dossiers directly');
select throws_ok($$update dossier.health_scores set overall_score = 100$$, '42501', null, 'nor change a score');
select throws_ok($$select dossier._recalculate(null, now(), now())$$, '42501', null, 'nor call a helper');
reset role;

select * from finish();
rollback;
