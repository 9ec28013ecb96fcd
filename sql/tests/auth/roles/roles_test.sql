-- The roles and the two schemas of 0040: nightshift_app (the server's and the workers' login)
-- is neither superuser nor bypassrls, owns nothing, holds no privilege of its own and is a
-- member of exactly the three request roles; anon gets nothing but the use of the auth and api
-- schemas; every api function runs as its owner with an empty search_path, is executable by
-- exactly the roles listed here and never by PUBLIC or anon; helpers (_*) stay the owner's;
-- the request roles execute no area function directly (only the few the policies call); and
-- authenticated reads no table that lacks row-level security but the reference data.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(30);

-- nightshift_app
select ok((select rolcanlogin from pg_roles where rolname = 'nightshift_app'), 'nightshift_app logs in');
select ok(not (select rolsuper from pg_roles where rolname = 'nightshift_app'), 'it is not superuser');
select ok(not (select rolbypassrls from pg_roles where rolname = 'nightshift_app'), 'it does not bypass row-level security');
select results_eq(
    $$select rolcreaterole, rolcreatedb, rolreplication, rolinherit from pg_roles where rolname = 'nightshift_app'$$,
    $$values (false, false, false, true)$$,
    'it creates no role or database, does not replicate, and inherits its roles'' privileges');
select results_eq(
    $$select m.roleid::regrole::text, m.admin_option from pg_auth_members m
      where m.member = 'nightshift_app'::regrole order by 1$$,
    $$values ('nightshift_anon', false), ('nightshift_authenticated', false), ('nightshift_service', false)$$,
    'it is a member of exactly the three request roles, without the admin option (it cannot grant them)');
select ok(pg_has_role('nightshift_app', 'nightshift_service', 'usage')
          and pg_has_role('nightshift_app', 'nightshift_authenticated', 'member')
          and pg_has_role('nightshift_app', 'nightshift_anon', 'member'),
    'so it acts with the service''s privileges and may set any of the three roles');
select is_empty(
    $$select d.classid::regclass::text, d.objid, d.deptype from pg_shdepend d
      where d.refclassid = 'pg_authid'::regclass and d.refobjid = 'nightshift_app'::regrole
        and d.dbid in (0, (select oid from pg_database where datname = current_database()))$$,
    'nightshift_app owns nothing, is granted nothing directly and is named by no policy');
select ok(not has_database_privilege('nightshift_app', current_database(), 'create'), 'it creates no schema');
select is_empty(
    $$select n.nspname from pg_namespace n
      where n.nspname in ('public', 'nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache', 'auth', 'api')
        and has_schema_privilege('nightshift_app', n.oid, 'create')$$,
    'and creates nothing in any schema');

-- The request roles
select results_eq(
    $$select rolname::text collate "default", rolcanlogin, rolsuper, rolbypassrls from pg_roles
      where rolname in ('nightshift_anon', 'nightshift_authenticated', 'nightshift_service') order by 1$$,
    $$values ('nightshift_anon', false, false, false), ('nightshift_authenticated', false, false, false),
             ('nightshift_service', false, false, false)$$,
    'the request roles do not log in, are not superuser and do not bypass row-level security');
select is_empty(
    $$select m.member::regrole::text, m.roleid::regrole::text from pg_auth_members m
      where m.member in ('nightshift_anon'::regrole, 'nightshift_authenticated'::regrole, 'nightshift_service'::regrole)$$,
    'they are members of no role (authenticated does not inherit the service''s privileges)');

-- The schemas auth and api
select set_eq(
    $$select n.nspname::text collate "default", coalesce(nullif(a.grantee, 0)::regrole::text, 'PUBLIC'), a.privilege_type
      from pg_namespace n, aclexplode(n.nspacl) a
      where n.nspname in ('auth', 'api') and a.grantee <> n.nspowner$$,
    $$values ('auth', 'nightshift_anon', 'USAGE'), ('auth', 'nightshift_authenticated', 'USAGE'), ('auth', 'nightshift_service', 'USAGE'),
             ('api', 'nightshift_anon', 'USAGE'), ('api', 'nightshift_authenticated', 'USAGE'), ('api', 'nightshift_service', 'USAGE')$$,
    'auth and api: usage for the three request roles, nothing for PUBLIC, create for nobody but the owner');
