-- A portfolio is its user's alone: row-level security on every table that holds a user's data,
-- and the API's planner functions for the caller (the dashboard, an asset's audit trail, saving
-- criteria). Markets and assets are reference data every signed-in user may read.

do $$
declare
    v_table text;
begin
    foreach v_table in array array[
        'users', 'user_markets', 'portfolios', 'holdings', 'allocation_targets', 'criteria_versions',
        'asset_scores', 'score_history', 'recommendations', 'calculation_events']
    loop
        execute format('alter table portfolio.%I enable row level security', v_table);
        execute format(
            'create policy service_all on portfolio.%I to nightshift_service using (true) with check (true)', v_table);
    end loop;
end
$$;

create policy own_row on portfolio.users for select to nightshift_authenticated using (id = auth.uid());
create policy own_rows on portfolio.user_markets for select to nightshift_authenticated using (user_id = auth.uid());
create policy own_rows on portfolio.portfolios for select to nightshift_authenticated using (user_id = auth.uid());
create policy own_rows on portfolio.holdings for select to nightshift_authenticated
    using (exists (select from portfolio.portfolios p where p.id = portfolio_id and p.user_id = auth.uid()));
create policy own_rows on portfolio.allocation_targets for select to nightshift_authenticated using (user_id = auth.uid());
create policy own_rows on portfolio.criteria_versions for select to nightshift_authenticated using (user_id = auth.uid());
-- Criteria are written by their user only (a new version; versions never change).
create policy own_writes on portfolio.criteria_versions for insert to nightshift_authenticated
    with check (user_id = auth.uid());
create policy own_rows on portfolio.asset_scores for select to nightshift_authenticated using (user_id = auth.uid());
create policy own_rows on portfolio.score_history for select to nightshift_authenticated using (user_id = auth.uid());
create policy own_rows on portfolio.recommendations for select to nightshift_authenticated using (user_id = auth.uid());
create policy own_rows on portfolio.calculation_events for select to nightshift_authenticated using (user_id = auth.uid());

create function api.dashboard()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_user constant uuid := auth.require_uid('api.dashboard');
begin
    return coalesce(
        cache.get('recs:' || v_user::text) || jsonb_build_object('fromCache', true),
        portfolio.dashboard_document(v_user) || jsonb_build_object('fromCache', false));
end
$$;
comment on function api.dashboard() is
    'The caller''s dashboard: the document the overnight run cached (fromCache true), else computed now (fromCache false).';

create function api.asset_calculations(asset_id uuid, "limit" integer default 20, before timestamptz default null)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
    select portfolio.asset_calculations(auth.require_uid('api.asset_calculations'), asset_id, "limit", before)
$$;
comment on function api.asset_calculations(uuid, integer, timestamptz) is
    'portfolio.asset_calculations for the caller''s own scores of an asset.';

create function api.save_criteria(criteria jsonb)
returns table (id uuid, version integer, created_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user constant uuid := auth.require_uid('api.save_criteria');
begin
    -- A user-supplied size has a ceiling: every rule is evaluated for every held asset nightly.
    if pg_catalog.jsonb_typeof(criteria) = 'array' and pg_catalog.jsonb_array_length(criteria) > 100 then
        raise exception 'criteria: at most 100 rules, got %', pg_catalog.jsonb_array_length(criteria)
            using errcode = 'invalid_parameter_value';
    end if;
    return query select * from portfolio.save_criteria(v_user, criteria);
end
$$;
comment on function api.save_criteria(jsonb) is
    'portfolio.save_criteria: a new criteria version for the caller, of at most 100 rules (22023 beyond).';

grant usage on schema portfolio to nightshift_authenticated;
grant select on
    portfolio.users, portfolio.user_markets, portfolio.portfolios, portfolio.holdings, portfolio.allocation_targets,
    portfolio.criteria_versions, portfolio.asset_scores, portfolio.score_history, portfolio.recommendations,
    portfolio.calculation_events, portfolio.markets, portfolio.assets
to nightshift_authenticated;
grant insert on portfolio.criteria_versions to nightshift_authenticated;
-- The criteria_versions trigger validates every insert as the inserting role.
grant execute on function portfolio.validate_criteria(jsonb) to nightshift_authenticated;

revoke all on function api.dashboard(), api.asset_calculations(uuid, integer, timestamptz), api.save_criteria(jsonb)
    from public;
grant execute on function api.dashboard(), api.asset_calculations(uuid, integer, timestamptz), api.save_criteria(jsonb)
    to nightshift_authenticated;
