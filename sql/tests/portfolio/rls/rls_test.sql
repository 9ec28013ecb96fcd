-- Row-level security on the portfolio (0044), acting as each request role with forged claims:
-- a user reads their own rows of every table that holds a user's data and nobody else's,
-- reads the reference data (markets, assets), writes nothing but a new criteria version of
-- their own (validated by the trigger, as them); api.dashboard, api.asset_calculations and
-- api.save_criteria act for the caller only, and the functions they wrap cannot be called
-- directly. A token without a user gets nothing, anon is refused, the service role reads all.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(40);

-- A and B, each with a row in every table of a user's data.
insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'BND', 'NYSE', 'bond', 'USD');
insert into portfolio.users (id, base_currency, default_contribution) values
    ('a0000000-0000-4000-8000-0000000000aa', 'USD', 1000), ('a0000000-0000-4000-8000-0000000000bb', 'USD', 500);
insert into portfolio.user_markets (user_id, market_code) values
    ('a0000000-0000-4000-8000-0000000000aa', 'NYSE'), ('a0000000-0000-4000-8000-0000000000bb', 'NYSE');
insert into portfolio.portfolios (id, user_id) values
    ('f0000000-0000-4000-8000-0000000000aa', 'a0000000-0000-4000-8000-0000000000aa'),
    ('f0000000-0000-4000-8000-0000000000bb', 'a0000000-0000-4000-8000-0000000000bb');
insert into portfolio.holdings (portfolio_id, asset_id, quantity) values
    ('f0000000-0000-4000-8000-0000000000aa', 'b0000000-0000-4000-8000-00000000000a', 10),
    ('f0000000-0000-4000-8000-0000000000bb', 'b0000000-0000-4000-8000-00000000000b', 5);
insert into portfolio.allocation_targets (user_id, asset_class, target_min, target_max) values
    ('a0000000-0000-4000-8000-0000000000aa', 'stock', 10, 60), ('a0000000-0000-4000-8000-0000000000bb', 'bond', 20, 80);
insert into portfolio.criteria_versions (id, user_id, version, criteria) values
    ('d0000000-0000-4000-8000-0000000000aa', 'a0000000-0000-4000-8000-0000000000aa', 1,
     '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]'),
    ('d0000000-0000-4000-8000-0000000000bb', 'a0000000-0000-4000-8000-0000000000bb', 1,
     '[{"metric": "pe_ratio", "operator": "<", "threshold": 30, "points": 5}]');
insert into portfolio.overnight_job_runs (id, status, started_at, completed_at, correlation_id) values
    ('e0000000-0000-4000-8000-000000000001', 'completed', now() - interval '1 day', now() - interval '1 day', 'c0000000-0000-4000-8000-000000000001');
insert into portfolio.asset_scores (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at) values
    ('a0000000-0000-4000-8000-0000000000aa', 'b0000000-0000-4000-8000-00000000000a', 10, '[]', 'd0000000-0000-4000-8000-0000000000aa',
     'c0000000-0000-4000-8000-000000000001', now() - interval '1 day'),
    ('a0000000-0000-4000-8000-0000000000bb', 'b0000000-0000-4000-8000-00000000000a', 99, '[]', 'd0000000-0000-4000-8000-0000000000bb',
     'c0000000-0000-4000-8000-000000000001', now() - interval '1 day');
insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
select user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at from portfolio.asset_scores;
insert into portfolio.recommendations (user_id, job_run_id, criteria_version_id, asset_class, asset_id, amount, currency, allocation_gap,
                                       created_at) values
    ('a0000000-0000-4000-8000-0000000000aa', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-0000000000aa',
     'stock', 'b0000000-0000-4000-8000-00000000000a', 1000, 'USD', 10, now() - interval '1 day'),
    ('a0000000-0000-4000-8000-0000000000bb', 'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-0000000000bb',
     'bond', 'b0000000-0000-4000-8000-00000000000b', 500, 'USD', 20, now() - interval '1 day');
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload, created_at) values
    ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-0000000000aa', 'CALC_COMPLETED', '{}', now() - interval '1 day'),
    ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-0000000000bb', 'CALC_COMPLETED', '{}', now() - interval '1 day');
