-- The memoised steps a claim returns (engine/0081): a run claimed before (a retry, a durable
-- sleep, a lease taken over) gets every step it finished, through claim_runs' unlimited and
-- limited paths and claim_unlimited_runs alike; a run never started gets '{}' without its
-- steps being looked up (nightshift.steps is not read for it).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(11);

-- Only this file's runs are claimable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[
    {"id": "tests/stepped"},
    {"id": "tests/stepped-limited", "concurrency": {"limit": 5}}
]');
create temporary table t_runs (label text primary key, id uuid);

-- Claims the run labelled p_label alone (the others are not due), and checkpoints p_steps on it.
create function pg_temp.claim_with_steps(p_label text, p_function text, p_steps text[])
returns bigint
language plpgsql as $$
declare
    v_token bigint;
    v_step text;
begin
    update nightshift.runs set run_at = now() - interval '1 minute' where id = (select id from t_runs where label = p_label);
    select c.lease_token into strict v_token from nightshift.claim_runs('w-setup', 1, '30 seconds', array[p_function]) c;
    foreach v_step in array p_steps loop
        perform nightshift.checkpoint_step((select id from t_runs where label = p_label), v_token, v_step,
                                           pg_catalog.jsonb_build_object('done', v_step));
    end loop;
    return v_token;
end
$$;
-- Blocks of nightshift.steps and its primary key this transaction has read so far (every
-- lookup reads at least one, whatever its plan).
create function pg_temp.steps_reads() returns bigint language sql as $$
    select pg_stat_get_xact_blocks_fetched('nightshift.steps'::regclass)
         + pg_stat_get_xact_blocks_fetched('nightshift.steps_pkey'::regclass)
$$;

insert into t_runs values
    ('retried', nightshift.trigger('tests/stepped')),
    ('slept', nightshift.trigger('tests/stepped')),
    ('taken-over', nightshift.trigger('tests/stepped')),
    ('limited-retried', nightshift.trigger('tests/stepped-limited')),
    ('notified-retried', nightshift.trigger('tests/stepped'));
update nightshift.runs set run_at = 'infinity' where id in (select id from t_runs);

-- A retry: one step done, then the attempt failed; due again at once.
select nightshift.fail_run((select id from t_runs where label = 'retried'),
    pg_temp.claim_with_steps('retried', 'tests/stepped', '{fetch,score}'), '{"message": "boom"}', true);
update nightshift.runs set run_at = 'infinity' where id = (select id from t_runs where label = 'retried');
-- A durable sleep: the sleep is a step itself.
select nightshift.sleep_run((select id from t_runs where label = 'slept'),
    pg_temp.claim_with_steps('slept', 'tests/stepped', '{fetch}'), 'nap', now() + interval '1 hour');
update nightshift.runs set run_at = 'infinity' where id = (select id from t_runs where label = 'slept');
-- A lease that expires: the next claim takes the run over (resumed, not requeued).
select pg_temp.claim_with_steps('taken-over', 'tests/stepped', '{fetch}');
update nightshift.runs set lease_expires_at = 'infinity' where id = (select id from t_runs where label = 'taken-over');
select nightshift.fail_run((select id from t_runs where label = 'limited-retried'),
    pg_temp.claim_with_steps('limited-retried', 'tests/stepped-limited', '{fetch}'), '{"message": "boom"}', true);
update nightshift.runs set run_at = 'infinity' where id = (select id from t_runs where label = 'limited-retried');
select nightshift.fail_run((select id from t_runs where label = 'notified-retried'),
    pg_temp.claim_with_steps('notified-retried', 'tests/stepped', '{fetch}'), '{"message": "boom"}', true);
update nightshift.runs set run_at = 'infinity' where id = (select id from t_runs where label = 'notified-retried');

-- 1. claim_runs' unlimited path: three new runs beside the retried, slept and taken-over ones.
insert into t_runs values
    ('new-1', nightshift.trigger('tests/stepped')),
    ('new-2', nightshift.trigger('tests/stepped')),
    ('new-3', nightshift.trigger('tests/stepped'));
update nightshift.runs set run_at = now() - interval '1 minute'
where id in (select id from t_runs where label in ('retried', 'slept', 'new-1', 'new-2', 'new-3'));
update nightshift.runs set lease_expires_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'taken-over');

create temporary table t_scans (label text primary key, scans bigint);
create temporary table t_claim as select * from nightshift.claim_runs('w1', 10, '30 seconds', '{tests/stepped}');

