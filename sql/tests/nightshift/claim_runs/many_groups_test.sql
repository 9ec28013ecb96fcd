-- claim_runs with 20,000 concurrency groups (issue 11a): a claim visits only groups with a
-- free place, takes no lock per group it passes, and never keeps an unlimited run waiting.
-- Before, every claim locked every group with a queued run until commit: at 20,000 groups
-- "out of shared memory" (max_locks_per_transaction), every time, and nothing was claimed.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

-- Only this file's runs are runnable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/tenant", "concurrency": {"limit": 1, "key": "tenant"}},
    {"id": "tests/plain"}
]');
-- 20,000 tenants with two runs each, the second queued behind the first.
select nightshift.enqueue_many('tests/tenant',
    (select jsonb_agg(jsonb_build_object('tenant', 't' || (i % 20000))) from generate_series(0, 39999) i));

create temporary table t_first as
select * from nightshift.claim_runs('w-fill', 20000, '1 hour', array['tests/tenant', 'tests/plain']);
select is((select count(distinct payload ->> 'tenant')::integer from t_first), 20000,
    'one claim takes one run of each of 20,000 groups with a free place');
select is((select count(*)::integer from t_first), 20000, 'and no second run of any group');

-- Every group is full now, but one; and an unlimited run is queued.
create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values
    ('free', nightshift.trigger('tests/tenant', '{"tenant": "free"}')),
    ('plain', nightshift.trigger('tests/plain'));

create temporary table t_claim as
select * from nightshift.claim_runs('w1', 10, '1 minute', array['tests/tenant', 'tests/plain']);
select set_eq($$select id from t_claim$$, $$select id from t_runs$$,
    'with 20,000 full groups a claim of 10 returns the unlimited run and the run of the one group with a place');
select cmp_ok((select count(*)::integer from pg_locks where pid = pg_backend_pid() and locktype = 'advisory'), '<=', 2,
    'the claims took no lock per group: the only advisory locks held are sync_functions'' and the hint fold''s');
select cmp_ok((select count(*)::integer from pg_locks where pid = pg_backend_pid()), '<', 200,
    'the locks this transaction holds stay few, whatever the number of groups');

select is_empty($$select * from nightshift.claim_runs('w2', 10, '1 minute', array['tests/tenant', 'tests/plain'])$$,
    'nothing is left to claim: no full group gives up a run');
select is((select count(*)::integer from nightshift.concurrency_groups where function_id = 'tests/tenant' and not at_limit), 0,
    'every group is marked at its limit, so no claim reads it until a place frees');

-- A place frees in one group among 20,000: that group's run, and no other, is claimed.
select nightshift.complete_run(id, lease_token, '{}') from t_first where payload ->> 'tenant' = 't12345';
select results_eq(
    $$select payload ->> 'tenant' from nightshift.claim_runs('w3', 10, '1 minute', array['tests/tenant', 'tests/plain'])$$,
    $$values ('t12345')$$,
    'completing a run of a full group lets the claim take the run queued behind it, and nothing else');
select is(
    (select count(*)::integer from (
        select r.payload ->> 'tenant' from nightshift.runs r
        where r.function_id = 'tests/tenant' and r.status = 'running'
        group by 1 having count(*) > 1) over_limit), 0,
    'no group has more runs running than its limit');

select * from finish();
rollback;
