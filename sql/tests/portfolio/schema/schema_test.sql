-- The portfolio schema: tables, keys, the invariants the constraints keep, numeric money,
-- and the function conventions (search_path pinned, public API as security definer).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(18);

select is_empty(
    $$select unnest(array['users', 'markets', 'user_markets', 'assets', 'asset_metrics', 'portfolios', 'holdings',
                          'allocation_targets', 'criteria_versions', 'prices', 'exchange_rates', 'overnight_job_runs',
                          'asset_scores', 'score_history', 'recommendations', 'calculation_events'])
      except select c.relname::text from pg_class c
             where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p')$$,
    'every portfolio table exists');
select is((select c.relkind::text from pg_class c where c.oid = 'portfolio.calculation_events'::regclass), 'p',
    'calculation_events is partitioned');
select is((select pg_get_partkeydef('portfolio.calculation_events'::regclass)), 'RANGE (created_at)',
    'by range of created_at');
select is_empty(
    $$select c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = 'portfolio'::regnamespace and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
        and a.atttypid in ('real'::regtype, 'double precision'::regtype, 'money'::regtype)$$,
    'no binary floating point (nor money) anywhere: numeric end to end');
select col_type_is('portfolio', 'holdings', 'quantity', 'numeric', 'a quantity is numeric');
select col_type_is('portfolio', 'prices', 'price', 'numeric', 'a price is numeric');
select col_type_is('portfolio', 'asset_scores', 'score', 'numeric', 'a score is numeric');
select col_is_pk('portfolio', 'asset_scores', array['user_id', 'asset_id'], 'one current score per user and asset');
select col_is_pk('portfolio', 'calculation_events', array['id', 'created_at'], 'events are keyed with their partition key');

insert into portfolio.users (id, base_currency, default_contribution) values ('a0000000-0000-4000-8000-000000000001', 'BRL', 1000.50);
insert into portfolio.markets (code, name, time_zone, local_open_time) values ('B3', 'B3', 'America/Sao_Paulo', '10:00');
select throws_ok($$insert into portfolio.markets (code, name, time_zone, local_open_time) values ('XX', 'X', 'Mars/Olympus', '09:00')$$,
    '22023', null, 'a market''s zone is a known IANA zone');
select throws_ok($$insert into portfolio.users (id, base_currency) values (gen_random_uuid(), 'usd')$$,
    '23514', 'new row for relation "users" violates check constraint "users_base_currency_is_valid"',
    'a base currency is an ISO code');
select throws_ok($$insert into portfolio.allocation_targets values ('a0000000-0000-4000-8000-000000000001', 'stock', 60, 40)$$,
    '23514', 'new row for relation "allocation_targets" violates check constraint "allocation_targets_range_is_valid"',
    'target_min <= target_max');
select throws_ok($$insert into portfolio.allocation_targets values ('a0000000-0000-4000-8000-000000000001', 'stock', 10, 101)$$,
    '23514', 'new row for relation "allocation_targets" violates check constraint "allocation_targets_range_is_valid"',
    'targets are percentages');
select throws_ok($$insert into portfolio.overnight_job_runs (status) values ('completed')$$,
    '23514', 'new row for relation "overnight_job_runs" violates check constraint "overnight_job_runs_completion_is_valid"',
    'a finished run has completed_at');
select throws_ok($$insert into portfolio.overnight_job_runs (status, completed_at) values ('done', now())$$,
    '23514', 'new row for relation "overnight_job_runs" violates check constraint "overnight_job_runs_status_is_valid"',
    'a run''s status is started, completed, partial or failed');
select is((select default_contribution::text from portfolio.users where id = 'a0000000-0000-4000-8000-000000000001'), '1000.50',
    'money keeps its decimal digits');

select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'portfolio'::regnamespace
      and not coalesce('search_path=""' = any (p.proconfig), false)$$,
    'every portfolio function pins search_path to empty');
select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'portfolio'::regnamespace
      and (p.proname ~ '^_') = p.prosecdef$$,
    'public API functions run as their owner (security definer), helpers do not');

select * from finish();
rollback;
