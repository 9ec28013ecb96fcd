-- Portfolio pack: ready before each market opens (issue 15, point 1). The story's trigger is "2 h
-- before market open"; the tech spec's ADR is per-market scheduling. One run per market at open
-- - 2 h local time on the market's trading days; a user with several markets is scored by the
-- run of the first of them to open, and not again by the others' runs of the same night.
--
--   portfolio.market_runs(from, to)      every market's scheduled runs in [from, to): run_at, opens_at
--   portfolio.next_market_runs(at)       each market's next run (the console, the demo)
--   portfolio.market_users(market, at)   who a market's run at `at` scores
--
-- The job's dispatcher (portfolio/market-scheduler, a cron function every 5 minutes in the
-- engine's own scheduler) asks market_runs for the runs due since its previous slot and
-- triggers portfolio/overnight-scoring once per market with {"market", "runAt"}; the run scores
-- market_users. OVERNIGHT_JOB_CRON replaces all of it with one global run of every user.

alter table portfolio.markets
    add column trading_days smallint[] not null default '{1,2,3,4,5}',
    add column lead_time interval not null default interval '2 hours',
    add constraint markets_trading_days_are_valid check (
        pg_catalog.cardinality(trading_days) between 1 and 7 and trading_days <@ '{1,2,3,4,5,6,7}'::smallint[]),
    add constraint markets_lead_time_is_valid check (lead_time >= interval '0' and lead_time < interval '24 hours');
comment on column portfolio.markets.trading_days is
    'The ISO days of the week the market opens, in its own time zone (1 = Monday ... 7 = Sunday; default Monday to Friday).';
comment on column portfolio.markets.lead_time is
    'How long before the market opens its users are scored (the story: 2 hours).';

create function portfolio.market_runs(p_from timestamptz, p_to timestamptz)
returns table (market_code text, run_at timestamptz, opens_at timestamptz, local_date date)
language sql
stable
security definer
set search_path = ''
as $$
    -- Each market's local dates around the window, its open on each trading day (local time in
    -- its zone, so daylight saving moves the UTC instant, not the local one), minus the lead.
    select m.code, o.opens_at - m.lead_time, o.opens_at, d.local_date
    from portfolio.markets m
    cross join lateral (
        select g::date as local_date
        from pg_catalog.generate_series((p_from at time zone m.time_zone)::date - 1,
                                        (p_to at time zone m.time_zone)::date + 1, interval '1 day') g
    ) d
    cross join lateral (select (d.local_date + m.local_open_time) at time zone m.time_zone as opens_at) o
    where extract(isodow from d.local_date)::smallint = any (m.trading_days)
      and o.opens_at - m.lead_time >= p_from and o.opens_at - m.lead_time < p_to
    order by 2, 1
$$;
comment on function portfolio.market_runs(timestamptz, timestamptz) is
    'Every market''s scheduled scoring runs with run_at in [p_from, p_to): run_at = opens_at - lead_time, opens_at = the '
    'market''s local_open_time on local_date in its time_zone, for each local_date whose ISO day of the week is one of '
    'its trading_days. By run_at, then market.';

create function portfolio.next_market_runs(p_at timestamptz default pg_catalog.now())
returns table (market_code text, time_zone text, local_open_time time, next_run_at timestamptz, opens_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
    select distinct on (m.code) m.code, m.time_zone, m.local_open_time, r.run_at, r.opens_at
    from portfolio.markets m
    join portfolio.market_runs(p_at, p_at + interval '8 days') r on r.market_code = m.code
    order by m.code, r.run_at
$$;
comment on function portfolio.next_market_runs(timestamptz) is
    'Each market''s next scheduled scoring run at or after p_at (default now): its zone, local open time, next_run_at '
    'and the open it prepares. A market without a trading day in the next 8 days has no row.';

create function portfolio.market_users(p_market text, p_run_at timestamptz)
returns setof uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if p_market is null or not exists (select from portfolio.markets m where m.code = p_market) then
        raise exception 'market: unknown market %', coalesce(p_market, 'null') using errcode = 'invalid_parameter_value';
    end if;
    if p_run_at is null then
        raise exception 'run_at: required' using errcode = 'invalid_parameter_value';
    end if;
    -- A user's markets: those configured (user_markets), else those of the assets held. The
    -- user is due at this run unless another of their markets prepares the same night's opens
    -- first: its run fell in the 20 hours before this one and scored them (a user that run
    -- failed or missed is picked up here), or it runs at the same instant and its code comes
    -- first (NYSE and NASDAQ open together: one of them scores the user). 20 hours: every
    -- market's open lies within one day of every other's, so the runs of one night fall in it,
    -- and yesterday's run of the same market (24 hours ago) does not.
    return query
        with user_markets as (
            select um.user_id, um.market_code from portfolio.user_markets um
            union
            select p.user_id, a.market_code
            from portfolio.portfolios p
            join portfolio.holdings h on h.portfolio_id = p.id
            join portfolio.assets a on a.id = h.asset_id
            where not exists (select from portfolio.user_markets um where um.user_id = p.user_id)
        ), earlier as (
            select r.market_code, r.run_at
            from portfolio.market_runs(p_run_at - interval '20 hours', p_run_at + interval '1 microsecond') r
            where r.run_at < p_run_at or r.market_code < p_market
        )
        select u.id
        from portfolio.users u
        where u.active
          and exists (select from portfolio.portfolios p join portfolio.holdings h on h.portfolio_id = p.id where p.user_id = u.id)
          and exists (select from user_markets x where x.user_id = u.id and x.market_code = p_market)
          and not exists (
              select from user_markets x
              join earlier e on e.market_code = x.market_code
              where x.user_id = u.id and x.market_code <> p_market
                and (e.run_at = p_run_at
                     or exists (select from portfolio.calculation_events ce
                                where ce.user_id = u.id and ce.event_type = 'CALC_COMPLETED'
                                  and ce.created_at >= e.run_at)))
        order by u.id;
end
$$;
comment on function portfolio.market_users(text, timestamptz) is
    'Who the run of market p_market at p_run_at scores: active users with holdings whose markets (user_markets, else the '
    'markets of their holdings) include p_market, except those with another market whose run fell in the 20 hours '
    'before p_run_at and who were scored (CALC_COMPLETED) since that run, or whose run is at the same instant with a '
    'smaller market code: a user with several markets is scored before the earliest of them opens, once a night. '
    'By id. Errors: 22023 naming market (unknown) or run_at (null).';

revoke all on function
    portfolio.market_runs(timestamptz, timestamptz),
    portfolio.next_market_runs(timestamptz),
    portfolio.market_users(text, timestamptz)
from public;
grant execute on function
    portfolio.market_runs(timestamptz, timestamptz),
    portfolio.next_market_runs(timestamptz),
    portfolio.market_users(text, timestamptz)
to nightshift_service;
