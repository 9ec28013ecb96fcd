-- Portfolio pack: what the HTTP API and the cache warmer read, and the criteria save.
--
--   portfolio.dashboard_document(user)           GET /api/dashboard on a cache miss; what recs:<user> holds
--   portfolio.portfolio_summary(user)            what portfolio:<user> holds
--   portfolio.warm_cache(run, ttl, after, limit) portfolio/cache-warmer: one page of a run's users (keyset)
--   portfolio.save_criteria(user, criteria)      POST /api/v1/criteria: the next version
--   portfolio.asset_calculations(user, asset, …) GET /api/v1/audit/assets/<asset>/calculations
--
-- These read only the tables of 0030 (recommendations, overnight_job_runs.metrics,
-- calculation_events, score_history, prices, exchange_rates, …), never the run's snapshot
-- tables of 0032, so they work whatever wrote the rows. The two documents are built by
-- set-based helpers over an array of users (_summaries, _dashboards): the single-user
-- functions and warm_cache (1,000 users a call) run the same statements.
--
-- JSON out carries money, prices, quantities, shares and scores as decimal strings
-- (numeric::text), timestamps as ISO 8601 strings, counts as JSON numbers.
--
-- Errors callers can act on carry their own SQLSTATE:
--   22023 invalid argument (the message names the field: user_id, asset_id, limit, ttl, criteria[i]),
--   NSP02 unknown user, NSP04 unknown job run.

-- warm_cache pages through a run's users in id order: (job_run_id, user_id) gives the run's
-- users after a cursor by a range scan (the index on job_run_id alone would read every row of
-- the run on every page). _dashboards finds a user's rows of a run by it too.
create index recommendations_job_run_user_idx on portfolio.recommendations (job_run_id, user_id);

