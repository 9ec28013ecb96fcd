-- reuse_last_rates: provider down, the newest stored rate of each quote becomes the snapshot
-- and the run is marked stale with the oldest date used; NSP03 when nothing is stored.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

insert into portfolio.exchange_rates (base, quote, rate, as_of, source) values
    ('USD', 'EUR', 0.90, '2026-11-20', 'frankfurter'), ('USD', 'EUR', 0.92, '2026-11-22', 'frankfurter'),
    ('USD', 'BRL', 5.00, '2026-11-21', 'frankfurter'), ('USD', 'BRL', 4.90, '2026-11-19', 'frankfurter'),
    ('EUR', 'USD', 1.10, '2026-11-23', 'frankfurter');
create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
create temp table reused on commit drop as select * from portfolio.reuse_last_rates((select job_run_id from run), 'USD');

select is((select (as_of, quotes)::text from reused), ('2026-11-21 00:00+00'::timestamptz, 2)::text,
    'returns the oldest date used and the number of quotes');
select results_eq($$select quote::text, rate, as_of from portfolio.job_run_rates where job_run_id = (select job_run_id from run) order by quote$$,
    $$values ('BRL', 5.00::numeric, '2026-11-21 00:00+00'::timestamptz), ('EUR', 0.92, '2026-11-22 00:00+00'),
             ('USD', 1, '2026-11-21 00:00+00')$$,
    'the newest rate per quote of that base, and the base at 1');
select is((select metrics from portfolio.overnight_job_runs where id = (select job_run_id from run)),
    '{"ratesStale": true, "ratesAsOf": "2026-11-21T00:00:00Z", "ratesBase": "USD"}', 'the run is marked stale, as of the oldest rate');
select throws_ok($$select portfolio.reuse_last_rates((select job_run_id from run), 'GBP')$$,
    'NSP03', 'no exchange rates stored for base GBP: the provider is down and there is nothing to fall back on',
    'nothing stored for the base: NSP03');
select is((select count(*)::integer from portfolio.job_run_rates where job_run_id = (select job_run_id from run)), 3,
    'and the snapshot is left as it was');
select throws_ok($$select portfolio.reuse_last_rates((select job_run_id from run), 'us')$$, '22023', null, 'a malformed base');
select throws_ok($$select portfolio.reuse_last_rates('e0000000-0000-4000-8000-0000000000ff', 'USD')$$, 'NSP04', null, 'an unknown job run');

select * from finish();
rollback;
