-- The console's portfolio figures (issue 15 §1: "the console shows each market's next run"):
-- each market's next scoring run, for any console reader (service role, super admin,
-- operator), decided in SQL like the engine's api functions.

create function api.portfolio_market_runs()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.portfolio_market_runs');
    return coalesce((
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'market', r.market_code, 'time_zone', r.time_zone, 'local_open_time', r.local_open_time,
                   'next_run_at', r.next_run_at, 'opens_at', r.opens_at)
               order by r.next_run_at, r.market_code)
        from portfolio.next_market_runs(pg_catalog.now()) r
    ), '[]'::jsonb);
end
$$;
comment on function api.portfolio_market_runs() is
    'Each market''s next scoring run (portfolio.next_market_runs): [{market, time_zone, local_open_time, next_run_at, '
    'opens_at}], soonest first. Console readers only (service role, super admin, operator); others 42501.';

revoke all on function api.portfolio_market_runs() from public;
grant execute on function api.portfolio_market_runs() to nightshift_authenticated, nightshift_service;
