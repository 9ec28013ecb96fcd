-- score_users: hand-computed scores (every operator, between's bounds, negative and fractional
-- points, a missing metric, 0.1 + 0.2 = 0.3 exactly), the breakdown, the universe (markets plus
-- holdings), asset_scores upserted and score_history appended, four events per user with the
-- run's correlation id, INPUTS_CAPTURED holding the run's prices and rates, and failing users:
-- set aside with CALC_FAILED while the others are scored, also when the batch statement fails.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(36);

insert into portfolio.markets (code, name, time_zone, local_open_time) values
    ('NYSE', 'New York Stock Exchange', 'America/New_York', '09:30'),
    ('LSE', 'London Stock Exchange', 'Europe/London', '08:00');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'AAA', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BBB', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000c', 'CCC', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-00000000000d', 'DDD', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000e', 'EEE', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-0000000000f1', 'LLL', 'LSE', 'stock', 'GBP'),
    ('b0000000-0000-4000-8000-0000000000f2', 'NOPRICE', 'LSE', 'stock', 'GBP');
insert into portfolio.asset_metrics (asset_id, metric, value) values
    ('b0000000-0000-4000-8000-00000000000a', 'dividend_yield', 4), ('b0000000-0000-4000-8000-00000000000a', 'pe_ratio', 15),
    ('b0000000-0000-4000-8000-00000000000a', 'roe', 0.1), ('b0000000-0000-4000-8000-00000000000a', 'debt_to_equity', 0.5),
    ('b0000000-0000-4000-8000-00000000000b', 'dividend_yield', 3.99), ('b0000000-0000-4000-8000-00000000000b', 'pe_ratio', 5),
    ('b0000000-0000-4000-8000-00000000000b', 'debt_to_equity', 2),
    ('b0000000-0000-4000-8000-00000000000d', 'pe_ratio', 15.01), ('b0000000-0000-4000-8000-00000000000d', 'dividend_yield', 0.5),
    ('b0000000-0000-4000-8000-00000000000e', 'pe_ratio', 4.99),
    ('b0000000-0000-4000-8000-0000000000f1', 'roe', 0.25);

-- S1 scores the NYSE market and holds LLL (LSE); S2 holds AAA only; F* fail; G2 goes through
-- the per-user fallback.
insert into portfolio.users (id, base_currency, default_contribution) values
    ('a0000000-0000-4000-8000-000000000001', 'USD', 0), ('a0000000-0000-4000-8000-000000000002', 'USD', 0),
    ('a0000000-0000-4000-8000-0000000000f1', 'USD', 0), ('a0000000-0000-4000-8000-0000000000f2', 'USD', 0),
    ('a0000000-0000-4000-8000-0000000000f3', 'JPY', 0), ('a0000000-0000-4000-8000-0000000000f4', 'USD', 0);
insert into portfolio.user_markets (user_id, market_code) values ('a0000000-0000-4000-8000-000000000001', 'NYSE');
insert into portfolio.criteria_versions (user_id, version, criteria) values
    ('a0000000-0000-4000-8000-000000000001', 1, '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]'),
    ('a0000000-0000-4000-8000-000000000001', 2,
     '[{"metric": "dividend_yield", "operator": ">=", "threshold": 4, "points": 10},
       {"metric": "pe_ratio", "operator": "between", "threshold": [5, 15], "points": 5.5},
       {"metric": "roe", "operator": ">", "threshold": 0.1, "points": 0.1},
       {"metric": "roe", "operator": "<=", "threshold": 0.1, "points": 0.1},
       {"metric": "debt_to_equity", "operator": "<", "threshold": 1, "points": -2.25},
       {"metric": "pe_ratio", "operator": "=", "threshold": 15, "points": 0.2},
       {"metric": "dividend_yield", "operator": ">", "threshold": 3, "points": -0.3}]'),
    ('a0000000-0000-4000-8000-000000000002', 1,
     '[{"metric": "roe", "operator": ">=", "threshold": 0, "points": 0.1},
       {"metric": "roe", "operator": ">=", "threshold": 0, "points": 0.2}]'),
    ('a0000000-0000-4000-8000-0000000000f1', 1, '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]'),
    ('a0000000-0000-4000-8000-0000000000f3', 1, '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]'),
    ('a0000000-0000-4000-8000-0000000000f4', 1, '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]');