create function portfolio._require_user(p_user_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
    if p_user_id is null then
        raise exception 'user_id: required' using errcode = 'invalid_parameter_value';
    end if;
    if not exists (select from portfolio.users u where u.id = p_user_id) then
        raise exception 'unknown user %', p_user_id using errcode = 'NSP02';
    end if;
end
$$;
comment on function portfolio._require_user(uuid) is 'Raises 22023 naming user_id when null, NSP02 when the user does not exist.';

-- The portfolio summary of many users at once (see portfolio_summary for the document).
create function portfolio._summaries(p_user_ids uuid[])
returns table (user_id uuid, summary jsonb)
language sql
stable
set search_path = ''
as $$
    with rate_base as (
        -- The base the rates are stored in: USD (what the job fetches) when there are USD rates,
        -- otherwise the base of the newest stored rate.
        select coalesce(
            (select 'USD'::char(3) where exists (select from portfolio.exchange_rates r where r.base = 'USD')),
            (select r.base from portfolio.exchange_rates r order by r.as_of desc, r.id desc limit 1)) as base
    ), u as (
        select us.id, us.base_currency from portfolio.users us where us.id = any (p_user_ids)
    ), h as (
        -- Every portfolio of the user together: one line per asset.
        select p.user_id, hd.asset_id, sum(hd.quantity) as quantity
        from portfolio.portfolios p
        join portfolio.holdings hd on hd.portfolio_id = p.id
        where p.user_id = any (p_user_ids)
        group by p.user_id, hd.asset_id
    ), pr as (
        -- The newest stored price of each held asset (ties: the latest fetched).
        select a.asset_id, lp.price, lp.currency, lp.as_of
        from (select distinct h.asset_id from h) a
        left join lateral (
            select x.price, x.currency, x.as_of from portfolio.prices x
            where x.asset_id = a.asset_id order by x.as_of desc, x.id desc limit 1) lp on true
    ), rt as (
        -- The newest stored rate of each currency needed, 1 base = rate currency; the base is 1.
        select c.currency,
               case when c.currency = rb.base then 1::numeric else lr.rate end as rate,
               case when c.currency = rb.base then null else lr.as_of end as as_of
        from (select pr.currency from pr where pr.currency is not null union select u.base_currency from u) c
        cross join rate_base rb
        left join lateral (
            select r.rate, r.as_of from portfolio.exchange_rates r
            where r.base = rb.base and r.quote = c.currency order by r.as_of desc, r.id desc limit 1) lr on true
    ), hv as (
        select h.user_id, h.asset_id, a.symbol, a.market_code, a.asset_class, h.quantity,
               pr.price, pr.currency, pr.as_of as price_as_of,
               case when pr.price is null then null
                    when pr.currency = u.base_currency then round(h.quantity * pr.price, 2)
                    when r_from.rate is null or r_to.rate is null then null
                    else round(h.quantity * pr.price / r_from.rate * r_to.rate, 2) end as value,
               case when pr.price is not null and pr.currency <> u.base_currency
                    then least(r_from.as_of, r_to.as_of) end as rates_as_of
        from h
        join u on u.id = h.user_id
        join portfolio.assets a on a.id = h.asset_id
        left join pr on pr.asset_id = h.asset_id
        left join rt r_from on r_from.currency = pr.currency
        left join rt r_to on r_to.currency = u.base_currency
    ), totals as (
        select hv.user_id,
               coalesce(sum(hv.value), 0) as total,
               count(*) filter (where hv.value is null) as unvalued,
               min(hv.price_as_of) filter (where hv.value is not null) as prices_as_of,
               min(hv.rates_as_of) filter (where hv.value is not null) as rates_as_of,
               jsonb_agg(jsonb_build_object(
                   'assetId', hv.asset_id, 'symbol', hv.symbol, 'market', hv.market_code, 'assetClass', hv.asset_class,
                   'quantity', hv.quantity::text, 'price', hv.price::text, 'currency', hv.currency,
                   'priceAsOf', hv.price_as_of, 'value', hv.value::text)
                   order by hv.value desc nulls last, hv.market_code, hv.symbol) as holdings
        from hv
        group by hv.user_id
    ), classes as (
        select coalesce(c.user_id, t.user_id) as user_id, coalesce(c.asset_class, t.asset_class) as asset_class,
               coalesce(c.value, 0) as value, t.target_min, t.target_max
        from (select hv.user_id, hv.asset_class, coalesce(sum(hv.value), 0) as value
              from hv group by hv.user_id, hv.asset_class) c
        full join (select t.* from portfolio.allocation_targets t where t.user_id = any (p_user_ids)) t
            on t.user_id = c.user_id and t.asset_class = c.asset_class
    ), shares as (
        select c.*,
               case when coalesce(tt.total, 0) > 0 then 100 * c.value / tt.total else 0 end as share
        from classes c
        left join totals tt on tt.user_id = c.user_id
    ), allocation as (
        select s.user_id,
               jsonb_agg(jsonb_build_object(
                   'assetClass', s.asset_class, 'value', s.value::text, 'share', round(s.share, 2)::text,
                   'targetMin', s.target_min::text, 'targetMax', s.target_max::text,
                   'gap', case when s.share < s.target_min then round(s.target_min - s.share, 2)::text end,
                   'status', case when s.target_min is null then 'untargeted'
                                  when s.share < s.target_min then 'below'
                                  when s.share > s.target_max then 'above'
                                  else 'within' end)
                   order by s.asset_class) as list
        from shares s
        group by s.user_id
    )
    select u.id,
           jsonb_build_object(
               'baseCurrency', u.base_currency,
               'totalValue', coalesce(tt.total, 0)::text,
               'unvalued', coalesce(tt.unvalued, 0),
               'holdings', coalesce(tt.holdings, '[]'),
               'allocation', coalesce(al.list, '[]'),
               'pricesAsOf', tt.prices_as_of,
               'ratesAsOf', tt.rates_as_of,
               'rateBase', (select rb.base from rate_base rb),
               'computedAt', now())
    from u
    left join totals tt on tt.user_id = u.id
    left join allocation al on al.user_id = u.id
$$;
comment on function portfolio._summaries(uuid[]) is
    'portfolio_summary for many users at once (set-based; warm_cache''s page). Users that do not exist are left out.';

-- The dashboard document of many users at once (see dashboard_document for the document).
-- p_job_run_id given (warm_cache): every user's recommendations of that run; null: each
-- user's newest run.
create function portfolio._dashboards(p_user_ids uuid[], p_job_run_id uuid default null)
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
                   'amount', r.amount::text, 'currency', r.currency,
                   'allocationGap', r.allocation_gap::text, 'breakdown', r.breakdown)
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
    select f.user_id,
           jsonb_build_object(
               'recommendations', coalesce(f.list, '[]'),
               'totalInvestable', f.default_contribution::text,
               'baseCurrency', f.base_currency,
               'dataFreshness', jsonb_build_object(
                   'pricesAsOf', f.metrics -> 'pricesAsOf',
                   'ratesAsOf', f.metrics -> 'ratesAsOf',
                   'ratesStale', f.metrics -> 'ratesStale',
                   'criteriaVersion', cv.version,
                   'criteriaVersionId', cv.id,
                   'jobRunId', f.job_run_id,
                   'generatedAt', case when f.list is not null or f.job_run_id is not null then f.generated_at end),
               'portfolioSummary', sm.summary)
    from fresh f
    left join portfolio.criteria_versions cv on cv.id = f.criteria_version_id
    left join portfolio._summaries(p_user_ids) sm on sm.user_id = f.user_id
