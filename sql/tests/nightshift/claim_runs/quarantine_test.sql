-- claim_runs hands a run it quarantines back once, marked quarantined, to a worker that
-- declares its function, so that worker runs onFailure (issue 11b); the run is failed and
-- never leased or run again.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(11);

-- Only this file's runs are runnable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/poison", "crash_limit": 2},
    {"id": "tests/brittle", "crash_limit": 1},
    {"id": "tests/plain"}
]');
create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values ('poison', nightshift.trigger('tests/poison', '{"n": 1}'));

-- Two crashes without progress, a minute apart (a worker each time).
select nightshift.claim_runs('w1', 1, '30 seconds', array['tests/poison']);
update nightshift.runs set lease_expires_at = now() - interval '3 minutes' where id = (select id from t_runs where label = 'poison');
select is((select count(*)::integer from nightshift.claim_runs('w2', 1, '30 seconds', array['tests/poison']) where not quarantined), 1,
    'the first crash is resumed at once, as a normal claim');
update nightshift.runs set lease_expires_at = now() - interval '2 minutes' where id = (select id from t_runs where label = 'poison');

insert into t_runs values ('queued', nightshift.trigger('tests/plain'));
create temporary table t_q as select * from nightshift.claim_runs('w3', 5, '30 seconds', array['tests/poison', 'tests/plain']);
select results_eq(
    $$select id, quarantined, lease_token, function_id, payload, attempt, error ->> 'message', (error ->> 'crash_count')::integer
      from t_q where quarantined$$,
    $$select id, true, null::bigint, 'tests/poison', '{"n": 1}'::jsonb, 1, 'quarantined: worker lost 2 times in a row', 2
      from t_runs where label = 'poison'$$,
    'the claim that quarantines the run returns it once: quarantined, no lease token, with its payload, attempt and error');
select results_eq($$select correlation_id from t_q where quarantined$$,
    $$select correlation_id from nightshift.runs where id = (select id from t_runs where label = 'poison')$$,
    'with its correlation id, for onFailure''s log lines');
select set_eq($$select id from t_q where not quarantined$$, $$select id from t_runs where label = 'queued'$$,
    'the same claim still claims the other runs, as ordinary rows (quarantined = false)');
select is((select count(*)::integer from t_q where not quarantined and error is null and lease_token is not null), 1,
    'an ordinary row has a lease token and no error');
select results_eq(
    $$select status, lease_token, finished_at from nightshift.runs where id = (select id from t_runs where label = 'poison')$$,
    $$values ('failed', null::bigint, now())$$,
    'the quarantined run is failed already: the worker must not run it');
select is_empty($$select * from nightshift.claim_runs('w4', 5, '30 seconds', array['tests/poison', 'tests/plain'])$$,
    'it is returned once only: a later claim does not hand it out again');

-- Only a worker that declares the function gets it (and so can call its onFailure).
insert into t_runs values ('brittle', nightshift.trigger('tests/brittle'));
select nightshift.claim_runs('w1', 1, '30 seconds', array['tests/brittle']);
update nightshift.runs set lease_expires_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'brittle');
select is_empty($$select * from nightshift.claim_runs('w5', 5, '30 seconds', array['tests/plain'])$$,
    'a worker without the function neither quarantines the run nor gets it');
select is((select status from nightshift.runs where id = (select id from t_runs where label = 'brittle')), 'running',
    'the run waits, expired, for a worker that declares its function');

-- A quarantined row takes a place of max_runs, so a claim never returns more rows than asked.
insert into t_runs values ('after', nightshift.trigger('tests/brittle'));
create temporary table t_one as select * from nightshift.claim_runs('w6', 1, '30 seconds', array['tests/brittle']);
select results_eq($$select id, quarantined from t_one$$, $$select id, true from t_runs where label = 'brittle'$$,
    'a claim of one returns the quarantined run alone');
select set_eq($$select id from nightshift.claim_runs('w6', 1, '30 seconds', array['tests/brittle'])$$,
    $$select id from t_runs where label = 'after'$$,
    'the queued run comes with the next claim');

select * from finish();
rollback;
