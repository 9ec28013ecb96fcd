-- tick: each due slot exactly once, catch-up policies with every skipped slot recorded,
-- disabled schedules left alone, long downtimes counted without enumerating them.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(35);

select nightshift.sync_functions('[
    {"id": "tests/latest", "max_attempts": 2, "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}},
    {"id": "tests/all", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC", "catch_up": "all", "catch_up_cap": 3}},
    {"id": "tests/skip", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC", "catch_up": "skip"}},
    {"id": "tests/off", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC", "enabled": false}},
    {"id": "tests/disabled", "enabled": false, "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}}
]');
-- Park every schedule; each block below wakes the ones it is about.
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';

-- Exactly once per slot
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/latest';
select is(nightshift.tick('2026-01-01 09:59:59Z'), 0, 'nothing is due before the first slot');
select is(nightshift.tick('2026-01-01 10:00:30Z'), 1, 'a due slot enqueues one run');
select is(nightshift.tick('2026-01-01 10:00:30Z'), 0, 'a second tick for the same instant enqueues nothing');
select is(nightshift.tick('2026-01-01 10:01:00Z'), 0, 'a later tick before the next slot enqueues nothing');
select results_eq(
    $$select trigger_kind, trigger_slot, run_at, payload, status, attempt, max_attempts from nightshift.runs where function_id = 'tests/latest'$$,
    $$values ('cron', '2026-01-01 10:00:00Z'::timestamptz, '2026-01-01 10:00:00Z'::timestamptz, '{}'::jsonb, 'queued', 1, 2)$$,
    'the run is a cron run of its slot, runnable from the slot time, with the function''s attempts');
select results_eq(
    $$select next_slot, last_enqueued_slot from nightshift.schedules where function_id = 'tests/latest'$$,
    $$values ('2026-01-01 10:05:00Z'::timestamptz, '2026-01-01 10:00:00Z'::timestamptz)$$,
    'the schedule moves on to the next slot and remembers the last one enqueued');

-- The unique slot index is the backstop when next_slot is stale.
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/latest';
select is(nightshift.tick('2026-01-01 10:00:30Z'), 0, 'a slot already enqueued is not enqueued again even if next_slot points at it');
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/latest'), 1,
    'still one run for the slot');
select throws_ok(
    $$insert into nightshift.runs (function_id, max_attempts, trigger_kind, trigger_slot)
      values ('tests/latest', 1, 'cron', '2026-01-01 10:00:00Z')$$,
    '23505', null,
    'the database itself refuses a second run for a cron slot');

-- Catch-up: latest
update nightshift.schedules set next_slot = '2026-01-01 10:05:00Z' where function_id = 'tests/latest';
select is(nightshift.tick('2026-01-01 11:02:00Z'), 1, 'after downtime, latest enqueues one run');
select is((select max(trigger_slot) from nightshift.runs where function_id = 'tests/latest'), '2026-01-01 11:00:00Z'::timestamptz,
    'latest runs the newest due slot');
select results_eq(
    $$select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/latest'$$,
    $$values ('2026-01-01 10:05:00Z'::timestamptz, '2026-01-01 10:55:00Z'::timestamptz, 11, 'catch_up_latest')$$,
    'the eleven older due slots are recorded as one skipped range');
select is((select next_slot from nightshift.schedules where function_id = 'tests/latest'), '2026-01-01 11:05:00Z'::timestamptz,
    'next_slot moves past the tick instant');

-- Catch-up: all, capped
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/all';
select is(nightshift.tick('2026-01-01 11:02:00Z'), 3, 'after downtime, all enqueues up to its cap');
select results_eq(
    $$select trigger_slot from nightshift.runs where function_id = 'tests/all' order by trigger_slot$$,
    $$values ('2026-01-01 10:50:00Z'::timestamptz), ('2026-01-01 10:55:00Z'), ('2026-01-01 11:00:00Z')$$,
    'all runs the newest due slots');
select results_eq(
    $$select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/all'$$,
    $$values ('2026-01-01 10:00:00Z'::timestamptz, '2026-01-01 10:45:00Z'::timestamptz, 10, 'catch_up_cap')$$,
    'the due slots beyond the cap are recorded as skipped');
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
update nightshift.schedules set next_slot = '2026-01-01 12:00:00Z' where function_id = 'tests/all';
select is(nightshift.tick('2026-01-01 12:11:00Z'), 3, 'within the cap, all enqueues every due slot');
select is((select count(*)::integer from nightshift.skipped_slots where function_id = 'tests/all'), 1,
    'within the cap nothing more is recorded as skipped');

-- Catch-up: skip (a slot at most 60 s late still runs)
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id = 'tests/skip';
select is(nightshift.tick('2026-01-01 10:00:30Z'), 1, 'skip runs a slot that is on time');
select is(nightshift.tick('2026-01-01 10:21:00Z'), 1, 'skip runs the newest slot when it is exactly 60 s late');
select results_eq(
    $$select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/skip'$$,
    $$values ('2026-01-01 10:05:00Z'::timestamptz, '2026-01-01 10:15:00Z'::timestamptz, 3, 'catch_up_skip')$$,
    'skip records the older slots it did not run');
select is(nightshift.tick('2026-01-01 10:27:00Z'), 0, 'skip does not run a slot two minutes late');
select results_eq(
    $$select first_slot, last_slot, slot_count from nightshift.skipped_slots where function_id = 'tests/skip' order by id desc limit 1$$,
    $$values ('2026-01-01 10:25:00Z'::timestamptz, '2026-01-01 10:25:00Z'::timestamptz, 1)$$,
    'the late slot is recorded as skipped');
select is((select next_slot from nightshift.schedules where function_id = 'tests/skip'), '2026-01-01 10:30:00Z'::timestamptz,
    'skip still moves next_slot on');

-- Switched off
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
update nightshift.schedules set next_slot = '2026-01-01 10:00:00Z' where function_id in ('tests/off', 'tests/disabled');
select is(nightshift.tick('2026-01-01 10:00:30Z'), 0, 'a disabled schedule and a disabled function enqueue nothing');
select is((select count(*)::integer from nightshift.runs where function_id in ('tests/off', 'tests/disabled')), 0,
    'no run exists for them');
select is((select count(*)::integer from nightshift.schedules where function_id in ('tests/off', 'tests/disabled') and next_slot = '2026-01-01 10:00:00Z'), 2,
    'their next_slot is left alone, so the gap is recorded when they come back');

-- A long downtime of a per-minute job: counted by day, not slot by slot
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
select nightshift.sync_functions('[{"id": "tests/minutely", "schedule": {"cron": "* * * * *", "timezone": "Europe/London"}}]');
update nightshift.schedules set next_slot = '2026-01-01 00:00:00Z' where function_id = 'tests/minutely';
select is(nightshift.tick('2026-03-12 00:00:30Z'), 1, 'after 70 days down, a per-minute job enqueues one run');
select results_eq(
    $$select first_slot, last_slot, slot_count from nightshift.skipped_slots where function_id = 'tests/minutely'$$,
    $$values ('2026-01-01 00:00:00Z'::timestamptz, '2026-03-11 23:59:00Z'::timestamptz, 70 * 1440)$$,
    'the 100,800 missed minutes are recorded as one range with their exact count');

-- DST: a cron at a skipped wall time still gets its slot once
update nightshift.schedules set next_slot = 'infinity' where function_id like 'tests/%';
select nightshift.sync_functions('[{"id": "tests/ny", "schedule": {"cron": "30 2 * * *", "timezone": "America/New_York"}}]');
update nightshift.schedules set next_slot = nightshift.next_fire('30 2 * * *', 'America/New_York', '2026-03-07 12:00:00Z')
where function_id = 'tests/ny';
select is(nightshift.tick('2026-03-08 07:00:10Z'), 1, 'the 02:30 slot of the spring-forward day is enqueued at 03:00 EDT');
select is((select trigger_slot from nightshift.runs where function_id = 'tests/ny'), '2026-03-08 07:00:00Z'::timestamptz,
    'its slot is the end of the gap');

-- Housekeeping: tick prunes with the default retention at most once an hour.
update nightshift.maintenance set last_run_at = '-infinity' where task = 'prune';
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, finished_at)
values ('tests/latest', 'completed', 1, 'manual', now() - interval '15 days');
select nightshift.tick('2026-01-01 00:00:00Z');
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/latest' and finished_at < now() - interval '14 days'), 0,
    'tick prunes runs finished more than 14 days ago');
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, finished_at)
values ('tests/latest', 'completed', 1, 'manual', now() - interval '15 days');
select nightshift.tick('2026-01-01 00:00:00Z');
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/latest' and finished_at < now() - interval '14 days'), 1,
    'a second tick within the hour does not prune again');

select throws_ok($$select nightshift.tick(null)$$, '22023', 'tick needs a finite instant, got null', 'a null instant is refused');
select throws_ok($$select nightshift.tick('infinity')$$, '22023', 'tick needs a finite instant, got infinity',
    'an infinite instant is refused rather than enumerating slots forever');

select * from finish();
rollback;
