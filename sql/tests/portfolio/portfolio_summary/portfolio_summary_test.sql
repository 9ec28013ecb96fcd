-- portfolio.portfolio_summary (0034): holdings of every portfolio summed per asset, valued with
-- the newest stored price and the newest stored rates (base USD, cross rates through it),
-- rounded to cents; missing price or rate → value null and counted in "unvalued"; allocation
-- per class against the targets. Values hand-computed below.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(21);

insert into portfolio.markets (code, name, time_zone, local_open_time) values
    ('NYSE', 'New York Stock Exchange', 'America/New_York', '09:30'),
    ('B3', 'B3', 'America/Sao_Paulo', '10:00'),
    ('LSE', 'London Stock Exchange', 'Europe/London', '08:00');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BND', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-00000000000c', 'PETR4', 'B3', 'stock', 'BRL'),
    ('b0000000-0000-4000-8000-00000000000d', 'LAND', 'LSE', 'reit', 'GBP'),
    ('b0000000-0000-4000-8000-00000000000e', 'VTI', 'NYSE', 'etf', 'USD');
insert into portfolio.users (id, base_currency, default_contribution) values
    ('a0000000-0000-4000-8000-000000000001', 'EUR', 1000),
    ('a0000000-0000-4000-8000-000000000002', 'USD', 500),
    ('a0000000-0000-4000-8000-000000000003', 'JPY', 0);
insert into portfolio.portfolios (id, user_id, name) values
    ('f0000000-0000-4000-8000-000000000011', 'a0000000-0000-4000-8000-000000000001', 'Main'),
    ('f0000000-0000-4000-8000-000000000012', 'a0000000-0000-4000-8000-000000000001', 'Retirement'),
    ('f0000000-0000-4000-8000-000000000031', 'a0000000-0000-4000-8000-000000000003', 'Main');
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('f0000000-0000-4000-8000-000000000011', 'b0000000-0000-4000-8000-00000000000a', 10),
    ('f0000000-0000-4000-8000-000000000011', 'b0000000-0000-4000-8000-00000000000c', 100),
    ('f0000000-0000-4000-8000-000000000012', 'b0000000-0000-4000-8000-00000000000a', 5),
    ('f0000000-0000-4000-8000-000000000012', 'b0000000-0000-4000-8000-00000000000b', 20),
    ('f0000000-0000-4000-8000-000000000012', 'b0000000-0000-4000-8000-00000000000d', 250),
    ('f0000000-0000-4000-8000-000000000012', 'b0000000-0000-4000-8000-00000000000e', 3),
    ('f0000000-0000-4000-8000-000000000031', 'b0000000-0000-4000-8000-00000000000a', 2),
    ('f0000000-0000-4000-8000-000000000031', 'b0000000-0000-4000-8000-00000000000e', 1);
insert into portfolio.allocation_targets (user_id, asset_class, target_min, target_max) values
    ('a0000000-0000-4000-8000-000000000001', 'stock', 30, 60),
    ('a0000000-0000-4000-8000-000000000001', 'bond', 30, 50),
    ('a0000000-0000-4000-8000-000000000001', 'etf', 10, 20),
    ('a0000000-0000-4000-8000-000000000002', 'stock', 50, 70);
-- Prices: the newest per asset counts (KO 90 is older); VTI has none.
insert into portfolio.prices (asset_id, price, currency, as_of, source) values
    ('b0000000-0000-4000-8000-00000000000a', 90, 'USD', '2026-11-19 21:00+00', 'test'),
    ('b0000000-0000-4000-8000-00000000000a', 100, 'USD', '2026-11-20 21:00+00', 'test'),
    ('b0000000-0000-4000-8000-00000000000b', 50, 'USD', '2026-11-20 21:00+00', 'test'),
    ('b0000000-0000-4000-8000-00000000000c', 25, 'BRL', '2026-11-20 20:00+00', 'test'),
    ('b0000000-0000-4000-8000-00000000000d', 2, 'GBP', '2026-11-20 16:30+00', 'test');
-- Rates in base USD: the newest per quote counts (EUR 0.5 is older); no JPY.
insert into portfolio.exchange_rates (base, quote, rate, as_of, source) values
    ('USD', 'EUR', 0.5, '2026-11-19', 'test'),
    ('USD', 'EUR', 0.8, '2026-11-20', 'test'),
    ('USD', 'BRL', 5, '2026-11-20', 'test'),
    ('USD', 'GBP', 0.5, '2026-11-18', 'test');

create temporary table s as select portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000001') as d;

-- KO 15 * 100 USD = 1500 USD / 1 * 0.8 = 1200.00 EUR; BND 20 * 50 = 1000 USD → 800.00 EUR;
-- PETR4 100 * 25 = 2500 BRL / 5 * 0.8 = 400.00 EUR; LAND 250 * 2 = 500 GBP / 0.5 * 0.8 = 800.00 EUR;
-- VTI no price: unvalued. Total 3200.00 EUR.
select is((select d ->> 'baseCurrency' from s), 'EUR', 'in the user''s base currency');
select is((select d ->> 'totalValue' from s), '3200.00', 'total value: 1200 + 800 + 400 + 800');
select is((select d -> 'unvalued' from s), '1'::jsonb, 'one holding without a price is counted as unvalued');
select is((select jsonb_agg(h ->> 'symbol') from s, jsonb_array_elements(d -> 'holdings') h), '["KO", "LAND", "BND", "PETR4", "VTI"]'::jsonb,
    'holdings by value (highest first, unvalued last), then market and symbol');
