-- define_function / drop_function (issue 13 §2): functions whose work is one SQL statement or
-- one HTTP request, defined from SQL by the service role; a worker's sync never retires them,
-- and they never replace a function a worker declares.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(40);

-- A worker declares two functions in code.
select nightshift.sync_functions('[{"id": "tests/code-a"}, {"id": "tests/code-b"}]');

-- A sql job on a cron.
select lives_ok($$select nightshift.define_function('ops/refresh', 'sql',
    '{"sql": "select pg_catalog.now()"}', cron => '*/5 * * * *', timezone => 'Asia/Riyadh',
    retries => 2, max_concurrency => 1, catch_up => 'skip', timeout => '90 seconds')$$,
    'the owner (a service) defines a sql job with a cron');
select results_eq(
    $$select kind, body, defined_in, max_attempts, concurrency_limit, timeout_ms, retired_at
      from nightshift.functions where id = 'ops/refresh'$$,
    $$values ('sql', '{"sql": "select pg_catalog.now()"}'::jsonb, 'sql', 3, 1, 90000, null::timestamptz)$$,
    'its row: kind sql, the body, defined in sql, 2 retries = 3 attempts, singleton, 90 s');
select results_eq(
    $$select cron, timezone, enabled, catch_up, next_slot from nightshift.schedules where function_id = 'ops/refresh'$$,
    $$values ('*/5 * * * *', 'Asia/Riyadh', true, 'skip', nightshift.next_fire('*/5 * * * *', 'Asia/Riyadh', now()))$$,
    'and a schedule whose next slot is the first fire time after now');
select is((nightshift.define_function('ops/plain', 'sql', '"select 1"')).body, '{"sql": "select 1"}'::jsonb,
    'a statement given as a JSON string is the body''s "sql"');
select is((select count(*)::integer from nightshift.schedules where function_id = 'ops/plain'), 0,
    'without a cron there is no schedule (trigger and events still run it)');
select results_eq(
    $$select kind, body from nightshift.define_function('crm/nightly-sync', 'http',
        '{"url": "https://crm.internal/sync", "method": "post", "timeout_ms": 60000, "headers": {"x-team": "crm"}}',
        cron => '0 2 * * *', timezone => 'Asia/Riyadh')$$,
    $$values ('http', '{"url": "https://crm.internal/sync", "method": "POST", "timeout_ms": 60000, "headers": {"x-team": "crm"}}'::jsonb)$$,
    'an http job: the method is stored in capitals');
select is((nightshift.define_function('crm/ping', 'http', '"http://127.0.0.1:9/ping"')).body,
    '{"url": "http://127.0.0.1:9/ping", "method": "POST"}'::jsonb, 'a URL alone is a POST to it');

-- A worker's sync leaves them alone and still retires what it no longer declares.
select lives_ok($$select nightshift.sync_functions('[{"id": "tests/code-a"}]')$$, 'a worker syncs without them');
select results_eq(
    $$select id, retired_at is not null from nightshift.functions
      where id in ('ops/refresh', 'ops/plain', 'crm/nightly-sync', 'tests/code-a', 'tests/code-b') order by id$$,
    $$values ('crm/nightly-sync', false), ('ops/plain', false), ('ops/refresh', false),
             ('tests/code-a', false), ('tests/code-b', true)$$,
    'the functions defined from SQL stay active; the undeclared code function retires');
select is((select enabled from nightshift.schedules where function_id = 'ops/refresh'), true, 'their schedules stay on');
select is((select kind from nightshift.functions where id = 'tests/code-a'), 'swift', 'a code function is a swift one');

-- A worker's config may declare sql and http jobs: a spec with kind and body, defined in code.
select lives_ok($$select nightshift.sync_functions('[{"id": "tests/code-a"},
    {"id": "cfg/job", "kind": "http", "body": {"url": "https://crm.internal/ping"}}]')$$,
    'a worker declares an http job from its config');
select results_eq($$select kind, body, defined_in from nightshift.functions where id = 'cfg/job'$$,
    $$values ('http', '{"url": "https://crm.internal/ping", "method": "POST"}'::jsonb, 'code')$$,
    'it is stored with its kind and body, defined in code');
select throws_like($$select nightshift.sync_functions('[{"id": "cfg/bad", "kind": "sql", "body": {"sql": "select 1; select 2"}}]')$$,
    'invalid spec for function "cfg/bad": the body of a sql function must be one statement%',
    'a config body is validated as define_function''s is');

-- Refusals.
select throws_ok($$select nightshift.define_function('ops/x', 'python', '{"sql": "select 1"}')$$, '22023',
    'cannot define function "ops/x" of kind "python": use sql or http (swift functions are declared by a worker)',
    'an unknown kind');
