-- Each breakdown stored once (issue 16, point 4): score_users writes score_history rows without
-- a breakdown, SCORES_COMPUTED holds it, and asset_calculations still answers every calculation
-- with its own breakdown, also when one run scored the user twice with different metrics.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(5);

insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'AAA', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BBB', 'NYSE', 'stock', 'USD');
insert into portfolio.asset_metrics (asset_id, metric, value) values
    ('b0000000-0000-4000-8000-00000000000a', 'roe', 0.5), ('b0000000-0000-4000-8000-00000000000b', 'roe', 0.05);
insert into portfolio.users (id, base_currency, default_contribution) values ('a0000000-0000-4000-8000-000000000001', 'USD', 0);
insert into portfolio.criteria_versions (user_id, version, criteria) values
    ('a0000000-0000-4000-8000-000000000001', 1, '[{"metric": "roe", "operator": ">", "threshold": 0.1, "points": 2}]');
insert into portfolio.portfolios (id, user_id) values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001');
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 1),
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 1);
create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
select portfolio.store_rates((select job_run_id from run), '{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.8}}', 'test');
select portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAA", "price": "10", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
                 {"symbol": "NYSE:BBB", "price": "20", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}]}', 'test');

-- Scored, then (the same run, a batch replayed) scored again after AAA's roe fell.
select count(*) from portfolio.score_users((select job_run_id from run), array['a0000000-0000-4000-8000-000000000001']::uuid[]);
update portfolio.asset_metrics set value = 0.01 where asset_id = 'b0000000-0000-4000-8000-00000000000a';
select count(*) from portfolio.score_users((select job_run_id from run), array['a0000000-0000-4000-8000-000000000001']::uuid[]);

select is((select count(*)::integer from portfolio.score_history where breakdown is null), 4,
    'score_history rows carry no copy of the breakdown');
select is((select breakdown from portfolio.asset_scores where asset_id = 'b0000000-0000-4000-8000-00000000000a'),
    '[{"rule": 0, "metric": "roe", "value": "0.01", "matched": false, "points": "0"}]'::jsonb,
    'asset_scores keeps the current breakdown');
create temp view calcs as
select c from jsonb_array_elements(portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001',
                                                               'b0000000-0000-4000-8000-00000000000a') -> 'calculations') c;
select results_eq($$select c -> 'breakdown', c ->> 'score' from calcs$$,
    $$values ('[{"rule": 0, "metric": "roe", "value": "0.01", "matched": false, "points": "0"}]'::jsonb, '0'),
             ('[{"rule": 0, "metric": "roe", "value": "0.5", "matched": true, "points": "2"}]'::jsonb, '2')$$,
    'each calculation has its own breakdown, from its own SCORES_COMPUTED, newest first');
select is((select c -> 'breakdown' from jsonb_array_elements(portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001',
            'b0000000-0000-4000-8000-00000000000b') -> 'calculations') c limit 1),
    '[{"rule": 0, "metric": "roe", "value": "0.05", "matched": false, "points": "0"}]'::jsonb,
    'another asset of the same events gets its own entry');
select is((select c -> 'breakdown' from calcs limit 1),
    (select x -> 'breakdown' from portfolio.calculation_events e, jsonb_array_elements(e.payload -> 'results') x
     where e.event_type = 'SCORES_COMPUTED' and x ->> 'assetId' = 'b0000000-0000-4000-8000-00000000000a'
     order by e.created_at desc limit 1),
    'the breakdown is the one SCORES_COMPUTED holds');

select * from finish();
rollback;
