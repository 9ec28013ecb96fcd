-- Seed data generator of the portfolio pack, for `make demo` and bench/portfolio. Not a
-- migration: load it where test data is wanted (psql -f sql/seed/portfolio_seed.sql), then
--
--   select portfolio.seed(1000, 5000);                 -- 1,000 users, 10-50 holdings each, 5,000 assets
--   select portfolio.seed(100000, 5000, 20, 20, 1);    -- the benchmark: 100,000 users x 20 holdings
--   select portfolio.seed(100000, 5000, 20, 20, 0);    -- the same, scoring the holdings only
--
-- portfolio.seed(p_users, p_assets, p_holdings_min = 10, p_holdings_max = 50,
--                p_markets_per_user = 1, p_anchor = '2026-01-01 00:00+00') → jsonb (what it made)
--
-- It REPLACES the portfolio data: it truncates users, markets, assets and overnight_job_runs
-- and, by cascade, everything hanging off them (user_markets, asset_metrics, portfolios,
-- holdings, allocation_targets, criteria_versions, prices, asset_scores, score_history,
-- recommendations); score_history's TRUNCATE guard is disabled for that one statement (this is
-- the owner's generator for demo and bench databases, never loaded in production). The cache's
-- recs:/portfolio: keys go too. Left alone: calculation_events (append-only, TRUNCATE refused;
-- retention prunes them — old events may name the seeded user ids, which are the same on every
-- run) and exchange_rates. Prices and exchange rates are not generated: the providers deliver
-- them during a run.
--
-- What it makes (every draw a hash of (stream, row number): the same arguments give the same
-- rows, ids included, whatever plan or order the server chooses; user i is the same user
-- whatever the sizes):
--   markets   NYSE (America/New_York 09:30, USD), NASDAQ (America/New_York 09:30, USD),
--             B3 (America/Sao_Paulo 10:00, BRL), LSE (Europe/London 08:00, GBP),
--             XETRA (Europe/Berlin 09:00, EUR), TSE (Asia/Tokyo 09:00, JPY)
--   assets    p_assets, spread evenly at random over the six markets (so 5,000 assets ≈ 833 per
--             market), currency of the market; classes stock 55 %, etf 15 %, bond 15 %, reit 15 %
--   metrics   dividend_yield for all; pe_ratio for stock, etf, reit; roe and debt_to_equity for
--             stock and reit (a missing metric matches no rule)
--   users     base currency USD 50 %, EUR 15 %, BRL 15 %, GBP 10 %, JPY 10 %; default_contribution
--             50..5,000 (x5 in BRL, x100 in JPY); 97 % active
--   portfolio one per user ("Main") with p_holdings_min..p_holdings_max distinct assets drawn
--             from all markets; quantities whole (bonds in tens), etfs fractional
--   targets   one of four profiles per user (conservative, balanced, growth, income: no etf
--             target), min/max per class in percent
--   criteria  1 to 3 versions per user; each a valid rule set (portfolio.validate_criteria) of 1 to
--             8 rules drawn from 8 templates with per-user thresholds and points
--   markets   user_markets: p_markets_per_user (0..6) consecutive markets from a home market
--   per user  drawn per user. Scoring covers every asset of the user's markets plus the held
--             ones, so with 5,000 assets a user scores about 833 * p_markets_per_user + 20
--             assets; p_markets_per_user = 0 writes no user_markets row: "score the holdings only".
-- Sizes: 100,000 users x 20 holdings x 5,000 assets is about 2,000,000 holdings; set-based (one
-- INSERT … SELECT over generate_series per table).

-- A uniform draw in [0, 1) for row n of stream `stream`. SQL-standard body: bound at creation,
-- no search_path at run time, inlined into the seed's inserts.
create or replace function portfolio._seed_random(stream integer, n bigint)
returns double precision
language sql
immutable
parallel safe
return (pg_catalog.hashint8extended(n, 7243 + stream) & 9007199254740991)::double precision / 9007199254740992.0;

-- A valid UUIDv8: 12 hex digits of namespace, version 8, 3 hex digits of kind, the variant, 60
-- bits of row number. Ascending in n within a kind: user ids sort like user numbers.
create or replace function portfolio._seed_uuid(kind text, n bigint)
returns uuid
language sql
immutable
parallel safe
return ('5eed0f0110a0' || '8' || kind || pg_catalog.to_hex(n | (-9223372036854775808)::bigint))::uuid;

