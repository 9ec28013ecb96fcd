-- claim_runs: oldest runnable runs first, a new fencing token per claim, memoised steps,
-- concurrency limits per key, expired leases resumed with their crash counted or quarantined.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(36);

-- Only this file's runs are runnable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/plain"},
    {"id": "tests/single", "concurrency": {"limit": 1}},
    {"id": "tests/pair", "concurrency": {"limit": 2, "key": "tenant"}},
    {"id": "tests/fragile", "crash_limit": 2}
]');

-- Order, lease, token
create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values
    ('newest', nightshift.trigger('tests/plain', '{"n": 3}')),
    ('oldest', nightshift.trigger('tests/plain', '{"n": 1}')),
    ('middle', nightshift.trigger('tests/plain', '{"n": 2}')),
    ('future', nightshift.trigger('tests/plain', '{"n": 4}'));
update nightshift.runs r set run_at = now() - case t.label when 'oldest' then interval '3 minutes'
    when 'middle' then interval '2 minutes' when 'newest' then interval '1 minute' else interval '-1 minute' end
from t_runs t where r.id = t.id;

create temporary table t_first as select * from nightshift.claim_runs('w1', 2, '30 seconds');
select set_eq($$select id from t_first$$, $$select id from t_runs where label in ('oldest', 'middle')$$,
    'a claim takes the runs with the oldest run_at first');
select results_eq(
    $$select distinct r.status, r.lease_owner, r.lease_expires_at, r.claimed_at, r.started_at
      from nightshift.runs r join t_first f on f.id = r.id$$,
    $$values ('running', 'w1', now() + interval '30 seconds', now(), now())$$,
    'claimed runs are running, leased to the worker until now + lease, started now');
select results_eq(
    $$select payload, attempt, max_attempts, trigger_kind, steps from t_first where id = (select id from t_runs where label = 'oldest')$$,
    $$values ('{"n": 1}'::jsonb, 1, 4, 'manual', '{}'::jsonb)$$,
    'a claim returns the payload, attempt, max attempts, trigger and (no) steps');
select is((select count(distinct lease_token)::integer from t_first), 2,
    'every claimed run gets its own lease token');
select ok((select bool_and(f.lease_token = r.lease_token) from t_first f join nightshift.runs r on r.id = f.id),
    'the returned token is the one stored on the run');

create temporary table t_second as select * from nightshift.claim_runs('w2', 5, '30 seconds');
select set_eq($$select id from t_second$$, $$select id from t_runs where label = 'newest'$$,
    'a later claim takes what is left and never a run already claimed or not yet due');
select cmp_ok((select min(lease_token) from t_second), '>', (select max(lease_token) from t_first),
    'lease tokens increase from claim to claim');
select is_empty($$select * from nightshift.claim_runs('w3', 5, '30 seconds')$$,
    'nothing is left to claim');
select is_empty($$select * from nightshift.claim_runs('w3', 0, '30 seconds')$$,
    'a claim of zero runs claims nothing');

-- Steps come back with the claim of a resumed run, and the new claim has a higher token.
select nightshift.checkpoint_step(f.id, f.lease_token, 'fetch', '{"rows": 7}') from t_first f
where f.id = (select id from t_runs where label = 'oldest');
select nightshift.sleep_run(f.id, f.lease_token, 'nap', now()) from t_first f
where f.id = (select id from t_runs where label = 'oldest');
create temporary table t_resumed as select * from nightshift.claim_runs('w4', 5, '1 minute');
select is((select steps from t_resumed), jsonb_build_object('fetch', '{"rows": 7}'::jsonb, 'nap', jsonb_build_object('until', now())),
    'a resumed run is claimed together with its memoised steps');
select cmp_ok((select lease_token from t_resumed), '>', (select lease_token from t_first where id = (select id from t_runs where label = 'oldest')),
    'claiming the same run again gives a higher token');
select is((select started_at from nightshift.runs where id = (select id from t_resumed)), now(),
    'started_at keeps the first start');

-- Singleton
insert into t_runs values ('single 1', nightshift.trigger('tests/single')), ('single 2', nightshift.trigger('tests/single'));
update nightshift.runs set run_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'single 1');
create temporary table t_single as select * from nightshift.claim_runs('w1', 10, '30 seconds');
select set_eq($$select id from t_single$$, $$select id from t_runs where label = 'single 1'$$,
    'only one run of a singleton is claimed, the oldest');
select is_empty($$select * from nightshift.claim_runs('w2', 10, '30 seconds')$$,
    'the second run of a singleton is not claimed while the first runs');
select nightshift.complete_run(id, lease_token, '{}') from t_single;
select set_eq($$select id from nightshift.claim_runs('w2', 10, '30 seconds')$$, $$select id from t_runs where label = 'single 2'$$,
    'the second run is claimed once the first completed');
select throws_ok(
    $$update nightshift.runs set status = 'running', finished_at = null, lease_token = 1, lease_owner = 'x', lease_expires_at = now(), claimed_at = now()
      where id = (select id from t_runs where label = 'single 1')$$,
    '23505', null,
    'the database itself refuses two running runs of a singleton');

-- A limit of two per concurrency key
select nightshift.enqueue_many('tests/pair',
    '[{"tenant": "a"}, {"tenant": "a"}, {"tenant": "a"}, {"tenant": "b"}, {"tenant": "b"}, {"tenant": "b"}, {}, {}, {}]');
