-- Least privilege in schema dossier: the service role executes the public functions and
-- reads the tables and views; it writes nothing directly and calls no helper; anon and
-- authenticated get nothing. Every public function runs as its owner with an empty
-- search_path.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

-- The seed generator, when loaded, is the owner's alone.
create temporary view public_functions as
    select p.oid from pg_proc p
    where p.pronamespace = 'dossier'::regnamespace and p.proname !~ '^_' and p.proname <> 'seed';

select set_eq(
    $$select p.proname::text from pg_proc p join public_functions f on f.oid = p.oid$$,
    array['calculate_health_score', 'recalculate_health_scores', 'recalculate_stale_scores', 'freshness_rate',
          'detect_overdue_commitments', 'refresh_engagement_stats', 'refresh_commitment_stats', 'stats'],
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
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'dossier'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'anon and authenticated may execute no dossier function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p join public_functions f on f.oid = p.oid
      where not p.prosecdef or not coalesce(p.proconfig @> array['search_path=""'], false)$$,
    'every public function is security definer with search_path = ''''');
select ok(not has_schema_privilege('nightshift_anon', 'dossier', 'usage'), 'anon cannot even use the schema');
select ok(not has_schema_privilege('nightshift_authenticated', 'dossier', 'usage'), 'nor can authenticated');

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
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where c.relnamespace = 'dossier'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege(r.rolname, c.oid, 'select')$$,
    'anon and authenticated read nothing');

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
