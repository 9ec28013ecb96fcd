-- portfolio.dashboard_document (0034): the recommendations of the user's newest run only, the
-- run's freshness (metrics), the criteria version, the contribution; the empty case; a run
-- that scored without recommending; a run the user failed in does not hide the previous one.
-- The rows 0032's scoring would write are inserted directly.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BND', 'NYSE', 'bond', 'USD'),
    ('b0000000-0000-4000-8000-00000000000c', 'AGG', 'NYSE', 'bond', 'USD');
insert into portfolio.users (id, base_currency, default_contribution) values
    ('a0000000-0000-4000-8000-000000000001', 'USD', 1000.50),
    ('a0000000-0000-4000-8000-000000000002', 'BRL', 0),
    ('a0000000-0000-4000-8000-000000000003', 'USD', 300),
    ('a0000000-0000-4000-8000-000000000004', 'USD', 200);
insert into portfolio.criteria_versions (id, user_id, version, criteria)
select ('d0000000-0000-4000-8000-000000000' || u || v)::uuid, ('a0000000-0000-4000-8000-0000000000' || u)::uuid, v::integer,
       '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]'
from unnest(array['01', '03', '04']) u, unnest(array['1', '2']) v;
insert into portfolio.overnight_job_runs (id, status, started_at, completed_at, correlation_id, metrics) values
    ('e0000000-0000-4000-8000-000000000001', 'completed', now() - interval '2 days', now() - interval '2 days' + interval '1 hour',
     'c0000000-0000-4000-8000-000000000001',
     '{"pricesAsOf": "2026-11-20T21:00:00Z", "ratesAsOf": "2026-11-20T00:00:00Z", "ratesStale": false}'),
    ('e0000000-0000-4000-8000-000000000002', 'partial', now() - interval '1 day', now() - interval '1 day' + interval '1 hour',
     'c0000000-0000-4000-8000-000000000002',
     '{"pricesAsOf": "2026-11-21T21:00:00Z", "ratesAsOf": "2026-11-20T00:00:00Z", "ratesStale": true}');
-- User 1: two rows in run 1 (criteria v1), two in run 2 (criteria v2).
insert into portfolio.recommendations (user_id, job_run_id, criteria_version_id, asset_class, asset_id, amount, currency,
                                       allocation_gap, breakdown, created_at) values
    ('a0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000011',
     'stock', 'b0000000-0000-4000-8000-00000000000a', 999, 'USD', 1, '{}', now() - interval '2 days'),
    ('a0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000011',
     'bond', 'b0000000-0000-4000-8000-00000000000b', 1.50, 'USD', 2, '{}', now() - interval '2 days'),
    ('a0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000012',
     'stock', 'b0000000-0000-4000-8000-00000000000a', 400.20, 'USD', 5.5,
     '{"criteriaCount": 1, "topContributor": {"metric": "pe_ratio", "points": "10"}, "score": "10"}', now() - interval '1 day'),
    ('a0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000012',
     'bond', 'b0000000-0000-4000-8000-00000000000c', 600.30, 'USD', 12.25, '{}', now() - interval '1 day'),
    -- User 3: run 1 recommended; run 2 scored them (CALC_COMPLETED) but recommended nothing.
    ('a0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000031',
     'bond', 'b0000000-0000-4000-8000-00000000000b', 300, 'USD', 20, '{}', now() - interval '2 days'),
    -- User 4: run 1 recommended; in run 2 they failed (CALC_FAILED).
    ('a0000000-0000-4000-8000-000000000004', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000041',
     'bond', 'b0000000-0000-4000-8000-00000000000b', 200, 'USD', 20, '{}', now() - interval '2 days');
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload, created_at) values
    ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000003', 'INPUTS_CAPTURED',
     '{"criteriaVersionId": "d0000000-0000-4000-8000-000000000032"}', now() - interval '1 day'),
    ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000003', 'CALC_COMPLETED',
     '{"durationMs": 5, "assetCount": 3}', now() - interval '1 day' + interval '1 second'),
    ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000004', 'CALC_FAILED',
     '{"error": "no price", "sqlstate": "P0001"}', now() - interval '1 day');

create temporary table d as select portfolio.dashboard_document('a0000000-0000-4000-8000-000000000001') as doc;

select is((select jsonb_agg(r ->> 'amount') from d, jsonb_array_elements(doc -> 'recommendations') r), '["600.30", "400.20"]'::jsonb,
    'only the newest run''s recommendations, largest allocation gap first');
