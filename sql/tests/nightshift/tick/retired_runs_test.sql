-- Runs of a retired function (issue 11 g): nobody declares it, so nobody claims them. During
-- the grace period (settings.retired_grace, 7 days by default) queue_depth shows them apart;
-- after it, tick fails them with "function retired", counts them for the metrics, and prune
-- treats them like any other finished run.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(21);

-- Only this file's runs are in play.
update nightshift.runs set status = 'cancelled', finished_at = now(), lease_token = null, lease_expires_at = null
where status in ('queued', 'running');
delete from nightshift.outcome_counts;

select from nightshift.sync_functions('[
    {"id": "tests/old"},
    {"id": "tests/old-limited", "concurrency": {"limit": 1}},
    {"id": "tests/keep"}
]');
select from nightshift.enqueue_many('tests/old', '[{"n": 1}, {"n": 2}, {"n": 3}]');
select from nightshift.enqueue_many('tests/old-limited', '[{"n": 1}, {"n": 2}]');
select from nightshift.enqueue_many('tests/keep', '[{"n": 1}]');
-- A run of tests/old that its worker took and then lost (crash): it holds an expired lease.
select from nightshift.claim_runs('w-gone', 1, '30 seconds', array['tests/old']);
update nightshift.runs set lease_expires_at = now() - interval '1 hour' where function_id = 'tests/old' and status = 'running';

select from nightshift.sync_functions('[{"id": "tests/keep"}]');
select ok((select bool_and(retired_at is not null) from nightshift.functions where id in ('tests/old', 'tests/old-limited')),
    'a sync without them retires tests/old and tests/old-limited');

select results_eq(
    $$select function_id, queued, running, due_now, retired_queued, retired_at is not null, retired_fail_at - retired_at
      from nightshift.queue_depth where function_id in ('tests/old', 'tests/old-limited', 'tests/keep') order by function_id$$,
    $$values ('tests/keep', 1::bigint, 0::bigint, 1::bigint, 0::bigint, false, null::interval),
             ('tests/old', 0::bigint, 1::bigint, 0::bigint, 2::bigint, true, interval '7 days'),
             ('tests/old-limited', 0::bigint, 0::bigint, 0::bigint, 2::bigint, true, interval '7 days')$$,
    'queue_depth shows queued runs of retired functions apart, with when they will be failed (7 days by default)');

-- Within the grace period nothing happens to them.
update nightshift.maintenance set last_run_at = '-infinity' where task = 'fail_retired';
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id in ('tests/old', 'tests/old-limited') and status = 'queued'), 4,
    'within the grace period tick leaves them queued (a rolling deploy may declare the function again)');
select is((select last_run_at from nightshift.maintenance where task = 'fail_retired'), now(),
    'the pass is recorded, so the next ones wait a minute');

-- Retired eight days ago: past the grace period.
update nightshift.functions set retired_at = now() - interval '8 days' where id in ('tests/old', 'tests/old-limited');
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id in ('tests/old', 'tests/old-limited') and status = 'queued'), 4,
    'a tick within a minute of the last pass does not look again');
update nightshift.maintenance set last_run_at = '-infinity' where task = 'fail_retired';
select from nightshift.tick();
select results_eq(
    $$select function_id, status, count(*)::integer, bool_and(finished_at = now()) from nightshift.runs
      where function_id in ('tests/old', 'tests/old-limited', 'tests/keep') group by 1, 2 order by 1, 2$$,
    $$values ('tests/keep', 'queued', 1, null::boolean), ('tests/old', 'failed', 3, true), ('tests/old-limited', 'failed', 2, true)$$,
    'past the grace period tick fails every queued run of the retired functions, and the abandoned running one, and nothing else');
select is((select error from nightshift.runs where function_id = 'tests/old' and status = 'failed' limit 1),
    jsonb_build_object('message', 'function retired', 'outcome', 'retired', 'retired_at', now() - interval '8 days', 'grace', '7 days'),
    'the error says why: function retired, when, and the grace period it had');
select results_eq(
    $$select a.outcome, a.worker, a.finished_at from nightshift.run_attempts a join nightshift.runs r on r.id = a.run_id
      where r.function_id = 'tests/old'$$,
    $$values ('crashed', 'w-gone', now() - interval '1 hour')$$,
    'the abandoned run''s lost attempt is recorded as crashed when its lease expired');
select is((select lease_token from nightshift.runs where function_id = 'tests/old' and lease_owner = 'w-gone'), null,
    'and its lease is gone');
select results_eq(
    $$select function_id, retired_queued, running from nightshift.queue_depth where function_id in ('tests/old', 'tests/old-limited') order by 1$$,
    $$values ('tests/old', 0::bigint, 0::bigint), ('tests/old-limited', 0::bigint, 0::bigint)$$,
    'queue_depth no longer counts them');

-- Counted once, for the metrics, whoever ticked.
select results_eq(
    $$select function_id, outcome, runs from nightshift.collect_outcome_counts() order by function_id$$,
    $$values ('tests/old', 'retired', 3::bigint), ('tests/old-limited', 'retired', 2::bigint)$$,
    'collect_outcome_counts returns how many runs of each function were failed as retired');
select is_empty($$select * from nightshift.collect_outcome_counts()$$,
    'and a second collection finds nothing: each count is exported once');

-- Then pruned like every other finished run.
update nightshift.runs set finished_at = now() - interval '15 days' where function_id in ('tests/old', 'tests/old-limited');
select is((nightshift.prune() ->> 'runs')::integer, 5, 'prune deletes them once they are older than the retention');
select is((select count(*)::integer from nightshift.run_attempts a where a.worker = 'w-gone'), 0,
    'with their attempts');

-- The grace period is a setting, read by every ticker (the Swift one and pg_cron alike).
select from nightshift.enqueue_many('tests/keep', '[{"n": 2}]');
select from nightshift.sync_functions('[]');
update nightshift.functions set retired_at = now() - interval '2 days' where id = 'tests/keep';
update nightshift.maintenance set last_run_at = '-infinity' where task = 'fail_retired';
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/keep' and status = 'queued'), 2,
    'retired two days ago: still within the default grace period');
select is((select retired_grace from nightshift.configure(retired_grace => '1 day')), interval '1 day',
    'configure sets the grace period to a day');
select is((select retired_fail_at from nightshift.queue_depth where function_id = 'tests/keep'), now() - interval '1 day',
    'queue_depth follows the setting');
update nightshift.maintenance set last_run_at = '-infinity' where task = 'fail_retired';
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/keep' and status = 'failed'), 2,
    'with a grace period of a day the next pass fails them');

-- Bounded work: one pass fails at most the given number of runs.
select from nightshift.sync_functions('[{"id": "tests/many"}]');
select from nightshift.enqueue_many('tests/many', (select jsonb_agg(jsonb_build_object('n', i)) from generate_series(1, 5) i));
select from nightshift.sync_functions('[]');
update nightshift.functions set retired_at = now() - interval '30 days' where id = 'tests/many';
select is(nightshift._fail_retired_runs('7 days', 3), 3, 'a pass limited to 3 runs fails 3');
select is(nightshift._fail_retired_runs('7 days', 3), 2, 'the next pass fails the other 2');
select is(nightshift._fail_retired_runs('7 days', 3), 0, 'then there is nothing left to fail');

select * from finish();
rollback;
