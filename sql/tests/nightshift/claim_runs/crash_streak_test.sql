-- Which lost leases count towards quarantine (issue 11f): a crash counts only when the run
-- finished no new step since its previous crash, never when the database restarted since
-- the lease was last renewed, never when other workers lost leases at the same time; and a
-- second crash in a row resumes after a backoff (a later run_at), not at once.
-- Every scenario's leases expire minutes apart from the others' (a lease of 30 s makes a
-- window of 10 s), so that only the mass-loss scenario is a mass loss.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

-- Only this file's runs are runnable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/healthy", "crash_limit": 2},
    {"id": "tests/stuck", "crash_limit": 3},
    {"id": "tests/once", "crash_limit": 1}
]');
create temporary table t_runs (label text primary key, id uuid);

-- Lets the lease of a run expire at now() - p_ago, and claims as p_worker; returns the claim's rows.
create function pg_temp.crash(p_label text, p_ago interval, p_worker text)
returns setof uuid
language sql as $$
    update nightshift.runs set lease_expires_at = now() - p_ago where id = (select id from t_runs where label = p_label);
    select c.id from nightshift.claim_runs(p_worker, 10, '30 seconds') c where not c.quarantined;
$$;
create function pg_temp.step(p_label text, p_name text)
returns void
language sql as $$
    select nightshift.checkpoint_step(r.id, r.lease_token, p_name, '{}') from nightshift.runs r
    where r.id = (select id from t_runs where label = p_label);
$$;

-- Progress between crashes: a healthy run on workers that keep dying.
insert into t_runs values ('healthy', nightshift.trigger('tests/healthy'));
select nightshift.claim_runs('w1', 10, '30 seconds');
select pg_temp.step('healthy', 'one');
select is((select pg_temp.crash('healthy', '50 minutes', 'w2')), (select id from t_runs where label = 'healthy'),
    'a first crash resumes the run at once');
select pg_temp.step('healthy', 'two');
select is((select pg_temp.crash('healthy', '48 minutes', 'w3')), (select id from t_runs where label = 'healthy'),
    'a crash after a new step is not the second of a streak: the run resumes at once, not quarantined at crash_limit 2');
select results_eq($$select status, crash_count, crash_steps from nightshift.runs where id = (select id from t_runs where label = 'healthy')$$,
    $$values ('running', 1, 2)$$, 'the streak restarted at one, at the run''s two finished steps');
select results_eq(
    $$select (error ->> 'counted')::boolean, error ->> 'reason', (error ->> 'steps')::integer from nightshift.run_attempts
      where run_id = (select id from t_runs where label = 'healthy') order by lease_token$$,
    $$values (true, 'first crash', 1), (true, 'progress since the previous crash', 2)$$,
    'each crashed attempt records whether it counted, why, and the steps finished');

-- No progress between crashes: the streak grows; the second crash backs off.
insert into t_runs values ('stuck', nightshift.trigger('tests/stuck'));
select nightshift.claim_runs('w1', 10, '30 seconds');
select pg_temp.step('stuck', 'one');
select is((select pg_temp.crash('stuck', '40 minutes', 'w2')), (select id from t_runs where label = 'stuck'),
    'the first crash of a stuck run resumes it at once');
select is_empty($$select pg_temp.crash('stuck', '38 minutes', 'w3')$$,
    'the second crash in a row without a new step does not resume it at once');
select results_eq(
    $$select status, run_at, crash_count, lease_token, attempt from nightshift.runs where id = (select id from t_runs where label = 'stuck')$$,
    $$values ('queued', now() + interval '1 second', 2, null::bigint, 1)$$,
    'it is requeued after the function''s backoff (1 s), two crashes counted, its attempt not used up');
update nightshift.runs set run_at = now() where id = (select id from t_runs where label = 'stuck');
select set_eq($$select id from nightshift.claim_runs('w4', 10, '30 seconds')$$, $$select id from t_runs where label = 'stuck'$$,
    'once the backoff has passed it is claimed again, as any queued run');
select is_empty($$select pg_temp.crash('stuck', '36 minutes', 'w5')$$,
    'the third crash without progress at crash_limit 3 is not resumed');
select results_eq(
    $$select status, error ->> 'message', (error ->> 'steps')::integer from nightshift.runs where id = (select id from t_runs where label = 'stuck')$$,
    $$values ('failed', 'quarantined: worker lost 3 times in a row', 1)$$,
    'it is quarantined: a run that kills its worker at the same point every time is still caught');

-- A database restart since the lease was last renewed counts against no run.
insert into t_runs values ('restart', nightshift.trigger('tests/once'));
select nightshift.claim_runs('w1', 10, '30 seconds');
update nightshift.runs set claimed_at = pg_postmaster_start_time() - interval '1 minute',
                           updated_at = pg_postmaster_start_time() - interval '1 minute'
where id = (select id from t_runs where label = 'restart');
select is((select pg_temp.crash('restart', '30 minutes', 'w2')), (select id from t_runs where label = 'restart'),
    'a lease last renewed before the database (re)started is not counted: the run resumes, even at crash_limit 1');
select results_eq(
    $$select r.crash_count, (a.error ->> 'counted')::boolean, a.error ->> 'reason'
      from nightshift.runs r join nightshift.run_attempts a on a.run_id = r.id where r.id = (select id from t_runs where label = 'restart')$$,
    $$values (0, false, 'database restart')$$,
    'its crashed attempt says why it did not count');

-- A mass loss: three workers' leases expire within a few seconds of each other.
insert into t_runs values ('mass a', nightshift.trigger('tests/once', '{"n": 1}')),
                          ('mass b', nightshift.trigger('tests/once', '{"n": 2}')),
                          ('mass c', nightshift.trigger('tests/once', '{"n": 3}'));
select nightshift.claim_runs('wa', 1, '30 seconds', array['tests/once']);
select nightshift.claim_runs('wb', 1, '30 seconds', array['tests/once']);
select nightshift.claim_runs('wc', 1, '30 seconds', array['tests/once']);
update nightshift.runs set lease_expires_at = now() - interval '20 minutes' - (payload ->> 'n')::integer * interval '2 seconds'
where id in (select id from t_runs where label like 'mass %');
select set_eq($$select id from nightshift.claim_runs('w9', 10, '30 seconds') where not quarantined$$,
    $$select id from t_runs where label like 'mass %'$$,
    'runs of workers that died together are all resumed, none quarantined at crash_limit 1');
select is((select count(*)::integer from nightshift.run_attempts where run_id in (select id from t_runs where label like 'mass %')
           and error ->> 'reason' = 'mass loss' and not (error ->> 'counted')::boolean), 3,
    'each of their crashes is recorded as a mass loss, not counted');

-- One worker losing several runs is not a mass loss: its runs' crashes count.
insert into t_runs values ('lone a', nightshift.trigger('tests/once', '{"n": 4}')),
                          ('lone b', nightshift.trigger('tests/once', '{"n": 5}'));
select nightshift.claim_runs('wl', 2, '30 seconds', array['tests/once']);
update nightshift.runs set lease_expires_at = now() - interval '10 minutes' where id in (select id from t_runs where label like 'lone %');
select is_empty($$select pg_temp.crash('lone a', '10 minutes', 'w10')$$,
    'several runs lost by one worker are counted (a run that kills its worker takes the others down with it)');
select is((select count(*)::integer from nightshift.runs where id in (select id from t_runs where label like 'lone %') and status = 'failed'), 2,
    'both are quarantined at crash_limit 1');

select * from finish();
rollback;