$$;
comment on function portfolio._dashboards(uuid[], uuid) is
    'dashboard_document for many users at once (set-based); with p_job_run_id the recommendations of that run, '
    'else of each user''s newest run. Users that do not exist are left out.';

create function portfolio.portfolio_summary(p_user_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    perform portfolio._require_user(p_user_id);
    return (select s.summary from portfolio._summaries(array[p_user_id]) s);
end
$$;
comment on function portfolio.portfolio_summary(uuid) is
$doc$The user's holdings valued now, what the cache key portfolio:<userId> holds:
  {"baseCurrency": "USD", "totalValue": "12345.67", "unvalued": 0,
   "holdings": [{"assetId", "symbol", "market", "assetClass", "quantity": "10", "price": "187.23",
                 "currency": "USD", "priceAsOf", "value": "1872.30"}],
   "allocation": [{"assetClass", "value", "share": "15.17", "targetMin": "20", "targetMax": "40",
                   "gap": "4.83", "status": "below"}],
   "pricesAsOf", "ratesAsOf", "rateBase": "USD", "computedAt"}
Holdings: the quantities of all the user's portfolios summed per asset, ordered by value (highest first, unvalued
last), market, symbol. Each is valued with the newest stored price of the asset (portfolio.prices, newest as_of;
ties: the latest fetched) in the price's currency, converted to the user's base currency with the newest stored
exchange rates (portfolio.exchange_rates): rates are read in base USD when USD rates are stored (else in the base of
the newest stored rate), 1 base = rate quote, so amount in X → Y = amount / rate(X) * rate(Y) (cross rates through
the base; the base itself is 1). value = round(quantity * price converted, 2).
Missing data: a holding without any stored price, or whose price currency or the user's base currency has no
stored rate, is listed with "value": null (price null too when there is no price) and counted in "unvalued"; it adds
nothing to totalValue or to its class.
totalValue = the sum of the (rounded) values. Allocation: every class held or with a target (allocation_targets), by
class: value, share = 100 * value / totalValue rounded to 2 decimals ("0" when totalValue is 0), targetMin /
targetMax (null without a target), gap = targetMin - share (percentage points) when below target, else null; status
below / within / above / untargeted (compared on the exact share). pricesAsOf: the oldest price used; ratesAsOf: the
oldest rate used for a conversion (null when none was needed); computedAt: the time of the call.
Errors: 22023 "user_id: required"; NSP02 unknown user.$doc$;