select set_eq(
    $$select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'auth'::regnamespace$$,
    array['auth.jwt()', 'auth.uid()', 'auth.role()', 'auth.is_service()', 'auth.is_super_admin()', 'auth.require_uid(text)',
          'auth.is_operator()', 'auth.require_reader(text)', 'auth.require_admin(text)'],
    'the auth helpers');
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated'), ('nightshift_service')) r(rolname)
      where p.pronamespace = 'auth'::regnamespace and not has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'every request role executes every auth helper');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'auth'::regnamespace
        and (p.prosecdef or not coalesce(p.proconfig @> array['search_path=""'], false))$$,
    'the auth helpers run as the caller with search_path = ''''');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where p.pronamespace in ('auth'::regnamespace, 'api'::regnamespace) and a.grantee = 0$$,
    'PUBLIC executes no auth or api function');

-- The api functions and who may call each.
select results_eq(
    $$select p.oid::regprocedure::text,
             array(select r from unnest(array['nightshift_anon', 'nightshift_authenticated', 'nightshift_service']) r
                   where has_function_privilege(r, p.oid, 'execute'))
      from pg_proc p where p.pronamespace = 'api'::regnamespace order by 1$$,
    $$values ('api.asset_calculations(uuid,integer,timestamp with time zone)', array['nightshift_authenticated']),
             ('api.calculate_health_score(uuid,boolean)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.cancel_run(uuid)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.dashboard()', array['nightshift_authenticated']),
             ('api.deliveries(text,text,integer,text)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.dossier_freshness()', array['nightshift_authenticated', 'nightshift_service']),
             ('api.dossier_stats(uuid[])', array['nightshift_authenticated', 'nightshift_service']),
             ('api.events(text,timestamp with time zone,timestamp with time zone,integer,text)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.function_runs(integer)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.functions()', array['nightshift_authenticated', 'nightshift_service']),
             ('api.mark_notification_read(uuid)', array['nightshift_authenticated']),
             ('api.notification_stats(integer)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.notifications(boolean,integer)', array['nightshift_authenticated']),
             ('api.notifications_held_back()', array['nightshift_authenticated']),
             ('api.overview()', array['nightshift_authenticated', 'nightshift_service']),
             ('api.portfolio_market_runs()', array['nightshift_authenticated', 'nightshift_service']),
             ('api.replay_event(uuid)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.request_coverage_recompute(uuid)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.rerun_run(uuid)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.retry_delivery(bigint)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.run(uuid)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.run_events(uuid)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.runs(text,text,text,timestamp with time zone,timestamp with time zone,integer,text,uuid,uuid)',
              array['nightshift_authenticated', 'nightshift_service']),
             ('api.save_criteria(jsonb)', array['nightshift_authenticated']),
             ('api.schedules()', array['nightshift_authenticated', 'nightshift_service']),
             ('api.set_function_enabled(text,boolean)', array['nightshift_authenticated', 'nightshift_service']),
             ('api.trigger_run(text,jsonb)', array['nightshift_authenticated', 'nightshift_service'])$$,
    'the api functions, and exactly which request roles execute each (anon none)');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'api'::regnamespace
        and (not p.prosecdef or not coalesce(p.proconfig @> array['search_path=""'], false))$$,
    'every api function is security definer with search_path = ''''');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'api'::regnamespace and pg_get_userbyid(p.proowner) in
          ('nightshift_app', 'nightshift_anon', 'nightshift_authenticated', 'nightshift_service')$$,
    'and is owned by the migration owner, not by a login or request role');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'api'::regnamespace and has_function_privilege('nightshift_anon', p.oid, 'execute')$$,
    'anon executes no api function');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'api'::regnamespace and pg_get_function_identity_arguments(p.oid) ~ '(^|, )(user_id|p_user_id) '$$,
    'no api function takes a user id: the caller comes from auth.uid()');

