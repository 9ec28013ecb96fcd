-- Portfolio pack: the documented cache and response shapes, and staleness the user can see
-- (issue 15, points 3 and 4). The tech spec's contracts:
--   recs:{userId}       CachedRecommendations  {userId, generatedAt, recommendations: [{assetId, symbol, score,
--                                               amount, currency, allocationGap, breakdown: {criteriaCount,
--                                               topContributor}}], portfolioSummary: {totalValue, baseCurrency,
--                                               allocations: {class: percent}}, dataFreshness: {pricesAsOf,
--                                               ratesAsOf, criteriaVersion}}
--   portfolio:{userId}  CachedPortfolioSummary {totalValue, assetCount, allocations: [{className, currentPercent,
--                                               targetMin, targetMax}]}
--   GET /api/dashboard  DashboardResponse      {data: {recommendations, totalInvestable, baseCurrency,
--                                               dataFreshness: string, fromCache}}
-- Every field the spec names is there with its name and type (decimals as strings, counts as
-- numbers); the fields the pack had before stay beside them.
--
-- The spec gives dataFreshness two types: an object in the cache (CachedRecommendations) and a
-- string in the response (DashboardResponse). Both are kept where the spec puts them: the
-- cache holds the object; the HTTP response, which is what the product's front end reads, has
-- the string (when the recommendations were generated, what the DataFreshnessBadge shows,
-- AC-8.5.5) and carries the same object, age and stale flag recomputed at read time, as
-- "freshness".
--
-- Stale (the tech spec's stale-badge rule, "show stale badge if > 24h"): recommendations
-- generated more than 24 hours ago, or scored with stale exchange rates or stale prices.

create function portfolio._freshness(p_freshness jsonb, p_now timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
    select case when pg_catalog.jsonb_typeof(p_freshness) = 'object' then
        p_freshness || pg_catalog.jsonb_build_object(
            'ageSeconds', pg_catalog.floor(extract(epoch from p_now - t.generated_at))::bigint,
            'stale', pg_catalog.cardinality(r.reasons) > 0,
            'staleReasons', pg_catalog.to_jsonb(r.reasons))
    end
    from (select portfolio._try_timestamptz(p_freshness ->> 'generatedAt') as generated_at) t
    cross join lateral (
        select pg_catalog.array_remove(array[
                   case when t.generated_at < p_now - interval '24 hours' then 'olderThan24h' end,
                   case when p_freshness -> 'ratesStale' = 'true' then 'ratesStale' end,
                   case when p_freshness -> 'pricesStale' = 'true' then 'pricesStale' end], null) as reasons
    ) r
$$;
comment on function portfolio._freshness(jsonb, timestamptz) is
    'A dataFreshness object with its age and stale flag as of p_now: ageSeconds (whole seconds since generatedAt, null '
    'without one), stale (true when any reason holds), staleReasons (olderThan24h: generated more than 24 hours before '
    'p_now; ratesStale, pricesStale: the run scored with stale rates or prices). Null for anything but an object.';

create function portfolio._summary_fields(p_user_id uuid, p_summary jsonb, p_allocations_by_class boolean)
returns jsonb
language sql
immutable
set search_path = ''
as $$
    select case when pg_catalog.jsonb_typeof(p_summary) = 'object' then
        p_summary || pg_catalog.jsonb_build_object(
            'userId', p_user_id,
            'assetCount', (select pg_catalog.count(*) from pg_catalog.jsonb_array_elements(coalesce(p_summary -> 'holdings', '[]')) h
                           where portfolio._decimal(h -> 'quantity') > 0),
            'allocations', case when p_allocations_by_class
                then (select coalesce(pg_catalog.jsonb_object_agg(a ->> 'assetClass', a -> 'share'), '{}')
                      from pg_catalog.jsonb_array_elements(coalesce(p_summary -> 'allocation', '[]')) a)
                else (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                 'className', a -> 'assetClass', 'currentPercent', a -> 'share',
                                 'targetMin', a -> 'targetMin', 'targetMax', a -> 'targetMax') order by n), '[]')
                      from pg_catalog.jsonb_array_elements(coalesce(p_summary -> 'allocation', '[]')) with ordinality x (a, n))
            end)
    end