insert into portfolio.portfolios (id, user_id)
select ('c0000000-0000-4000-8000-0000000000' || right(u.id::text, 2))::uuid, u.id from portfolio.users u;
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-0000000000f1', 3),
    ('c0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000a', 1),
    ('c0000000-0000-4000-8000-0000000000f1', 'b0000000-0000-4000-8000-0000000000f2', 1),
    ('c0000000-0000-4000-8000-0000000000f3', 'b0000000-0000-4000-8000-00000000000a', 1),
    ('c0000000-0000-4000-8000-0000000000f4', 'b0000000-0000-4000-8000-00000000000a', 1);

create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
create temp table stored on commit drop as
select (portfolio.store_rates((select job_run_id from run),
            '{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"GBP": 0.75, "EUR": 0.8}}', 'test')).quotes,
       portfolio.store_prices((select job_run_id from run),
            '{"prices": [{"symbol": "NYSE:AAA", "price": "187.23", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
                         {"symbol": "NYSE:BBB", "price": 10.5, "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
                         {"symbol": "LSE:LLL", "price": "2.10", "currency": "GBP", "asOf": "2026-11-23T16:30:00Z"}],
              "missing": ["LSE:NOPRICE"]}', 'test') as prices;

-- G2: a failure score_users cannot foresee, in the middle of the batch statement.
create function pg_temp.refuse_g2() returns trigger language plpgsql as $$
begin
    if new.user_id = 'a0000000-0000-4000-8000-0000000000f4' then
        raise exception 'simulated failure' using errcode = 'XX001';
    end if;
    return new;
end $$;
create trigger refuse_g2 before insert on portfolio.asset_scores for each row execute function pg_temp.refuse_g2();

create temp table result on commit drop as
select * from portfolio.score_users((select job_run_id from run), array[
    'a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-0000000000f1', 'a0000000-0000-4000-8000-000000000002',
    'a0000000-0000-4000-8000-0000000000f2', 'a0000000-0000-4000-8000-0000000000f3', 'a0000000-0000-4000-8000-0000000000f4',
    'a0000000-0000-4000-8000-0000000000ff', 'a0000000-0000-4000-8000-000000000001']::uuid[]);
drop trigger refuse_g2 on portfolio.asset_scores;

create temp view scores as
select s.user_id, a.symbol, s.score, s.breakdown from portfolio.asset_scores s join portfolio.assets a on a.id = s.asset_id;

-- The result rows.
select results_eq($$select user_id::text, assets_scored, failed, sqlstate from result$$,
    $$values ('a0000000-0000-4000-8000-000000000001', 6, false, null::text), ('a0000000-0000-4000-8000-0000000000f1', 0, true, 'P0002'),
             ('a0000000-0000-4000-8000-000000000002', 1, false, null), ('a0000000-0000-4000-8000-0000000000f2', 0, true, 'P0002'),
             ('a0000000-0000-4000-8000-0000000000f3', 0, true, 'NSP03'), ('a0000000-0000-4000-8000-0000000000f4', 0, true, 'XX001'),
             ('a0000000-0000-4000-8000-0000000000ff', 0, true, 'NSP02')$$,
    'one row per user, in the order given, a duplicate once; the failures with their SQLSTATE');
select is((select message from result where user_id = 'a0000000-0000-4000-8000-0000000000f1'),
    'user a0000000-0000-4000-8000-0000000000f1: held asset LSE:NOPRICE (b0000000-0000-4000-8000-0000000000f2) has no price in job run '
        || (select job_run_id from run) || '''s snapshot',
    'a held asset without a price: the message names the user, the asset and the run');
select is((select message from result where user_id = 'a0000000-0000-4000-8000-0000000000f2'),
    'user a0000000-0000-4000-8000-0000000000f2 has no criteria version', 'no criteria version names the user');
select is((select message from result where user_id = 'a0000000-0000-4000-8000-0000000000f3'),
    'user a0000000-0000-4000-8000-0000000000f3: no exchange rate for JPY (the base currency) in job run '
        || (select job_run_id from run) || '''s snapshot',
    'a currency without a rate names the user and the currency');
select is((select message from result where user_id = 'a0000000-0000-4000-8000-0000000000f4'),
    'user a0000000-0000-4000-8000-0000000000f4: simulated failure',
    'an unforeseen failure is caught per user (fallback, one subtransaction each)');
