-- claim_unlimited_runs, the worker's claim on a NOTIFY (engine/0075): due runs without a
-- concurrency limit of the named functions, oldest first, leased as claim_runs leases them;
-- limited runs, expired leases, runs not yet due and other functions' runs are left alone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

-- Only this file's runs are claimable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/notified"},
    {"id": "tests/other"},
    {"id": "tests/limited", "concurrency": {"limit": 3}}
]');

create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values
    ('newest', nightshift.trigger('tests/notified', '{"n": 3}')),
    ('oldest', nightshift.trigger('tests/notified', '{"n": 1}')),
    ('middle', nightshift.trigger('tests/notified', '{"n": 2}')),
    ('future', nightshift.trigger('tests/notified', '{"n": 4}')),
    ('other', nightshift.trigger('tests/other')),
    ('limited', nightshift.trigger('tests/limited'));
update nightshift.runs r set run_at = now() - case t.label when 'oldest' then interval '3 minutes'
    when 'middle' then interval '2 minutes' when 'future' then interval '-1 minute' else interval '1 minute' end
from t_runs t where r.id = t.id;

create temporary table t_first as select * from nightshift.claim_unlimited_runs('w1', 2, '30 seconds', '{tests/notified}');
select set_eq($$select id from t_first$$, $$select id from t_runs where label in ('oldest', 'middle')$$,
    'the oldest due runs of the named function first, at most max_runs');
select results_eq(
    $$select distinct r.status, r.lease_owner, r.lease_expires_at, r.claimed_at, r.started_at
      from nightshift.runs r join t_first f on f.id = r.id$$,
    $$values ('running', 'w1', now() + interval '30 seconds', now(), now())$$,
    'claimed runs are running, leased to the worker until now + lease, started now');
select results_eq(
    $$select payload, attempt, max_attempts, trigger_kind, steps, quarantined, error from t_first
      where id = (select id from t_runs where label = 'oldest')$$,
    $$values ('{"n": 1}'::jsonb, 1, 4, 'manual', '{}'::jsonb, false, null::jsonb)$$,
    'the row carries what claim_runs returns: payload, attempt, trigger, steps, not quarantined');
select ok((select bool_and(f.lease_token = r.lease_token) and count(distinct f.lease_token) = 2
           from t_first f join nightshift.runs r on r.id = f.id),
    'each run its own lease token, the one stored on the run');

create temporary table t_second as select * from nightshift.claim_unlimited_runs('w2', 10, '30 seconds', '{tests/notified}');
select set_eq($$select id from t_second$$, $$select id from t_runs where label = 'newest'$$,
    'a second claim takes what is left: never a claimed run, a run not yet due, or another function''s');
select cmp_ok((select min(lease_token) from t_second), '>', (select max(lease_token) from t_first),
    'lease tokens keep increasing across claims');
select is_empty($$select * from nightshift.claim_unlimited_runs('w3', 10, '30 seconds', '{tests/limited}')$$,
    'a function with a concurrency limit is claim_runs''s alone');
select is((select status from nightshift.runs where id = (select id from t_runs where label = 'limited')), 'queued',
    'so its run stays queued');
select set_eq($$select id from nightshift.claim_unlimited_runs('w3', 10, '30 seconds', '{tests/other,tests/limited}')$$,
    $$select id from t_runs where label = 'other'$$,
    'several functions at once: every named one without a limit');

-- A run resumed after a durable sleep comes back with its steps.
select nightshift.checkpoint_step(f.id, f.lease_token, 'fetch', '{"rows": 7}') from t_first f
where f.id = (select id from t_runs where label = 'oldest');
select nightshift.sleep_run(f.id, f.lease_token, 'nap', now()) from t_first f
where f.id = (select id from t_runs where label = 'oldest');
create temporary table t_resumed as select * from nightshift.claim_unlimited_runs('w4', 10, '30 seconds', '{tests/notified}');
select results_eq($$select id, steps -> 'fetch', steps ? 'nap' from t_resumed$$,
    $$select id, '{"rows": 7}'::jsonb, true from t_runs where label = 'oldest'$$,
    'a resumed run is claimed with its finished steps (and its sleep)');

-- An expired lease is recovered by claim_runs (it records the crash), never here.
update nightshift.runs set lease_expires_at = now() - interval '1 second'
where id = (select id from t_runs where label = 'newest');
select is_empty($$select * from nightshift.claim_unlimited_runs('w5', 10, '30 seconds', '{tests/notified}')$$,
    'a run whose lease expired is not claimed here');
select is((select lease_owner from nightshift.runs where id = (select id from t_runs where label = 'newest')), 'w2',
    'and it keeps its lease until claim_runs recovers it');

select is_empty($$select * from nightshift.claim_unlimited_runs('w6', 0, '30 seconds', '{tests/other}')$$,
    'a claim of zero runs claims nothing');
select throws_ok($$select * from nightshift.claim_unlimited_runs('', 1, '30 seconds', '{tests/other}')$$,
    '22023', null, 'a worker name is required');
select throws_ok($$select * from nightshift.claim_unlimited_runs('w', 1, '0 seconds', '{tests/other}')$$,
    '22023', null, 'a positive lease is required');
select throws_ok($$select * from nightshift.claim_unlimited_runs('w', 1, '30 seconds', null)$$,
    '22023', null, 'function ids are required (null would claim every function''s runs)');

select * from finish();
rollback;