$$;
comment on function portfolio._summary_fields(uuid, jsonb, boolean) is
    'A portfolio_summary document with the tech spec''s fields added: userId, assetCount (assets held, quantity > 0) and '
    'allocations, from its allocation list: with p_allocations_by_class {class: currentPercent} '
    '(CachedRecommendations.portfolioSummary), else [{className, currentPercent, targetMin, targetMax}] '
    '(CachedPortfolioSummary; targets null for a class without one). Null for anything but an object.';

create or replace function portfolio._dashboards(p_user_ids uuid[], p_job_run_id uuid default null)
returns table (user_id uuid, document jsonb)
language sql
stable
set search_path = ''
as $$
    with sel as (
        select u.id as user_id, u.base_currency, u.default_contribution,
               case when p_job_run_id is not null then p_job_run_id else pick.job_run_id end as job_run_id,
               pick.created_at as picked_at, coalesce(pick.from_recommendations, false) as from_recommendations
        from portfolio.users u
        left join lateral (
            -- The newer of: the user's newest recommendation row, the user's newest successful
            -- scoring (CALC_COMPLETED; a run that scored the user but recommended nothing).
            select c.job_run_id, c.created_at, c.from_recommendations
            from ((select r.job_run_id, r.created_at, true as from_recommendations
                   from portfolio.recommendations r
                   where r.user_id = u.id and p_job_run_id is null
                   order by r.created_at desc limit 1)
                  union all
                  (select j.id, e.created_at, false
                   from portfolio.calculation_events e
                   join portfolio.overnight_job_runs j on j.correlation_id = e.correlation_id
                   where e.user_id = u.id and e.event_type = 'CALC_COMPLETED' and p_job_run_id is null
                   order by e.created_at desc limit 1)) c
            order by c.created_at desc, c.from_recommendations desc
            limit 1) pick on true
        where u.id = any (p_user_ids)
    ), recs as (
        select r.user_id, r.asset_id, r.asset_class, r.amount, r.currency, r.allocation_gap, r.breakdown,
               r.criteria_version_id, r.created_at
        from sel s
        join portfolio.recommendations r on r.job_run_id = s.job_run_id and r.user_id = s.user_id
        where s.job_run_id is not null
        union all
        -- Recommendations written outside a run (or whose run was deleted): those of the same write.
        select r.user_id, r.asset_id, r.asset_class, r.amount, r.currency, r.allocation_gap, r.breakdown,
               r.criteria_version_id, r.created_at
        from sel s
        join portfolio.recommendations r on r.user_id = s.user_id and r.created_at = s.picked_at and r.job_run_id is null
        where s.job_run_id is null and s.from_recommendations
    ), rec_lists as (
        select r.user_id,
               jsonb_agg(jsonb_build_object(
                   'assetId', r.asset_id, 'symbol', a.symbol, 'assetClass', r.asset_class,
                   'score', r.breakdown -> 'score',
                   'amount', r.amount::text, 'currency', r.currency,
                   'allocationGap', r.allocation_gap::text,
                   -- The spec's breakdown.topContributor is a string: the metric's name (the rule
                   -- as stored, {metric, points}, is split into it and topContributorPoints).
                   'breakdown', case when jsonb_typeof(r.breakdown -> 'topContributor') = 'object'
                                     then r.breakdown || jsonb_build_object(
                                              'topContributor', r.breakdown -> 'topContributor' -> 'metric',
                                              'topContributorPoints', r.breakdown -> 'topContributor' -> 'points')
                                     else r.breakdown || jsonb_build_object('topContributor', null) end)
                   order by (r.breakdown ->> 'position')::int nulls last, r.allocation_gap desc, r.asset_class, r.amount desc, a.symbol) as list,
               max(r.created_at) as generated_at,
               (array_agg(r.criteria_version_id order by r.created_at desc))[1] as criteria_version_id
        from recs r
        left join portfolio.assets a on a.id = r.asset_id
        group by r.user_id
    ), fresh as (
        select s.user_id, j.id as job_run_id, j.metrics, l.list,
               coalesce(l.generated_at, j.completed_at, j.started_at, s.picked_at) as generated_at,
               coalesce(l.criteria_version_id, inputs.criteria_version_id) as criteria_version_id,
               s.base_currency, s.default_contribution
        from sel s
        left join portfolio.overnight_job_runs j on j.id = s.job_run_id
        left join rec_lists l on l.user_id = s.user_id
        left join lateral (
            -- No recommendation in the run: the version the run scored with (INPUTS_CAPTURED).
            select (e.payload ->> 'criteriaVersionId')::uuid as criteria_version_id
            from portfolio.calculation_events e
            where l.user_id is null and e.correlation_id = j.correlation_id and e.user_id = s.user_id
              and e.event_type = 'INPUTS_CAPTURED'
            order by e.created_at desc limit 1) inputs on true
    )
    -- The freshness, the spec's summary fields and the timestamps are spelled out here rather
    -- than through portfolio._freshness, _summary_fields and _json_time: functions with SET
    -- are not inlined, and warm_cache builds this for 1,000 users a call (issue 16).
    select f.user_id,
           jsonb_build_object(
               'userId', f.user_id,
               'generatedAt', g.generated_at,
               'recommendations', coalesce(f.list, '[]'),
               'totalInvestable', f.default_contribution::text,
               'baseCurrency', f.base_currency,
               'dataFreshness', jsonb_build_object(
                   'pricesAsOf', f.metrics -> 'pricesAsOf',
                   'ratesAsOf', f.metrics -> 'ratesAsOf',
                   'ratesStale', f.metrics -> 'ratesStale',
                   'pricesStale', case when f.job_run_id is not null then coalesce(f.metrics -> 'pricesStale', 'false') end,
                   'criteriaVersion', cv.version::text,
                   'criteriaVersionId', cv.id,
                   'jobRunId', f.job_run_id,
                   'generatedAt', g.generated_at,
                   'ageSeconds', floor(extract(epoch from now() - g.at))::bigint,
                   'stale', cardinality(st.reasons) > 0,
                   'staleReasons', to_jsonb(st.reasons)),
               'portfolioSummary', sm.summary || jsonb_build_object(
                   'userId', f.user_id,
                   'assetCount', (select count(*) from jsonb_array_elements(coalesce(sm.summary -> 'holdings', '[]')) h
                                  where (h ->> 'quantity')::numeric > 0),
                   'allocations', (select coalesce(jsonb_object_agg(a ->> 'assetClass', a -> 'share'), '{}')
                                   from jsonb_array_elements(coalesce(sm.summary -> 'allocation', '[]')) a)))
    from fresh f
    cross join lateral (
        select case when f.list is not null or f.job_run_id is not null then f.generated_at end as at
    ) t
    cross join lateral (
        select t.at,
               to_jsonb(to_char(t.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                        || case when date_part('microseconds', t.at at time zone 'UTC')::bigint % 1000000 <> 0
                                then to_char(t.at at time zone 'UTC', '.US') else '' end || 'Z') as generated_at
    ) g
    cross join lateral (
        select array_remove(array[
                   case when g.at < now() - interval '24 hours' then 'olderThan24h' end,
                   case when f.metrics -> 'ratesStale' = 'true' then 'ratesStale' end,
                   case when f.job_run_id is not null and f.metrics -> 'pricesStale' = 'true' then 'pricesStale' end], null) as reasons
    ) st
    left join portfolio.criteria_versions cv on cv.id = f.criteria_version_id
    left join portfolio._summaries(p_user_ids) sm on sm.user_id = f.user_id
$$;

create or replace function portfolio.portfolio_summary(p_user_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    perform portfolio._require_user(p_user_id);
    return (select portfolio._summary_fields(p_user_id, s.summary, false) from portfolio._summaries(array[p_user_id]) s);
end
$$;
comment on function portfolio.portfolio_summary(uuid) is
$doc$The user's holdings valued now, what the cache key portfolio:<userId> holds: the tech spec's CachedPortfolioSummary
{"totalValue", "assetCount", "allocations": [{"className", "currentPercent", "targetMin", "targetMax"}]} with userId and
the pack's own fields beside it:
  {"userId", "baseCurrency": "USD", "totalValue": "12345.67", "assetCount": 2, "unvalued": 0,
   "allocations": [{"className": "bond", "currentPercent": "15.17", "targetMin": "20", "targetMax": "40"}],
   "holdings": [{"assetId", "symbol", "market", "assetClass", "quantity": "10", "price": "187.23",
                 "currency": "USD", "priceAsOf", "value": "1872.30"}],
   "allocation": [{"assetClass", "value", "share": "15.17", "targetMin": "20", "targetMax": "40",
                   "gap": "4.83", "status": "below"}],
   "pricesAsOf", "ratesAsOf", "rateBase": "USD", "computedAt"}
assetCount: the assets held (quantity > 0, all portfolios together); allocations: allocation's classes in the same
order, currentPercent = share, targets null for a class without one. The valuation is 0034's (the comment of
_summaries and 0034's portfolio_summary: newest stored prices and rates, unvalued holdings, shares rounded to 2
decimals). Errors: 22023 "user_id: required"; NSP02 unknown user.$doc$;

create or replace function portfolio.dashboard_document(p_user_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    perform portfolio._require_user(p_user_id);
    return (select d.document from portfolio._dashboards(array[p_user_id], null) d);
end
$$;
comment on function portfolio.dashboard_document(uuid) is
$doc$The dashboard of a user, what the cache key recs:<userId> holds (the tech spec's CachedRecommendations, with the
pack's own fields beside it) and what GET /api/dashboard computes on a miss:
  {"userId", "generatedAt": "2026-11-24T04:01:02Z",
   "recommendations": [{"assetId", "symbol", "assetClass", "score": "13.25", "amount": "250.00", "currency": "USD",
                        "allocationGap": "12.5",
                        "breakdown": {"criteriaCount": 3, "topContributor": "pe_ratio", "topContributorPoints": "10",
                                      "score": "13.25", "position": 1}}],
   "totalInvestable": "1000", "baseCurrency": "USD",
   "dataFreshness": {"pricesAsOf", "ratesAsOf", "criteriaVersion": "3", "ratesStale", "pricesStale",
                     "criteriaVersionId", "jobRunId", "generatedAt", "ageSeconds", "stale", "staleReasons"},
   "portfolioSummary": {"totalValue", "baseCurrency", "allocations": {"bond": "15.17", ...}, "userId", "assetCount",
                        ...the rest of portfolio_summary's document}}
Which recommendations: those of the user's newest run only (as in 0034: the newer of the run of the user's newest
recommendation row and the run of the user's newest CALC_COMPLETED event; a run in which the user failed does not
replace the previous run's results; rows without a run count as one run, those written together), ordered by
breakdown.position. score: the asset's score (null for a class without an asset); breakdown.topContributor: the
metric of the matched rule with the most points (null when none matched), its points in topContributorPoints.
generatedAt (also in dataFreshness): when the recommendations were written, else when the run completed; null with
no run. dataFreshness: pricesAsOf, ratesAsOf, ratesStale, pricesStale as the run's metrics hold them (pricesStale
false for a run without stale prices; all null with no run); criteriaVersion (a string) and its id; ageSeconds,
stale and staleReasons as of the call (portfolio._freshness: older than 24 h, rates or prices stale at scoring).
Errors: 22023 "user_id: required"; NSP02 unknown user.$doc$;

create or replace function portfolio.warm_cache(
    p_job_run_id uuid, p_ttl interval default interval '24 hours', p_after uuid default null, p_limit integer default 1000)
returns table (users integer, last_user_id uuid)
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_correlation_id uuid;
    v_after constant uuid := coalesce(p_after, '00000000-0000-0000-0000-000000000000');
    v_ids uuid[];
    v_expires_at timestamptz;
begin
    if p_job_run_id is null then
        raise exception 'job_run_id: required' using errcode = 'invalid_parameter_value';
    end if;
    if p_ttl is null or p_ttl <= interval '0' then
        raise exception 'ttl: must be a positive interval, got %', coalesce(p_ttl::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_limit is null or p_limit < 1 or p_limit > 10000 then
        raise exception 'limit: must be between 1 and 10000, got %', coalesce(p_limit::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select j.correlation_id into v_correlation_id from portfolio.overnight_job_runs j where j.id = p_job_run_id;
    if not found then
        raise exception 'unknown job run %', p_job_run_id using errcode = 'NSP04';
    end if;

    -- The run's successful users after the cursor, in id order: those with a CALC_COMPLETED
    -- event of the run and those with recommendations of the run, each side a range scan of
    -- its index from the cursor, stopped after p_limit.
    select array_agg(x.user_id order by x.user_id) into v_ids
    from (
        select y.user_id
        from ((select distinct e.user_id
               from portfolio.calculation_events e
               where e.correlation_id = v_correlation_id and e.user_id > v_after and e.event_type = 'CALC_COMPLETED'
               order by e.user_id limit p_limit)
              union
              (select distinct r.user_id
               from portfolio.recommendations r
               where r.job_run_id = p_job_run_id and r.user_id > v_after
               order by r.user_id limit p_limit)) y
        order by y.user_id
        limit p_limit) x;
    if v_ids is null then
        return query select 0, null::uuid;
        return;
    end if;

    -- One expiry for the page. Key order: two warmers on overlapping pages lock the same keys
    -- in the same order, so they wait for each other instead of deadlocking.
    v_expires_at := clock_timestamp() + p_ttl;
    insert into cache.entries as ce (key, user_id, value, expires_at, updated_at)
    select k.key, d.user_id, k.value, v_expires_at, clock_timestamp()
    from portfolio._dashboards(v_ids, p_job_run_id) d
    cross join lateral (values ('recs:' || d.user_id::text, d.document),
                               -- portfolio:<userId> is CachedPortfolioSummary: allocations as a list
                               -- (portfolio._summary_fields, spelled out: this runs per user of the page).
                               ('portfolio:' || d.user_id::text,
                                (d.document -> 'portfolioSummary') || jsonb_build_object('allocations', (
                                    select coalesce(jsonb_agg(jsonb_build_object(
                                               'className', a -> 'assetClass', 'currentPercent', a -> 'share',
                                               'targetMin', a -> 'targetMin', 'targetMax', a -> 'targetMax') order by n), '[]')
                                    from jsonb_array_elements(coalesce(d.document -> 'portfolioSummary' -> 'allocation', '[]'))
                                         with ordinality x (a, n))))) k(key, value)
    order by k.key
    on conflict (key) do update
        set user_id = excluded.user_id, value = excluded.value,
            expires_at = excluded.expires_at, updated_at = excluded.updated_at;

    return query select cardinality(v_ids), v_ids[cardinality(v_ids)];
end
$$;
comment on function portfolio.warm_cache(uuid, interval, uuid, integer) is
$doc$The cache warmer's page: for up to p_limit (default 1,000; 1..10,000) users scored successfully in the run p_job_run_id
(a CALC_COMPLETED event with the run's correlation id, or recommendations with that job_run_id) whose id is after
p_after (null: from the start), in id order, writes recs:<userId> (dashboard_document, with that run's
recommendations: CachedRecommendations) and portfolio:<userId> (portfolio_summary: CachedPortfolioSummary) into
cache.entries with expiry now + p_ttl (default 24 hours; user_id = the user). Set-based: one statement builds and
upserts the page's 2 * users entries. Returns users = how many users the page held (a user erased since the run gets
no key) and last_user_id = the last of them, the cursor of the next call; call again with p_after = last_user_id
until users < p_limit (last_user_id is null when the page is empty). The nil uuid is not a user id (it is the
cursor's start). Errors: 22023 naming job_run_id, ttl (null, zero or negative) or limit; NSP04 unknown job run.$doc$;

create function portfolio._dashboard_response(p_document jsonb, p_from_cache boolean)
returns jsonb
language sql
stable
set search_path = ''
as $$
    select p_document || pg_catalog.jsonb_build_object(
               'dataFreshness', f.freshness -> 'generatedAt',
               'freshness', f.freshness,
               'stale', coalesce(f.freshness -> 'stale', 'false'),
               'fromCache', p_from_cache)
    from (select portfolio._freshness(p_document -> 'dataFreshness', pg_catalog.now()) as freshness) f
$$;
comment on function portfolio._dashboard_response(jsonb, boolean) is
    'GET /api/dashboard''s data from a dashboard document (cached or computed): DashboardResponse''s dataFreshness as '
    'a string (generatedAt, null without one), the document''s dataFreshness object as freshness with ageSeconds, '
    'stale and staleReasons recomputed now, stale at the top for the badge, and fromCache.';

create or replace function api.dashboard()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_user constant uuid := auth.require_uid('api.dashboard');
    v_cached jsonb := cache.get('recs:' || v_user::text);
begin
    if v_cached is not null then
        return portfolio._dashboard_response(v_cached, true);
    end if;
    return portfolio._dashboard_response(portfolio.dashboard_document(v_user), false);
end
$$;
comment on function api.dashboard() is
    'The caller''s dashboard, the tech spec''s DashboardResponse data {recommendations, totalInvestable, baseCurrency, '
    'dataFreshness (a string: when the recommendations were generated), fromCache} with the document''s other fields '
    '(userId, generatedAt, portfolioSummary) and freshness (the dataFreshness object; its age and stale flag as of '
    'this call) and stale: the document the overnight run cached (fromCache true), else computed now (fromCache false).';

-- The cache warmer's figures join the scoring run's (the tech spec's cache_warm_ms beside
-- fetch_rates_ms and process_users_ms): one row tells the whole night.
create function portfolio.record_cache_warm(p_job_run_id uuid, p_metrics jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform portfolio._job_run(p_job_run_id, true);
    if p_metrics is null or pg_catalog.jsonb_typeof(p_metrics) <> 'object' then
        raise exception 'metrics: must be a JSON object, got %', coalesce(pg_catalog.jsonb_typeof(p_metrics), 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    update portfolio.overnight_job_runs r set metrics = r.metrics || p_metrics where r.id = p_job_run_id;
end
$$;
comment on function portfolio.record_cache_warm(uuid, jsonb) is
    'The cache warmer''s figures ({"cache_warm_ms", "users_warmed", "keys_written", "expired_keys_swept"}) merged into the '
    'scoring run''s metrics. Errors: 22023 metrics not an object; NSP04 unknown job run.';

revoke all on function portfolio.record_cache_warm(uuid, jsonb) from public;
grant execute on function portfolio.record_cache_warm(uuid, jsonb) to nightshift_service;

-- Grants (as in 0034): helpers stay the owner's; create or replace kept the others' grants.
revoke all on function
    portfolio._freshness(jsonb, timestamptz),
    portfolio._summary_fields(uuid, jsonb, boolean),
    portfolio._dashboard_response(jsonb, boolean)
from public;
