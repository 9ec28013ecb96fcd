-- enqueue_many: one run per payload, in one statement.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(6);

select nightshift.sync_functions('[{"id": "tests/bulk", "concurrency": {"limit": 3, "key": "k"}}]');

select is(nightshift.enqueue_many('tests/bulk', '[{"k": "a"}, {"k": "b"}, {"k": "a"}]'), 3,
    'three payloads make three runs');
select results_eq(
    $$select payload, concurrency_key, status, trigger_kind from nightshift.runs where function_id = 'tests/bulk' order by payload ->> 'k', id$$,
    $$values ('{"k": "a"}'::jsonb, 'a', 'queued', 'manual'), ('{"k": "a"}'::jsonb, 'a', 'queued', 'manual'),
             ('{"k": "b"}'::jsonb, 'b', 'queued', 'manual')$$,
    'each run has its payload and concurrency key, queued as a manual trigger');
select is(nightshift.enqueue_many('tests/bulk', '[]'), 0,
    'an empty array enqueues nothing');
select throws_ok($$select nightshift.enqueue_many('tests/bulk', '{"k": "a"}')$$, '22023',
    'enqueue_many expects a JSON array of payloads, got object',
    'payloads that are not an array are refused');
select throws_ok($$select nightshift.enqueue_many('tests/none', '[{}]')$$, 'NSF01', 'unknown function "tests/none"',
    'an unknown function is refused by name');
select is((select count(*)::integer from nightshift.runs where function_id like 'tests/%'), 3,
    'refused calls enqueue nothing');

select * from finish();
rollback;
