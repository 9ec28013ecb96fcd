-- engine/0086: declare_functions writes the declarations it is given and retires nothing (what
-- `nightshift run --wait` and `nightshift schedules` use); sync_functions still retires what a
-- worker's start-up no longer declares.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(10);

-- Two builds' workers: one declares tests/a and tests/b, the other tests/other.
select nightshift.sync_functions('[{"id": "tests/a"}, {"id": "tests/b"}, {"id": "tests/other"}]');
select nightshift.sync_functions('[{"id": "tests/a"}, {"id": "tests/b"}]');
select ok((select retired_at is not null from nightshift.functions where id = 'tests/other'),
    'sync_functions retires a function declared in code that the sync does not declare');
select nightshift.sync_functions('[{"id": "tests/a"}, {"id": "tests/b"}, {"id": "tests/other"}]');

-- A CLI of a build that knows tests/a only, with changed settings and a schedule.
select is(nightshift.declare_functions('[{"id": "tests/a", "max_attempts": 2,
    "schedule": {"cron": "0 3 * * *", "timezone": "UTC", "enabled": true, "catch_up": "latest", "catch_up_cap": 1}}]'),
    '{tests/a}'::text[], 'declare_functions answers the ids it declared');
select results_eq($$select id, retired_at is null from nightshift.functions where id like 'tests/%' order by id$$,
    $$values ('tests/a', true), ('tests/b', true), ('tests/other', true)$$,
    'and retires nothing: the functions other builds declare stay active');
select is((select max_attempts from nightshift.functions where id = 'tests/a'), 2, 'the declaration it was given is written');
select is((select cron from nightshift.schedules where function_id = 'tests/a'), '0 3 * * *', 'with its schedule');

-- A retired function declared again comes back, as with sync_functions.
select nightshift.sync_functions('[{"id": "tests/a"}, {"id": "tests/other"}]');
select nightshift.declare_functions('[{"id": "tests/b"}]');
select ok((select retired_at is null from nightshift.functions where id = 'tests/b'), 'a retired function it declares is active again');
select is(nightshift.declare_functions('[]'), '{}'::text[], 'an empty list declares nothing');

select throws_ok($$select nightshift.declare_functions('{"id": "tests/a"}')$$, '22023',
    'declare_functions expects a JSON array of function specs, got object', 'a spec that is not in a list is refused, naming what it got');
select throws_ok($$select nightshift.declare_functions('[{"id": "tests/a"}, {"id": "tests/a"}]')$$, '22023',
    'function "tests/a" is declared twice', 'a function declared twice is refused');
select ok(not has_function_privilege('nightshift_authenticated', 'nightshift.declare_functions(jsonb)', 'execute')
          and has_function_privilege('nightshift_service', 'nightshift.declare_functions(jsonb)', 'execute'),
    'the service role may declare functions, a signed-in user may not');

select * from finish();
rollback;
