-- market_runs, next_market_runs, market_users (0062, issue 15 point 1): one run per market at open
-- - 2 h local time on its trading days (daylight saving moves the UTC instant), the next run of
-- each market, and who each run scores: a user with several markets once, before the earliest.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

insert into portfolio.markets (code, name, time_zone, local_open_time) values
    ('NYSE', 'NYSE', 'America/New_York', '09:30'), ('NASDAQ', 'NASDAQ', 'America/New_York', '09:30'),
    ('TSE', 'Tokyo', 'Asia/Tokyo', '09:00'), ('LSE', 'London', 'Europe/London', '08:00');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'VOD', 'LSE', 'stock', 'GBP');
-- A: NYSE. B: NYSE and TSE. C: no markets, holds an LSE asset. D: NYSE and NASDAQ (same open).
insert into portfolio.users (id, base_currency) select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 'USD' from generate_series(1, 4) i;
insert into portfolio.user_markets (user_id, market_code) values
    ('a0000000-0000-4000-8000-000000000001', 'NYSE'), ('a0000000-0000-4000-8000-000000000002', 'NYSE'),
    ('a0000000-0000-4000-8000-000000000002', 'TSE'), ('a0000000-0000-4000-8000-000000000004', 'NYSE'),
    ('a0000000-0000-4000-8000-000000000004', 'NASDAQ');
insert into portfolio.portfolios (id, user_id) select ('f0000000-0000-4000-8000-00000000000' || i)::uuid, ('a0000000-0000-4000-8000-00000000000' || i)::uuid from generate_series(1, 4) i;
insert into portfolio.holdings (portfolio_id, asset_id, quantity)
select ('f0000000-0000-4000-8000-00000000000' || i)::uuid,
       case when i = 3 then 'b0000000-0000-4000-8000-00000000000b' else 'b0000000-0000-4000-8000-00000000000a' end::uuid, 1
from generate_series(1, 4) i;

-- The week of Monday 2026-12-07 (New York on EST, UTC-5).
select results_eq($$select run_at, opens_at, local_date from portfolio.market_runs('2026-12-05 00:00Z', '2026-12-12 00:00Z') where market_code = 'NYSE'$$,
    $$select ('2026-12-0' || d || ' 12:30Z')::timestamptz, ('2026-12-0' || d || ' 14:30Z')::timestamptz, ('2026-12-0' || d)::date
      from generate_series(7, 9) d
      union all select ('2026-12-' || d || ' 12:30Z')::timestamptz, ('2026-12-' || d || ' 14:30Z')::timestamptz, ('2026-12-' || d)::date
      from generate_series(10, 11) d$$,
    'NYSE: Monday to Friday, 2 hours before 09:30 New York time, none on the weekend');
select results_eq($$select run_at, opens_at from portfolio.market_runs('2026-12-05 00:00Z', '2026-12-07 12:00Z') where market_code = 'TSE'$$,
    $$values ('2026-12-06 22:00Z'::timestamptz, '2026-12-07 00:00Z'::timestamptz)$$,
    'Tokyo''s Monday open (00:00 UTC) is prepared on Sunday 22:00 UTC: before it opens, unlike a 04:00 UTC run');
select is((select run_at from portfolio.market_runs('2026-07-06 00:00Z', '2026-07-07 00:00Z') where market_code = 'NYSE'),
    '2026-07-06 11:30Z'::timestamptz, 'summer time: 09:30 EDT is 13:30 UTC, the run 11:30 UTC (local time holds, the UTC instant moves)');
select is((select run_at from portfolio.market_runs('2026-07-06 00:00Z', '2026-07-07 00:00Z') where market_code = 'LSE'),
    '2026-07-06 05:00Z'::timestamptz, 'London in summer: 08:00 BST is 07:00 UTC, the run 05:00 UTC');
update portfolio.markets set trading_days = '{1}' where code = 'LSE';
select is((select count(*)::integer from portfolio.market_runs('2026-12-07 00:00Z', '2026-12-14 00:00Z') where market_code = 'LSE'), 1,
    'trading days: a market open on Mondays only has one run a week');
update portfolio.markets set trading_days = '{1,2,3,4,5}' where code = 'LSE';
select throws_ok($$update portfolio.markets set trading_days = '{0}' where code = 'LSE'$$, '23514', null, 'days are ISO 1..7');

select results_eq($$select market_code, next_run_at from portfolio.next_market_runs('2026-12-04 13:00Z') order by market_code$$,
    $$values ('LSE', '2026-12-07 06:00Z'::timestamptz), ('NASDAQ', '2026-12-07 12:30Z'), ('NYSE', '2026-12-07 12:30Z'), ('TSE', '2026-12-06 22:00Z')$$,
    'next runs from Friday 13:00 UTC: Tokyo on Sunday night, London, then New York on Monday');
select is((select next_run_at from portfolio.next_market_runs('2026-12-07 12:30Z') where market_code = 'NYSE'), '2026-12-07 12:30Z'::timestamptz,
    'a run due now is the next one');

-- Who each run scores.
select results_eq($$select * from portfolio.market_users('TSE', '2026-12-06 22:00Z')$$,
    $$values ('a0000000-0000-4000-8000-000000000002'::uuid)$$, 'Tokyo''s run: B, whose earliest market it is');
select results_eq($$select * from portfolio.market_users('LSE', '2026-12-07 06:00Z')$$,
    $$values ('a0000000-0000-4000-8000-000000000003'::uuid)$$, 'London''s run: C, through the market of its holding');
select results_eq($$select * from portfolio.market_users('NYSE', '2026-12-07 12:30Z')$$,
    $$values ('a0000000-0000-4000-8000-000000000001'::uuid), ('a0000000-0000-4000-8000-000000000002')$$,
    'New York''s run before B was scored by Tokyo''s: A, and B (picked up: the earlier run did not score B)');
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload, created_at)
values (gen_random_uuid(), 'a0000000-0000-4000-8000-000000000002', 'CALC_COMPLETED', '{}', '2026-12-06 22:05Z');
select results_eq($$select * from portfolio.market_users('NYSE', '2026-12-07 12:30Z')$$,
    $$values ('a0000000-0000-4000-8000-000000000001'::uuid)$$, 'once Tokyo''s run has scored B, New York''s does not score B again');
select results_eq($$select * from portfolio.market_users('NASDAQ', '2026-12-07 12:30Z')$$,
    $$values ('a0000000-0000-4000-8000-000000000004'::uuid)$$, 'D (NYSE and NASDAQ, the same open): NASDAQ''s run, the first code');
select results_eq($$select * from portfolio.market_users('TSE', '2026-12-07 22:00Z')$$,
    $$values ('a0000000-0000-4000-8000-000000000002'::uuid)$$, 'the next night B is due again at Tokyo''s run');
select throws_ok($$select * from portfolio.market_users('XXX', now())$$, '22023', 'market: unknown market XXX', 'an unknown market: 22023');
select throws_ok($$select * from portfolio.market_users('NYSE', null)$$, '22023', 'run_at: required', 'no time: 22023');

select * from finish();
rollback;