select is((select message from result where user_id = 'a0000000-0000-4000-8000-0000000000ff'),
    'unknown user a0000000-0000-4000-8000-0000000000ff', 'an unknown user');

-- Scores, by hand. S1's universe: the 5 NYSE assets plus LLL, which it holds.
select results_eq($$select symbol, score from scores where user_id = 'a0000000-0000-4000-8000-000000000001' order by symbol$$,
    $$values ('AAA', 13.25::numeric), ('BBB', 5.2), ('CCC', 0), ('DDD', 0), ('EEE', 0), ('LLL', 0.1)$$,
    'AAA = 10 + 5.5 (pe 15, upper bound) + 0.1 (roe <= 0.1, not > 0.1) - 2.25 + 0.2 (= 15) - 0.3; BBB = 5.5 (pe 5, lower bound) - 0.3; '
    'CCC no metrics; DDD pe 15.01 and EEE pe 4.99 outside between; LLL roe 0.25 matches only > 0.1; all under the latest version');
select is((select score from scores where user_id = 'a0000000-0000-4000-8000-000000000001' and symbol = 'LLL'), 0.1::numeric,
    'LLL (held, another market) is scored: roe 0.25 > 0.1');
select is((select score::text from scores where user_id = 'a0000000-0000-4000-8000-000000000002'), '0.3',
    '0.1 + 0.2 is 0.3 exactly');
select is((select breakdown from scores where user_id = 'a0000000-0000-4000-8000-000000000001' and symbol = 'BBB'),
    '[{"rule": 0, "metric": "dividend_yield", "value": "3.99", "matched": false, "points": "0"},
      {"rule": 1, "metric": "pe_ratio", "value": "5", "matched": true, "points": "5.5"},
      {"rule": 2, "metric": "roe", "value": null, "matched": false, "points": "0"},
      {"rule": 3, "metric": "roe", "value": null, "matched": false, "points": "0"},
      {"rule": 4, "metric": "debt_to_equity", "value": "2", "matched": false, "points": "0"},
      {"rule": 5, "metric": "pe_ratio", "value": "5", "matched": false, "points": "0"},
      {"rule": 6, "metric": "dividend_yield", "value": "3.99", "matched": true, "points": "-0.3"}]',
    'the breakdown: one element per rule, values and points as decimal strings, a missing metric null and unmatched');
select is((select count(*)::integer from portfolio.asset_scores s join portfolio.criteria_versions c on c.id = s.criteria_version_id
           where s.user_id = 'a0000000-0000-4000-8000-000000000001' and c.version = 2), 6, 'scores name the latest criteria version');
select ok((select bool_and(correlation_id = (select correlation_id from run)) from portfolio.asset_scores), 'scores carry the run''s correlation id');
select is((select count(*)::integer from portfolio.score_history), 7, 'score_history gets every score');
select is((select count(*)::integer from portfolio.asset_scores where user_id in (
               'a0000000-0000-4000-8000-0000000000f1', 'a0000000-0000-4000-8000-0000000000f3', 'a0000000-0000-4000-8000-0000000000f4')), 0,
    'a failed user writes no score');

-- Events.
create temp view events as
select e.user_id, e.event_type, e.payload, e.created_at, e.correlation_id from portfolio.calculation_events e
where e.correlation_id = (select correlation_id from run);
select results_eq($$select event_type from events where user_id = 'a0000000-0000-4000-8000-000000000001' order by created_at$$,
    $$values ('CALC_STARTED'), ('INPUTS_CAPTURED'), ('SCORES_COMPUTED'), ('CALC_COMPLETED')$$,
    'four events per scored user, in order');
select is((select count(*)::integer from events where user_id in ('a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002')), 8,
    'and one set each, also for a user listed twice');
select is((select payload from events where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'CALC_STARTED') - 'timestamp',
    jsonb_build_object('correlationId', (select correlation_id from run), 'userId', 'a0000000-0000-4000-8000-000000000001'),
    'CALC_STARTED: correlationId, userId');
select ok((select payload ->> 'timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$' from events
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'CALC_STARTED'),
    'and its timestamp in ISO 8601 UTC');
select is((select array_agg(k order by k) from events, jsonb_object_keys(payload) k
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'INPUTS_CAPTURED'),
    array['assetIds', 'criteria', 'criteriaVersionId', 'prices', 'rates'], 'INPUTS_CAPTURED''s keys');