-- B's dashboard is cached; A's is not (yet).
select cache.set('recs:a0000000-0000-4000-8000-0000000000bb', '{"marker": "B"}', '1 hour', 'a0000000-0000-4000-8000-0000000000bb');

create temporary table expected as
    select portfolio.dashboard_document('a0000000-0000-4000-8000-0000000000aa') as a_dashboard,
           portfolio.asset_calculations('a0000000-0000-4000-8000-0000000000aa', 'b0000000-0000-4000-8000-00000000000a') as a_calculations,
           (select count(*) from portfolio.users) + (select count(*) from portfolio.user_markets) + (select count(*) from portfolio.portfolios)
           + (select count(*) from portfolio.holdings) + (select count(*) from portfolio.allocation_targets)
           + (select count(*) from portfolio.criteria_versions) + (select count(*) from portfolio.asset_scores)
           + (select count(*) from portfolio.score_history) + (select count(*) from portfolio.recommendations)
           + (select count(*) from portfolio.calculation_events) as all_rows;
grant select on expected to public;
-- Whose rows the current role sees, table by table (holdings by portfolio: a join to portfolios
-- would hide a leak). security_invoker: a view otherwise reads as its owner, past the policies.
create temporary view visible with (security_invoker = true) as
    select 'users' as tbl, id as key from portfolio.users
    union select 'user_markets', user_id from portfolio.user_markets
    union select 'portfolios', user_id from portfolio.portfolios
    union select 'holdings', portfolio_id from portfolio.holdings
    union select 'allocation_targets', user_id from portfolio.allocation_targets
    union select 'criteria_versions', user_id from portfolio.criteria_versions
    union select 'asset_scores', user_id from portfolio.asset_scores
    union select 'score_history', user_id from portfolio.score_history
    union select 'recommendations', user_id from portfolio.recommendations
    union select 'calculation_events', user_id from portfolio.calculation_events;
grant select on visible to public;

create function pg_temp.act_as(p_role text, p_claims jsonb default '{}') returns void language plpgsql as $$
begin
    perform set_config('role', p_role, true), set_config('request.jwt.claims', p_claims::text, true);
end
$$;
create function pg_temp.as_user(p_user uuid) returns void language sql
return pg_temp.act_as('nightshift_authenticated', jsonb_build_object('sub', p_user, 'role', 'authenticated'));

-- User A
select pg_temp.as_user('a0000000-0000-4000-8000-0000000000aa');
select set_eq($$select * from visible$$,
    $$select t, case t when 'holdings' then 'f0000000-0000-4000-8000-0000000000aa'::uuid else 'a0000000-0000-4000-8000-0000000000aa' end
      from unnest(array['users', 'user_markets', 'portfolios', 'holdings', 'allocation_targets', 'criteria_versions',
                        'asset_scores', 'score_history', 'recommendations', 'calculation_events']) t$$,
    'A sees A''s rows in every table of a user''s data, and none of B''s');
select is_empty($$select from portfolio.recommendations where user_id = 'a0000000-0000-4000-8000-0000000000bb'
                  union all select from portfolio.asset_scores where user_id = 'a0000000-0000-4000-8000-0000000000bb'
                  union all select from portfolio.criteria_versions where id = 'd0000000-0000-4000-8000-0000000000bb'$$,
    'B''s recommendations, asset scores and criteria are not found even by B''s id');
select results_eq($$select (select count(*) from portfolio.markets), (select count(*) from portfolio.assets)$$,
    $$values (1::bigint, 2::bigint)$$, 'A reads the reference data: markets and assets');

select throws_ok($$insert into portfolio.criteria_versions (user_id, version, criteria)
                   values ('a0000000-0000-4000-8000-0000000000bb', 2, '[{"metric": "pe_ratio", "operator": "<", "threshold": 1, "points": 1}]')$$,
    '42501', 'new row violates row-level security policy for table "criteria_versions"',
    'A cannot insert a criteria version for B');
