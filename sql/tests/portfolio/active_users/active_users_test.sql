-- active_users and assets_to_price: who the run scores (active, holding something) and every
-- asset they need priced (their markets' assets and their holdings), once each.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(3);

insert into portfolio.markets (code, name, time_zone, local_open_time) values
    ('NYSE', 'NYSE', 'America/New_York', '09:30'), ('B3', 'B3', 'America/Sao_Paulo', '10:00'),
    ('LSE', 'LSE', 'Europe/London', '08:00');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-000000000001', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-000000000002', 'AAPL', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-000000000003', 'VALE3', 'B3', 'stock', 'BRL'),
    ('b0000000-0000-4000-8000-000000000004', 'BP', 'LSE', 'stock', 'GBP'),
    ('b0000000-0000-4000-8000-000000000005', 'HSBA', 'LSE', 'stock', 'GBP');
insert into portfolio.users (id, base_currency, active) values
    ('a0000000-0000-4000-8000-000000000002', 'USD', true), ('a0000000-0000-4000-8000-000000000001', 'USD', true),
    ('a0000000-0000-4000-8000-000000000003', 'USD', false), ('a0000000-0000-4000-8000-000000000004', 'USD', true);
insert into portfolio.user_markets (user_id, market_code) values
    ('a0000000-0000-4000-8000-000000000001', 'NYSE'), ('a0000000-0000-4000-8000-000000000003', 'LSE'),
    ('a0000000-0000-4000-8000-000000000004', 'LSE');
insert into portfolio.portfolios (id, user_id) values
    ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001'),
    ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002'),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000003'),
    ('c0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000004');
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 1),
    ('c0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000003', 2),
    ('c0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000004', 2);

select is(array(select portfolio.active_users()),
    array['a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002']::uuid[],
    'active users holding something, by id; not the inactive one, not the one without holdings');
create temp table run on commit drop as select * from portfolio.start_overnight_run('e0000000-0000-4000-8000-000000000001');
select results_eq($$select market_code, symbol from portfolio.assets_to_price((select job_run_id from run))$$,
    $$values ('B3', 'VALE3'), ('NYSE', 'AAPL'), ('NYSE', 'KO')$$,
    'their markets'' assets and their holdings, once each, by market and symbol; nothing only inactive or holding-less users need');
select throws_ok($$select * from portfolio.assets_to_price('e0000000-0000-4000-8000-0000000000ff')$$, 'NSP04', null, 'an unknown job run');

select * from finish();
rollback;
