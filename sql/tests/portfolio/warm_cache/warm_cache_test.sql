-- portfolio.warm_cache (0034): the run's successful users (CALC_COMPLETED of its correlation id
-- or recommendations of the run) after the cursor, in id order, a page at a time; two keys per
-- user (recs:, portfolio:) with the TTL; nobody else's keys.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(15);

delete from cache.entries;
insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD');
insert into portfolio.users (id, base_currency, default_contribution)
select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 'USD', 100 * i from generate_series(1, 6) i;
insert into portfolio.criteria_versions (id, user_id, version, criteria)
select ('d0000000-0000-4000-8000-00000000000' || i)::uuid, ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 1,
       '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]'
from generate_series(1, 6) i;
insert into portfolio.overnight_job_runs (id, status, started_at, completed_at, correlation_id, metrics) values
    ('e0000000-0000-4000-8000-000000000001', 'completed', now() - interval '1 day', now() - interval '23 hours',
     'c0000000-0000-4000-8000-000000000001', '{"ratesStale": false}'),
    ('e0000000-0000-4000-8000-000000000002', 'partial', now() - interval '1 hour', now(),
     'c0000000-0000-4000-8000-000000000002', '{"ratesStale": true}');
-- Run 2: users 1, 2, 3 completed (3 without recommendations), user 4 only has recommendations
-- of the run, user 5 failed, user 6 was only in run 1.
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload)
select 'c0000000-0000-4000-8000-000000000002', ('a0000000-0000-4000-8000-00000000000' || i)::uuid,
       case when i = 5 then 'CALC_FAILED' else 'CALC_COMPLETED' end, '{}'
from generate_series(1, 5) i where i <> 4;
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload)
values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000006', 'CALC_COMPLETED', '{}');
insert into portfolio.recommendations (user_id, job_run_id, criteria_version_id, asset_class, asset_id, amount, currency, allocation_gap)
select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 'e0000000-0000-4000-8000-000000000002',
       ('d0000000-0000-4000-8000-00000000000' || i)::uuid, 'stock', 'b0000000-0000-4000-8000-00000000000a', 100 * i, 'USD', 10
from unnest(array[1, 2, 4]) i;
insert into portfolio.recommendations (user_id, job_run_id, criteria_version_id, asset_class, asset_id, amount, currency, allocation_gap)
values ('a0000000-0000-4000-8000-000000000006', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000006',
        'stock', 'b0000000-0000-4000-8000-00000000000a', 600, 'USD', 10);

select is((select row(users, last_user_id)::text from portfolio.warm_cache('e0000000-0000-4000-8000-000000000002', p_limit => 2)),
    row(2, 'a0000000-0000-4000-8000-000000000002'::uuid)::text, 'the first page: two users, the cursor is the second');
select is(array(select key from cache.entries order by key),
    array['portfolio:a0000000-0000-4000-8000-000000000001', 'portfolio:a0000000-0000-4000-8000-000000000002',
          'recs:a0000000-0000-4000-8000-000000000001', 'recs:a0000000-0000-4000-8000-000000000002'],
    'two keys per user of the page');
select is((select row(users, last_user_id)::text from portfolio.warm_cache('e0000000-0000-4000-8000-000000000002',
                                                                            p_after => 'a0000000-0000-4000-8000-000000000002', p_limit => 2)),
    row(2, 'a0000000-0000-4000-8000-000000000004'::uuid)::text,
    'the next page after the cursor: user 3 (completed, nothing recommended) and user 4 (recommendations only)');
select is((select row(users, last_user_id)::text from portfolio.warm_cache('e0000000-0000-4000-8000-000000000002',
                                                                            p_after => 'a0000000-0000-4000-8000-000000000004', p_limit => 2)),
    row(0, null::uuid)::text, 'then an empty page: the failed user 5 and user 6 of another run are not warmed');
select is((select count(*)::integer from cache.entries), 8, '4 users, 8 keys');
select ok(not exists (select from cache.entries where user_id in ('a0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000006')),
    'no key for users not scored successfully in the run');

select is(cache.get('recs:a0000000-0000-4000-8000-000000000001'), portfolio.dashboard_document('a0000000-0000-4000-8000-000000000001'),
    'recs:<user> holds the dashboard document');
select is(cache.get('portfolio:a0000000-0000-4000-8000-000000000002'), portfolio.portfolio_summary('a0000000-0000-4000-8000-000000000002'),
    'portfolio:<user> holds the portfolio summary');
select is((select cache.get('recs:a0000000-0000-4000-8000-000000000003') -> 'dataFreshness' -> 'ratesStale'), 'true'::jsonb,
    'a user without recommendations still gets the run''s freshness');
select ok((select bool_and(expires_at between clock_timestamp() + interval '23 hours 59 minutes' and clock_timestamp() + interval '24 hours')
           from cache.entries), 'the TTL is 24 hours by default');
select ok((select bool_and(user_id::text = split_part(key, ':', 2)) from cache.entries), 'each key is owned by its user');

select is((select users from portfolio.warm_cache('e0000000-0000-4000-8000-000000000002', interval '1 hour')), 4,
    'the default page holds every user of the run');
select ok((select bool_and(expires_at <= clock_timestamp() + interval '1 hour') from cache.entries), 'rewritten with the given TTL');

select throws_ok($$select * from portfolio.warm_cache('e0000000-0000-4000-8000-0000000000ff')$$, 'NSP04',
    'unknown job run e0000000-0000-4000-8000-0000000000ff', 'an unknown run is NSP04');
select throws_ok($$select * from portfolio.warm_cache('e0000000-0000-4000-8000-000000000002', interval '0')$$, '22023',
    'ttl: must be a positive interval, got 00:00:00', 'a zero TTL is 22023 naming ttl');

select * from finish();
rollback;
