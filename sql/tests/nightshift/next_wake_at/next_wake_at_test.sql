-- next_wake_at: the earliest future instant at which a run of the given functions may become
-- claimable (a queued run coming due, a lease expiring), so a worker arms a timer for it
-- instead of waiting for its poll (issue 11e).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

-- Only this file's runs are runnable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/wake"},
    {"id": "tests/wake-limited", "concurrency": {"limit": 1, "key": "tenant"}},
    {"id": "tests/other"}
]');
create temporary table t_runs (label text primary key, id uuid);

select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), null,
    'nothing queued or running: no instant to wake at');

insert into t_runs values ('now', nightshift.trigger('tests/wake'));
select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), null,
    'a run due now is not a future instant (the NOTIFY of its enqueue wakes the workers)');

insert into t_runs values ('retry', nightshift.trigger('tests/wake'));
update nightshift.runs set run_at = now() + interval '9 seconds' where id = (select id from t_runs where label = 'retry');
select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), now() + interval '9 seconds',
    'a queued run due later (a retry''s backoff, a durable sleep) is when to wake');

insert into t_runs values ('limited', nightshift.trigger('tests/wake-limited', '{"tenant": "a"}'));
update nightshift.runs set run_at = now() + interval '7 seconds' where id = (select id from t_runs where label = 'limited');
select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), now() + interval '7 seconds',
    'a limited run due later counts too, the earliest instant wins');

insert into t_runs values ('other', nightshift.trigger('tests/other'));
update nightshift.runs set run_at = now() + interval '1 second' where id = (select id from t_runs where label = 'other');
select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), now() + interval '7 seconds',
    'runs of functions the worker does not declare are left out');
select is(nightshift.next_wake_at(null), now() + interval '1 second', 'with null, every function counts');

-- A lease expiring: the run becomes claimable by another worker then.
select nightshift.claim_runs('w1', 1, '3 seconds', array['tests/wake']);
select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), now() + interval '3 seconds',
    'a lease expiring (its worker lost) is when to wake');

-- A sleep through the real function: its end is the next wake-up.
select nightshift.sleep_run(r.id, r.lease_token, 'nap', now() + interval '2 seconds')
from nightshift.runs r where r.id = (select id from t_runs where label = 'now');
select is(nightshift.next_wake_at(array['tests/wake', 'tests/wake-limited']), now() + interval '2 seconds',
    'the end of a durable sleep is when to wake');

select is(
    (select count(*)::integer from pg_proc where oid = 'nightshift.next_wake_at(text[])'::regprocedure
     and provolatile = 's' and prosecdef and has_function_privilege('nightshift_service', oid, 'execute')),
    1, 'next_wake_at is stable, security definer, and the service role may call it');

select * from finish();
rollback;
