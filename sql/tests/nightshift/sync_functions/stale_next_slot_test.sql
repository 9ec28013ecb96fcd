-- sync_functions must never write back a next_slot older than the one in the row (issue 11 c),
-- and a skip range can be recorded only once. In one session: a trigger runs tick() in the
-- middle of a sync, after the sync has looked at the schedule and before it writes it, which
-- is the interleaving two processes produced (tick_race_test.sql plays it with two sessions).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(7);

select nightshift.sync_functions('[{"id": "tests/stale", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}}]');
update nightshift.schedules set next_slot = '2026-01-01 00:00Z' where function_id = 'tests/stale';

-- A tick between the sync's read of the schedule and its write: the sync upserts the function
-- row first, so an update trigger on it runs at exactly that point.
create function pg_temp.tick_in_the_middle() returns trigger language plpgsql as $$
begin
    perform nightshift.tick('2026-01-01 01:02Z');
    return null;
end
$$;
create trigger tick_in_the_middle after update on nightshift.functions
for each row when (new.id = 'tests/stale') execute function pg_temp.tick_in_the_middle();

select lives_ok($$select nightshift.sync_functions('[{"id": "tests/stale", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}}]')$$,
    'a sync of the unchanged schedule succeeds while a tick runs in its middle');
drop trigger tick_in_the_middle on nightshift.functions;

select is((select count(*)::integer from nightshift.runs where function_id = 'tests/stale'), 1,
    'the tick in the middle enqueued the 01:00 slot');
select is((select next_slot from nightshift.schedules where function_id = 'tests/stale'), '2026-01-01 01:05Z'::timestamptz,
    'the sync keeps the next_slot the tick moved on, instead of writing back the one it had read');
select is(nightshift.tick('2026-01-01 01:02Z'), 0, 'the next tick at that instant has nothing to do');
select results_eq(
    $$select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/stale'$$,
    $$values ('2026-01-01 00:00Z'::timestamptz, '2026-01-01 00:55Z'::timestamptz, 12, 'catch_up_latest')$$,
    'the skipped slots are recorded once');

-- The database itself refuses a second record of a range, and the engine's writer yields to it.
select throws_ok(
    $$insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason)
      values ('tests/stale', '2026-01-01 00:00Z', '2026-01-01 00:55Z', 12, 'catch_up_latest')$$,
    '23505', 'duplicate key value violates unique constraint "skipped_slots_first_slot_key"',
    'a second skip record for the same first slot is refused by a named constraint');
select nightshift._skip_slots('tests/stale', nightshift._cron_parse('*/5 * * * *'), 'UTC',
    '2026-01-01 00:00Z', '2026-01-01 00:30Z', 'rescheduled');
select results_eq(
    $$select last_slot, slot_count, reason from nightshift.skipped_slots where function_id = 'tests/stale'$$,
    $$values ('2026-01-01 00:55Z'::timestamptz, 12, 'catch_up_latest')$$,
    '_skip_slots leaves a range already recorded as it was');

select * from finish();
rollback;
