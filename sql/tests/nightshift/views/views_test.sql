-- The operator views: missed slots newest first, failures by function in the last 24 h,
-- queue depth per function. (stuck_runs is exercised in claim_runs_test.)
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(7);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[
    {"id": "tests/cron", "schedule": {"cron": "0 * * * *", "timezone": "Asia/Riyadh"}},
    {"id": "tests/busy"}
]');

insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason, recorded_at) values
    ('tests/cron', '2026-01-01 00:00Z', '2026-01-01 05:00Z', 6, 'catch_up_latest', now() - interval '1 hour'),
    ('tests/cron', '2026-01-02 00:00Z', '2026-01-02 00:00Z', 1, 'disabled', now());
select results_eq(
    $$select function_id, first_slot, slot_count, reason, cron, timezone from nightshift.missed_slots where function_id = 'tests/cron'$$,
    $$values ('tests/cron', '2026-01-02 00:00Z'::timestamptz, 1, 'disabled', '0 * * * *', 'Asia/Riyadh'),
             ('tests/cron', '2026-01-01 00:00Z'::timestamptz, 6, 'catch_up_latest', '0 * * * *', 'Asia/Riyadh')$$,
    'missed_slots lists skipped ranges newest first, with the schedule they belong to');

insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, error, finished_at) values
    ('tests/busy', 'failed', 1, 'manual', '{"message": "old"}', now() - interval '2 days'),
    ('tests/busy', 'failed', 1, 'manual', '{"message": "earlier"}', now() - interval '2 hours'),
    ('tests/busy', 'failed', 1, 'manual', '{"message": "latest"}', now() - interval '1 hour'),
    ('tests/busy', 'completed', 1, 'manual', null, now());
select results_eq(
    $$select failed_count, last_error, last_failed_at from nightshift.failures_last_24h where function_id = 'tests/busy'$$,
    $$values (2::bigint, '{"message": "latest"}'::jsonb, now() - interval '1 hour')$$,
    'failures_last_24h counts the failures of the last day and shows the latest error');
select is_empty($$select * from nightshift.failures_last_24h where function_id = 'tests/cron'$$,
    'a function without failures is not listed');

select nightshift.enqueue_many('tests/busy', '[{}, {}, {}, {}]');
update nightshift.runs set run_at = now() + interval '1 hour'
where id = (select id from nightshift.runs where function_id = 'tests/busy' and status = 'queued' limit 1);
select nightshift.claim_runs('w1', 1, '30 seconds');
select results_eq(
    $$select queued, running, due_now from nightshift.queue_depth where function_id = 'tests/busy'$$,
    $$values (3::bigint, 1::bigint, 2::bigint)$$,
    'queue_depth counts queued, running and due-now runs per function');
select results_eq(
    $$select queued, running, due_now from nightshift.queue_depth where function_id = 'tests/cron'$$,
    $$values (0::bigint, 0::bigint, 0::bigint)$$,
    'a function with nothing waiting shows zeros');
select is_empty($$select * from nightshift.stuck_runs where function_id = 'tests/busy'$$,
    'a run with a live lease is not stuck');
update nightshift.runs set lease_expires_at = now() - interval '5 minutes' where function_id = 'tests/busy' and status = 'running';
select results_eq($$select lease_owner, overdue from nightshift.stuck_runs where function_id = 'tests/busy'$$,
    $$values ('w1', interval '5 minutes')$$,
    'stuck_runs shows the lost worker and how long the lease is overdue');

select * from finish();
rollback;
