-- store_prices: a price-provider response into prices and the run's snapshot (upsert, the
-- newest of a symbol listed twice), missing entries skipped, pricesAsOf the oldest; a bad
-- entry refuses the whole response with 22023 naming its path.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(11);

insert into portfolio.markets (code, name, time_zone, local_open_time) values
    ('NYSE', 'NYSE', 'America/New_York', '09:30'), ('B3', 'B3', 'America/Sao_Paulo', '10:00');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-000000000001', 'AAPL', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-000000000002', 'PETR4', 'B3', 'stock', 'BRL');
create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');

select is(portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAPL", "price": "187.23", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
                 {"symbol": "B3:PETR4", "price": 38.10, "currency": "BRL", "asOf": "2026-11-23T17:00:00-03:00"},
                 {"symbol": "NYSE:AAPL", "price": "187.00", "currency": "USD", "asOf": "2026-11-23T20:00:00Z"}],
      "missing": ["B3:XXXX"]}', 'prices'), 2, 'two assets enter the snapshot');
select results_eq($$select asset_id::text, price, currency::text, as_of from portfolio.job_run_prices order by asset_id$$,
    $$values ('b0000000-0000-4000-8000-000000000001', 187.23::numeric, 'USD', '2026-11-23 21:00+00'::timestamptz),
             ('b0000000-0000-4000-8000-000000000002', 38.10, 'BRL', '2026-11-23 20:00+00')$$,
    'prices exactly as sent (a decimal string or a JSON number), the newest of a symbol listed twice');
select is((select count(*)::integer from portfolio.prices where source = 'prices'), 3, 'every quote is kept in prices');
select is((select metrics ->> 'pricesAsOf' from portfolio.overnight_job_runs where id = (select job_run_id from run)),
    '2026-11-23T20:00:00Z', 'pricesAsOf is the oldest in the snapshot');
select is(portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAPL", "price": "190", "currency": "USD", "asOf": "2026-11-24T21:00:00Z"}]}', 'prices'), 1,
    'a later response');
select is((select price from portfolio.job_run_prices where asset_id = 'b0000000-0000-4000-8000-000000000001'), 190::numeric,
    'replaces the asset''s snapshot price');

select throws_ok($$select portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAPL", "price": "1", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
                 {"symbol": "NYSE:XXXX", "price": "1", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}]}', 's')$$,
    '22023', 'prices[1].symbol: unknown asset "NYSE:XXXX"', 'an unknown symbol names its entry');
select throws_ok($$select portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAPL", "price": "abc", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}]}', 's')$$,
    '22023', 'prices[0].price: must be a positive decimal, got "abc"', 'a bad price');
select throws_ok($$select portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAPL", "price": "1", "currency": "USD", "asOf": "2026-11-23 21:00"}]}', 's')$$,
    '22023', 'prices[0].asOf: must be an ISO 8601 timestamp with an offset, got "2026-11-23 21:00"', 'a timestamp without offset');
select throws_ok($$select portfolio.store_prices((select job_run_id from run), '{"missing": []}', 's')$$,
    '22023', 'prices: must be an array, got nothing', 'no prices array');
select is((select count(*)::integer from portfolio.prices where price = 1), 0, 'a refused response stores nothing');

select * from finish();
rollback;
