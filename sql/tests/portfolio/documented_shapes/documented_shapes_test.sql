-- The tech spec's contracts (issue 15, points 3 and 4, migration 0061): recs:{userId} holds every
-- field of CachedRecommendations, portfolio:{userId} every field of CachedPortfolioSummary, with
-- the spec's names and JSON types; GET /api/dashboard's data (api.dashboard) has
-- DashboardResponse's fields, dataFreshness a string; the stale badge: older than 24 h, or
-- scored with stale rates or prices, recomputed when a cached document is read.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(30);

delete from cache.entries;
insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BND', 'NYSE', 'bond', 'USD');
insert into portfolio.prices (asset_id, price, currency, as_of, source) values
    ('b0000000-0000-4000-8000-00000000000a', 50, 'USD', '2026-11-20T21:00:00Z', 'test'),
    ('b0000000-0000-4000-8000-00000000000b', 25, 'USD', '2026-11-20T21:00:00Z', 'test');
-- U1 fresh run, U2 a run of 25 hours ago, U3 a run with stale rates, U4 a run with stale prices.
insert into portfolio.users (id, base_currency, default_contribution)
select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 'USD', 1000 from generate_series(1, 4) i;
insert into portfolio.criteria_versions (id, user_id, version, criteria)
select ('d0000000-0000-4000-8000-00000000000' || i)::uuid, ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 1,
       '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]'
