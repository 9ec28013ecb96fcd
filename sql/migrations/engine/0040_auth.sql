-- The database decides who may do what, per request, as Supabase does.
--
-- Roles:
--   the owner (who runs the migrations) owns every object; nothing else logs in as it.
--   nightshift_app        LOGIN: the server and the workers. Neither superuser, nor owner, nor
--                         bypassrls. A member of the three request roles, so it can `set local role`
--                         to one of them per API request; it inherits nightshift_service's privileges,
--                         which is what a worker (no request, no role set) acts with.
--   nightshift_anon / nightshift_authenticated / nightshift_service
--                         NOLOGIN: what an API request runs as, from its token's role. Row-level
--                         security decides which rows each sees; the service role passes by its own
--                         policies, never by superuser or bypassrls.
--
-- Schema api: the functions an API request of any role may call. They take the caller from
-- auth.uid(), never from an argument, and call the areas' functions (which request roles cannot
-- call) for that caller only. Each area adds its own in its migration.
--
-- Per request the server runs, in one transaction:
--   select set_config('role', <request role>, true), set_config('request.jwt.claims', <claims>, true)
-- as PostgREST does; auth.jwt(), auth.uid() and auth.role() read the claims back.

do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'nightshift_app') then
        -- No password: the embedded cluster trusts loopback; elsewhere the operator sets one
        -- (alter role nightshift_app password '…') or uses certificates.
        create role nightshift_app login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit;
    end if;
end
$$;
comment on role nightshift_app is
    'Nightshift''s server and workers log in as this role: member of nightshift_anon, nightshift_authenticated and '
    'nightshift_service (set local role per API request); owns nothing; not superuser, not bypassrls.';
grant nightshift_anon, nightshift_authenticated, nightshift_service to nightshift_app;

create schema auth;
comment on schema auth is 'The caller of the current request, from the claims the server verified (as Supabase''s auth schema).';

create function auth.jwt()
returns jsonb
language sql
stable
set search_path = ''
as $$
    select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;
comment on function auth.jwt() is
    'The verified claims of the current API request (request.jwt.claims, set by the server per transaction); '
    '{} outside a request (a worker, a console).';

create function auth.uid()
returns uuid
language sql
stable
set search_path = ''
as $$
    select case
        when auth.jwt() ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        then (auth.jwt() ->> 'sub')::uuid
    end
$$;
comment on function auth.uid() is 'The request''s user id (the sub claim) when it is a UUID, else null.';

create function auth.role()
returns text
language sql
stable
set search_path = ''
as $$
    select auth.jwt() ->> 'role'
$$;
comment on function auth.role() is 'The request''s role claim: anon, authenticated or service_role; null outside a request.';

create function auth.is_service()
returns boolean
language sql
stable
set search_path = ''
as $$
    -- The role in effect for the session, not a claim: a SET ROLE survives into security
    -- definer functions (current_user does not), and only a member of nightshift_service may
    -- set it. No role set: the login role decides (the workers' nightshift_app, the owner).
    select pg_catalog.pg_has_role(
        case pg_catalog.current_setting('role')
            when 'none' then pg_catalog.session_user()
            else pg_catalog.current_setting('role')::name
        end,
        'nightshift_service', 'usage')
$$;
comment on function auth.is_service() is
    'Whether the session acts with nightshift_service''s privileges: an API request of the service role, a worker, '
    'the owner. Security definer functions call it to let the service through their per-user checks.';

create function auth.is_super_admin()
returns boolean
language sql
stable
set search_path = ''
as $$
    -- coalesce: without app_metadata.role the comparison is null, and a null here would let
    -- a plain user through "if not (is_service() or is_super_admin())".
    select coalesce(
        auth.role() = 'authenticated'
        and auth.uid() is not null
        and auth.jwt() -> 'app_metadata' ->> 'role' = 'super_admin',
        false)
$$;
comment on function auth.is_super_admin() is
    'A signed-in user (role authenticated, a sub) with app_metadata.role = super_admin; false (never null) otherwise.';

create function auth.require_uid(p_what text)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
    v_uid constant uuid := auth.uid();
begin
    if v_uid is null then
        raise exception '%: needs a signed-in user (a token whose sub is a user id)', p_what
            using errcode = 'insufficient_privilege';
    end if;
    return v_uid;
end
$$;
comment on function auth.require_uid(text) is 'The request''s user id; 42501 naming p_what when there is none.';

create schema api;
comment on schema api is
    'What an API request may call: functions acting for the caller (auth.uid()) only. Everything else is the service''s.';
revoke all on schema api from public;
grant usage on schema api to nightshift_anon, nightshift_authenticated, nightshift_service;

revoke all on schema auth from public;
grant usage on schema auth to nightshift_anon, nightshift_authenticated, nightshift_service;
revoke all on all functions in schema auth from public;
grant execute on all functions in schema auth to nightshift_anon, nightshift_authenticated, nightshift_service;
