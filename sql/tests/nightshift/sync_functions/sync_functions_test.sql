-- sync_functions: upserts declarations and schedules, retires what is no longer declared,
-- keeps next_slot unless the expression changes or the schedule comes back on, and records
-- the slots that will not run.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(34);

select lives_ok($$select nightshift.sync_functions('[
    {"id": "tests/minimal"},
    {"id": "tests/full", "max_attempts": 2,
     "backoff": {"base_ms": 500, "multiplier": 3, "max_ms": 60000, "jitter": true},
     "concurrency": {"limit": 1, "key": "tenant"}, "timeout_ms": 30000, "crash_limit": 5,
     "events": ["a.happened", "b.happened"], "enabled": false,
     "schedule": {"cron": "*/5 * * * *", "timezone": "Europe/London", "enabled": true, "catch_up": "all", "catch_up_cap": 3}}
]')$$, 'a list of two specs syncs');

select results_eq(
    $$select max_attempts, backoff_base_ms, backoff_multiplier, backoff_max_ms, backoff_jitter, concurrency_limit,
             concurrency_key, timeout_ms, crash_limit, event_names, enabled, retired_at
      from nightshift.functions where id = 'tests/minimal'$$,
    $$values (4, 1000, 2::numeric, 3600000, false, null::integer, null::text, null::integer, 3, '{}'::text[], true, null::timestamptz)$$,
    'a spec with only an id gets the defaults: 4 attempts (3 retries), 1 s x2 backoff, crash limit 3, enabled');
select results_eq(
    $$select max_attempts, backoff_base_ms, backoff_multiplier, backoff_max_ms, backoff_jitter, concurrency_limit,
             concurrency_key, timeout_ms, crash_limit, event_names, enabled
      from nightshift.functions where id = 'tests/full'$$,
    $$values (2, 500, 3::numeric, 60000, true, 1, 'tenant', 30000, 5, '{a.happened,b.happened}'::text[], false)$$,
    'every field of a full spec is stored');
select results_eq(
    $$select cron, timezone, enabled, catch_up, catch_up_cap, next_slot from nightshift.schedules where function_id = 'tests/full'$$,
    $$values ('*/5 * * * *', 'Europe/London', true, 'all', 3, nightshift.next_fire('*/5 * * * *', 'Europe/London', now()))$$,
    'a new schedule is stored with next_slot = the first fire time after now');
select is((select count(*)::integer from nightshift.schedules where function_id = 'tests/minimal'), 0,
    'a spec without a schedule has no schedule row');

-- Switched on after being off: the slots in between are recorded as disabled, not caught up.
update nightshift.schedules set next_slot = date_trunc('hour', now()) - interval '1 hour' where function_id = 'tests/full';
select lives_ok($$select nightshift.sync_functions('[
    {"id": "tests/minimal"},
    {"id": "tests/full", "max_attempts": 2, "concurrency": {"limit": 1, "key": "tenant"}, "enabled": true,
     "schedule": {"cron": "*/5 * * * *", "timezone": "Europe/London", "catch_up": "all", "catch_up_cap": 3}}
]')$$, 'the same functions sync again, the full one now enabled');
select results_eq(
    $$select reason, first_slot, last_slot, slot_count from nightshift.skipped_slots where function_id = 'tests/full'$$,
    $$values ('disabled', date_trunc('hour', now()) - interval '1 hour',
              date_trunc('hour', now()) + (extract(minute from now())::integer / 5) * interval '5 minutes',
              13 + extract(minute from now())::integer / 5)$$,
    'the slots that fell due while the function was disabled (every 5 minutes for an hour and more) are recorded with their count');
select is((select next_slot from nightshift.schedules where function_id = 'tests/full'),
    nightshift.next_fire('*/5 * * * *', 'Europe/London', now()),
    'a schedule switched on starts from now');
select is((select backoff_base_ms from nightshift.functions where id = 'tests/full'), 1000,
    'fields left out of a later spec go back to their defaults');

-- Downtime: next_slot in the past is kept by an unchanged sync, so tick can catch up.
delete from nightshift.skipped_slots;
update nightshift.schedules set next_slot = date_trunc('hour', now()) - interval '1 hour' where function_id = 'tests/full';
select lives_ok($$select nightshift.sync_functions('[
    {"id": "tests/minimal"},
    {"id": "tests/full", "max_attempts": 2, "concurrency": {"limit": 1, "key": "tenant"},
     "schedule": {"cron": "*/5 * * * *", "timezone": "Europe/London", "catch_up": "all", "catch_up_cap": 3}}
]')$$, 'the same functions sync once more, unchanged');
select is((select next_slot from nightshift.schedules where function_id = 'tests/full'), date_trunc('hour', now()) - interval '1 hour',
    'an unchanged schedule keeps its next_slot, so missed slots stay visible to tick');
select is((select count(*)::integer from nightshift.skipped_slots), 0,
    'an unchanged active schedule records no skipped slots');

-- A new expression: the old one's due slots are recorded as rescheduled.
select lives_ok($$select nightshift.sync_functions('[
    {"id": "tests/minimal"},
    {"id": "tests/full", "max_attempts": 2, "concurrency": {"limit": 1, "key": "tenant"},
     "schedule": {"cron": "0 * * * *", "timezone": "Europe/London"}}
]')$$, 'the full function syncs with a new cron expression');
select is((select next_slot from nightshift.schedules where function_id = 'tests/full'),
    nightshift.next_fire('0 * * * *', 'Europe/London', now()),
    'a changed expression restarts next_slot from now');
select results_eq(
    $$select reason, first_slot, last_slot, slot_count from nightshift.skipped_slots where function_id = 'tests/full'$$,
    $$values ('rescheduled', date_trunc('hour', now()) - interval '1 hour',
              date_trunc('hour', now()) + (extract(minute from now())::integer / 5) * interval '5 minutes',
              13 + extract(minute from now())::integer / 5)$$,
    'the old expression''s due slots (every 5 minutes since an hour ago) are recorded as rescheduled, with their count');
select is((select catch_up from nightshift.schedules where function_id = 'tests/full'), 'latest',
    'catch_up defaults to latest');

-- Retirement: a function missing from the list.
select lives_ok($$select nightshift.sync_functions('[{"id": "tests/minimal"}]')$$,
    'a sync without the full function succeeds');
select isnt((select retired_at from nightshift.functions where id = 'tests/full'), null,
    'a function no longer declared is retired');
select is((select enabled from nightshift.schedules where function_id = 'tests/full'), false,
    'a retired function''s schedule is disabled');
select is((select retired_at from nightshift.functions where id = 'tests/minimal'), null,
    'a function still declared is not retired');

-- Coming back after being off: the slots in between are recorded as disabled.
update nightshift.schedules set next_slot = date_trunc('hour', now()) - interval '3 hours' where function_id = 'tests/full';
select lives_ok($$select nightshift.sync_functions('[
    {"id": "tests/minimal"},
    {"id": "tests/full", "schedule": {"cron": "0 * * * *", "timezone": "Europe/London"}}
]')$$, 'the retired function is declared again');
select is((select retired_at from nightshift.functions where id = 'tests/full'), null,
    'a function declared again is no longer retired');
select results_eq(
    $$select reason, first_slot, last_slot, slot_count from nightshift.skipped_slots
      where function_id = 'tests/full' order by id desc limit 1$$,
    $$values ('disabled', date_trunc('hour', now()) - interval '3 hours', date_trunc('hour', now()), 4)$$,
    'the hourly slots missed while it was off are recorded as disabled, not caught up');
select is((select next_slot from nightshift.schedules where function_id = 'tests/full'),
    nightshift.next_fire('0 * * * *', 'Europe/London', now()),
    'a schedule back on starts from now');

-- Dropping the schedule
select lives_ok($$select nightshift.sync_functions('[{"id": "tests/minimal"}, {"id": "tests/full"}]')$$,
    'the full function syncs without a schedule');
select is((select count(*)::integer from nightshift.schedules where function_id = 'tests/full'), 0,
    'a schedule no longer declared is removed');

-- Errors name the function
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "schedule": {"cron": "61 * * * *", "timezone": "UTC"}}]')$$,
    '22023', 'invalid spec for function "tests/bad": invalid cron expression "61 * * * *": minute value "61" is out of range 0-59',
    'an invalid cron expression is refused, naming the function');
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "schedule": {"cron": "0 * * * *", "timezone": "Mars/Base"}}]')$$,
    '22023', 'invalid spec for function "tests/bad": unknown time zone "Mars/Base"',
    'an unknown time zone is refused, naming the function');
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "max_attempts": 0}]')$$,
    '23514', null,
    'zero attempts violate a check constraint');
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "schedule": {"cron": "0 * * * *", "catch_up": "never"}}]')$$,
    '23514', null,
    'an unknown catch-up policy violates a check constraint');
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "schedule": {"cron": "0 * * * *", "catch_up": "all", "catch_up_cap": 5000}}]')$$,
    '23514', null,
    'a catch-up cap above 1000 violates a check constraint');
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/twice"}, {"id": "tests/twice"}]')$$,
    '22023', 'function "tests/twice" is declared twice',
    'a duplicate id is refused');
select throws_ok($$select nightshift.sync_functions('{"id": "tests/minimal"}')$$,
    '22023', 'sync_functions expects a JSON array of function specs, got object',
    'a spec that is not in an array is refused');
select throws_ok($$select nightshift.sync_functions('[{"max_attempts": 2}]')$$,
    '22023', 'a function spec has no "id": {"max_attempts": 2}',
    'a spec without an id is refused');

select * from finish();
rollback;
