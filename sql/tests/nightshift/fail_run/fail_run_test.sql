-- fail_run: retries with exponential backoff by moving run_at ahead (1 s, 2 s, 4 s by
-- default), fails after the last attempt or at once when not retriable, keeps every
-- attempt's error, and fences out stale tokens.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[
    {"id": "tests/flaky"},
    {"id": "tests/capped", "backoff": {"base_ms": 1000, "multiplier": 10, "max_ms": 5000}},
    {"id": "tests/jittery", "backoff": {"base_ms": 1000, "jitter": true}}
]');

-- Attempt n of tests/flaky fails; returns (outcome, delay of the retry).
create function pg_temp.fail_attempt(p_function text, p_error jsonb, p_retriable boolean default true)
returns table (outcome text, delay interval)
language plpgsql as $$
declare
    v_claim record;
begin
    -- Time passes: the retry is due.
    update nightshift.runs set run_at = now() where function_id = p_function and status = 'queued';
    select * into strict v_claim from nightshift.claim_runs('w1', 1, '30 seconds');
    outcome := nightshift.fail_run(v_claim.id, v_claim.lease_token, p_error, p_retriable);
    select r.run_at - now() into delay from nightshift.runs r where r.id = v_claim.id;
    return next;
end
$$;

select nightshift.trigger('tests/flaky');
select results_eq($$select * from pg_temp.fail_attempt('tests/flaky', '{"message": "boom 1"}')$$,
    $$values ('queued', interval '1 second')$$, 'attempt 1 fails: queued again, due in 1 s');
select results_eq(
    $$select status, attempt, error, lease_token, lease_expires_at, finished_at from nightshift.runs where function_id = 'tests/flaky'$$,
    $$values ('queued', 2, '{"message": "boom 1"}'::jsonb, null::bigint, null::timestamptz, null::timestamptz)$$,
    'the retry is the next attempt, with the error kept and the lease released');
select is_empty($$select * from nightshift.claim_runs('w2', 5, '30 seconds')$$,
    'the retry is not claimable before its backoff has passed');
select results_eq($$select * from pg_temp.fail_attempt('tests/flaky', '{"message": "boom 2"}')$$,
    $$values ('queued', interval '2 seconds')$$, 'attempt 2 fails: due in 2 s');
select results_eq($$select * from pg_temp.fail_attempt('tests/flaky', '{"message": "boom 3"}')$$,
    $$values ('queued', interval '4 seconds')$$, 'attempt 3 fails: due in 4 s');
select results_eq($$select outcome from pg_temp.fail_attempt('tests/flaky', '{"message": "boom 4"}')$$,
    $$values ('failed')$$, 'attempt 4 of 4 fails the run');
select results_eq(
    $$select status, attempt, error, finished_at from nightshift.runs where function_id = 'tests/flaky'$$,
    $$values ('failed', 4, '{"message": "boom 4"}'::jsonb, now())$$,
    'the failed run keeps the last error and its finish time');
select results_eq(
    $$select a.attempt, a.outcome, a.error ->> 'message' from nightshift.run_attempts a
      join nightshift.runs r on r.id = a.run_id where r.function_id = 'tests/flaky' order by a.lease_token$$,
    $$values (1, 'retrying', 'boom 1'), (2, 'retrying', 'boom 2'), (3, 'retrying', 'boom 3'), (4, 'failed', 'boom 4')$$,
    'every attempt''s outcome and error is kept');
select results_eq(
    $$select function_id, failed_count, last_error ->> 'message' from nightshift.failures_last_24h where function_id = 'tests/flaky'$$,
    $$values ('tests/flaky', 1::bigint, 'boom 4')$$,
    'the failure shows in failures_last_24h with its last error');

-- Non-retriable
select nightshift.trigger('tests/capped', '{"n": 1}');
select results_eq($$select outcome from pg_temp.fail_attempt('tests/capped', '{"message": "bad input"}', false)$$,
    $$values ('failed')$$, 'a non-retriable error fails the run at once');
select is((select attempt from nightshift.runs where payload = '{"n": 1}' and function_id = 'tests/capped'), 1,
    'no retry was used');

-- The cap
select nightshift.trigger('tests/capped', '{"n": 2}');
select results_eq($$select delay from pg_temp.fail_attempt('tests/capped', '{}')$$, $$values (interval '1 second')$$,
    'the first retry waits the base delay');
select results_eq($$select delay from pg_temp.fail_attempt('tests/capped', '{}')$$, $$values (interval '5 seconds')$$,
    'a delay beyond max_ms is capped (10 s becomes 5 s)');

-- Jitter: within 20% either way
select nightshift.trigger('tests/jittery');
select ok((select delay between interval '800 milliseconds' and interval '1200 milliseconds' from pg_temp.fail_attempt('tests/jittery', '{}')),
    'a jittered delay stays within 20% of the backoff');

-- Crash streak ends with a normal retry
update nightshift.runs set crash_count = 2 where function_id = 'tests/jittery';
select pg_temp.fail_attempt('tests/jittery', '{}');
select is((select crash_count from nightshift.runs where function_id = 'tests/jittery'), 0,
    'a retry ends the run''s streak of crashes');

-- Fencing
select nightshift.trigger('tests/flaky', '{"fenced": true}');
create temporary table t_old as select * from nightshift.claim_runs('w1', 1, '30 seconds');
update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_old);
select nightshift.claim_runs('w2', 1, '30 seconds');
select throws_ok(format($$select nightshift.fail_run(%L, %s, '{}')$$, (select id from t_old), (select lease_token from t_old)),
    'NSL01', format('lease lost: run %s is no longer owned by this worker', (select id from t_old)),
    'failing a run another worker took over is refused with lease lost');
select is((select status from nightshift.runs where id = (select id from t_old)), 'running',
    'the new owner''s run is untouched');

select * from finish();
rollback;
