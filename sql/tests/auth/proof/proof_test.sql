-- THE PROOF (issue 12 §1, "the database decides"): logged in as the server is (nightshift_app)
-- and calling the SQL directly as nightshift_authenticated with user A's claims, exactly as
-- the server sets up a request, user A still cannot read or change user B's rows. It goes over
-- every table under row-level security (found in the catalog, so a new one must be added
-- here) and tries, for each: reading it, updating every column of B's rows, deleting B's rows
-- and inserting copies of B's rows; then every api function aimed at B's data, every function
-- the api functions wrap, and every relation without row-level security. Afterwards B's rows
-- are compared, table by table, with what they were.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(20);

-- A and B (strangers to each other), with rows in every area; Z is a member of both dossiers.
create temporary table ids (name text primary key, id uuid);
insert into ids values
    ('A', 'a0000000-0000-4000-8000-00000000000a'), ('B', 'b0000000-0000-4000-8000-00000000000b'),
    ('Z', '00000000-0000-4000-8000-0000000000f1'),
    ('dossier A', 'd0000000-0000-4000-8000-00000000000a'), ('dossier B', 'd0000000-0000-4000-8000-00000000000b'),
    ('institution A', 'c0000000-0000-4000-8000-00000000000a'), ('institution B', 'c0000000-0000-4000-8000-00000000000b'),
    ('asset', 'e0000000-0000-4000-8000-000000000001'),
    ('criteria A', 'f0000000-0000-4000-8000-00000000000a'), ('criteria B', 'f0000000-0000-4000-8000-00000000000b'),
    ('portfolio A', '90000000-0000-4000-8000-00000000000a'), ('portfolio B', '90000000-0000-4000-8000-00000000000b');
create function pg_temp.id(p_name text) returns uuid language sql stable return (select id from ids where name = p_name);

-- notify
select notify.configure(100, array['hook']);
create temporary table sent as
    select u.name, s.notification_id from unnest(array['A', 'A', 'B', 'B']) u(name), notify.send(pg_temp.id(u.name), 'Hi ' || u.name, 'm') s;
insert into notify.suppressed (user_id, title, message) select pg_temp.id(u), 'Held back', 'm' from unnest(array['A', 'B']) u;
-- dossier
insert into dossier.dossiers (id, name, owner_id) select pg_temp.id('dossier ' || u), 'Dossier ' || u, pg_temp.id(u) from unnest(array['A', 'B']) u;
insert into dossier.members (dossier_id, user_id, role) values
    (pg_temp.id('dossier A'), pg_temp.id('Z'), 'editor'), (pg_temp.id('dossier B'), pg_temp.id('Z'), 'viewer');
