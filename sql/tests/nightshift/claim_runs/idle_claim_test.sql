-- A claim_runs call that picks no run (a worker's idle poll) skips the claim statement (0087),
-- and still does what follows it: quarantined runs are returned, and the concurrency groups it
-- visited are brought up to date.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(5);

-- Only this file's runs are runnable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/idle-plain"},
    {"id": "tests/idle-brittle", "crash_limit": 1},
    {"id": "tests/idle-tenant", "concurrency": {"limit": 1, "key": "tenant"}}
]');

select is((select count(*)::integer from nightshift.claim_runs('w-idle', 10, '30 seconds',
                                                              array['tests/idle-plain', 'tests/idle-tenant'])),
    0, 'with nothing due, the claim returns no rows');

-- A run whose worker stopped renewing its lease, at its crash limit: the claim that finds it
-- quarantines it, with nothing else to claim.
create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values ('brittle', nightshift.trigger('tests/idle-brittle'));
select nightshift.claim_runs('w-first', 1, '30 seconds', array['tests/idle-brittle']);
update nightshift.runs set lease_expires_at = now() - interval '1 minute'
where id = (select id from t_runs where label = 'brittle');
create temporary table t_quarantined as
select * from nightshift.claim_runs('w-idle', 10, '30 seconds', array['tests/idle-brittle', 'tests/idle-plain']);
select results_eq($$select id, quarantined, lease_token from t_quarantined$$,
    $$select id, true, null::bigint from t_runs where label = 'brittle'$$,
    'a claim that picks nothing else still returns the run it quarantined, once');
select is((select status from nightshift.runs where id = (select id from t_runs where label = 'brittle')), 'failed',
    'and the quarantined run is failed');

-- A group with nothing queued or running (as a group is between a run's end and the claim that
-- folds its hint): the claim visits it, picks nothing, and forgets it.
insert into nightshift.concurrency_groups (function_id, group_key, concurrency_key, concurrency_limit, next_run_at)
values ('tests/idle-tenant', '=a', 'a', 1, now() - interval '1 second');
select is((select count(*)::integer from nightshift.claim_runs('w-idle', 10, '30 seconds', array['tests/idle-tenant'])),
    0, 'the claim visiting the empty group picks nothing');
select is((select count(*)::integer from nightshift.concurrency_groups where function_id = 'tests/idle-tenant'), 0,
    'and forgets the group');

select * from finish();
rollback;
