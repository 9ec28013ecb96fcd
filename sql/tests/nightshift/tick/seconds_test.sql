-- tick with sub-minute schedules ('N seconds'): each slot enqueued once, exactly like a cron
-- slot (runs_cron_slot_idx, catch-up policies, skipped ranges with their counts), and
-- sync_functions accepts them and names the function when the value is bad.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(17);

select lives_ok($$select nightshift.sync_functions('[
    {"id": "tests/every-second", "schedule": {"cron": "1 second", "timezone": "UTC", "catch_up": "all", "catch_up_cap": 100}},
    {"id": "tests/every-5s", "schedule": {"cron": "5 seconds", "timezone": "Europe/London"}},
    {"id": "tests/every-30s", "schedule": {"cron": "30 seconds", "timezone": "UTC", "catch_up": "skip"}}
]')$$, 'sync_functions accepts schedules of 1, 5 and 30 seconds');
select is((select next_slot from nightshift.schedules where function_id = 'tests/every-5s'),
    nightshift.next_fire('5 seconds', 'UTC', now()),
    'a new seconds schedule starts at the next slot after now');
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';

-- Every second, ticked every second: one run per slot.
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/every-second';
select is(nightshift.tick('2026-01-01 09:59:59.5Z'), 0, 'nothing is due before the first slot');
select is(nightshift.tick('2026-01-01 10:00:00.2Z'), 1, 'the slot of 10:00:00 is enqueued');
select is(nightshift.tick('2026-01-01 10:00:00.9Z'), 0, 'a second tick within the same second enqueues nothing');
select is(nightshift.tick('2026-01-01 10:00:01.1Z'), 1, 'the next second''s slot is enqueued');
select is(nightshift.tick('2026-01-01 10:00:03.0Z'), 2, 'a tick that comes late enqueues both slots it missed (catch-up all)');
select results_eq(
    $$select trigger_slot from nightshift.runs where function_id = 'tests/every-second' order by trigger_slot$$,
    $$values ('2026-01-01 10:00:00Z'::timestamptz), ('2026-01-01 10:00:01Z'), ('2026-01-01 10:00:02Z'), ('2026-01-01 10:00:03Z')$$,
    'one cron run per second, each with its own slot');
select is((select next_slot from nightshift.schedules where function_id = 'tests/every-second'), '2026-01-01 10:00:04Z'::timestamptz,
    'next_slot is the next second');
update nightshift.schedules set next_slot = '2026-01-01 10:00:02Z' where function_id = 'tests/every-second';
select is(nightshift.tick('2026-01-01 10:00:03.5Z'), 0,
    'slots already enqueued are not enqueued again even if next_slot points back at them (runs_cron_slot_idx)');

-- Catch-up after downtime: latest, with the skipped seconds counted.
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/every-5s';
select is(nightshift.tick('2026-01-01 11:00:02Z'), 1, 'after an hour down, latest enqueues one run');
select is((select trigger_slot from nightshift.runs where function_id = 'tests/every-5s'), '2026-01-01 11:00:00Z'::timestamptz,
    'latest runs the newest due slot');
select results_eq(
    $$select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/every-5s'$$,
    $$values ('2026-01-01 10:00:00Z'::timestamptz, '2026-01-01 10:59:55Z'::timestamptz, 720, 'catch_up_latest')$$,
    'the 720 older slots of the hour are recorded as one skipped range');

-- Catch-up skip: a slot more than 60 s late does not run.
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/every-30s';
select is(nightshift.tick('2026-01-01 10:05:10Z'), 1, 'skip runs the newest slot when it is on time');
select results_eq(
    $$select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/every-30s'$$,
    $$values ('2026-01-01 10:00:00Z'::timestamptz, '2026-01-01 10:04:30Z'::timestamptz, 10, 'catch_up_skip')$$,
    'skip records the older slots');

-- Errors name the function.
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "schedule": {"cron": "0 seconds"}}]')$$,
    '22023', 'invalid spec for function "tests/bad": invalid cron expression "0 seconds": seconds value "0" is out of range 1-59 (use a 5-field expression for a minute or more)',
    'a schedule of 0 seconds is refused, naming the function');
select throws_ok($$select nightshift.sync_functions('[{"id": "tests/bad", "schedule": {"cron": "x seconds"}}]')$$,
    '22023', 'invalid spec for function "tests/bad": invalid cron expression "x seconds": "x" is not a whole number of seconds (use 1 to 59 seconds, such as "5 seconds")',
    'a schedule of x seconds is refused, naming the function');

select * from finish();
rollback;