insert into dossier.engagements (dossier_id, occurred_at, kind)
select pg_temp.id('dossier ' || u), now() - interval '2 days', 'meeting' from unnest(array['A', 'B']) u;
insert into dossier.commitments (dossier_id, owner_id, description, due_date)
select pg_temp.id('dossier ' || u), pg_temp.id(u), 'Promise of ' || u, current_date + 5 from unnest(array['A', 'B']) u;
select dossier.calculate_health_score(pg_temp.id('dossier A')), dossier.calculate_health_score(pg_temp.id('dossier B'));
-- coverage
insert into coverage.institutions (id, name) select pg_temp.id('institution ' || u), 'Institution ' || u from unnest(array['A', 'B']) u;
insert into coverage.institution_admins (institution_id, user_id, email)
select pg_temp.id('institution ' || u), pg_temp.id(u), lower(u) || '@example.org' from unnest(array['A', 'B']) u;
insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
select pg_temp.id('institution ' || u), '{}', 0.5, now() from unnest(array['A', 'B']) u;
select nightshift.sync_functions('[{"id": "coverage/nightly-recompute"}]');
-- portfolio
insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values (pg_temp.id('asset'), 'KO', 'NYSE', 'stock', 'USD');
insert into portfolio.users (id, base_currency, default_contribution) select pg_temp.id(u), 'USD', 100 from unnest(array['A', 'B']) u;
insert into portfolio.user_markets (user_id, market_code) select pg_temp.id(u), 'NYSE' from unnest(array['A', 'B']) u;
insert into portfolio.portfolios (id, user_id) select pg_temp.id('portfolio ' || u), pg_temp.id(u) from unnest(array['A', 'B']) u;
insert into portfolio.holdings (portfolio_id, asset_id, quantity)
select pg_temp.id('portfolio ' || u), pg_temp.id('asset'), 3 from unnest(array['A', 'B']) u;
insert into portfolio.allocation_targets (user_id, asset_class, target_min, target_max)
select pg_temp.id(u), 'stock', 10, 90 from unnest(array['A', 'B']) u;
insert into portfolio.criteria_versions (id, user_id, version, criteria)
select pg_temp.id('criteria ' || u), pg_temp.id(u), 1, '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 1}]'
from unnest(array['A', 'B']) u;
insert into portfolio.asset_scores (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
select pg_temp.id(u), pg_temp.id('asset'), case u when 'A' then 1 else 2 end, '[]', pg_temp.id('criteria ' || u),
       'c0000000-0000-4000-8000-0000000000cc', now() - interval '1 day'
from unnest(array['A', 'B']) u;
insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
select user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at from portfolio.asset_scores;
insert into portfolio.recommendations (user_id, criteria_version_id, asset_class, asset_id, amount, currency, allocation_gap)
select pg_temp.id(u), pg_temp.id('criteria ' || u), 'stock', pg_temp.id('asset'), 100, 'USD', 5 from unnest(array['A', 'B']) u;
insert into portfolio.calculation_events (correlation_id, user_id, event_type)
select 'c0000000-0000-4000-8000-0000000000cc', pg_temp.id(u), 'CALC_COMPLETED' from unnest(array['A', 'B']) u;
select cache.set('recs:' || pg_temp.id('B'), '{"marker": "B"}', '1 hour', pg_temp.id('B'));

-- Every table of a user's data, and which of its rows are a user's (%1$L: the user's id; r: the row).
create temporary table user_data (tbl regclass primary key, owned_by text not null);
insert into user_data values
    ('notify.notifications', 'r.user_id = %1$L'),
    ('notify.deliveries', 'exists (select from notify.notifications n where n.id = r.notification_id and n.user_id = %1$L)'),
    ('notify.suppressed', 'r.user_id = %1$L'),
    ('notify.daily_counts', 'r.user_id = %1$L'),
    ('dossier.dossiers', 'r.owner_id = %1$L'),
    ('dossier.members', 'exists (select from dossier.dossiers d where d.id = r.dossier_id and d.owner_id = %1$L)'),
    ('dossier.engagements', 'exists (select from dossier.dossiers d where d.id = r.dossier_id and d.owner_id = %1$L)'),
    ('dossier.commitments', 'exists (select from dossier.dossiers d where d.id = r.dossier_id and d.owner_id = %1$L)'),
    ('dossier.health_scores', 'exists (select from dossier.dossiers d where d.id = r.dossier_id and d.owner_id = %1$L)'),
    ('coverage.institutions', 'exists (select from coverage.institution_admins a where a.institution_id = r.id and a.user_id = %1$L)'),
    ('coverage.institution_admins',
     'exists (select from coverage.institution_admins a where a.institution_id = r.institution_id and a.user_id = %1$L)'),
    ('coverage.coverage_snapshots',
     'exists (select from coverage.institution_admins a where a.institution_id = r.institution_id and a.user_id = %1$L)'),
    ('portfolio.users', 'r.id = %1$L'),
    ('portfolio.user_markets', 'r.user_id = %1$L'),
    ('portfolio.portfolios', 'r.user_id = %1$L'),
    ('portfolio.holdings', 'exists (select from portfolio.portfolios p where p.id = r.portfolio_id and p.user_id = %1$L)'),
    ('portfolio.allocation_targets', 'r.user_id = %1$L'),
    ('portfolio.criteria_versions', 'r.user_id = %1$L'),
    ('portfolio.asset_scores', 'r.user_id = %1$L'),
    ('portfolio.score_history', 'r.user_id = %1$L'),
    ('portfolio.recommendations', 'r.user_id = %1$L'),
    ('portfolio.calculation_events', 'r.user_id = %1$L');

-- Each row as a fingerprint (its text), per table and user, as the owner sees them.
create function pg_temp.rows_of(p_user text) returns table (tbl regclass, row_text text) language plpgsql as $$
declare
    v user_data;
begin
    for v in select * from user_data loop
        return query execute format('select %L::regclass, r::text from %s r where %s', v.tbl, v.tbl, format(v.owned_by, pg_temp.id(p_user)));
    end loop;
end
$$;
create temporary table before as select 'A' as who, * from pg_temp.rows_of('A') union all select 'B', * from pg_temp.rows_of('B');
-- What a statement did, as the current role: 'ok <rows>' or the SQLSTATE it failed with.
create function pg_temp.try(p_sql text) returns text language plpgsql as $$
declare
    v_rows bigint;
begin
    execute p_sql;
    get diagnostics v_rows = row_count;
    return 'ok ' || v_rows;
exception when others then
    return sqlstate;
end
$$;
-- Every row the current role reads, per table.
create temporary table seen (viewer text, tbl regclass, row_text text);
create function pg_temp.read_everything(p_viewer text) returns void language plpgsql as $$
declare
    v user_data;
begin
    for v in select * from user_data loop
        execute format('insert into seen select %L, %L::regclass, r::text from %s r', p_viewer, v.tbl, v.tbl);
    end loop;
end
$$;
-- The statements that try to change a victim's rows in every table: every column (but
-- identity-always and generated ones, which nobody sets) set to itself, a delete, both on
-- exactly the victim's rows (matched by their full text), inserts of copies of them, and the
-- same update and delete of every row.
create function pg_temp.statements(p_victim text) returns table (tbl regclass, what text, sql text) language plpgsql as $$
declare
    v user_data;
    v_rows text[];
    v_column text;
    v_columns text;
    v_value text;
begin
    for v in select * from user_data loop
        select array_agg(b.row_text) into v_rows from before b where b.who = p_victim and b.tbl = v.tbl;
        select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into v_columns
        from pg_attribute a
        where a.attrelid = v.tbl and a.attnum > 0 and not a.attisdropped and a.attidentity <> 'a' and a.attgenerated = '';
        for v_column in select a.attname from pg_attribute a
                        where a.attrelid = v.tbl and a.attnum > 0 and not a.attisdropped and a.attidentity <> 'a' and a.attgenerated = '' loop
            return query select v.tbl, 'update ' || v_column,
                format('update %s r set %I = r.%I where r::text = any (%L::text[])', v.tbl, v_column, v_column, v_rows);
        end loop;
        return query select v.tbl, 'delete', format('delete from %s r where r::text = any (%L::text[])', v.tbl, v_rows);
        return query select v.tbl, 'insert', format(
            'insert into %s (%s) select %s from unnest(%L::text[]) t, lateral (select (t::%s).*) c', v.tbl, v_columns, v_columns, v_rows, v.tbl);
        -- And with no column read (a WHERE clause or a column on the right would bring in the
        -- SELECT policies): every row the UPDATE and DELETE policies alone let through. Each
        -- column is set to the value A's row has, which changes B's row if it is reached.
        for v_column in select a.attname from pg_attribute a
                        where a.attrelid = v.tbl and a.attnum > 0 and not a.attisdropped and a.attidentity <> 'a' and a.attgenerated = '' loop
            execute format('select (%L::%s).%I::text', (select b.row_text from before b where b.who = 'A' and b.tbl = v.tbl limit 1), v.tbl, v_column)
            into v_value;
            return query select v.tbl, 'update every row: ' || v_column, format('update %s set %I = %L', v.tbl, v_column, v_value);
        end loop;
    end loop;
    -- Deleting every row last, dossiers (which cascade to the rest of a dossier) at the very end.
    return query select u.tbl, 'delete every row', format('delete from %s', u.tbl)
                 from user_data u order by u.tbl = 'dossier.dossiers'::regclass, u.tbl::text;
end
$$;
-- What each statement did.
create temporary table attempts (victim text, tbl regclass, what text, outcome text);
-- Functions and relations tried below, and how each call ended.
create temporary table calls (what text, outcome text);
grant select on ids, user_data, before, sent to public;
grant insert, select, delete on seen, attempts, calls to public;

select set_eq($$select tbl from user_data$$,
    $$select c.oid::regclass from pg_class c where c.relrowsecurity and not c.relispartition$$,
    'the proof covers every table under row-level security');
select is_empty($$select u.tbl, w.who from user_data u cross join (values ('A'), ('B')) w(who)
                  where not exists (select from before b where b.tbl = u.tbl and b.who = w.who)$$,
    'A and B each have rows in every one of them');

-- Log in as the server does, and take up a request of user A, as the server does.
set local session authorization nightshift_app;
select is(session_user, 'nightshift_app'::name, 'logged in as nightshift_app');
select pg_temp.read_everything('the worker');
select set_config('role', 'nightshift_authenticated', true),
       set_config('request.jwt.claims', jsonb_build_object('sub', pg_temp.id('A'), 'role', 'authenticated')::text, true);
select results_eq($$select current_user, auth.uid()$$, $$values ('nightshift_authenticated'::name, pg_temp.id('A'))$$,
    'a request of user A: the authenticated role, A''s claims');

-- Reading
select pg_temp.read_everything('A');
select is_empty($$select s.tbl, s.row_text from seen s join before b using (tbl, row_text) where s.viewer = 'A' and b.who = 'B'$$,
    'A reads none of B''s rows, in any table');
select is_empty($$select b.tbl, b.row_text from before b where b.who = 'A'
                  except select s.tbl, s.row_text from seen s where s.viewer = 'A'$$,
    'while A reads every row of A''s own (the check above is not vacuous)');

-- Writing. First a control: the same statements, aimed at A's own rows, do reach them where
-- A may write (so "no row" below is the policies' doing, not a statement that matches nothing).
insert into attempts
select 'A', s.tbl, s.what, pg_temp.try(s.sql) from pg_temp.statements('A') s
where (s.tbl::text, s.what) in (('notify.notifications', 'update read'), ('dossier.engagements', 'update kind'),
                                ('dossier.members', 'update role'), ('dossier.commitments', 'delete'),
                                ('dossier.engagements', 'insert'), ('portfolio.criteria_versions', 'insert'));
select set_eq($$select tbl::text, what, outcome from attempts where victim = 'A'$$,
    $$values ('notify.notifications', 'update read', 'ok 2'), ('dossier.engagements', 'update kind', 'ok 1'),
             ('dossier.members', 'update role', 'ok 1'), ('dossier.commitments', 'delete', 'ok 1'),
             ('dossier.engagements', 'insert', '23505'), ('portfolio.criteria_versions', 'insert', '23505')$$,
    'control: aimed at A''s own rows they update and delete them, and a copy passes the policy (to hit the unique key)');
insert into attempts select 'B', s.tbl, s.what, pg_temp.try(s.sql) from pg_temp.statements('B') s;
select is_empty($$select tbl, what, outcome from attempts where victim = 'B' and what !~ 'every row' and outcome not in ('ok 0', '42501')$$,
    'every update (of every column) and delete of B''s rows, in every table, changes no row or is refused (42501)');
select is_empty($$select a.tbl, a.what, a.outcome from attempts a
                  where a.victim = 'B' and a.what ~ 'every row' and a.outcome ~ '^ok '
                    and substr(a.outcome, 4)::bigint > (select count(*) from before b where b.tbl = a.tbl and b.who = 'A')$$,
    'an update or delete of every row reaches no more rows than A''s own (when it is not refused)');
select is_empty($$select tbl, what, outcome from attempts where victim = 'B' and what = 'insert' and outcome <> '42501'$$,
    'every copy of a B row A tries to insert is refused (42501: no privilege, or the new row violates the policy)');
select ok((select count(*) >= 100 from attempts where victim = 'B'), 'more than a hundred attempts were made');

-- The api functions, aimed at B's data. Each query returns one row ('ok 1') exactly when the
-- answer is the right one for A.
insert into calls values
    ('api.notifications: A''s two, nothing else',
     pg_temp.try('select from (select count(*) filter (where n.user_id = auth.uid()) as mine,
                                      count(*) filter (where n.user_id is distinct from auth.uid()) as others
                               from api.notifications(false, 1000) n) x where mine = 2 and others = 0')),
    ('api.mark_notification_read: false for B''s',
     pg_temp.try(format('select from api.mark_notification_read(%L) r where not r', (select notification_id from sent where name = 'B' limit 1)))),
    ('api.dossier_stats: B''s not found',
     pg_temp.try(format('select from api.dossier_stats(array[%L]::uuid[]) s where not s.found and s.stats is null', pg_temp.id('dossier B')))),
    ('api.calculate_health_score: B''s', pg_temp.try(format('select api.calculate_health_score(%L)', pg_temp.id('dossier B')))),
    ('api.calculate_health_score: B''s, forced', pg_temp.try(format('select api.calculate_health_score(%L, true)', pg_temp.id('dossier B')))),
    ('api.request_coverage_recompute: B''s', pg_temp.try(format('select api.request_coverage_recompute(%L)', pg_temp.id('institution B')))),
    ('api.dashboard: A''s, computed, not B''s cached one',
     pg_temp.try($q$select from api.dashboard() d where d ? 'recommendations' and not d ? 'marker' and d -> 'fromCache' = 'false'$q$)),
    ('api.asset_calculations: A''s score only',
     pg_temp.try(format($q$select from (select count(*) filter (where c ->> 'score' = '1') as mine, count(*) filter (where c ->> 'score' <> '1') as others
                                        from jsonb_array_elements(api.asset_calculations(%L) -> 'calculations') c) x
                           where mine = 1 and others = 0$q$, pg_temp.id('asset')))),
    ('api.save_criteria: A''s version 2',
     pg_temp.try($q$select from api.save_criteria('[{"metric": "roe", "operator": ">", "threshold": 1, "points": 1}]') s where s.version = 2$q$)),
    -- The engine's runs are no user's: a plain user reads and changes none of them.
    ('api.runs', pg_temp.try('select api.runs()')),
    ('api.run', pg_temp.try($q$select api.run('00000000-0000-4000-8000-00000000dead')$q$)),
    ('api.cancel_run', pg_temp.try($q$select api.cancel_run('00000000-0000-4000-8000-00000000dead')$q$)),
    ('api.rerun_run', pg_temp.try($q$select api.rerun_run('00000000-0000-4000-8000-00000000dead')$q$)),
    ('api.functions', pg_temp.try('select api.functions()')),
    ('api.set_function_enabled', pg_temp.try($q$select api.set_function_enabled('nightshift/noop', false)$q$)),
    ('api.schedules', pg_temp.try('select api.schedules()')),
    ('api.events', pg_temp.try('select api.events()')),
    ('api.replay_event', pg_temp.try($q$select api.replay_event('00000000-0000-4000-8000-00000000dead')$q$)),
    ('api.deliveries', pg_temp.try('select api.deliveries()')),
    ('api.retry_delivery', pg_temp.try('select api.retry_delivery(1)')),
    ('api.overview', pg_temp.try('select api.overview()')),
    ('api.function_runs', pg_temp.try('select api.function_runs()')),
    ('api.run_events', pg_temp.try($q$select api.run_events('00000000-0000-4000-8000-00000000dead')$q$)),
    ('api.notification_stats', pg_temp.try('select api.notification_stats()')),
    ('api.trigger_run', pg_temp.try($q$select api.trigger_run('nightshift/noop', '{}')$q$)),
    ('api.portfolio_market_runs', pg_temp.try('select api.portfolio_market_runs()')),
    ('api.dossier_freshness', pg_temp.try('select api.dossier_freshness()'));
select set_eq($$select what, outcome from calls$$,
    $$values ('api.notifications: A''s two, nothing else', 'ok 1'), ('api.mark_notification_read: false for B''s', 'ok 1'),
             ('api.dossier_stats: B''s not found', 'ok 1'), ('api.calculate_health_score: B''s', 'NSD01'),
             ('api.calculate_health_score: B''s, forced', 'NSD01'), ('api.request_coverage_recompute: B''s', '42501'),
             ('api.dashboard: A''s, computed, not B''s cached one', 'ok 1'), ('api.asset_calculations: A''s score only', 'ok 1'),
             ('api.save_criteria: A''s version 2', 'ok 1'), ('api.runs', '42501'), ('api.run', '42501'),
             ('api.cancel_run', '42501'), ('api.rerun_run', '42501'), ('api.functions', '42501'),
             ('api.set_function_enabled', '42501'), ('api.schedules', '42501'), ('api.events', '42501'),
             ('api.replay_event', '42501'), ('api.deliveries', '42501'), ('api.retry_delivery', '42501'),
             ('api.overview', '42501'), ('api.function_runs', '42501'), ('api.run_events', '42501'),
             ('api.notification_stats', '42501'), ('api.trigger_run', '42501'),
             ('api.portfolio_market_runs', '42501'), ('api.dossier_freshness', '42501')$$,
    'the api functions: B''s dossier is unknown to A (NSD01), the recompute is refused (42501), and everything A gets back '
    'is A''s (A''s notifications, no statistics of B''s, A''s dashboard and calculations, A''s next criteria version); '
    'the engine''s runs, functions, schedules, events, deliveries and the console''s reads (the packs'' figures too) and run-now are refused (42501)');
select set_eq($$select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'api'::regnamespace$$,
    array['api.mark_notification_read(uuid)', 'api.calculate_health_score(uuid,boolean)', 'api.request_coverage_recompute(uuid)',
          'api.dossier_stats(uuid[])', 'api.notifications(boolean,integer)', 'api.notifications_held_back()', 'api.dashboard()',
          'api.asset_calculations(uuid,integer,timestamp with time zone)', 'api.save_criteria(jsonb)',
          'api.runs(text,text,text,timestamp with time zone,timestamp with time zone,integer,text,uuid,uuid)', 'api.run(uuid)',
          'api.cancel_run(uuid)', 'api.rerun_run(uuid)', 'api.functions()', 'api.set_function_enabled(text,boolean)',
          'api.schedules()', 'api.events(text,timestamp with time zone,timestamp with time zone,integer,text)',
          'api.replay_event(uuid)', 'api.deliveries(text,text,integer,text)', 'api.retry_delivery(bigint)',
          'api.overview()', 'api.function_runs(integer)', 'api.run_events(uuid)', 'api.notification_stats(integer)',
          'api.trigger_run(text,jsonb)', 'api.portfolio_market_runs()', 'api.dossier_freshness()'],
    'and those are every api function');

-- What the api functions wrap, called directly for B
delete from calls;
insert into calls
select f, pg_temp.try(format(f, pg_temp.id('B'), pg_temp.id('dossier B'), pg_temp.id('institution B'), pg_temp.id('asset'),
                             (select notification_id from sent where name = 'B' limit 1)))
from unnest(array[
    'select * from notify.list_notifications(%1$L)', 'select notify.mark_read(%1$L, %5$L)', 'select * from notify.send(%1$L, ''x'', ''y'')',
    'select * from dossier.stats(array[%2$L]::uuid[])', 'select dossier.calculate_health_score(%2$L)',
    'select dossier.recalculate_health_scores(array[%2$L]::uuid[])',
    'select coverage.request_recompute(%3$L)', 'select * from coverage.list_admins(%3$L)', 'select coverage.compute_for_institution(%3$L)',
    'select portfolio.dashboard_document(%1$L)', 'select portfolio.portfolio_summary(%1$L)',
    'select portfolio.asset_calculations(%1$L, %4$L)', 'select * from portfolio.save_criteria(%1$L, ''[]'')',
    'select cache.get(''recs:'' || %1$L)', 'select cache.invalidate_all(%1$L)']) f;
select is_empty($$select what, outcome from calls where outcome <> '42501'$$,
    'A cannot call any of the functions the api wraps (42501): notify.list_notifications, dossier.stats, '
    'coverage.request_recompute, portfolio.dashboard_document, cache.get, …');

-- Every relation without row-level security
delete from calls;
insert into calls
select c.oid::regclass::text, pg_temp.try(format('select from %s limit 1', c.oid::regclass))
from pg_class c
where c.relnamespace::regnamespace::text in ('nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache')
  and c.relkind in ('r', 'p', 'v', 'm') and not c.relrowsecurity;
select set_eq($$select what from calls where outcome <> '42501'$$, array['portfolio.markets', 'portfolio.assets'],
    'of the relations without row-level security (views, materialised views, partitions, the cache, the engine), '
    'A reads only the reference data');

reset role;
reset session authorization;
select is(session_user, 'postgres'::name, 'back to the owner');

-- B's rows, as they were.
select set_eq($$select tbl, row_text from pg_temp.rows_of('B')$$, $$select tbl, row_text from before where who = 'B'$$,
    'every row of B''s, in every table, is exactly as it was: nothing read, changed, deleted or added for B');
select is((select count(*) from nightshift.runs where function_id = 'coverage/nightly-recompute'), 0::bigint,
    'no recompute was enqueued');
select results_eq($$select user_id, version from portfolio.criteria_versions order by user_id, version$$,
    $$values (pg_temp.id('A'), 1), (pg_temp.id('A'), 2), (pg_temp.id('B'), 1)$$,
    'api.save_criteria saved A''s next version, nothing of B''s');
select is_empty($$select tbl, row_text from before except select tbl, row_text from seen where viewer = 'the worker'$$,
    'and the worker login (nightshift_app, no role set) read every row of A''s and B''s: the service''s policies');

select * from finish();
rollback;
