-- Recommendations (inside score_users), on hand-computed cases: the gap split across classes
-- below target, the top 3 by score within a class (in proportion to score, or equally when a
-- score is 0), the rounding remainder on the first recommendation, values converted to the
-- user's base currency with the run's rates, an empty portfolio, a class without assets.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

insert into portfolio.markets (code, name, time_zone, local_open_time) values
    ('NYSE', 'New York Stock Exchange', 'America/New_York', '09:30'),
    ('B3', 'B3', 'America/Sao_Paulo', '10:00');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-000000000001', 'STK1', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-000000000011', 'BD1', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-000000000012', 'BD2', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-000000000013', 'BD3', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-000000000014', 'BD4', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-000000000021', 'R1', 'NYSE', 'reit', 'USD'),
    ('b0000000-0000-4000-8000-000000000022', 'R2', 'NYSE', 'reit', 'USD'),
    ('b0000000-0000-4000-8000-000000000031', 'BRB', 'B3', 'bond', 'BRL'),
    ('b0000000-0000-4000-8000-000000000041', 'E1', 'B3', 'etf', 'BRL'),
    ('b0000000-0000-4000-8000-000000000042', 'E2', 'B3', 'etf', 'BRL'),
    ('b0000000-0000-4000-8000-000000000043', 'E3', 'B3', 'etf', 'BRL'),
    ('b0000000-0000-4000-8000-000000000044', 'E4', 'B3', 'etf', 'BRL');
-- Metric q drives the scores: 1 → 10, 2 → 20, 3 → 30 under the q-criteria below; 0.5 → 5.
insert into portfolio.asset_metrics (asset_id, metric, value) values
    ('b0000000-0000-4000-8000-000000000011', 'q', 3), ('b0000000-0000-4000-8000-000000000012', 'q', 1),
    ('b0000000-0000-4000-8000-000000000013', 'q', 2), ('b0000000-0000-4000-8000-000000000014', 'q', 0.5),
    ('b0000000-0000-4000-8000-000000000021', 'q', 0), ('b0000000-0000-4000-8000-000000000022', 'q', 1);

-- U1 USD, 1000 to invest: stock 300 USD, bond 500 BRL = 100 USD; total 400: stock 75 %, bond 25 %, reit 0 %.
-- U2 USD, 100: only stock; etf below target, four etfs all scoring 0.
-- U3 EUR, 300: STK1 100 USD = 80 EUR, BRB 500 BRL = 80 EUR: 50 % / 50 %.
-- U4 USD, 50: a class below target with no asset in the universe.
-- U5 USD, 100: holds nothing.
-- U6 USD, contribution 0.
insert into portfolio.users (id, base_currency, default_contribution) values
    ('a0000000-0000-4000-8000-000000000001', 'USD', 1000), ('a0000000-0000-4000-8000-000000000002', 'USD', 100),
    ('a0000000-0000-4000-8000-000000000003', 'EUR', 300), ('a0000000-0000-4000-8000-000000000004', 'USD', 50),
    ('a0000000-0000-4000-8000-000000000005', 'USD', 100), ('a0000000-0000-4000-8000-000000000006', 'USD', 0);
insert into portfolio.user_markets (user_id, market_code) values
    ('a0000000-0000-4000-8000-000000000001', 'NYSE'), ('a0000000-0000-4000-8000-000000000002', 'B3'),
    ('a0000000-0000-4000-8000-000000000005', 'NYSE'), ('a0000000-0000-4000-8000-000000000006', 'NYSE');
insert into portfolio.criteria_versions (user_id, version, criteria)
select u.id, 1, case when u.id in ('a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000005',
                                   'a0000000-0000-4000-8000-000000000006')
    then '[{"metric": "q", "operator": ">=", "threshold": 1, "points": 10},
           {"metric": "q", "operator": ">=", "threshold": 2, "points": 10},
           {"metric": "q", "operator": ">=", "threshold": 3, "points": 10},
           {"metric": "q", "operator": "between", "threshold": [0.5, 0.5], "points": 5}]'::jsonb
    else '[{"metric": "q", "operator": ">=", "threshold": 100, "points": 1}]'::jsonb end
from portfolio.users u;
insert into portfolio.portfolios (id, user_id)
select ('c0000000-0000-4000-8000-00000000000' || right(u.id::text, 1))::uuid, u.id from portfolio.users u;
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 30),
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000031', 10),
    ('c0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001', 1),
    ('c0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000001', 10),
    ('c0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000031', 10),
    ('c0000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-000000000001', 1),
    ('c0000000-0000-4000-8000-000000000006', 'b0000000-0000-4000-8000-000000000001', 1);
insert into portfolio.allocation_targets (user_id, asset_class, target_min, target_max) values
    ('a0000000-0000-4000-8000-000000000001', 'stock', 40, 80), ('a0000000-0000-4000-8000-000000000001', 'bond', 40, 60),
    ('a0000000-0000-4000-8000-000000000001', 'reit', 10, 20),
    ('a0000000-0000-4000-8000-000000000002', 'stock', 50, 100), ('a0000000-0000-4000-8000-000000000002', 'etf', 10, 30),
    ('a0000000-0000-4000-8000-000000000003', 'stock', 70, 90), ('a0000000-0000-4000-8000-000000000003', 'bond', 60, 70),
    ('a0000000-0000-4000-8000-000000000004', 'crypto', 5, 10),
    ('a0000000-0000-4000-8000-000000000005', 'stock', 30, 60), ('a0000000-0000-4000-8000-000000000005', 'bond', 10, 40),
    ('a0000000-0000-4000-8000-000000000006', 'bond', 10, 40);