-- The asset class of asset i (also used to pick quantities without a join).
create or replace function portfolio._seed_asset_class(i bigint)
returns text
language sql
immutable
parallel safe
return case when portfolio._seed_random(2, i) < 0.55 then 'stock'
            when portfolio._seed_random(2, i) < 0.70 then 'etf'
            when portfolio._seed_random(2, i) < 0.85 then 'bond'
            else 'reit' end;

revoke all on function portfolio._seed_random(integer, bigint), portfolio._seed_uuid(text, bigint),
    portfolio._seed_asset_class(bigint) from public;

create or replace function portfolio.seed(
    p_users integer, p_assets integer, p_holdings_min integer default 10, p_holdings_max integer default 50,
    p_markets_per_user integer default 1, p_anchor timestamptz default '2026-01-01 00:00+00')
returns jsonb
language plpgsql
set search_path = ''
set jit = off  -- compiling these one-off statements costs more than it saves
as $$
declare
    v_started timestamptz := clock_timestamp();
    v_strides bigint[];
    v_result jsonb;
    v_replication_role text;
begin
    if p_users is null or p_users < 0 or p_assets is null or p_assets < 1
       or p_holdings_min is null or p_holdings_max is null or p_holdings_min < 0 or p_holdings_min > p_holdings_max
       or p_holdings_max > p_assets or p_markets_per_user is null or p_markets_per_user not between 0 and 6
       or p_anchor is null then
        raise exception 'seed needs p_users >= 0, p_assets >= 1, 0 <= p_holdings_min <= p_holdings_max <= p_assets, '
                        'p_markets_per_user in 0..6 and an anchor, got %, %, %, %, %',
            p_users, p_assets, p_holdings_min, p_holdings_max, p_markets_per_user
            using errcode = 'invalid_parameter_value';
    end if;

    -- Wipe. score_history refuses TRUNCATE (append-only); the seed replaces the whole data set
    -- deliberately, so its guard is off for this statement only (DDL, in this transaction).
    delete from cache.entries e where e.key like 'recs:%' or e.key like 'portfolio:%';
    alter table portfolio.score_history disable trigger score_history_no_truncate;
    truncate portfolio.users, portfolio.markets, portfolio.assets, portfolio.overnight_job_runs cascade;
    alter table portfolio.score_history enable trigger score_history_no_truncate;

    -- Every row below references rows inserted here (the same _seed_uuid(kind, i)), and every
    -- rule set is valid by construction (the seed test checks both), so the foreign-key and
    -- validation triggers, one call per row, prove nothing: a superuser skips them the way
    -- pg_restore does, until the end of this transaction.
    if (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then
        v_replication_role := current_setting('session_replication_role');
        perform set_config('session_replication_role', 'replica', true);
    end if;

    insert into portfolio.markets (code, name, time_zone, local_open_time) values
        ('NYSE', 'New York Stock Exchange', 'America/New_York', '09:30'),
        ('NASDAQ', 'Nasdaq', 'America/New_York', '09:30'),
        ('B3', 'B3 Brasil Bolsa Balcão', 'America/Sao_Paulo', '10:00'),
        ('LSE', 'London Stock Exchange', 'Europe/London', '08:00'),
        ('XETRA', 'Xetra', 'Europe/Berlin', '09:00'),
        ('TSE', 'Tokyo Stock Exchange', 'Asia/Tokyo', '09:00');

    -- Assets: market m = 1 + floor(r1 * 6) of (NYSE, NASDAQ, B3, LSE, XETRA, TSE); the symbol
    -- is three letters and the asset number, so unique within its market.
    insert into portfolio.assets (id, symbol, market_code, asset_class, currency, name)
    select portfolio._seed_uuid('a55', i),
           chr(65 + floor(portfolio._seed_random(3, i) * 26)::integer) || chr(65 + floor(portfolio._seed_random(4, i) * 26)::integer)
               || chr(65 + floor(portfolio._seed_random(5, i) * 26)::integer) || i::text,
           (array['NYSE', 'NASDAQ', 'B3', 'LSE', 'XETRA', 'TSE'])[m],
           portfolio._seed_asset_class(i),
           (array['USD', 'USD', 'BRL', 'GBP', 'EUR', 'JPY'])[m],
           format('Seed asset %s', i)
    from generate_series(1, p_assets) as i
    cross join lateral (select 1 + floor(portfolio._seed_random(1, i) * 6)::integer as m) as x;

    -- Metrics, rounded to 2 decimals: dividend_yield (all), pe_ratio (not bonds), roe and
    -- debt_to_equity (stock, reit).
    insert into portfolio.asset_metrics (asset_id, metric, value, as_of)
    select portfolio._seed_uuid('a55', i), mt.metric,
           round((mt.lo + (mt.hi - mt.lo) * portfolio._seed_random(mt.stream, i))::numeric, 2), p_anchor
    from generate_series(1, p_assets) as i
    cross join lateral (select portfolio._seed_asset_class(i) as class) as c
    join (values ('dividend_yield', 10, 'stock', 0.0, 6.0), ('dividend_yield', 10, 'etf', 1.0, 4.0),
                 ('dividend_yield', 10, 'bond', 2.0, 7.0), ('dividend_yield', 10, 'reit', 3.0, 10.0),
                 ('pe_ratio', 11, 'stock', 4.0, 60.0), ('pe_ratio', 11, 'etf', 10.0, 35.0), ('pe_ratio', 11, 'reit', 8.0, 40.0),
                 ('roe', 12, 'stock', -10.0, 40.0), ('roe', 12, 'reit', 2.0, 15.0),
                 ('debt_to_equity', 13, 'stock', 0.0, 3.0), ('debt_to_equity', 13, 'reit', 0.5, 2.5))
         as mt (metric, stream, class, lo, hi) on mt.class = c.class;

    insert into portfolio.users (id, base_currency, default_contribution, active, created_at)
    select portfolio._seed_uuid('0a0', i), x.currency,
           (1 + floor(portfolio._seed_random(21, i) * 100)) * 50
               * case x.currency when 'JPY' then 100 when 'BRL' then 5 else 1 end,
           portfolio._seed_random(22, i) < 0.97,
           p_anchor - (30 + floor(portfolio._seed_random(23, i) * 700)) * interval '1 day'
    from generate_series(1, p_users) as i
    cross join lateral (
        select case when portfolio._seed_random(20, i) < 0.50 then 'USD'
                    when portfolio._seed_random(20, i) < 0.65 then 'EUR'
                    when portfolio._seed_random(20, i) < 0.80 then 'BRL'
                    when portfolio._seed_random(20, i) < 0.90 then 'GBP'
                    else 'JPY' end as currency) as x;

    insert into portfolio.portfolios (id, user_id, name, created_at)
    select portfolio._seed_uuid('0f0', i), portfolio._seed_uuid('0a0', i), 'Main',
           p_anchor - (30 + floor(portfolio._seed_random(23, i) * 700)) * interval '1 day'
    from generate_series(1, p_users) as i;

    -- Holdings: user i holds n distinct assets 1 + (start + k * stride) mod p_assets, k < n,
    -- with a prime stride that does not divide p_assets (so the n picks are distinct).
    select array_agg(p order by p) into v_strides
    from unnest(array[7919, 7927, 7933, 7937, 7949, 7951, 7963, 7993, 8009, 8011, 8017, 8039]::bigint[]) p
    where p_assets % p <> 0;
    insert into portfolio.holdings (portfolio_id, asset_id, quantity, updated_at)
    select portfolio._seed_uuid('0f0', u.i), portfolio._seed_uuid('a55', a.asset_n),
           case portfolio._seed_asset_class(a.asset_n)
               when 'bond' then 10 * (1 + floor(portfolio._seed_random(33, a.g) * 50))
               when 'etf' then round((0.5 + portfolio._seed_random(33, a.g) * 200)::numeric, 3)
               else 1 + floor(portfolio._seed_random(33, a.g) * 400) end::numeric,
           p_anchor
    from (select i,
                 p_holdings_min + floor(portfolio._seed_random(30, i) * (p_holdings_max - p_holdings_min + 1))::integer as n,
                 floor(portfolio._seed_random(31, i) * p_assets)::bigint as start,
                 v_strides[1 + floor(portfolio._seed_random(32, i) * cardinality(v_strides))::integer] as stride
          from generate_series(1, p_users) as i) as u
    cross join lateral (
        select 1 + (u.start + k * u.stride) % p_assets as asset_n, u.i::bigint * 1048576 + k as g
        from generate_series(0, u.n - 1) as k) as a;

    -- Allocation targets: profile 1 conservative, 2 balanced, 3 growth, 4 income (no etf target).
    insert into portfolio.allocation_targets (user_id, asset_class, target_min, target_max)
    select portfolio._seed_uuid('0a0', i), t.class, t.lo, t.hi
    from generate_series(1, p_users) as i
    join (values (1, 'stock', 20, 35), (1, 'bond', 40, 60), (1, 'reit', 5, 15), (1, 'etf', 10, 20),
                 (2, 'stock', 35, 50), (2, 'bond', 20, 35), (2, 'reit', 5, 15), (2, 'etf', 10, 20),
                 (3, 'stock', 55, 75), (3, 'bond', 5, 15), (3, 'reit', 5, 10), (3, 'etf', 10, 20),
                 (4, 'stock', 20, 30), (4, 'bond', 25, 40), (4, 'reit', 20, 30))
         as t (profile, class, lo, hi)
      on t.profile = 1 + floor(portfolio._seed_random(40, i) * 4)::integer;

    -- Criteria: 1..3 versions per user (version v created 30 days after v - 1); each rule set
    -- takes template j when its draw is below 0.45, and always one template chosen by hash.
    insert into portfolio.criteria_versions (id, user_id, version, criteria, created_at)
    select portfolio._seed_uuid('c71', uv.i * 4 + uv.v), portfolio._seed_uuid('0a0', uv.i), uv.v,
           (select jsonb_agg(case t.j
                    when 1 then jsonb_build_object('metric', 'dividend_yield', 'operator', '>=',
                                                   'threshold', 2 + floor(r.x * 5), 'points', 10)
                    when 2 then jsonb_build_object('metric', 'pe_ratio', 'operator', '<',
                                                   'threshold', 12 + floor(r.x * 14), 'points', 8)
                    when 3 then jsonb_build_object('metric', 'pe_ratio', 'operator', 'between',
                                                   'threshold', jsonb_build_array(5 + floor(r.x * 6), 15 + floor(r.x * 11)), 'points', 5.5)
                    when 4 then jsonb_build_object('metric', 'roe', 'operator', '>',
                                                   'threshold', 10 + floor(r.x * 11), 'points', 7)
                    when 5 then jsonb_build_object('metric', 'debt_to_equity', 'operator', '<=',
                                                   'threshold', round((0.5 + r.x)::numeric, 1), 'points', 4)
                    when 6 then jsonb_build_object('metric', 'dividend_yield', 'operator', 'between',
                                                   'threshold', jsonb_build_array(1, 3 + floor(r.x * 3)), 'points', 3)
                    when 7 then jsonb_build_object('metric', 'pe_ratio', 'operator', '>',
                                                   'threshold', 40, 'points', -5)
                    else jsonb_build_object('metric', 'debt_to_equity', 'operator', '>',
                                            'threshold', 2, 'points', -2.5) end
                    order by t.j)
            from generate_series(1, 8) as t (j)
            cross join lateral (select portfolio._seed_random(50 + t.j, uv.i * 4 + uv.v)::numeric as x) as r
            where t.j = 1 + floor(portfolio._seed_random(49, uv.i * 4 + uv.v) * 8)::integer
               or portfolio._seed_random(60 + t.j, uv.i * 4 + uv.v) < 0.45),
           p_anchor - (uv.versions - uv.v) * interval '30 days'
    from (select i, v, u.versions
          from (select i, 1 + floor(portfolio._seed_random(48, i) * 3)::integer as versions
                from generate_series(1, p_users) as i) as u
          cross join lateral generate_series(1, u.versions) as v) as uv;

    -- The user's markets: p_markets_per_user consecutive ones from a home market.
    insert into portfolio.user_markets (user_id, market_code)
    select portfolio._seed_uuid('0a0', i),
           (array['NYSE', 'NASDAQ', 'B3', 'LSE', 'XETRA', 'TSE'])[1 + (floor(portfolio._seed_random(70, i) * 6)::integer + j) % 6]
    from generate_series(1, p_users) as i
    cross join generate_series(0, p_markets_per_user - 1) as j;

    if v_replication_role is not null then
        perform set_config('session_replication_role', v_replication_role, true);
    end if;
    analyze portfolio.markets, portfolio.assets, portfolio.asset_metrics, portfolio.users, portfolio.portfolios,
        portfolio.holdings, portfolio.allocation_targets, portfolio.criteria_versions, portfolio.user_markets;

    select jsonb_build_object(
               'users', (select count(*) from portfolio.users),
               'assets', (select count(*) from portfolio.assets),
               'holdings', (select count(*) from portfolio.holdings),
               'criteriaVersions', (select count(*) from portfolio.criteria_versions),
               'userMarkets', (select count(*) from portfolio.user_markets),
               'durationMs', round(extract(epoch from clock_timestamp() - v_started) * 1000))
    into v_result;
    return v_result;
end
$$;
comment on function portfolio.seed(integer, integer, integer, integer, integer, timestamptz) is
    'Replaces the portfolio data with a deterministic data set (sql/seed/portfolio_seed.sql, which documents it); '
    'returns the counts and durationMs. The owner''s only: the grants give it to nobody.';
revoke all on function portfolio.seed(integer, integer, integer, integer, integer, timestamptz) from public;
