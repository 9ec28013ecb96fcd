-- reuse_last_prices (0060), and what follows from it (issue 15, point 2): a price batch the
-- provider never answered is priced with each asset's newest stored price, marked stale with its
-- age; a fresh price of the run is kept; a user holding an asset with no price at all fails
-- alone while the others are scored; INPUTS_CAPTURED marks the stale prices; finalize ends the
-- run partial with the reason. Also CALC_COMPLETED's per-user duration and correlation id.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(24);

insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'AAA', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BBB', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000c', 'CCC', 'NYSE', 'bond', 'USD');
insert into portfolio.asset_metrics (asset_id, metric, value) values
    ('b0000000-0000-4000-8000-00000000000a', 'roe', 1), ('b0000000-0000-4000-8000-00000000000b', 'roe', 1);
-- Stored before the run: AAA twice (the newer one is reused), BBB once; CCC never.
insert into portfolio.prices (asset_id, price, currency, as_of, source) values
    ('b0000000-0000-4000-8000-00000000000a', 90, 'USD', '2026-11-19T21:00:00Z', 'old'),
    ('b0000000-0000-4000-8000-00000000000a', 95.5, 'USD', '2026-11-20T21:00:00Z', 'old'),
    ('b0000000-0000-4000-8000-00000000000b', 40, 'USD', '2026-11-20T21:00:00Z', 'old');
-- U1 holds AAA and BBB; U2 holds CCC (never priced); U3 holds BBB.
insert into portfolio.users (id, base_currency, default_contribution) values
    ('a0000000-0000-4000-8000-000000000001', 'USD', 0), ('a0000000-0000-4000-8000-000000000002', 'USD', 0),
    ('a0000000-0000-4000-8000-000000000003', 'USD', 0);
insert into portfolio.criteria_versions (user_id, version, criteria)
select u.id, 1, '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]' from portfolio.users u;
insert into portfolio.portfolios (id, user_id)
select ('c0000000-0000-4000-8000-0000000000' || right(u.id::text, 2))::uuid, u.id from portfolio.users u;
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 2),
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 1),
    ('c0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000c', 1),
    ('c0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-00000000000b', 1);

create temp table run on commit drop as select * from portfolio.start_overnight_run(null);
select portfolio.store_rates((select job_run_id from run), '{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.8}}', 'test');
-- One batch answered (BBB, fresh); the other (AAA, BBB again, CCC) never did.
select portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:BBB", "price": "41", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}]}', 'test');
create temp table reused on commit drop as
select * from portfolio.reuse_last_prices((select job_run_id from run),
    array['NYSE:AAA', 'NYSE:BBB', 'NYSE:CCC', 'NYSE:AAA'], 'price provider at http://stub/prices: unavailable after 4 attempts: status 503');

select results_eq($$select reused, missing from reused$$, $$values (1, 1)$$,
    'one asset priced from the store (AAA), one left without a price (CCC); BBB kept its fresh price');
select results_eq($$select price, as_of, stale from portfolio.job_run_prices
                   where job_run_id = (select job_run_id from run) and asset_id = 'b0000000-0000-4000-8000-00000000000a'$$,
    $$values (95.5::numeric, '2026-11-20T21:00:00Z'::timestamptz, true)$$,
    'AAA: the newest stored price, with its own as_of (its age), marked stale');
select results_eq($$select price, stale from portfolio.job_run_prices
                   where job_run_id = (select job_run_id from run) and asset_id = 'b0000000-0000-4000-8000-00000000000b'$$,
    $$values (41::numeric, false)$$, 'BBB: the fresh price of the run is kept, not replaced by a stale one');
select ok(not exists (select from portfolio.job_run_prices where job_run_id = (select job_run_id from run)
                      and asset_id = 'b0000000-0000-4000-8000-00000000000c'), 'CCC: no price at all');
select is((select metrics - 'ratesAsOf' - 'ratesBase' - 'ratesStale' from portfolio.overnight_job_runs where id = (select job_run_id from run)),
    '{"pricesStale": true, "stalePrices": 1, "stalePricesAsOf": "2026-11-20T21:00:00Z", "pricesAsOf": "2026-11-20T21:00:00Z",
      "pricesProblem": "price provider at http://stub/prices: unavailable after 4 attempts: status 503"}'::jsonb,
    'the run''s metrics say the prices were stale, how many, how old, and why');

-- A second call for the same symbols (a resumed step) changes nothing.
select results_eq($$select reused, missing from portfolio.reuse_last_prices((select job_run_id from run), array['NYSE:AAA', 'NYSE:CCC'], 'price provider at http://stub/prices: unavailable after 4 attempts: status 503')$$,
    $$values (0, 1)$$, 'called again: nothing added, CCC still missing');

-- Scoring with the stale snapshot.
create temp table result on commit drop as
select * from portfolio.score_users((select job_run_id from run), array[
    'a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000003']::uuid[]);