create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
create temp table stored on commit drop as
select (portfolio.store_rates((select job_run_id from run),
    '{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"BRL": 5, "EUR": 0.8}}', 'test')).quotes,
       portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:STK1", "price": "10", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
                 {"symbol": "B3:BRB", "price": "50.00", "currency": "BRL", "asOf": "2026-11-23T20:00:00Z"}],
      "missing": []}', 'test') as prices;
create temp table result on commit drop as
select * from portfolio.score_users((select job_run_id from run), array(select id from portfolio.users order by id));

select is((select count(*)::integer from result where not failed), 6, 'every user is scored');

create temp view recs as
select r.user_id, a.symbol, r.asset_class, r.amount, r.currency, r.allocation_gap, r.breakdown
from portfolio.recommendations r left join portfolio.assets a on a.id = r.asset_id
where r.job_run_id = (select job_run_id from run);

select results_eq(
    $$select symbol, asset_class, amount, allocation_gap from recs where user_id = 'a0000000-0000-4000-8000-000000000001'
      order by (breakdown ->> 'position')::integer$$,
    $$values ('BD1', 'bond', 300.00::numeric, 15.0000::numeric), ('BD3', 'bond', 200.00, 15.0000), ('BD2', 'bond', 100.00, 15.0000),
             ('R2', 'reit', 200.00, 10.0000), ('R1', 'reit', 200.00, 10.0000)$$,
    'gaps 15 (bond) and 10 (reit) split 1000 as 600 / 400; bonds by score 30:20:10, reits equally (a score is 0)');
select is((select sum(amount) from recs where user_id = 'a0000000-0000-4000-8000-000000000001'), 1000::numeric,
    'the amounts sum to the contribution');
select is((select breakdown from recs where user_id = 'a0000000-0000-4000-8000-000000000001' and symbol = 'BD1'),
    '{"criteriaCount": 4, "topContributor": {"metric": "q", "points": "10"}, "score": "30", "position": 1}',
    'the breakdown: criteria count, the top contributor (first of equal rules), the score as a decimal string');
select is((select breakdown from recs where user_id = 'a0000000-0000-4000-8000-000000000001' and symbol = 'R1'),
    '{"criteriaCount": 4, "topContributor": null, "score": "0", "position": 5}',
    'no rule matched: no top contributor');
select ok(not exists (select 1 from recs where user_id = 'a0000000-0000-4000-8000-000000000001' and symbol in ('BD4', 'STK1', 'BRB')),
    'the fourth bond, the class within its range and the held 0-score bond get nothing');
select is((select array_agg(distinct currency) from recs where user_id = 'a0000000-0000-4000-8000-000000000001'), array['USD'::char(3)],
    'amounts are in the user''s base currency');

select results_eq(
    $$select symbol, amount from recs where user_id = 'a0000000-0000-4000-8000-000000000002' order by (breakdown ->> 'position')::integer$$,
    $$values ('E1', 33.34::numeric), ('E2', 33.33), ('E3', 33.33)$$,
    'equal thirds of 100 round to 33.33; the remainder 0.01 goes to the first; ties by symbol keep E4 out');

select results_eq(
    $$select symbol, asset_class, amount, currency, allocation_gap from recs where user_id = 'a0000000-0000-4000-8000-000000000003'
      order by (breakdown ->> 'position')::integer$$,
    $$values ('STK1', 'stock', 200.00::numeric, 'EUR'::char(3), 20.0000::numeric), ('BRB', 'bond', 100.00, 'EUR', 10.0000)$$,
    '100 USD and 500 BRL are 80 EUR each at the run''s rates: 50 % each, gaps 20 and 10 split 300 EUR as 200 / 100');

select results_eq(
    $$select asset_class, amount, allocation_gap, breakdown from portfolio.recommendations
      where user_id = 'a0000000-0000-4000-8000-000000000004'$$,
    $$values ('crypto', 50::numeric, 5.0000::numeric, '{"criteriaCount": 1, "topContributor": null, "score": null, "position": 1}'::jsonb)$$,
    'a class below target without any asset in the universe gets the class''s amount without an asset');
select ok((select asset_id is null from portfolio.recommendations where user_id = 'a0000000-0000-4000-8000-000000000004'),
    'its asset is null');

select results_eq(
    $$select symbol, asset_class, amount, allocation_gap from recs where user_id = 'a0000000-0000-4000-8000-000000000005'
      order by (breakdown ->> 'position')::integer$$,
    $$values ('STK1', 'stock', 75.00::numeric, 30.0000::numeric), ('BD1', 'bond', 12.50, 10.0000),
             ('BD3', 'bond', 8.33, 10.0000), ('BD2', 'bond', 4.17, 10.0000)$$,
    'an empty portfolio: every class with a target has share 0; 25 split 30:20:10 rounds to 12.50, 8.33, 4.17');
select is((select count(*)::integer from recs where user_id = 'a0000000-0000-4000-8000-000000000006'), 0,
    'a contribution of 0 recommends nothing');
select ok((select bool_and(criteria_version_id = (select id from portfolio.criteria_versions c where c.user_id = r.user_id))
           from portfolio.recommendations r), 'each recommendation names the criteria version it came from');

-- Scoring the same batch again in the same run replaces the run's recommendations.
select is((select failed from portfolio.score_users((select job_run_id from run), array['a0000000-0000-4000-8000-000000000001'::uuid])),
    false, 'the user is scored again');
select is((select count(*)::integer from recs where user_id = 'a0000000-0000-4000-8000-000000000001'), 5,
    'a batch scored again in the same run does not double its recommendations');

select ok(obj_description('portfolio.score_users(uuid, uuid[])'::regprocedure, 'pg_proc')
          ~ 'in proportion to their gaps.*top 3.*remainder',
    'score_users'' comment documents the recommendation rule');

select * from finish();
rollback;
