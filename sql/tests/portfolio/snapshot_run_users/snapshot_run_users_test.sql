-- snapshot_run_users and score_run_batch (issue 16, point 4): the run's users are stored once,
-- numbered into batches in id order (the payload's users each once, a market's users, or every
-- active user), a second call returns the first snapshot whoever joined or left since, and each
-- batch scores exactly its users; the snapshots of finished runs go.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(19);

insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'AAA', 'NYSE', 'stock', 'USD');
-- Five users with a holding (U5 inactive), U6 without one.
insert into portfolio.users (id, base_currency, default_contribution, active)
select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 'USD', 0, i <> 5 from generate_series(1, 6) i;
insert into portfolio.user_markets (user_id, market_code) values ('a0000000-0000-4000-8000-000000000002', 'NYSE');
insert into portfolio.criteria_versions (user_id, version, criteria)
select u.id, 1, '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]' from portfolio.users u;
insert into portfolio.portfolios (id, user_id)
select ('c0000000-0000-4000-8000-00000000000' || right(u.id::text, 1))::uuid, u.id from portfolio.users u;
insert into portfolio.holdings (portfolio_id, asset_id, quantity)
select ('c0000000-0000-4000-8000-00000000000' || i)::uuid, 'b0000000-0000-4000-8000-00000000000a', 1 from generate_series(1, 5) i;

create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
select portfolio.store_rates((select job_run_id from run), '{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.8}}', 'test');
select portfolio.store_prices((select job_run_id from run),
    '{"prices": [{"symbol": "NYSE:AAA", "price": "10", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}]}', 'test');

-- Every active user with a holding, two per batch.
select is((select row(users, batches, markets)::text from portfolio.snapshot_run_users((select job_run_id from run), 2)),
    row(4, 2, array['NYSE'])::text, 'every active user with a holding: 4 users, 2 batches, their user_markets');
select results_eq(
    $$select batch, user_id from portfolio.overnight_run_users where job_run_id = (select job_run_id from run) order by batch, user_id$$,
    $$values (0, 'a0000000-0000-4000-8000-000000000001'::uuid), (0, 'a0000000-0000-4000-8000-000000000002'::uuid),
             (1, 'a0000000-0000-4000-8000-000000000003'::uuid), (1, 'a0000000-0000-4000-8000-000000000004'::uuid)$$,
    'numbered into batches of 2 in id order');

-- A user joins, another leaves: the run's snapshot stays what it was.
update portfolio.users set active = true where id = 'a0000000-0000-4000-8000-000000000005';
update portfolio.users set active = false where id = 'a0000000-0000-4000-8000-000000000001';
select is((select row(users, batches)::text from portfolio.snapshot_run_users((select job_run_id from run), 3)),
    row(4, 2)::text, 'a second call returns the first snapshot, whatever its batch size and whoever joined or left');
select is((select count(*)::integer from portfolio.overnight_run_users where job_run_id = (select job_run_id from run)), 4,
    'and adds nobody');

-- Each batch scores exactly its users, in id order.
select results_eq(
    $$select user_id, failed from portfolio.score_run_batch((select job_run_id from run), 1)$$,
    $$values ('a0000000-0000-4000-8000-000000000003'::uuid, false), ('a0000000-0000-4000-8000-000000000004'::uuid, false)$$,
    'batch 1 scores its two users');
select results_eq(
    $$select user_id from portfolio.score_run_batch((select job_run_id from run), 0)$$,
    $$values ('a0000000-0000-4000-8000-000000000001'::uuid), ('a0000000-0000-4000-8000-000000000002'::uuid)$$,
    'batch 0 scores its users, the one who left since included');
select is_empty($$select * from portfolio.score_run_batch((select job_run_id from run), 2)$$, 'a batch past the end scores nobody');
select is((select count(distinct user_id)::integer from portfolio.calculation_events
           where correlation_id = (select correlation_id from run) and event_type = 'CALC_COMPLETED'), 4,
    'the four users of the snapshot were scored, once each');
select is((select count(*)::integer from portfolio.calculation_events
           where correlation_id = (select correlation_id from run) and user_id = 'a0000000-0000-4000-8000-000000000005'), 0,
    'the user who joined after the snapshot was not');

-- The payload's users: each once, whatever the order given; unknown ones too (score_users fails them).
create temp table run2 on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000002');
select is((select row(users, batches, markets)::text from portfolio.snapshot_run_users((select job_run_id from run2), 50,
        array['a0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000003',
              'a0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-0000000000ff']::uuid[])),
    row(3, 1, '{}'::text[])::text, 'the payload''s users, each once (no user_markets: no target market)');
select results_eq(
    $$select user_id from portfolio.overnight_run_users where job_run_id = (select job_run_id from run2) order by user_id$$,
    $$values ('a0000000-0000-4000-8000-000000000003'::uuid), ('a0000000-0000-4000-8000-000000000006'::uuid),
             ('a0000000-0000-4000-8000-0000000000ff'::uuid)$$,
    'in id order');

-- A market's users (portfolio.market_users); the market is the run's target.
create temp table run3 on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000003');
select is((select row(users, batches, markets)::text from portfolio.snapshot_run_users((select job_run_id from run3), 50, null, 'NYSE',
        '2026-11-24T12:30:00Z')),
    (select row(count(*)::integer, 1, array['NYSE'])::text from portfolio.market_users('NYSE', '2026-11-24T12:30:00Z')),
    'a market''s run: market_users at run_at, the market its target');
select set_eq(
    $$select user_id from portfolio.overnight_run_users where job_run_id = (select job_run_id from run3)$$,
    $$select portfolio.market_users('NYSE', '2026-11-24T12:30:00Z')$$,
    'the snapshot holds market_users');

-- Nobody to score: no batch.
create temp table run4 on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000004');
select is((select row(users, batches)::text from portfolio.snapshot_run_users((select job_run_id from run4), 50, '{}'::uuid[])),
    row(0, 0)::text, 'no users: no batch');

-- A finished run's snapshot goes when the next run takes its own.
update portfolio.overnight_job_runs set status = 'completed', completed_at = now()
where id in ((select job_run_id from run), (select job_run_id from run2));
create temp table run5 on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000005');
select portfolio.snapshot_run_users((select job_run_id from run5), 50);
select is((select array_agg(distinct job_run_id order by job_run_id) from portfolio.overnight_run_users),
    (select array_agg(job_run_id order by job_run_id) from (select job_run_id from run3 union all select job_run_id from run5) x),
    'the finished runs'' snapshots are gone, the running ones'' kept');

-- Errors.
select throws_ok($$select portfolio.snapshot_run_users((select job_run_id from run5), 0)$$, '22023',
    'batch_size: must be at least 1, got 0', 'a batch size below 1 is refused');
select throws_ok($$select portfolio.snapshot_run_users((select job_run_id from run5), 50, array[null]::uuid[])$$, '22023',
    'user_ids: must be an array of user ids without nulls', 'a null user id is refused');
select throws_ok($$select portfolio.snapshot_run_users('e0000000-0000-4000-8000-0000000000ff', 50)$$, 'NSP04',
    null, 'an unknown job run is refused');
select throws_ok($$select * from portfolio.score_run_batch((select job_run_id from run5), -1)$$, '22023',
    'batch: must be 0 or more, got -1', 'a negative batch is refused');

select * from finish();
rollback;