select is((select payload -> 'prices' from events where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'INPUTS_CAPTURED'),
    '{"b0000000-0000-4000-8000-00000000000a": {"price": "187.23", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
      "b0000000-0000-4000-8000-00000000000b": {"price": "10.5", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"},
      "b0000000-0000-4000-8000-0000000000f1": {"price": "2.10", "currency": "GBP", "asOf": "2026-11-23T16:30:00Z"}}',
    'INPUTS_CAPTURED holds the run''s prices of the user''s scored assets, as decimal strings');
select is((select payload -> 'rates' from events where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'INPUTS_CAPTURED'),
    '{"base": "USD", "asOf": "2026-11-23T00:00:00Z", "stale": false, "rates": {"EUR": "0.8", "GBP": "0.75"}}',
    'and the run''s rates');
select is((select payload -> 'criteria' from events where user_id = 'a0000000-0000-4000-8000-000000000002' and event_type = 'INPUTS_CAPTURED'),
    (select criteria from portfolio.criteria_versions where user_id = 'a0000000-0000-4000-8000-000000000002'),
    'and the criteria');
select is((select jsonb_array_length(payload -> 'assetIds') from events
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'INPUTS_CAPTURED'), 6, 'and the asset ids');
select is((select payload from events where user_id = 'a0000000-0000-4000-8000-000000000002' and event_type = 'SCORES_COMPUTED'),
    jsonb_build_object('results', jsonb_build_array(jsonb_build_object('assetId', 'b0000000-0000-4000-8000-00000000000a', 'score', '0.3',
        'breakdown', (select breakdown from scores where user_id = 'a0000000-0000-4000-8000-000000000002')))),
    'SCORES_COMPUTED: results with assetId, score, breakdown');
select is((select payload -> 'results' -> 0 ->> 'score' from events
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'SCORES_COMPUTED'), '13.25',
    'results come by score, highest first');
select is((select array_agg(k order by k) from events, jsonb_object_keys(payload) k
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'CALC_COMPLETED'),
    array['assetCount', 'batchDurationMs', 'batchUsers', 'correlationId', 'duration', 'durationMs'], 'CALC_COMPLETED''s keys (issue 15: correlationId and the user''s own duration)');
select is((select (payload ->> 'assetCount')::integer from events
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'CALC_COMPLETED'), 6, 'and its asset count');
select results_eq($$select event_type, payload ->> 'sqlstate' from events where user_id = 'a0000000-0000-4000-8000-0000000000f1' order by created_at$$,
    $$values ('CALC_STARTED', null), ('CALC_FAILED', 'P0002')$$, 'a failed user: CALC_STARTED then CALC_FAILED');
select is((select payload ->> 'error' from events where user_id = 'a0000000-0000-4000-8000-0000000000f4' and event_type = 'CALC_FAILED'),
    'user a0000000-0000-4000-8000-0000000000f4: simulated failure', 'CALC_FAILED carries the error');
select is((select count(distinct correlation_id)::integer from portfolio.calculation_events), 1, 'all with the run''s correlation id');

-- Scoring again: asset_scores are replaced, history grows.
select is((select count(*)::integer from portfolio.score_users((select job_run_id from run), array['a0000000-0000-4000-8000-000000000002'::uuid])
           where not failed), 1, 'a user is scored again');
select is((select count(*)::integer from portfolio.asset_scores where user_id = 'a0000000-0000-4000-8000-000000000002'), 1,
    'asset_scores are upserted');
select is((select count(*)::integer from portfolio.score_history where user_id = 'a0000000-0000-4000-8000-000000000002'), 2,
    'score_history appends');

-- Errors for the whole call.
select throws_ok($$select * from portfolio.score_users('e0000000-0000-4000-8000-0000000000ff', array[]::uuid[])$$,
    'NSP04', 'unknown job run e0000000-0000-4000-8000-0000000000ff', 'an unknown job run');
select throws_ok($$select * from portfolio.score_users((select job_run_id from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000002')),
                                                       array['a0000000-0000-4000-8000-000000000001'::uuid])$$,
    'NSP03', null, 'a run without rates scores nobody');
select throws_ok($$select * from portfolio.score_users((select job_run_id from run), null)$$, '22023', null, 'null user ids');

select * from finish();
rollback;