select lives_ok($$insert into portfolio.criteria_versions (user_id, version, criteria)
                  values ('a0000000-0000-4000-8000-0000000000aa', 2, '[{"metric": "roe", "operator": ">", "threshold": 10, "points": 3}]')
                  returning id, version$$,
    'A inserts a criteria version of A''s own');
select throws_ok($$insert into portfolio.criteria_versions (user_id, version, criteria)
                   values ('a0000000-0000-4000-8000-0000000000aa', 9, '[{"metric": "roe", "operator": "!=", "threshold": 10, "points": 3}]')$$,
    '22023', null, 'which the trigger validates as A (an invalid rule set is refused)');
select throws_ok($$update portfolio.criteria_versions set criteria = '[]'$$, '42501', null, 'A cannot change a criteria version');
select throws_ok($$delete from portfolio.criteria_versions$$, '42501', null, 'nor delete one');
select throws_ok($$insert into portfolio.recommendations (user_id, criteria_version_id, asset_class, amount, currency, allocation_gap)
                   values ('a0000000-0000-4000-8000-0000000000aa', 'd0000000-0000-4000-8000-0000000000aa', 'stock', 1, 'USD', 1)$$,
    '42501', null, 'nor write recommendations');
select throws_ok($$update portfolio.asset_scores set score = 100$$, '42501', null, 'nor scores');
select throws_ok($$delete from portfolio.holdings$$, '42501', null, 'nor holdings');
select throws_ok($$update portfolio.users set default_contribution = 0$$, '42501', null, 'nor the user row');
select throws_ok($$insert into portfolio.calculation_events (correlation_id, user_id, event_type)
                   values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-0000000000bb', 'CALC_FAILED')$$,
    '42501', null, 'nor the audit log');

select is(api.dashboard() - 'dataFreshness' - 'freshness' - 'stale', (select a_dashboard - 'dataFreshness' || '{"fromCache": false}' from expected),
    'api.dashboard is A''s dashboard (computed: A has nothing cached), never B''s cached one');
select is(api.asset_calculations('b0000000-0000-4000-8000-00000000000a'), (select a_calculations from expected),
    'api.asset_calculations is A''s calculations of the asset');
select is((select jsonb_agg(c ->> 'score') from jsonb_array_elements(api.asset_calculations('b0000000-0000-4000-8000-00000000000a')
                                                                      -> 'calculations') c),
    '["10"]'::jsonb, 'with A''s score, not B''s');
select results_eq($$select version from api.save_criteria('[{"metric": "pe_ratio", "operator": "<", "threshold": 15, "points": 2}]')$$,
    $$values (3)$$, 'api.save_criteria saves A''s next version');
select throws_ok($$select * from api.save_criteria('[{"metric": "pe_ratio"}]')$$, '22023', null,
    'and refuses an invalid rule set');

select throws_ok($$select portfolio.dashboard_document('a0000000-0000-4000-8000-0000000000bb')$$, '42501', null,
    'A cannot call portfolio.dashboard_document for B directly');
select throws_ok($$select portfolio.asset_calculations('a0000000-0000-4000-8000-0000000000bb', 'b0000000-0000-4000-8000-00000000000a')$$,
    '42501', null, 'nor portfolio.asset_calculations');
select throws_ok($$select * from portfolio.save_criteria('a0000000-0000-4000-8000-0000000000bb', '[]')$$, '42501', null,
    'nor portfolio.save_criteria');
select throws_ok($$select portfolio.portfolio_summary('a0000000-0000-4000-8000-0000000000bb')$$, '42501', null,
    'nor portfolio.portfolio_summary');
select throws_ok($$select cache.get('recs:a0000000-0000-4000-8000-0000000000bb')$$, '42501', null,
    'nor read B''s cached dashboard');