select is((select h from s, jsonb_array_elements(d -> 'holdings') h where h ->> 'symbol' = 'KO'),
    jsonb_build_object('assetId', 'b0000000-0000-4000-8000-00000000000a', 'symbol', 'KO', 'market', 'NYSE', 'assetClass', 'stock',
                       'quantity', '15', 'price', '100', 'currency', 'USD', 'priceAsOf', '2026-11-20 21:00+00'::timestamptz,
                       'value', '1200.00'),
    'a holding held in two portfolios is one line: quantities summed, newest price, converted value as decimal strings');
select is((select h ->> 'value' from s, jsonb_array_elements(d -> 'holdings') h where h ->> 'symbol' = 'PETR4'), '400.00',
    'BRL → EUR through the USD base: 2500 / 5 * 0.8');
select is((select h ->> 'value' from s, jsonb_array_elements(d -> 'holdings') h where h ->> 'symbol' = 'LAND'), '800.00',
    'GBP → EUR: 500 / 0.5 * 0.8');
select is((select h -> 'value' from s, jsonb_array_elements(d -> 'holdings') h where h ->> 'symbol' = 'VTI'), 'null'::jsonb,
    'a holding without a price has value null');
select is((select jsonb_agg(jsonb_build_object('c', a ->> 'assetClass', 'v', a ->> 'value', 's', a ->> 'share', 'st', a ->> 'status', 'g', a ->> 'gap'))
           from s, jsonb_array_elements(d -> 'allocation') a),
    '[{"c": "bond", "v": "800.00", "s": "25.00", "st": "below", "g": "5.00"},
      {"c": "etf", "v": "0", "s": "0.00", "st": "below", "g": "10.00"},
      {"c": "reit", "v": "800.00", "s": "25.00", "st": "untargeted", "g": null},
      {"c": "stock", "v": "1600.00", "s": "50.00", "st": "within", "g": null}]'::jsonb,
    'allocation per class: share of the total, gap below target_min, status against the targets');
select is((select a ->> 'targetMin' || '-' || (a ->> 'targetMax') from s, jsonb_array_elements(d -> 'allocation') a where a ->> 'assetClass' = 'bond'),
    '30-50', 'with the targets as decimal strings');
select is((select (d ->> 'pricesAsOf')::timestamptz from s), '2026-11-20 16:30+00'::timestamptz, 'pricesAsOf: the oldest price used');
select is((select (d ->> 'ratesAsOf')::timestamptz from s), '2026-11-18 00:00+00'::timestamptz, 'ratesAsOf: the oldest rate used');
select is((select d ->> 'rateBase' from s), 'USD', 'rates are read in base USD');

-- A user without holdings: zero, every targeted class at share 0.
select is(portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000002') - 'computedAt' - 'userId' - 'assetCount' - 'allocations',
    '{"baseCurrency": "USD", "totalValue": "0", "unvalued": 0, "holdings": [], "pricesAsOf": null, "ratesAsOf": null,
      "rateBase": "USD",
      "allocation": [{"assetClass": "stock", "value": "0", "share": "0.00", "targetMin": "50", "targetMax": "70",
                      "gap": "50.00", "status": "below"}]}'::jsonb,
    'an empty portfolio: total 0, each class with a target at share 0');

-- A base currency without a stored rate: every holding needing a conversion is unvalued.
select is((select portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000003') -> 'unvalued'), '2'::jsonb,
    'no JPY rate: the USD holding cannot be converted (unvalued), nor the one without a price');
select is((select portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000003') ->> 'totalValue'), '0',
    'and adds nothing to the total');

-- Cross rates in a base other than USD when no USD rates are stored.
delete from portfolio.exchange_rates;
insert into portfolio.exchange_rates (base, quote, rate, as_of, source) values
    ('EUR', 'USD', 1.25, '2026-11-20', 'test'), ('EUR', 'BRL', 6.25, '2026-11-20', 'test'), ('EUR', 'GBP', 0.625, '2026-11-20', 'test');
select is((select portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000001') ->> 'totalValue'), '3200.00',
    'the same values from rates stored in base EUR (USD / 1.25, BRL / 6.25, GBP / 0.625)');
select is((select portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000001') ->> 'rateBase'), 'EUR',
    'the base of the stored rates when there are no USD rates');

select throws_ok($$select portfolio.portfolio_summary('a0000000-0000-4000-8000-0000000000ff')$$, 'NSP02',
    'unknown user a0000000-0000-4000-8000-0000000000ff', 'an unknown user is NSP02');
select throws_ok($$select portfolio.portfolio_summary(null)$$, '22023', 'user_id: required', 'a null user is 22023 naming user_id');
select ok((select d ->> 'computedAt' from s) is not null, 'computedAt says when');

select * from finish();
rollback;