create temporary table t_pair as select * from nightshift.claim_runs('w1', 50, '30 seconds');
select results_eq(
    $$select payload ->> 'tenant', count(*)::integer from t_pair group by 1 order by 1 nulls last$$,
    $$values ('a', 2), ('b', 2), (null, 2)$$,
    'at most two runs per concurrency key are claimed, runs without the key field forming one group');
select is_empty($$select * from nightshift.claim_runs('w2', 50, '30 seconds')$$,
    'no further run of a full group is claimed');
select nightshift.complete_run(id, lease_token, '{}') from t_pair where payload ->> 'tenant' = 'a' limit 1;
select results_eq($$select payload ->> 'tenant' from nightshift.claim_runs('w2', 50, '30 seconds')$$, $$values ('a')$$,
    'completing one run of a group frees exactly one place in that group');
select is((select count(*)::integer from nightshift.claim_runs('w2', 1, '30 seconds')), 0,
    'max_runs is respected within the limits too (nothing free is left anyway)');

-- An expired lease: the run is resumed by another worker and the crash counted.
insert into t_runs values ('crashy', nightshift.trigger('tests/plain', '{"n": 5}'));
create temporary table t_crash1 as select * from nightshift.claim_runs('w1', 1, '30 seconds');
update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_crash1);
select is((select id from nightshift.stuck_runs where function_id = 'tests/plain'), (select id from t_crash1),
    'a running run whose lease expired shows in stuck_runs');
create temporary table t_crash2 as select * from nightshift.claim_runs('w2', 5, '30 seconds');
select is((select id from t_crash2), (select id from t_crash1),
    'another worker claims the run whose lease expired');
select cmp_ok((select lease_token from t_crash2), '>', (select lease_token from t_crash1),
    'the resumed claim has a higher token, fencing the lost worker out');
select results_eq(
    $$select status, lease_owner, crash_count, attempt from nightshift.runs where id = (select id from t_crash1)$$,
    $$values ('running', 'w2', 1, 1)$$,
    'the run is running under the new worker, one crash counted, the attempt not used up');
select results_eq(
    $$select worker, outcome, started_at, finished_at, error ->> 'message' from nightshift.run_attempts
      where run_id = (select id from t_crash1)$$,
    $$values ('w1', 'crashed', now(), now() - interval '1 second', 'lease expired: worker "w1" stopped renewing it')$$,
    'the lost claim is recorded as a crashed attempt, ended when its lease expired');
select is_empty($$select * from nightshift.stuck_runs where function_id = 'tests/plain'$$,
    'once resumed the run is no longer stuck');

-- Quarantine at the crash limit. (Its leases expire a minute before crashy's: two workers
-- losing leases at the same instant would be a mass loss, which counts against no run.)
insert into t_runs values ('fragile', nightshift.trigger('tests/fragile'));
select nightshift.claim_runs('w1', 1, '30 seconds');
update nightshift.runs set lease_expires_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'fragile');
select is((select id from nightshift.claim_runs('w2', 1, '30 seconds')), (select id from t_runs where label = 'fragile'),
    'the first crash of a run with crash limit 2 is resumed');
update nightshift.runs set lease_expires_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'fragile');
select is_empty($$select * from nightshift.claim_runs('w3', 1, '30 seconds') where not quarantined$$,
    'at the crash limit the run is not claimed again (only handed back as quarantined)');
select results_eq(
    $$select status, crash_count, error ->> 'message', error ->> 'last_worker', finished_at, lease_token
      from nightshift.runs where id = (select id from t_runs where label = 'fragile')$$,
    $$values ('failed', 2, 'quarantined: worker lost 2 times in a row', 'w2', now(), null::bigint)$$,
    'it is quarantined as failed with the reason and the last worker');
select results_eq(
    $$select worker, outcome from nightshift.run_attempts where run_id = (select id from t_runs where label = 'fragile') order by lease_token$$,
    $$values ('w1', 'crashed'), ('w2', 'crashed')$$,
    'both lost claims are recorded as crashed attempts');

-- An expired singleton run still holds its place until resumed.
insert into t_runs values ('single 3', nightshift.trigger('tests/single'));
update nightshift.runs set run_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'single 3');
insert into t_runs values ('single 4', nightshift.trigger('tests/single'));
-- 'single 2' still runs; let its lease expire.
update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_runs where label = 'single 2');
select set_eq($$select id from nightshift.claim_runs('w5', 10, '30 seconds')$$, $$select id from t_runs where label = 'single 2'$$,
    'a singleton whose lease expired is resumed, and no other run of it starts meanwhile');

-- A worker claims only the functions it has handlers for.
insert into t_runs values ('other', nightshift.trigger('tests/fragile', '{"n": 6}')), ('mine', nightshift.trigger('tests/plain', '{"n": 6}'));
select set_eq($$select id from nightshift.claim_runs('w6', 10, '30 seconds', array['tests/plain'])$$,
    $$select id from t_runs where label = 'mine'$$,
    'with function_ids, a claim takes only runs of those functions');
select set_eq($$select id from nightshift.claim_runs('w7', 10, '30 seconds', null)$$,
    $$select id from t_runs where label = 'other'$$,
    'with function_ids null, a claim takes runs of any function');

-- Arguments
select throws_ok($$select * from nightshift.claim_runs('w1', 10, '0 seconds')$$, '22023', null,
    'a lease of zero is refused');
select throws_ok($$select * from nightshift.claim_runs('', 10, '30 seconds')$$, '22023', null,
    'an empty worker name is refused');
select throws_ok($$select * from nightshift.claim_runs('w1', -1, '30 seconds')$$, '22023', null,
    'a negative max_runs is refused');

select * from finish();
rollback;