select is((select doc -> 'recommendations' -> 1 from d),
    '{"assetId": "b0000000-0000-4000-8000-00000000000a", "symbol": "KO", "assetClass": "stock", "score": "10", "amount": "400.20",
      "currency": "USD", "allocationGap": "5.5",
      "breakdown": {"criteriaCount": 1, "topContributor": "pe_ratio", "topContributorPoints": "10", "score": "10"}}'::jsonb,
    'a recommendation: asset, symbol, class, score, amount and gap as decimal strings, the breakdown with topContributor the metric (0061)');
select is((select doc ->> 'totalInvestable' from d), '1000.50', 'totalInvestable is the default contribution, a decimal string');
select is((select doc ->> 'baseCurrency' from d), 'USD', 'the base currency');
select is((select (doc -> 'dataFreshness') - 'generatedAt' - 'ageSeconds' - 'stale' - 'staleReasons' from d),
    '{"pricesAsOf": "2026-11-21T21:00:00Z", "ratesAsOf": "2026-11-20T00:00:00Z", "ratesStale": true, "pricesStale": false, "criteriaVersion": "2",
      "criteriaVersionId": "d0000000-0000-4000-8000-000000000012", "jobRunId": "e0000000-0000-4000-8000-000000000002"}'::jsonb,
    'freshness from the newest run''s metrics, with the criteria version of its recommendations');
select is((select (doc -> 'dataFreshness' ->> 'generatedAt')::timestamptz from d), now() - interval '1 day',
    'generatedAt: when the recommendations were written');
select is((select (doc -> 'portfolioSummary') - 'allocations' from d), portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000001') - 'allocations',
    'the portfolio summary is embedded (allocations by class there, 0061)');

-- Nothing yet.
select is(portfolio.dashboard_document('a0000000-0000-4000-8000-000000000002') - 'portfolioSummary',
    '{"userId": "a0000000-0000-4000-8000-000000000002", "generatedAt": null,
      "recommendations": [], "totalInvestable": "0", "baseCurrency": "BRL",
      "dataFreshness": {"pricesAsOf": null, "ratesAsOf": null, "ratesStale": null, "pricesStale": null, "criteriaVersion": null,
                        "criteriaVersionId": null, "jobRunId": null, "generatedAt": null,
                        "ageSeconds": null, "stale": false, "staleReasons": []}}'::jsonb,
    'a user without recommendations: an empty list and null freshness');

-- Scored in the newest run without a recommendation: that run counts, not the older one.
select is((select portfolio.dashboard_document('a0000000-0000-4000-8000-000000000003') -> 'recommendations'), '[]'::jsonb,
    'a newer run that recommended nothing replaces the older recommendations');
select is((select portfolio.dashboard_document('a0000000-0000-4000-8000-000000000003') -> 'dataFreshness' ->> 'jobRunId'),
    'e0000000-0000-4000-8000-000000000002', 'with that run''s freshness');
select is((select portfolio.dashboard_document('a0000000-0000-4000-8000-000000000003') -> 'dataFreshness' -> 'criteriaVersion'),
    '"2"'::jsonb, 'and the criteria version its INPUTS_CAPTURED names');

-- Failed in the newest run: the previous results stay.
select is((select jsonb_agg(r ->> 'amount') from jsonb_array_elements(
               portfolio.dashboard_document('a0000000-0000-4000-8000-000000000004') -> 'recommendations') r),
    '["200"]'::jsonb, 'a run the user failed in does not hide the previous run''s recommendations');
select is((select portfolio.dashboard_document('a0000000-0000-4000-8000-000000000004') -> 'dataFreshness' ->> 'ratesStale'),
    'false', 'with the previous run''s freshness');

-- Recommendations without a run: those written together.
update portfolio.recommendations set job_run_id = null where user_id = 'a0000000-0000-4000-8000-000000000004';
select is((select jsonb_array_length(portfolio.dashboard_document('a0000000-0000-4000-8000-000000000004') -> 'recommendations')),
    1, 'recommendations whose run was deleted are still shown');

-- Another user's rows never leak.
select ok(not exists (select from jsonb_array_elements(portfolio.dashboard_document('a0000000-0000-4000-8000-000000000003') -> 'recommendations') r
                      where r ->> 'amount' in ('600.30', '400.20')),
    'a user sees only their own recommendations');

select throws_ok($$select portfolio.dashboard_document('a0000000-0000-4000-8000-0000000000ff')$$, 'NSP02',
    'unknown user a0000000-0000-4000-8000-0000000000ff', 'an unknown user is NSP02');
select throws_ok($$select portfolio.dashboard_document(null)$$, '22023', 'user_id: required', 'a null user is 22023 naming user_id');

select * from finish();
rollback;
