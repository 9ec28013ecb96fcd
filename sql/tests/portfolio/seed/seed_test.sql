-- portfolio.seed (sql/seed/portfolio_seed.sql): exact sizes, the same rows for the same
-- arguments (two runs, one checksum), valid rule sets, distinct holdings within the bounds,
-- markets per user (0: holdings only), consistent rows although it skips the foreign-key
-- and validation triggers.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
\ir ../../../seed/portfolio_seed.sql
select plan(16);

create function pg_temp.digest() returns text language sql
return (select md5(string_agg(x, '|' order by x)) from (
    select m::text as x from portfolio.markets m
    union all select a::text from portfolio.assets a
    union all select am::text from portfolio.asset_metrics am
    union all select u::text from portfolio.users u
    union all select p::text from portfolio.portfolios p
    union all select h::text from portfolio.holdings h
    union all select t::text from portfolio.allocation_targets t
    union all select c::text from portfolio.criteria_versions c
    union all select um::text from portfolio.user_markets um) as rows);

select is(portfolio.seed(300, 400, 10, 50, 2) - 'durationMs' - 'holdings' - 'criteriaVersions',
    '{"users": 300, "assets": 400, "userMarkets": 600}'::jsonb, 'the seed reports what it made');
create temporary table first_run as select pg_temp.digest() as digest;
select is((select count(*)::integer from portfolio.markets), 6, 'six markets');
select set_eq($$select code || ' ' || time_zone || ' ' || local_open_time::text from portfolio.markets$$,
    array['NYSE America/New_York 09:30:00', 'NASDAQ America/New_York 09:30:00', 'B3 America/Sao_Paulo 10:00:00',
          'LSE Europe/London 08:00:00', 'XETRA Europe/Berlin 09:00:00', 'TSE Asia/Tokyo 09:00:00'],
    'with their zones and opening times');
select is_empty($$select a.id from portfolio.assets a
                  where a.currency <> case a.market_code when 'B3' then 'BRL' when 'LSE' then 'GBP' when 'XETRA' then 'EUR'
                                                         when 'TSE' then 'JPY' else 'USD' end$$,
    'every asset is quoted in its market''s currency');
select is((select array_agg(distinct asset_class order by asset_class) from portfolio.assets), array['bond', 'etf', 'reit', 'stock'],
    'every class occurs');
select is((select array_agg(distinct base_currency::text order by base_currency::text) from portfolio.users),
    array['BRL', 'EUR', 'GBP', 'JPY', 'USD'], 'every base currency occurs');
select ok((select min(n) >= 10 and max(n) <= 50 and count(*) = 300 from (
               select p.user_id, count(*) as n from portfolio.portfolios p join portfolio.holdings h on h.portfolio_id = p.id
               group by p.user_id) x), 'every user holds 10 to 50 distinct assets in one portfolio');
select is_empty($$select c.id from portfolio.criteria_versions c
                  where not (select true from (select portfolio.validate_criteria(c.criteria)) v)$$,
    'every seeded rule set is valid (they skipped the validation trigger)');
select ok((select count(distinct criteria) > 100 from portfolio.criteria_versions), 'the rules vary between users');
select ok((select count(*) filter (where v > 1) > 0 from (select max(version) as v from portfolio.criteria_versions group by user_id) x),
    'some users have several criteria versions');
select ok((select count(distinct user_id) = 300 from portfolio.allocation_targets), 'every user has allocation targets');
select is_empty($$select h.asset_id from portfolio.holdings h where not exists (select from portfolio.assets a where a.id = h.asset_id)
                  union all select p.id from portfolio.portfolios p where not exists (select from portfolio.users u where u.id = p.user_id)
                  union all select m.asset_id from portfolio.asset_metrics m where not exists (select from portfolio.assets a where a.id = m.asset_id)$$,
    'every reference resolves (they skipped the foreign-key triggers)');
select ok((select count(distinct market_code) = 2 from portfolio.user_markets group by user_id order by 1 limit 1),
    'each user covers two markets');

select portfolio.seed(300, 400, 10, 50, 2);
select is(pg_temp.digest(), (select digest from first_run), 'a second run gives exactly the same rows (checksum)');
select portfolio.seed(300, 400, 10, 50, 0);
select is((select count(*)::integer from portfolio.user_markets), 0, 'p_markets_per_user = 0: no user markets, holdings only');
select throws_ok($$select portfolio.seed(10, 5, 10, 50)$$, '22023', null, 'more holdings than assets is refused');

select * from finish();
rollback;
