-- configure: the engine settings tick() follows, whoever calls it (Swift ticker or pg_cron).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(13);

select results_eq($$select retired_grace, retention from nightshift.settings$$,
    $$values (interval '7 days', interval '14 days')$$,
    'the defaults: retired runs fail after 7 days, history is kept 14 days');
select throws_ok($$insert into nightshift.settings (id) values (false)$$, '23514', null, 'there is only one row of settings');

select results_eq($$select retired_grace, retention from nightshift.configure(retired_grace => '1 day')$$,
    $$values (interval '1 day', interval '14 days')$$,
    'configure changes what it is given and returns every setting');
select results_eq($$select retired_grace, retention from nightshift.configure(retention => '30 days')$$,
    $$values (interval '1 day', interval '30 days')$$,
    'a setting left out (null) stays as it was');
select throws_ok($$select nightshift.configure(retired_grace => '-1 hour')$$, '22023',
    'retired_grace must be zero or more, got -01:00:00', 'a negative grace period is refused');
select throws_ok($$select nightshift.configure(retention => '-1 day')$$, '22023',
    'retention must be zero or more, got -1 days', 'a negative retention is refused');

-- tick's hourly prune keeps history for settings.retention.
select nightshift.sync_functions('[{"id": "tests/configure"}]');
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, finished_at) values
    ('tests/configure', 'completed', 1, 'manual', now() - interval '20 days'),
    ('tests/configure', 'completed', 1, 'manual', now() - interval '40 days');
update nightshift.maintenance set last_run_at = '-infinity' where task = 'prune';
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/configure'), 1,
    'with a retention of 30 days tick prunes the run finished 40 days ago and keeps the one of 20 days ago');

-- prune_every: how often tick prunes.
select is((select prune_every from nightshift.settings), interval '1 hour', 'tick prunes at most hourly by default');
select throws_ok($$select nightshift.configure(prune_every => '0 seconds')$$, '22023',
    'prune_every must be at least 1 second, got 00:00:00', 'pruning more than once a second is refused');
select nightshift.configure(prune_every => '1 minute');
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, finished_at) values
    ('tests/configure', 'completed', 1, 'manual', now() - interval '50 days');
update nightshift.maintenance set last_run_at = now() - interval '2 minutes' where task = 'prune';
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/configure'), 1,
    'with prune_every 1 minute, a prune two minutes ago is due again');
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, finished_at) values
    ('tests/configure', 'completed', 1, 'manual', now() - interval '50 days');
select from nightshift.tick();
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/configure'), 2,
    'and not again within the minute');

set local role nightshift_service;
select lives_ok($$select nightshift.configure(retired_grace => '2 days')$$, 'the service role may configure');
select throws_ok($$update nightshift.settings set retention = '1 day'$$, '42501', null,
    'the service role changes settings only through configure');
reset role;

select * from finish();
rollback;