-- Helpers and the areas' functions
select is_empty(
    $$select p.oid::regprocedure::text, r.rolname from pg_proc p
      cross join (values ('nightshift_anon'), ('nightshift_authenticated'), ('nightshift_service'), ('nightshift_app')) r(rolname)
      where p.pronamespace::regnamespace::text in ('nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache', 'auth', 'api')
        and p.proname ~ '^_' and has_function_privilege(r.rolname, p.oid, 'execute')$$,
    'helpers (_*) in every schema stay the owner''s: no request role and not nightshift_app executes one');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace::regnamespace::text in ('nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache')
        and has_function_privilege('nightshift_anon', p.oid, 'execute')$$,
    'anon executes no function of any area');
select set_eq(
    $$select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace::regnamespace::text in ('nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache')
        and has_function_privilege('nightshift_authenticated', p.oid, 'execute')$$,
    array['dossier.caller_access(uuid)', 'dossier.caller_may_edit(uuid)', 'coverage.caller_administers(uuid)',
          'portfolio.validate_criteria(jsonb)'],
    'authenticated executes only the functions its policies and triggers call, no other area function');
select is_empty(
    $$select f, r from unnest(array[
          'dossier.stats(uuid[])', 'dossier.calculate_health_score(uuid,boolean,timestamptz)',
          'notify.list_notifications(uuid,boolean,integer)', 'notify.mark_read(uuid,uuid)', 'notify.send(uuid,text,text,jsonb,text,text)',
          'notify.held_back_today(uuid)',
          'portfolio.dashboard_document(uuid)', 'portfolio.save_criteria(uuid,jsonb)',
          'portfolio.asset_calculations(uuid,uuid,integer,timestamptz)', 'coverage.request_recompute(uuid)',
          'coverage.list_admins(uuid)', 'cache.get(text)']) f
      cross join unnest(array['nightshift_anon', 'nightshift_authenticated']) r
      where has_function_privilege(r, f::regprocedure, 'execute')$$,
    'in particular neither calls what the api functions wrap: dossier.stats, notify.list_notifications, '
    'portfolio.dashboard_document, coverage.request_recompute, …');

-- Tables
select is_empty(
    $$select c.oid::regclass::text from pg_class c
      where c.relnamespace::regnamespace::text in ('nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache', 'auth', 'api')
        and c.relkind in ('r', 'p', 'v', 'm', 'f')
        and has_table_privilege('nightshift_anon', c.oid, 'select,insert,update,delete,truncate,references,trigger')$$,
    'anon has no privilege on any table or view');
select set_eq(
    $$select c.oid::regclass::text from pg_class c
      where c.relnamespace::regnamespace::text in ('nightshift', 'notify', 'dossier', 'coverage', 'portfolio', 'cache', 'auth', 'api')
        and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relrowsecurity
        and has_table_privilege('nightshift_authenticated', c.oid, 'select,insert,update,delete,truncate,references,trigger')$$,
    array['portfolio.markets', 'portfolio.assets'],
    'authenticated touches no table without row-level security (nor any view, which would read past it) '
    'but the reference data');
select is_empty(
    $$select c.oid::regclass::text from pg_class c
      where c.relrowsecurity and not exists (
          select from pg_policy p
          where p.polrelid = c.oid and p.polname = 'service_all' and p.polcmd = '*' and p.polpermissive
            and p.polroles = array['nightshift_service'::regrole::oid]
            and pg_get_expr(p.polqual, p.polrelid) = 'true' and pg_get_expr(p.polwithcheck, p.polrelid) = 'true')$$,
    'every table under row-level security lets the service role through by its own policy (service_all)');
select is_empty(
    $$select p.polrelid::regclass::text, p.polname from pg_policy p
      where not p.polroles <@ array['nightshift_service'::regrole::oid, 'nightshift_authenticated'::regrole::oid]$$,
    'every policy names the service or the authenticated role: none is for PUBLIC or anon');
select is_empty(
    $$select c.oid::regclass::text from pg_class c where c.relrowsecurity and c.relforcerowsecurity$$,
    'no table forces row-level security on its owner (the security definer functions act as the owner)');

select * from finish();
rollback;
