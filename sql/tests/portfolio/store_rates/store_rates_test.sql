-- store_rates: the Frankfurter body becomes the run's snapshot (the base at rate 1), the rates
-- are kept in exchange_rates, the metrics say fresh; malformed bodies are refused with 22023
-- naming the path.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
create temp table stored on commit drop as
select * from portfolio.store_rates((select job_run_id from run),
    '{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.9234, "BRL": "5.1", "JPY": 151.20}}', 'frankfurter');

select is((select (as_of, quotes)::text from stored), ('2026-11-23 00:00+00'::timestamptz, 3)::text,
    'returns the date (midnight UTC) and the number of quotes');
select results_eq($$select quote::text, base::text, rate from portfolio.job_run_rates where job_run_id = (select job_run_id from run) order by quote$$,
    $$values ('BRL', 'USD', 5.1::numeric), ('EUR', 'USD', 0.9234), ('JPY', 'USD', 151.20), ('USD', 'USD', 1)$$,
    'the snapshot: every quote exactly as sent, and the base at 1');
select is((select count(*)::integer from portfolio.exchange_rates where source = 'frankfurter' and as_of = '2026-11-23 00:00+00'), 3,
    'the rates are stored in exchange_rates');
select is((select metrics from portfolio.overnight_job_runs where id = (select job_run_id from run)),
    '{"ratesStale": false, "ratesAsOf": "2026-11-23T00:00:00Z", "ratesBase": "USD"}', 'the metrics say fresh, as of, base');

-- Storing again replaces the snapshot; exchange_rates keeps one row per (pair, source, date).
select is((select quotes from portfolio.store_rates((select job_run_id from run),
    '{"base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.9234}}', 'frankfurter')), 1, 'a second body');
select is((select count(*)::integer from portfolio.job_run_rates where job_run_id = (select job_run_id from run)), 2,
    'replaces the snapshot');
select is((select count(*)::integer from portfolio.exchange_rates), 3, 'and adds nothing already stored');

select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "USD", "date": "2026-11-23", "rates": {"EUR": "x"}}', 's')$$,
    '22023', 'rates.EUR: must be a positive number, got "x"', 'a rate that is not a number names its path');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.9, "GBP": -1}}', 's')$$,
    '22023', 'rates.GBP: must be a positive number, got -1', 'a negative rate');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "USD", "date": "2026-11-23", "rates": {"eur": 0.9}}', 's')$$,
    '22023', 'rates.eur: must be a 3-letter currency code', 'a malformed currency');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "us", "date": "2026-11-23", "rates": {"EUR": 0.9}}', 's')$$,
    '22023', 'base: must be a 3-letter currency code, got "us"', 'a malformed base');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "USD", "date": "2026-02-30", "rates": {"EUR": 0.9}}', 's')$$,
    '22023', 'date: must be a date YYYY-MM-DD, got "2026-02-30"', 'an impossible date');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "USD", "rates": {"EUR": 0.9}}', 's')$$,
    '22023', 'date: must be a date YYYY-MM-DD, got nothing', 'a missing date');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"base": "USD", "date": "2026-11-23", "rates": {}}', 's')$$,
    '22023', 'rates: must be a non-empty object of currency: rate, got {}', 'no rates');
select throws_ok($$select portfolio.store_rates((select job_run_id from run), '{"amount": 10, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 9}}', 's')$$,
    '22023', 'amount: must be 1, got 10', 'rates for another amount');
select throws_ok($$select portfolio.store_rates('e0000000-0000-4000-8000-0000000000ff', '{}', 's')$$,
    'NSP04', 'unknown job run e0000000-0000-4000-8000-0000000000ff', 'an unknown job run');
select is((select count(*)::integer from portfolio.job_run_rates where job_run_id = (select job_run_id from run)), 2,
    'a refused body leaves the snapshot as it was');

select * from finish();
rollback;