select results_eq($$select user_id::text, assets_scored, failed, sqlstate from result$$,
    $$values ('a0000000-0000-4000-8000-000000000001', 2, false, null::text), ('a0000000-0000-4000-8000-000000000002', 0, true, 'P0002'),
             ('a0000000-0000-4000-8000-000000000003', 1, false, null)$$,
    'U1 is scored with AAA''s stale price, U2 (whose CCC has no price at all) fails alone, U3 is scored');
select ok((select message from result where user_id = 'a0000000-0000-4000-8000-000000000002') like '%NYSE:CCC%has no price%',
    'U2''s failure names the asset without a price');
select is((select payload -> 'prices' -> 'b0000000-0000-4000-8000-00000000000a' from portfolio.calculation_events
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'INPUTS_CAPTURED'),
    '{"price": "95.5", "currency": "USD", "asOf": "2026-11-20T21:00:00Z", "stale": true}'::jsonb,
    'INPUTS_CAPTURED: the stale price with its age and "stale": true');
select is((select payload -> 'prices' -> 'b0000000-0000-4000-8000-00000000000b' from portfolio.calculation_events
           where user_id = 'a0000000-0000-4000-8000-000000000001' and event_type = 'INPUTS_CAPTURED'),
    '{"price": "41", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}'::jsonb,
    'a fresh price is recorded as before, without a stale key');

-- CALC_COMPLETED: each user's own share of the batch's time, the correlation id, the asset count.
create temp view completed as
select e.user_id, e.payload from portfolio.calculation_events e
where e.correlation_id = (select correlation_id from run) and e.event_type = 'CALC_COMPLETED';
select is((select count(*)::integer from completed), 2, 'CALC_COMPLETED for the two scored users');
select ok((select bool_and(payload ->> 'correlationId' = (select correlation_id::text from run)) from completed),
    'CALC_COMPLETED carries the correlation id');
select results_eq($$select user_id::text, (payload ->> 'assetCount')::integer from completed order by user_id$$,
    $$values ('a0000000-0000-4000-8000-000000000001', 2), ('a0000000-0000-4000-8000-000000000003', 1)$$, 'and each user''s own assetCount');
select ok((select bool_and(payload ->> 'duration' = payload ->> 'durationMs' and (payload ->> 'duration')::bigint >= 0
                           and (payload ->> 'duration')::bigint <= (payload ->> 'batchDurationMs')::bigint) from completed),
    'duration (= durationMs) is a share of the batch''s time');
select ok((select abs(sum((payload ->> 'duration')::numeric) - max((payload ->> 'batchDurationMs')::numeric)) <= 2 from completed),
    'the users'' durations add up to the batch''s (within rounding)');

-- Finalize: partial, with the reason.
select is(portfolio.finalize_overnight_run((select job_run_id from run), 3, 1, '[]', '{"pricesMissing": 1}'), 'partial',
    'stale prices and a failed user: partial');
select is((select reason from portfolio.overnight_job_runs where id = (select job_run_id from run)),
    '1 of 3 users failed (error_details names each); the price provider did not answer for 1 assets '
    '(price provider at http://stub/prices: unavailable after 4 attempts: status 503): their last stored prices were used, '
    'the oldest from 2026-11-20T21:00:00Z, and 1 had no stored price at all',
    'the reason names the failed users and the stale prices: how many, why, how old, and what had none');

-- Stale prices alone, no failed user: partial too.
create temp table run2 on commit drop as select * from portfolio.start_overnight_run(null);
select portfolio.reuse_last_prices((select job_run_id from run2), array['NYSE:AAA'], 'unavailable');
select is(portfolio.finalize_overnight_run((select job_run_id from run2), 2, 0, '[]', '{}'), 'partial',
    'every user scored, but with stale prices: partial, not completed');
select ok((select reason like 'the price provider did not answer for 1 assets (unavailable)%' from portfolio.overnight_job_runs
           where id = (select job_run_id from run2)), 'with the prices'' reason alone');

-- Fresh prices, nobody failed: completed, no reason.
create temp table run3 on commit drop as select * from portfolio.start_overnight_run(null);
select is(portfolio.finalize_overnight_run((select job_run_id from run3), 2, 0, '[]', '{}'), 'completed', 'fresh data, nobody failed: completed');
select is((select reason from portfolio.overnight_job_runs where id = (select job_run_id from run3)), null, 'and no reason');

select throws_ok(format('select portfolio.reuse_last_prices(%L, null, %L)', (select job_run_id from run), 'x'), '22023',
    'symbols: must be an array of MARKET:SYMBOL without nulls', 'null symbols: 22023 naming symbols');
select throws_ok(format('select portfolio.reuse_last_prices(%L, array[''NYSE:AAA''], %L)', (select job_run_id from run), ' '), '22023',
    'problem: required (why the provider''s prices are missing)', 'no problem given: 22023 naming problem');
select throws_ok($$select portfolio.reuse_last_prices('e0000000-0000-4000-8000-0000000000ff', array['NYSE:AAA'], 'x')$$, 'NSP04',
    'unknown job run e0000000-0000-4000-8000-0000000000ff', 'an unknown run: NSP04');

select * from finish();
rollback;