select results_eq(
    $$select t.label, c.steps from t_claim c join t_runs t on t.id = c.id where t.label like 'new-%' order by t.label$$,
    $$values ('new-1', '{}'::jsonb), ('new-2', '{}'::jsonb), ('new-3', '{}'::jsonb)$$,
    'claim_runs: new runs get no steps');
select results_eq(
    $$select t.label, c.steps from t_claim c join t_runs t on t.id = c.id where t.label not like 'new-%' order by t.label$$,
    $$select t.label, (select pg_catalog.jsonb_object_agg(s.name, s.output) from nightshift.steps s where s.run_id = t.id)
      from t_runs t where t.label in ('retried', 'slept', 'taken-over') order by t.label$$,
    'a retried, a slept and a taken-over run get the steps they finished');
select results_eq(
    $$select t.label, array(select pg_catalog.jsonb_object_keys(c.steps) order by 1) from t_claim c
      join t_runs t on t.id = c.id where t.label not like 'new-%' order by t.label$$,
    $$values ('retried', array['fetch', 'score']), ('slept', array['fetch', 'nap']), ('taken-over', array['fetch'])$$,
    'every one of them, the durable sleep among them as a step of its own');
select is((select count(*) from t_claim), 6::bigint, 'six runs claimed');

-- 2. The same with nothing but new runs: nightshift.steps is not read at all.
insert into t_runs values ('new-4', nightshift.trigger('tests/stepped')), ('new-5', nightshift.trigger('tests/stepped'));
update nightshift.runs set run_at = now() - interval '1 minute' where id in (select id from t_runs where label in ('new-4', 'new-5'));
insert into t_scans values ('before-new', pg_temp.steps_reads());
select is((select count(*) from nightshift.claim_runs('w1', 10, '30 seconds', '{tests/stepped}') c where c.steps = '{}'), 2::bigint,
    'two new runs claimed, no steps');
select is(pg_temp.steps_reads() - (select scans from t_scans where label = 'before-new'), 0::bigint,
    'a claim of new runs only never reads nightshift.steps');

-- 3. claim_runs' limited path: a retried limited run beside a new one.
insert into t_runs values ('limited-new', nightshift.trigger('tests/stepped-limited'));
update nightshift.runs set run_at = now() - interval '1 minute'
where id in (select id from t_runs where label in ('limited-retried', 'limited-new'));
select results_eq(
    $$select t.label, c.steps from nightshift.claim_runs('w1', 10, '30 seconds', '{tests/stepped-limited}') c
      join t_runs t on t.id = c.id order by t.label$$,
    $$values ('limited-new', '{}'::jsonb), ('limited-retried', '{"fetch": {"done": "fetch"}}'::jsonb)$$,
    'limited path: the retried run gets its step, the new one none');

-- 4. claim_unlimited_runs (a NOTIFY's claim): the same.
insert into t_runs values ('notified-new', nightshift.trigger('tests/stepped'));
update nightshift.runs set run_at = now() - interval '1 minute'
where id in (select id from t_runs where label in ('notified-retried', 'notified-new'));
insert into t_scans values ('before-notified', pg_temp.steps_reads());
select results_eq(
    $$select t.label, c.steps from nightshift.claim_unlimited_runs('w2', 10, '30 seconds', '{tests/stepped}') c
      join t_runs t on t.id = c.id order by t.label$$,
    $$values ('notified-new', '{}'::jsonb), ('notified-retried', '{"fetch": {"done": "fetch"}}'::jsonb)$$,
    'claim_unlimited_runs: the retried run gets its step, the new one none');
insert into t_runs values ('notified-new-2', nightshift.trigger('tests/stepped'));
update nightshift.runs set run_at = now() - interval '1 minute' where id = (select id from t_runs where label = 'notified-new-2');
insert into t_scans values ('before-notified-new', pg_temp.steps_reads());
select is((select c.steps from nightshift.claim_unlimited_runs('w2', 10, '30 seconds', '{tests/stepped}') c), '{}'::jsonb,
    'claim_unlimited_runs: a new run, no steps');
select is(pg_temp.steps_reads() - (select scans from t_scans where label = 'before-notified-new'), 0::bigint,
    'without reading nightshift.steps');

select cmp_ok(pg_temp.steps_reads() - (select scans from t_scans where label = 'before-notified'), '>', 0::bigint,
    'while the claim of a run claimed before did read them (what the checks of 0 blocks above tell apart)');

select * from finish();
rollback;