-- With A's dashboard cached, api.dashboard serves it.
reset role;
select cache.set('recs:a0000000-0000-4000-8000-0000000000aa', '{"marker": "A"}', '1 hour', 'a0000000-0000-4000-8000-0000000000aa');
select pg_temp.as_user('a0000000-0000-4000-8000-0000000000aa');
select is(api.dashboard(), '{"marker": "A", "dataFreshness": null, "freshness": null, "stale": false, "fromCache": true}', 'api.dashboard serves A''s cached dashboard to A');

-- User B: as before, whatever A tried.
select pg_temp.as_user('a0000000-0000-4000-8000-0000000000bb');
select results_eq($$select version from portfolio.criteria_versions order by version$$, $$values (1)$$,
    'B has B''s one criteria version: nothing was added for B');
select is(api.dashboard(), '{"marker": "B", "dataFreshness": null, "freshness": null, "stale": false, "fromCache": true}', 'api.dashboard serves B B''s own');
select set_eq($$select key from visible where tbl = 'holdings'$$, $$values ('f0000000-0000-4000-8000-0000000000bb'::uuid)$$,
    'B sees B''s holdings only');

-- A signed-in user the planner does not know.
select pg_temp.as_user('a0000000-0000-4000-8000-0000000000cc');
select is_empty($$select * from visible$$, 'a user with no portfolio sees no row');
select throws_ok($$select api.dashboard()$$, 'NSP02', null, 'and api.dashboard says unknown user');

-- A token without a user under the authenticated role.
select pg_temp.act_as('nightshift_authenticated', '{"role": "anon"}');
select is_empty($$select * from visible$$, 'without a sub the authenticated role sees no row');
select throws_ok($$select api.dashboard()$$, '42501', null, 'api.dashboard refuses it');
select throws_ok($$select api.asset_calculations('b0000000-0000-4000-8000-00000000000a')$$, '42501', null, 'as does api.asset_calculations');
select throws_ok($$select * from api.save_criteria('[{"metric": "pe_ratio", "operator": "<", "threshold": 15, "points": 2}]')$$,
    '42501', null, 'and api.save_criteria');
select throws_ok($$insert into portfolio.criteria_versions (user_id, version, criteria)
                   values ('a0000000-0000-4000-8000-0000000000aa', 7, '[{"metric": "roe", "operator": ">", "threshold": 10, "points": 3}]')$$,
    '42501', null, 'nor may it insert a criteria version for anyone');

-- The anon role
select pg_temp.act_as('nightshift_anon', '{"sub": "a0000000-0000-4000-8000-0000000000aa", "role": "anon"}');
select throws_ok($$select * from portfolio.users$$, '42501', null, 'anon may not read a portfolio');
select throws_ok($$select * from portfolio.markets$$, '42501', null, 'nor even the reference data');
select throws_ok($$select api.dashboard()$$, '42501', null, 'nor call api.dashboard, even with a sub');

-- The service role
select pg_temp.act_as('nightshift_service', '{"sub": "a0000000-0000-4000-8000-0000000000aa", "role": "authenticated"}');
select is((select count(*) from portfolio.users) + (select count(*) from portfolio.user_markets) + (select count(*) from portfolio.portfolios)
          + (select count(*) from portfolio.holdings) + (select count(*) from portfolio.allocation_targets)
          + (select count(*) from portfolio.criteria_versions) + (select count(*) from portfolio.asset_scores)
          + (select count(*) from portfolio.score_history) + (select count(*) from portfolio.recommendations)
          + (select count(*) from portfolio.calculation_events),
    (select all_rows + 2 from expected), 'the service role reads every row (with A''s two new criteria versions), whatever its claims');
select throws_ok($$select api.dashboard()$$, '42501', null, 'api.dashboard is for users, not the service role');
reset role;

select results_eq($$select user_id, version from portfolio.criteria_versions order by user_id, version$$,
    $$values ('a0000000-0000-4000-8000-0000000000aa'::uuid, 1), ('a0000000-0000-4000-8000-0000000000aa', 2),
             ('a0000000-0000-4000-8000-0000000000aa', 3), ('a0000000-0000-4000-8000-0000000000bb', 1)$$,
    'in the end A has versions 1 to 3 and B still 1');

select * from finish();
rollback;