from generate_series(1, 4) i;
insert into portfolio.portfolios (id, user_id) values ('f0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001');
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('f0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 3),
    ('f0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 4);
insert into portfolio.allocation_targets (user_id, asset_class, target_min, target_max) values
    ('a0000000-0000-4000-8000-000000000001', 'bond', 60, 80);
insert into portfolio.overnight_job_runs (id, status, started_at, completed_at, correlation_id, metrics)
select ('e0000000-0000-4000-8000-00000000000' || i)::uuid, 'completed', now() - age - interval '1 hour', now() - age,
       ('c0000000-0000-4000-8000-00000000000' || i)::uuid,
       jsonb_build_object('pricesAsOf', '2026-11-20T21:00:00Z', 'ratesAsOf', '2026-11-20T00:00:00Z', 'ratesStale', i = 3)
       || case when i = 4 then '{"pricesStale": true}'::jsonb else '{}' end
from (values (1, interval '2 hours'), (2, interval '25 hours'), (3, interval '2 hours'), (4, interval '2 hours')) r (i, age);
insert into portfolio.recommendations (user_id, job_run_id, criteria_version_id, asset_class, asset_id, amount, currency,
                                       allocation_gap, breakdown, created_at)
select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, ('e0000000-0000-4000-8000-00000000000' || i)::uuid,
       ('d0000000-0000-4000-8000-00000000000' || i)::uuid, 'bond', 'b0000000-0000-4000-8000-00000000000b', 1000, 'USD', 40.5,
       '{"criteriaCount": 1, "topContributor": {"metric": "pe_ratio", "points": "10"}, "score": "10", "position": 1}',
       now() - case when i = 2 then interval '25 hours' else interval '2 hours' end
from generate_series(1, 4) i;
select portfolio.warm_cache(('e0000000-0000-4000-8000-00000000000' || i)::uuid) from generate_series(1, 4) i;

create temp view recs as select cache.get('recs:a0000000-0000-4000-8000-000000000001') as d;
create temp view summary as select cache.get('portfolio:a0000000-0000-4000-8000-000000000001') as d;
-- JSON type of every field the spec names: path, expected jsonb_typeof.
create function pg_temp.types(p_doc jsonb, p_paths text[]) returns text[] language sql as $$
    select array_agg(p || '=' || coalesce(jsonb_typeof(p_doc #> string_to_array(p, '.')), 'missing') order by n)
    from unnest(p_paths) with ordinality x (p, n)
$$;

-- CachedRecommendations.
select is(pg_temp.types((select d from recs), array['userId', 'generatedAt', 'recommendations', 'portfolioSummary', 'dataFreshness']),
    array['userId=string', 'generatedAt=string', 'recommendations=array', 'portfolioSummary=object', 'dataFreshness=object'],
    'recs: userId, generatedAt, recommendations, portfolioSummary, dataFreshness');
select is((select d ->> 'userId' from recs), 'a0000000-0000-4000-8000-000000000001', 'recs: userId is the user');
select is((select (d ->> 'generatedAt')::timestamptz from recs), now() - interval '2 hours', 'recs: generatedAt is when the recommendations were written');
select is(pg_temp.types((select d -> 'recommendations' -> 0 from recs),
              array['assetId', 'symbol', 'score', 'amount', 'currency', 'allocationGap', 'breakdown.criteriaCount', 'breakdown.topContributor']),
    array['assetId=string', 'symbol=string', 'score=string', 'amount=string', 'currency=string', 'allocationGap=string',
          'breakdown.criteriaCount=number', 'breakdown.topContributor=string'],
    'recs: a recommendation has every field of the spec, decimals as strings');
select is((select d -> 'recommendations' -> 0 -> 'breakdown' ->> 'topContributor' from recs), 'pe_ratio',
    'topContributor is the metric''s name');
select is((select d -> 'recommendations' -> 0 ->> 'score' from recs), '10', 'score is the asset''s score');
select is(pg_temp.types((select d -> 'portfolioSummary' from recs), array['totalValue', 'baseCurrency', 'allocations']),
    array['totalValue=string', 'baseCurrency=string', 'allocations=object'], 'recs: portfolioSummary has totalValue, baseCurrency, allocations');
select is((select d -> 'portfolioSummary' -> 'allocations' from recs), '{"bond": "40.00", "stock": "60.00"}'::jsonb,
    'recs: allocations is {class: percentage}');
select is(pg_temp.types((select d -> 'dataFreshness' from recs), array['pricesAsOf', 'ratesAsOf', 'criteriaVersion']),
    array['pricesAsOf=string', 'ratesAsOf=string', 'criteriaVersion=string'], 'recs: dataFreshness has pricesAsOf, ratesAsOf, criteriaVersion (a string)');

-- CachedPortfolioSummary.
select is(pg_temp.types((select d from summary), array['totalValue', 'assetCount', 'allocations']),
    array['totalValue=string', 'assetCount=number', 'allocations=array'], 'portfolio: totalValue, assetCount, allocations');
select is((select (d ->> 'assetCount')::integer from summary), 2, 'portfolio: assetCount counts the assets held');
select is((select d -> 'allocations' from summary),
    '[{"className": "bond", "currentPercent": "40.00", "targetMin": "60", "targetMax": "80"},
      {"className": "stock", "currentPercent": "60.00", "targetMin": null, "targetMax": null}]'::jsonb,
    'portfolio: allocations as [{className, currentPercent, targetMin, targetMax}], no target: null');
select is((select d from summary), portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000001') - 'computedAt'
                                   || jsonb_build_object('computedAt', (select d -> 'computedAt' from summary)),
    'portfolio: the same document as portfolio_summary');

-- Staleness in the document (as of the warm-up).
select results_eq($$select i, (cache.get('recs:a0000000-0000-4000-8000-00000000000' || i) -> 'dataFreshness' -> 'stale')::text,
                          cache.get('recs:a0000000-0000-4000-8000-00000000000' || i) -> 'dataFreshness' -> 'staleReasons'
                   from generate_series(1, 4) i order by i$$,
    $$values (1, 'false', '[]'::jsonb), (2, 'true', '["olderThan24h"]'), (3, 'true', '["ratesStale"]'), (4, 'true', '["pricesStale"]')$$,
    'stale: fresh; older than 24 h; stale rates at scoring; stale prices at scoring');
select is((select (d -> 'dataFreshness' ->> 'ageSeconds')::integer from recs), 7200, 'ageSeconds: the data''s age');
select is((select d -> 'dataFreshness' -> 'pricesStale' from recs), 'false'::jsonb, 'pricesStale false for a run without stale prices');

-- DashboardResponse, as the user reads it.
create function pg_temp.as_user(p_user uuid) returns void language plpgsql as $$
begin
    perform set_config('role', 'nightshift_authenticated', true),
            set_config('request.jwt.claims', jsonb_build_object('sub', p_user, 'role', 'authenticated')::text, true);
end $$;
select pg_temp.as_user('a0000000-0000-4000-8000-000000000001');
create temp table r1 as select api.dashboard() as d;
reset role;
select is(pg_temp.types((select d from r1), array['recommendations', 'totalInvestable', 'baseCurrency', 'dataFreshness', 'fromCache']),
    array['recommendations=array', 'totalInvestable=string', 'baseCurrency=string', 'dataFreshness=string', 'fromCache=boolean'],
    'DashboardResponse: recommendations, totalInvestable, baseCurrency, dataFreshness (a string), fromCache');
select is((select (d ->> 'dataFreshness')::timestamptz from r1), now() - interval '2 hours', 'dataFreshness: when the recommendations were generated');
select is((select d -> 'fromCache' from r1), 'true'::jsonb, 'served from the cache');
select is((select (d -> 'freshness') - 'ageSeconds' - 'stale' - 'staleReasons' from r1),
    (select (d -> 'dataFreshness') - 'ageSeconds' - 'stale' - 'staleReasons' from recs), 'the cache''s dataFreshness object is freshness');
select is((select d -> 'stale' from r1), 'false'::jsonb, 'stale at the top: false for fresh data');

-- Read time decides: a cached document whose data has aged past 24 h is stale when read.
update cache.entries set value = jsonb_set(value, '{dataFreshness,generatedAt}', to_jsonb(to_char(now() - interval '30 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
where key = 'recs:a0000000-0000-4000-8000-000000000001';
set local timezone = 'UTC';
select pg_temp.as_user('a0000000-0000-4000-8000-000000000001');
create temp table r2 as select api.dashboard() as d;
reset role;
select is((select d -> 'stale' from r2), 'true'::jsonb, 'a cached document read 30 h after its data was generated is stale');
select is((select d -> 'freshness' -> 'staleReasons' from r2), '["olderThan24h"]'::jsonb, 'because it is older than 24 h');
select is((select (d -> 'freshness' ->> 'ageSeconds')::integer from r2), 30 * 3600, 'its age as of the read');

-- Stale rates / prices reach the user too, computed on a cache miss as well.
delete from cache.entries;
select pg_temp.as_user('a0000000-0000-4000-8000-000000000003');
create temp table r3 as select api.dashboard() as d;
select pg_temp.as_user('a0000000-0000-4000-8000-000000000004');
create temp table r4 as select api.dashboard() as d;
select pg_temp.as_user('a0000000-0000-4000-8000-000000000002');
create temp table r5 as select api.dashboard() as d;
reset role;
select is((select d -> 'fromCache' from r3), 'false'::jsonb, 'computed on a miss');
select is((select array[d -> 'stale', d -> 'freshness' -> 'staleReasons'] from r3), array['true'::jsonb, '["ratesStale"]'],
    'stale rates at scoring: stale');
select is((select array[d -> 'stale', d -> 'freshness' -> 'staleReasons'] from r4), array['true'::jsonb, '["pricesStale"]'],
    'stale prices at scoring: stale');
select is((select array[d -> 'stale', d -> 'freshness' -> 'staleReasons'] from r5), array['true'::jsonb, '["olderThan24h"]'],
    'recommendations of 25 hours ago: stale');

-- A user with nothing yet: no date, not stale.
insert into portfolio.users (id, base_currency) values ('a0000000-0000-4000-8000-000000000009', 'USD');
select pg_temp.as_user('a0000000-0000-4000-8000-000000000009');
create temp table r6 as select api.dashboard() as d;
reset role;
select is((select array[d -> 'dataFreshness', d -> 'stale'] from r6), array['null'::jsonb, 'false'], 'nothing yet: dataFreshness null, not stale');
select is((select d -> 'generatedAt' from r6), 'null'::jsonb, 'and generatedAt null');

select * from finish();
rollback;
