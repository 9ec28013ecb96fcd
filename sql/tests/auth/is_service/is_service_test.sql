-- auth.is_service (0040) is decided by the SQL role in effect, never by a claim: true for the
-- service role, for nightshift_app with no role set (a worker) and for the owner; false for
-- the anon and authenticated roles whatever their claims say, including inside a security
-- definer function, where current_user is the function's owner but the request's role still
-- decides.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(20);

-- Runs as its owner (postgres, a superuser and so "a service"), like every api function.
create function pg_temp.definer_probe() returns table (who name, is_service boolean)
language sql security definer set search_path = ''
as $$ select current_user, auth.is_service() $$;

select ok(auth.is_service(), 'the owner (no role set) is the service');

set local role nightshift_service;
select ok(auth.is_service(), 'the service role is');
set local request.jwt.claims = '{"role": "anon"}';
select ok(auth.is_service(), 'whatever its claims say (an anon token)');
select results_eq($$select * from pg_temp.definer_probe()$$, $$values ('postgres'::name, true)$$,
    'and inside a security definer function');

set local role nightshift_authenticated;
set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated"}';
select ok(not auth.is_service(), 'the authenticated role is not');
set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "service_role"}';
select ok(not auth.is_service(), 'not even with a service_role claim');
set local request.jwt.claims = '{"role": "service_role", "app_metadata": {"role": "super_admin"}}';
select ok(not auth.is_service(), 'nor with a super admin claim');
select results_eq($$select * from pg_temp.definer_probe()$$, $$values ('postgres'::name, false)$$,
    'inside a security definer function (running as postgres) it is still not');

set local role nightshift_anon;
select ok(not auth.is_service(), 'the anon role is not');
set local request.jwt.claims = '{"role": "service_role"}';
select ok(not auth.is_service(), 'not even with a service_role claim');
select results_eq($$select * from pg_temp.definer_probe()$$, $$values ('postgres'::name, false)$$,
    'nor inside a security definer function');
reset role;

-- As the server and the workers log in: nightshift_app.
set local session authorization nightshift_app;
set local request.jwt.claims = '';
select results_eq($$select session_user, current_user, current_setting('role')$$,
    $$values ('nightshift_app'::name, 'nightshift_app'::name, 'none')$$, 'logged in as nightshift_app, no role set');
select ok(auth.is_service(), 'a worker (nightshift_app, no role set) is the service');
select results_eq($$select * from pg_temp.definer_probe()$$, $$values ('postgres'::name, true)$$,
    'also inside a security definer function');
-- Per request the server sets the role and the claims, as PostgREST does.
select set_config('role', 'nightshift_authenticated', true),
       set_config('request.jwt.claims', '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "service_role"}', true);
select ok(not auth.is_service(), 'a request nightshift_app runs as authenticated is not, whatever the claims');
select results_eq($$select * from pg_temp.definer_probe()$$, $$values ('postgres'::name, false)$$,
    'nor inside a security definer function');
select set_config('role', 'nightshift_anon', true);
select ok(not auth.is_service(), 'a request it runs as anon is not');
select set_config('role', 'nightshift_service', true),
       set_config('request.jwt.claims', '{"role": "anon"}', true);
select ok(auth.is_service(), 'a request it runs as the service role is');
select throws_ok($$set local role postgres$$, '42501', null, 'nightshift_app cannot take any role but the three');
reset role;
reset session authorization;
select is(session_user, 'postgres'::name, 'back to the owner');

select * from finish();
rollback;
