-- Least privilege: the service role calls the public coverage functions and reads the tables;
-- it cannot write tables or call helpers, the seed generator or the demo's shift; anon gets
-- nothing. Since 0043 authenticated uses the schema to read institutions, their admins and
-- their snapshots under row-level security (an institution's admins, super admins), executes
-- only the function the policies call (caller_administers), and never request_recompute or
-- any other pack function (the API goes through api.request_coverage_recompute).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(18);

select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'coverage'::regnamespace and p.proname !~ '^_' and p.proname not in ('seed', 'shift_coverage')
        and not has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may execute every public coverage function (and caller_administers)');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'coverage'::regnamespace and (p.proname ~ '^_' or p.proname in ('seed', 'shift_coverage'))
        and has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may not execute helpers, seed or shift_coverage');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'coverage'::regnamespace and has_function_privilege('nightshift_anon', p.oid, 'execute')$$,
    'anon may execute no coverage function');
select set_eq(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'coverage'::regnamespace and has_function_privilege('nightshift_authenticated', p.oid, 'execute')$$,
    array['coverage.caller_administers(uuid)'],
    'authenticated executes only the function the policies call: not request_recompute, not list_admins');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where p.pronamespace = 'coverage'::regnamespace and a.grantee = 0 and a.privilege_type = 'EXECUTE'$$,
    'public may execute no coverage function');
select ok((select prosecdef and proconfig @> array['search_path=""'] from pg_proc
           where oid = 'coverage.caller_administers(uuid)'::regprocedure),
    'caller_administers is security definer (it reads institution_admins past its policy) with search_path = ''''');
select ok(not has_schema_privilege('nightshift_anon', 'coverage', 'usage'), 'anon cannot even use the schema');
select ok(has_schema_privilege('nightshift_authenticated', 'coverage', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'coverage', 'create'),
    'authenticated uses the schema, and creates nothing in it');
select set_eq(
    $$select c.relname::text, p.privilege from pg_class c
      cross join (values ('select'), ('insert'), ('update'), ('delete'), ('truncate'), ('references'), ('trigger')) p(privilege)
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where c.relnamespace = 'coverage'::regnamespace and c.relkind in ('r', 'v', 'm')
        and has_table_privilege(r.rolname, c.oid, p.privilege)$$,
    $$values ('institutions', 'select'), ('institution_admins', 'select'), ('coverage_snapshots', 'select')$$,
    'authenticated reads institutions, their admins and snapshots, and writes nothing; anon has no table privilege');
select set_eq(
    $$select c.relname::text from pg_class c where c.relnamespace = 'coverage'::regnamespace and c.relrowsecurity$$,
    array['institutions', 'institution_admins', 'coverage_snapshots'],
    'row-level security is on for exactly those tables');
select is_empty(
    $$select c.relname from pg_class c where c.relnamespace = 'coverage'::regnamespace and c.relkind = 'r'
        and not has_table_privilege('nightshift_service', c.oid, 'select')$$,
    'the service role reads every coverage table');
select is_empty(
    $$select c.relname, p.privilege from pg_class c
      cross join (values ('insert'), ('update'), ('delete'), ('truncate')) p(privilege)
      where c.relnamespace = 'coverage'::regnamespace and c.relkind = 'r'
        and has_table_privilege('nightshift_service', c.oid, p.privilege)$$,
    'the service role writes no coverage table directly');
select is_empty(
    $$select c.relname from pg_class c where c.relnamespace = 'coverage'::regnamespace
        and pg_get_userbyid(c.relowner) <> (select pg_get_userbyid(n.nspowner) from pg_namespace n where n.nspname = 'coverage')$$,
    'every coverage table, index and sequence is owned by the migration owner');

-- Acting as the service role
insert into coverage.institutions (id, name) values ('c0000000-0000-4000-8000-0000000000a9', 'Granted');
set local role nightshift_service;
select lives_ok($$select coverage.process_institution('c0000000-0000-4000-8000-0000000000a9')$$,
    'the service role processes an institution through the function');
select lives_ok($$select coverage.record_job_run(now(), now(), 1, 0, 0, 0)$$, 'and records telemetry through the function');
select throws_ok($$insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
                   values ('c0000000-0000-4000-8000-0000000000a9', '{}', 0, now())$$,
    '42501', null, 'the service role cannot insert snapshots directly');
select throws_ok($$select coverage.seed(1, 200, 0.5)$$, '42501', null, 'the service role cannot seed');
select throws_ok($$select coverage._require_institution('c0000000-0000-4000-8000-0000000000a9')$$, '42501', null,
    'the service role cannot call a helper');
reset role;

select * from finish();
rollback;
