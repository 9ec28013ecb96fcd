-- Least privilege: the service role calls the public functions and reads; it cannot write
-- tables or call helpers; the anon and authenticated roles get nothing, not even the schema.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(15);

select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'nightshift'::regnamespace and p.proname !~ '^_' and p.proname <> 'install_pg_cron'
        and not has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may execute every public function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'nightshift'::regnamespace and (p.proname ~ '^_' or p.proname = 'install_pg_cron')
        and has_function_privilege('nightshift_service', p.oid, 'execute')$$,
    'the service role may not execute helpers or install_pg_cron');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
      where p.pronamespace = 'nightshift'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'anon and authenticated may execute no nightshift function');
-- Functions defined from SQL (0046): the service role only.
select ok(has_function_privilege('nightshift_service',
        'nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval, text)', 'execute')
    and has_function_privilege('nightshift_service', 'nightshift.drop_function(text)', 'execute'),
    'the service role may define and drop functions');
select ok(not has_function_privilege('public',
        'nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval, text)', 'execute')
    and not has_function_privilege('public', 'nightshift.drop_function(text)', 'execute'),
    'public may not (execute revoked)');
select ok(not has_function_privilege('nightshift_service', 'nightshift._upsert_function(jsonb)', 'execute')
    and not has_function_privilege('nightshift_service', 'nightshift._check_body(text, jsonb)', 'execute'),
    'their helpers are the owner''s');
select ok(not has_schema_privilege('nightshift_anon', 'nightshift', 'usage'), 'anon cannot even use the schema');
select ok(not has_schema_privilege('nightshift_authenticated', 'nightshift', 'usage'),
    'nor can authenticated (0040-0044 open the user data areas to it, never the engine)');
select ok(has_table_privilege('nightshift_service', 'nightshift.runs', 'select'), 'the service role reads runs');
select ok(not has_table_privilege('nightshift_service', 'nightshift.runs', 'insert,update,delete'),
    'the service role changes runs only through the functions');
select ok(has_table_privilege('nightshift_service', 'nightshift.queue_depth', 'select'), 'the service role reads the views');
select ok(not has_table_privilege('nightshift_authenticated', 'nightshift.runs', 'select'), 'authenticated cannot read runs');

-- Acting as the service role
select nightshift.sync_functions('[{"id": "tests/grants"}]');
set local role nightshift_service;
select lives_ok($$select nightshift.trigger('tests/grants')$$, 'the service role enqueues through trigger');
select throws_ok($$insert into nightshift.runs (function_id, max_attempts, trigger_kind) values ('tests/grants', 1, 'manual')$$,
    '42501', null, 'the service role cannot insert runs directly');
select throws_ok($$select nightshift._cron_parse('* * * * *')$$, '42501', null, 'the service role cannot call a helper');
reset role;

select * from finish();
rollback;