create function portfolio.dashboard_document(p_user_id uuid)
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
$doc$The dashboard of a user, what the cache key recs:<userId> holds and what GET /api/dashboard computes on a miss:
  {"recommendations": [{"assetId", "symbol", "assetClass", "amount": "250.00", "currency": "USD",
                        "allocationGap": "12.5", "breakdown": {...as stored}}],
   "totalInvestable": "1000", "baseCurrency": "USD",
   "dataFreshness": {"pricesAsOf", "ratesAsOf", "ratesStale", "criteriaVersion": 3, "criteriaVersionId",
                     "jobRunId", "generatedAt"},
   "portfolioSummary": {...portfolio_summary's document}}
The recommendations are those of the user's newest run only: the newer of the run of the user's newest
recommendation row and the run of the user's newest CALC_COMPLETED event (a run that scored the user without
recommending anything shows an empty list with that run's freshness; a run in which the user failed does not replace
the previous run's results). Ordered as score_users ranked them (breakdown.position: largest gap first, then class, then the asset''s rank by score).
Recommendation rows without a run (job_run_id null) count as one run: those written together (same created_at).
totalInvestable: the user's default_contribution; baseCurrency: the user's base currency.
dataFreshness: pricesAsOf, ratesAsOf, ratesStale as the run's overnight_job_runs.metrics hold them (null when absent),
criteriaVersion (and its id): the criteria version of the recommendations (else the one the run's INPUTS_CAPTURED
event names), jobRunId, generatedAt: when the recommendations were written (else when the run completed).
A user with no recommendations and no successful scoring yet: an empty list and every freshness field null.
Errors: 22023 "user_id: required"; NSP02 unknown user.$doc$;

create function portfolio.warm_cache(
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
                               ('portfolio:' || d.user_id::text, d.document -> 'portfolioSummary')) k(key, value)
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
recommendations) and portfolio:<userId> (portfolio_summary) into cache.entries with expiry now + p_ttl (default 24
hours; user_id = the user). Set-based: one statement builds and upserts the page's 2 * users entries.
Returns users = how many users the page held (a user erased since the run gets no key) and last_user_id = the last of
them, the cursor of the next call; call again with p_after = last_user_id until users < p_limit (last_user_id is null
when the page is empty). The nil uuid is not a user id (it is the cursor's start).
Errors: 22023 naming job_run_id, ttl (null, zero or negative) or limit; NSP04 unknown job run.$doc$;

create function portfolio.save_criteria(p_user_id uuid, p_criteria jsonb)
returns table (id uuid, version integer, created_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_version integer;
begin
    perform portfolio.validate_criteria(p_criteria);
    if p_user_id is null then
        raise exception 'user_id: required' using errcode = 'invalid_parameter_value';
    end if;
    -- Saves of one user take turns: without the lock two concurrent saves would both read the
    -- same max(version) and the second would fail on the unique key (user_id, version).
    -- FOR NO KEY UPDATE conflicts with itself but not with the FOR KEY SHARE of foreign-key
    -- checks, so scoring and holdings writes of the user are not blocked.
    perform from portfolio.users u where u.id = p_user_id for no key update;
    if not found then
        raise exception 'unknown user %', p_user_id using errcode = 'NSP02';
    end if;
    select coalesce(max(cv.version), 0) + 1 into v_version
    from portfolio.criteria_versions cv where cv.user_id = p_user_id;
    return query
    insert into portfolio.criteria_versions as cv (user_id, version, criteria)
    values (p_user_id, v_version, p_criteria)
    returning cv.id, cv.version, cv.created_at;
end
$$;
comment on function portfolio.save_criteria(uuid, jsonb) is
    'Saves p_criteria as the user''s next criteria version (1, 2, …) and returns its id, version and created_at. '
    'The rule set is validated first (portfolio.validate_criteria: 22023 "criteria[i]: …" naming the 0-based rule '
    'index, DETAIL {"rule", "problem"}); then 22023 "user_id: required", NSP02 unknown user. Concurrent saves of one '
    'user are serialized by a row lock on the user. The cache is left alone: recs:<userId> keeps the last run''s '
    'results, whose dataFreshness.criteriaVersion says which version they came from.';

create function portfolio.asset_calculations(
    p_user_id uuid, p_asset_id uuid, p_limit integer default 20, p_before timestamptz default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_asset text := p_asset_id::text;
    v_result jsonb;
begin
    if p_asset_id is null then
        raise exception 'asset_id: required' using errcode = 'invalid_parameter_value';
    end if;
    if p_limit is null or p_limit < 1 or p_limit > 100 then
        raise exception 'limit: must be between 1 and 100, got %', coalesce(p_limit::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    perform portfolio._require_user(p_user_id);

    with page as (
        -- One more than asked: whether there is a next page.
        select sh.*
        from portfolio.score_history sh
        where sh.user_id = p_user_id and sh.asset_id = p_asset_id
          and sh.computed_at < coalesce(p_before, 'infinity')
        order by sh.computed_at desc, sh.id desc
        limit p_limit + 1
    ), numbered as (
        select p.*, row_number() over (order by p.computed_at desc, p.id desc) as n from page p
    ), calcs as (
        select n.n, n.computed_at,
               jsonb_build_object(
                   'correlationId', n.correlation_id,
                   'jobRunId', j.id,
                   'computedAt', n.computed_at,
                   'score', n.score::text,
                   'breakdown', n.breakdown,
                   'criteriaVersionId', n.criteria_version_id,
                   'criteriaVersion', cv.version,
                   'events', coalesce(ev.list, '[]')) as calc
        from numbered n
        left join portfolio.overnight_job_runs j on j.correlation_id = n.correlation_id
        left join portfolio.criteria_versions cv on cv.id = n.criteria_version_id
        left join lateral (
            -- The user's events of that calculation, trimmed to this asset's own entries.
            select jsonb_agg(jsonb_build_object(
                       'type', e.event_type, 'createdAt', e.created_at,
                       'payload', case e.event_type
                           when 'INPUTS_CAPTURED' then e.payload
                               || case when e.payload ? 'prices' then jsonb_build_object('prices',
                                      case when e.payload -> 'prices' ? v_asset
                                           then jsonb_build_object(v_asset, e.payload -> 'prices' -> v_asset)
                                           else '{}'::jsonb end) else '{}'::jsonb end
                               || case when e.payload ? 'assetIds' then jsonb_build_object('assetIds',
                                      case when e.payload -> 'assetIds' @> jsonb_build_array(v_asset)
                                           then jsonb_build_array(v_asset) else '[]'::jsonb end) else '{}'::jsonb end
                           when 'SCORES_COMPUTED' then e.payload
                               || case when jsonb_typeof(e.payload -> 'results') = 'array' then jsonb_build_object('results',
                                      (select coalesce(jsonb_agg(x.value), '[]') from jsonb_array_elements(e.payload -> 'results') x
                                       where x.value ->> 'assetId' = v_asset)) else '{}'::jsonb end
                           else e.payload end)
                       order by e.created_at, e.id) as list
            from portfolio.calculation_events e
            where e.correlation_id = n.correlation_id and e.user_id = p_user_id) ev on true
        where n.n <= p_limit
    )
    select jsonb_build_object(
               'calculations', coalesce(jsonb_agg(c.calc order by c.n), '[]'),
               'nextBefore', case when (select count(*) from page) > p_limit then to_jsonb(max(c.computed_at) filter (where c.n = p_limit)) end)
    into v_result
    from calcs c;
    return v_result;
end
$$;
comment on function portfolio.asset_calculations(uuid, uuid, integer, timestamptz) is
$doc$Every calculation touching the asset for the user (GET /api/v1/audit/assets/<assetId>/calculations), newest first:
  {"calculations": [{"correlationId", "jobRunId", "computedAt", "score": "15.5", "breakdown": [...],
                     "criteriaVersionId", "criteriaVersion": 2,
                     "events": [{"type": "CALC_STARTED", "createdAt", "payload": {...}}, ...]}],
   "nextBefore": "<computedAt of the last calculation>" | null}
One calculation per score_history row of (p_user_id, p_asset_id) with computed_at before p_before (null: the newest),
ordered by computed_at descending, at most p_limit (default 20, 1..100). nextBefore is the computedAt of the page's
last calculation when more follow (pass it as p_before for the next page), null on the last page. Events: the
calculation_events of the row's correlation id and of this user only, in order; INPUTS_CAPTURED's prices and assetIds
and SCORES_COMPUTED's results are trimmed to this asset's entries, the rest of each payload is as stored. jobRunId is
null when no overnight run has that correlation id. Only the user's own rows are read: another user's calculations of
the same asset never appear. An unknown asset (or one the user never had scored) gives an empty list.
Errors: 22023 naming asset_id (null), limit (outside 1..100) or user_id (null); NSP02 unknown user.$doc$;

-- Grants (as in 0030): the service role calls the public functions; helpers stay the owner's.
revoke all on function
    portfolio._require_user(uuid),
    portfolio._summaries(uuid[]),
    portfolio._dashboards(uuid[], uuid),
    portfolio.portfolio_summary(uuid),
    portfolio.dashboard_document(uuid),
    portfolio.warm_cache(uuid, interval, uuid, integer),
    portfolio.save_criteria(uuid, jsonb),
    portfolio.asset_calculations(uuid, uuid, integer, timestamptz)
from public;
grant execute on function
    portfolio.portfolio_summary(uuid),
    portfolio.dashboard_document(uuid),
    portfolio.warm_cache(uuid, interval, uuid, integer),
    portfolio.save_criteria(uuid, jsonb),
    portfolio.asset_calculations(uuid, uuid, integer, timestamptz)
to nightshift_service;
