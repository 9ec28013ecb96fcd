-- api.portfolio_market_runs (portfolio 0068): each market's next scoring run, soonest first, for
-- console readers (operators included); a plain user 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(5);
create function pg_temp.act_as(p_role text, p_claims text) returns void language plpgsql as $$
begin
    reset role;
    perform set_config('request.jwt.claims', p_claims, true);
    if p_role is not null then perform set_config('role', p_role, true); end if;
end $$;

-- Two markets of our own: Tokyo opens at 09:00 local (00:00 UTC), New York at 09:30; 2 h lead time.
insert into portfolio.markets (code, name, time_zone, local_open_time)
values ('TT', 'Test Tokyo', 'Asia/Tokyo', '09:00'), ('NN', 'Test New York', 'America/New_York', '09:30');

create temporary table t_expected as
    select array_agg(r.market_code::text order by r.next_run_at, r.market_code) as markets
    from portfolio.next_market_runs(now()) r where r.market_code in ('TT', 'NN');
grant select on t_expected to nightshift_authenticated;
select pg_temp.act_as('nightshift_authenticated',
    '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}');
select is((select array_agg(m ->> 'market' order by o) from jsonb_array_elements(api.portfolio_market_runs()) with ordinality t(m, o)
           where m ->> 'market' in ('TT', 'NN')),
    (select markets from t_expected),
    'an operator reads every market''s next run, soonest first');
select is((select m ->> 'time_zone' from jsonb_array_elements(api.portfolio_market_runs()) m where m ->> 'market' = 'TT'),
    'Asia/Tokyo', 'with the market''s zone');
select ok((select (m ->> 'opens_at')::timestamptz - (m ->> 'next_run_at')::timestamptz = interval '2 hours'
           from jsonb_array_elements(api.portfolio_market_runs()) m where m ->> 'market' = 'TT'),
    'the run is the lead time (2 h) before the open it prepares');

select pg_temp.act_as('nightshift_authenticated', '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c3"}');
select throws_ok('select api.portfolio_market_runs()', '42501', null, 'a plain user may not read the markets'' runs');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select lives_ok('select api.portfolio_market_runs()', 'the service role reads them');

select * from finish();
rollback;
