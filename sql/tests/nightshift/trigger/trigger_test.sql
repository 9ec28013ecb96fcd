-- trigger: enqueues a manual run; an idempotency key returns the first run; unknown and
-- retired functions are refused by name.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(14);

select nightshift.sync_functions('[
    {"id": "tests/manual", "max_attempts": 2},
    {"id": "tests/keyed", "concurrency": {"limit": 2, "key": "tenant"}},
    {"id": "tests/off", "enabled": false}
]');

create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values ('first', nightshift.trigger('tests/manual', '{"n": 1}'));
select results_eq(
    $$select function_id, status, payload, attempt, max_attempts, trigger_kind, idempotency_key, run_at <= now()
      from nightshift.runs where id = (select id from t_runs where label = 'first')$$,
    $$values ('tests/manual', 'queued', '{"n": 1}'::jsonb, 1, 2, 'manual', null::text, true)$$,
    'a triggered run is queued now, attempt 1 of the function''s max_attempts, as a manual trigger');
select isnt((select correlation_id from nightshift.runs where id = (select id from t_runs where label = 'first')), null,
    'a run gets a correlation id');

insert into t_runs values ('default payload', nightshift.trigger('tests/manual'));
select is((select payload from nightshift.runs where id = (select id from t_runs where label = 'default payload')), '{}'::jsonb,
    'the payload defaults to an empty object');
insert into t_runs values ('null payload', nightshift.trigger('tests/manual', null));
select is((select payload from nightshift.runs where id = (select id from t_runs where label = 'null payload')), '{}'::jsonb,
    'a null payload is stored as an empty object');

insert into t_runs values ('keyed', nightshift.trigger('tests/manual', '{"n": 2}', 'order-42'));
select is(nightshift.trigger('tests/manual', '{"n": 3}', 'order-42'), (select id from t_runs where label = 'keyed'),
    'the same idempotency key returns the existing run');
select is((select count(*)::integer from nightshift.runs where idempotency_key = 'order-42'), 1,
    'the same idempotency key never makes a second run');
select is((select payload from nightshift.runs where idempotency_key = 'order-42'), '{"n": 2}'::jsonb,
    'the first payload is kept');
select isnt(nightshift.trigger('tests/keyed', '{}', 'order-42'), (select id from t_runs where label = 'keyed'),
    'idempotency keys are per function');

insert into t_runs values ('limited', nightshift.trigger('tests/keyed', '{"tenant": "acme", "x": 1}'));
select results_eq(
    $$select concurrency_key, concurrency_limit from nightshift.runs where id = (select id from t_runs where label = 'limited')$$,
    $$values ('acme', 2)$$,
    'the concurrency key value and limit are copied onto the run');

select isnt(nightshift.trigger('tests/off'), null,
    'a disabled function can still be triggered by hand');

select throws_ok($$select nightshift.trigger('tests/nope')$$, 'NSF01', 'unknown function "tests/nope"',
    'an unknown function is refused by name');
select nightshift.sync_functions('[{"id": "tests/keyed"}]');
select throws_ok($$select nightshift.trigger('tests/manual')$$, 'NSF01', 'function "tests/manual" is retired',
    'a retired function is refused by name');
select throws_ok($$select nightshift.trigger(null)$$, 'NSF01', 'unknown function "<NULL>"',
    'a null function id is refused');
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/manual'), 4,
    'refused triggers enqueue nothing');

select * from finish();
rollback;
