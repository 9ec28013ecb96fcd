-- prune: deletes finished runs (with steps and attempts), events and skipped-slot records
-- older than the retention; unfinished runs are work and are kept whatever their age.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

select nightshift.sync_functions('[{"id": "tests/old"}]');
-- Everything already in the database is recent enough to survive this file's prunes.
update nightshift.runs set finished_at = now() where finished_at is not null;
update nightshift.events set created_at = now();
update nightshift.skipped_slots set recorded_at = now();

insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, created_at, finished_at) values
    ('00000000-0000-0000-0000-000000000001', 'tests/old', 'completed', 1, 'manual', now() - interval '30 days', now() - interval '20 days'),
    ('00000000-0000-0000-0000-000000000002', 'tests/old', 'failed', 1, 'manual', now() - interval '30 days', now() - interval '15 days'),
    ('00000000-0000-0000-0000-000000000003', 'tests/old', 'cancelled', 1, 'manual', now() - interval '30 days', now() - interval '2 days'),
    ('00000000-0000-0000-0000-000000000004', 'tests/old', 'queued', 1, 'manual', now() - interval '30 days', null);
insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, created_at, started_at,
                             lease_owner, lease_token, lease_expires_at, claimed_at) values
    ('00000000-0000-0000-0000-000000000005', 'tests/old', 'running', 1, 'manual', now() - interval '30 days',
     now() - interval '30 days', 'w1', 1, now() + interval '1 minute', now() - interval '30 days');
insert into nightshift.steps (run_id, name, output, attempt) values ('00000000-0000-0000-0000-000000000001', 's', '{}', 1);
insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome)
values ('00000000-0000-0000-0000-000000000001', 1, 1, 'w1', now() - interval '20 days', now() - interval '20 days', 'completed');
insert into nightshift.events (name, created_at) values ('old.event', now() - interval '20 days'), ('new.event', now());
insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason, recorded_at)
values ('tests/old', now() - interval '20 days', now() - interval '20 days', 1, 'catch_up_latest', now() - interval '20 days');

select is(nightshift.prune(), '{"runs": 2, "events": 1, "skipped_slots": 1}'::jsonb,
    'the default retention of 14 days prunes two runs, one event and one skipped-slot record, and says so');
select set_eq($$select id::text from nightshift.runs where function_id = 'tests/old'$$,
    $$values ('00000000-0000-0000-0000-000000000003'), ('00000000-0000-0000-0000-000000000004'), ('00000000-0000-0000-0000-000000000005')$$,
    'recent finished runs and every unfinished run, however old, are kept');
select is((select count(*)::integer from nightshift.steps where run_id = '00000000-0000-0000-0000-000000000001'), 0,
    'the steps of a pruned run go with it');
select is((select count(*)::integer from nightshift.run_attempts where run_id = '00000000-0000-0000-0000-000000000001'), 0,
    'the attempts of a pruned run go with it');
select is((select count(*)::integer from nightshift.events where name in ('old.event', 'new.event')), 1,
    'recent events are kept');

select is(nightshift.prune('1 day'), '{"runs": 1, "events": 0, "skipped_slots": 0}'::jsonb,
    'a shorter retention prunes more');
select is(nightshift.prune('0 seconds') ->> 'runs', '0',
    'a zero retention prunes runs finished before now, nothing else is finished here');
select set_eq($$select id::text from nightshift.runs where function_id = 'tests/old'$$,
    $$values ('00000000-0000-0000-0000-000000000004'), ('00000000-0000-0000-0000-000000000005')$$,
    'queued and running runs survive any retention');
select throws_ok($$select nightshift.prune('-1 day')$$, '22023', 'prune needs a retention of zero or more, got -1 days',
    'a negative retention is refused');
select throws_ok($$select nightshift.prune(null)$$, '22023', 'prune needs a retention of zero or more, got null',
    'a null retention is refused');

select * from finish();
rollback;
