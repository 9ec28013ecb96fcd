-- The engine's schema: tables, the invariants the database enforces on its own, and the
-- function conventions (search_path pinned, public API as security definer).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(22);

select is_empty(
    $$select unnest(array['functions', 'schedules', 'runs', 'run_attempts', 'steps', 'events', 'skipped_slots', 'maintenance',
                         'settings', 'outcome_counts'])
      except select tablename::text from pg_tables where schemaname = 'nightshift'$$,
    'every engine table exists');
select is_empty(
    $$select unnest(array['stuck_runs', 'missed_slots', 'failures_last_24h', 'queue_depth'])
      except select viewname::text from pg_views where schemaname = 'nightshift'$$,
    'every operator view exists');
select has_pk('nightshift', 'steps', 'steps are keyed by run and name');
select col_is_pk('nightshift', 'run_attempts', array['run_id', 'lease_token'], 'an attempt is keyed by its run and claim token');
select has_sequence('nightshift', 'runs_lease_token_seq', 'lease tokens come from a sequence');

select nightshift.sync_functions('[{"id": "tests/schema", "schedule": {"cron": "@hourly", "timezone": "UTC"}}]');

select throws_ok($$insert into nightshift.runs (function_id, status, max_attempts, trigger_kind) values ('tests/schema', 'paused', 1, 'manual')$$,
    '23514', 'new row for relation "runs" violates check constraint "runs_status_is_valid"',
    'an unknown run status is refused by a named constraint');
select throws_ok($$insert into nightshift.runs (function_id, max_attempts, trigger_kind) values ('tests/schema', 1, 'webhook')$$,
    '23514', 'new row for relation "runs" violates check constraint "runs_trigger_kind_is_valid"',
    'an unknown trigger kind is refused by a named constraint');
select throws_ok($$insert into nightshift.runs (function_id, max_attempts, trigger_kind) values ('tests/schema', 1, 'cron')$$,
    '23514', 'new row for relation "runs" violates check constraint "runs_trigger_is_complete"',
    'a cron run without its slot is refused');
select throws_ok($$insert into nightshift.runs (function_id, status, max_attempts, trigger_kind) values ('tests/schema', 'running', 1, 'manual')$$,
    '23514', 'new row for relation "runs" violates check constraint "runs_lease_matches_status"',
    'a running run without a lease is refused');
select throws_ok($$insert into nightshift.runs (function_id, status, max_attempts, trigger_kind) values ('tests/schema', 'completed', 1, 'manual')$$,
    '23514', 'new row for relation "runs" violates check constraint "runs_finished_at_matches_status"',
    'a finished run without a finish time is refused');
select throws_ok($$insert into nightshift.runs (function_id, attempt, max_attempts, trigger_kind) values ('tests/schema', 3, 2, 'manual')$$,
    '23514', 'new row for relation "runs" violates check constraint "runs_attempt_is_valid"',
    'an attempt beyond max_attempts is refused');
select throws_ok($$insert into nightshift.runs (function_id, max_attempts, trigger_kind) values ('tests/nobody', 1, 'manual')$$,
    '23503', null,
    'a run of an unregistered function is refused');
select throws_ok($$insert into nightshift.runs (function_id, max_attempts, trigger_kind, idempotency_key) values
        ('tests/schema', 1, 'manual', 'k'), ('tests/schema', 1, 'manual', 'k')$$,
    '23505', null,
    'an idempotency key is unique per function');
select throws_ok($$update nightshift.schedules set catch_up = 'sometimes' where function_id = 'tests/schema'$$,
    '23514', 'new row for relation "schedules" violates check constraint "schedules_catch_up_is_valid"',
    'an unknown catch-up policy is refused by a named constraint');
select throws_ok($$insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason)
        values ('tests/schema', now(), now(), 1, 'forgot')$$,
    '23514', 'new row for relation "skipped_slots" violates check constraint "skipped_slots_reason_is_valid"',
    'every skipped range has a known reason');
select throws_ok($$update nightshift.functions set concurrency_key = 'tenant' where id = 'tests/schema'$$,
    '23514', 'new row for relation "functions" violates check constraint "functions_concurrency_key_has_limit"',
    'a concurrency key without a limit is refused');

select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'nightshift'::regnamespace
      and not coalesce('search_path=""' = any (p.proconfig), false)
      -- 0078: inlined into the inserts, so it names everything from pg_catalog instead.
      and p.oid <> 'nightshift._uuid_v7()'::regprocedure$$,
    'every nightshift function pins search_path to empty (but _uuid_v7, fully qualified)');
select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'nightshift'::regnamespace
      and p.proname !~ '^_' and p.proname <> 'install_pg_cron' and not p.prosecdef$$,
    'every public API function runs as its owner (security definer)');
select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'nightshift'::regnamespace
      and p.proname ~ '^_' and p.prosecdef$$,
    'no internal helper is security definer');

select has_function('nightshift', 'claim_runs', array['text', 'integer', 'interval', 'text[]'],
    'claim_runs(worker, max_runs, lease, function_ids) exists');
select is(
    (select pg_get_function_result('nightshift.claim_runs(text, integer, interval, text[])'::regprocedure)),
    'TABLE(id uuid, function_id text, payload jsonb, attempt integer, max_attempts integer, lease_token bigint, correlation_id uuid, trigger_kind text, trigger_slot timestamp with time zone, trigger_event_id uuid, steps jsonb, run_at timestamp with time zone, quarantined boolean, error jsonb)',
    'claim_runs returns the columns the worker reads, and whether the row is a quarantined run with its error');
select ok(
    (select count(*) = 1 from pg_indexes where schemaname = 'nightshift' and indexname = 'runs_singleton_idx'
       and indexdef like '%NULLS NOT DISTINCT%' and indexdef like '%concurrency_limit = 1%'),
    'the singleton index treats a missing concurrency key as one key');

select * from finish();
rollback;