select throws_ok($$select nightshift.define_function('ops/x', 'swift', null)$$, '22023', null, 'a swift kind');
select throws_ok($$select nightshift.define_function('ops/x', 'sql', '{"statement": "select 1"}')$$, '22023',
    'invalid spec for function "ops/x": unknown key "statement" in the body of a sql function (it has only "sql")',
    'a sql body without "sql"');
select throws_like($$select nightshift.define_function('ops/x', 'sql', '{}')$$,
    '%the body of a sql function needs "sql"%', 'an empty sql body');
select throws_like($$select nightshift.define_function('ops/x', 'sql', '" ; "')$$,
    '%the body of a sql function needs "sql"%', 'a blank statement');
select throws_like($$select nightshift.define_function('ops/x', 'sql', '"delete from t; drop table t"')$$,
    '%must be one statement%', 'two statements');
select lives_ok($$select nightshift.define_function('ops/semicolon', 'sql', E'"select 1;\\n "')$$,
    'one statement with a trailing semicolon is fine');
select throws_ok($$select nightshift.define_function('ops/x', 'http', '{"url": "ftp://files.internal/x"}')$$, '22023',
    'invalid spec for function "ops/x": the url of an http function must be an http:// or https:// URL, got "ftp://files.internal/x"',
    'an http body with an ftp:// url');
select throws_like($$select nightshift.define_function('ops/x', 'http', '{"url": "https://a.b", "method": "TRACE"}')$$,
    '%must be GET, POST, PUT, PATCH or DELETE%', 'an http method not in the list');
select throws_like($$select nightshift.define_function('ops/x', 'http', '{"url": "https://a.b", "timeout_ms": 0}')$$,
    '%positive whole number of milliseconds%', 'a zero http timeout');
select throws_ok($$select nightshift.define_function('ops/x', 'sql', '"select 1"', cron => '61 * * * *')$$, '22023',
    null, 'a bad cron');
select throws_like($$select nightshift.define_function('ops/x', 'sql', '"select 1"', cron => '61 * * * *')$$,
    'invalid spec for function "ops/x": invalid cron expression "61 * * * *"%', 'with the cron validation''s message');
select throws_like($$select nightshift.define_function('ops/x', 'sql', '"select 1"', cron => '* * * * *', timezone => 'Mars/Olympus')$$,
    '%Mars/Olympus%', 'an unknown time zone');
select throws_ok($$select nightshift.define_function('tests/code-a', 'sql', '"select 1"')$$, '22023',
    'function "tests/code-a" is declared by a worker''s code; define_function may not replace it',
    'an id a worker declares');
select is((select count(*)::integer from nightshift.functions where id = 'ops/x'), 0, 'nothing refused was stored');

-- Redefining updates the cron and the body.
select lives_ok($$select nightshift.define_function('ops/refresh', 'sql', '{"sql": "select 2"}', cron => '0 * * * *')$$,
    'redefining ops/refresh');
select results_eq(
    $$select f.body, s.cron, s.timezone, s.next_slot from nightshift.functions f join nightshift.schedules s on s.function_id = f.id
      where f.id = 'ops/refresh'$$,
    $$values ('{"sql": "select 2"}'::jsonb, '0 * * * *', 'UTC', nightshift.next_fire('0 * * * *', 'UTC', now()))$$,
    'the new body, cron and zone, and the next slot of the new cron');

-- drop_function
select is(nightshift.drop_function('ops/refresh'), true, 'drop_function retires a function defined from SQL');
select results_eq(
    $$select f.retired_at is not null, s.enabled from nightshift.functions f join nightshift.schedules s on s.function_id = f.id
      where f.id = 'ops/refresh'$$,
    $$values (true, false)$$, 'retired, its schedule off');
select is(nightshift.drop_function('ops/refresh'), false, 'dropping it again does nothing');
select is(nightshift.drop_function('ops/nothing'), false, 'nor does dropping an unknown id');
select throws_ok($$select nightshift.drop_function('tests/code-a')$$, '22023',
    'function "tests/code-a" is declared by a worker''s code; only functions defined from SQL can be dropped',
    'a code function cannot be dropped');

-- Only the service.
set local role nightshift_service;
select lives_ok($$select nightshift.define_function('ops/by-service', 'sql', '"select 1"')$$, 'the service role defines');
set local role nightshift_authenticated;
set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "service_role"}';
select throws_ok($$select nightshift.define_function('ops/y', 'sql', '"select 1"')$$, '42501', null,
    'authenticated cannot define, whatever its claims');
set local role nightshift_anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select nightshift.drop_function('ops/plain')$$, '42501', null, 'anon cannot drop');
reset role;
-- The check inside, should a grant ever open it (as a member of the service role would not be).
grant usage on schema nightshift to nightshift_authenticated;
grant execute on function nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval, text)
    to nightshift_authenticated;
set local role nightshift_authenticated;
select throws_ok($$select nightshift.define_function('ops/y', 'sql', '"select 1"')$$, '42501',
    'only the service role may define functions', 'the function itself refuses a non-service caller');
reset role;

select * from finish();
rollback;
