-- auth.jwt, auth.uid, auth.role, auth.require_uid and auth.is_super_admin (0040) read the
-- verified claims the server puts in request.jwt.claims: nothing set is an empty identity
-- (no user, no role), a sub that is not a UUID is no user, a broken claims string is an error
-- (never an empty identity), and a super admin is a signed-in user (role authenticated and a
-- sub) whose app_metadata, not user_metadata, says super_admin. Every request role may call
-- them.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(33);

-- Nothing set: a worker, a console.
select is(current_setting('request.jwt.claims', true), null, 'at the start of the session no claims are set');
select is(auth.jwt(), '{}'::jsonb, 'jwt() without claims is {}');
select is(auth.uid(), null, 'uid() without claims is null');
select is(auth.role(), null, 'role() without claims is null');
select ok(not auth.is_super_admin(), 'is_super_admin() without claims is false');
select throws_ok($$select auth.require_uid('api.test')$$, '42501',
    'api.test: needs a signed-in user (a token whose sub is a user id)', 'require_uid() without claims is 42501 naming the caller');

set local request.jwt.claims = '';
select is(auth.jwt(), '{}'::jsonb, 'an empty claims setting is {} too');
select is(auth.uid(), null, 'and no user');

-- A user.
set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "email": "a@example.org"}';
select is(auth.jwt(), '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "email": "a@example.org"}'::jsonb,
    'jwt() is the claims as jsonb');
select is(auth.uid(), 'a0000000-0000-4000-8000-000000000001'::uuid, 'uid() is the sub');
select is(auth.role(), 'authenticated', 'role() is the role claim');
select is(auth.require_uid('api.test'), 'a0000000-0000-4000-8000-000000000001'::uuid, 'require_uid() returns the sub');
set local request.jwt.claims = '{"sub": "A0000000-0000-4000-8000-00000000000F", "role": "authenticated"}';
select is(auth.uid(), 'a0000000-0000-4000-8000-00000000000f'::uuid, 'an upper-case UUID is the same user');

-- A sub that is not a UUID is no user (and never an error).
create temporary table bad_subs (claims jsonb, what text);
insert into bad_subs values
    ('{"role": "authenticated"}', 'no sub'),
    ('{"sub": null, "role": "authenticated"}', 'a null sub'),
    ('{"sub": "", "role": "authenticated"}', 'an empty sub'),
    ('{"sub": "user-42", "role": "authenticated"}', 'a sub that is a name'),
    ('{"sub": 42, "role": "authenticated"}', 'a numeric sub'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001x", "role": "authenticated"}', 'a UUID with a suffix'),
    ('{"sub": " a0000000-0000-4000-8000-000000000001", "role": "authenticated"}', 'a UUID with a leading space'),
    ('{"sub": "{a0000000-0000-4000-8000-000000000001}", "role": "authenticated"}', 'a UUID in braces'),
    ('{"sub": "a00000000000400080000000000000001", "role": "authenticated"}', 'a UUID without dashes'),
    ('{"sub": ["a0000000-0000-4000-8000-000000000001"], "role": "authenticated"}', 'a sub that is an array');
create function pg_temp.uid_for(p_claims jsonb) returns uuid language sql
as $$ select set_config('request.jwt.claims', p_claims::text, true); select auth.uid() $$;
select is_empty($$select what from bad_subs where pg_temp.uid_for(claims) is not null$$,
    'a malformed sub (none, null, empty, a name, a number, suffixed, padded, braced, undashed, an array) is no user');
set local request.jwt.claims = '{"sub": "user-42", "role": "authenticated"}';
select throws_ok($$select auth.require_uid('api.test')$$, '42501', null, 'and require_uid() refuses it');

set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001"';
select throws_ok($$select auth.jwt()$$, '22P02', null, 'claims that are not JSON are an error, not an empty identity');
select throws_ok($$select auth.uid()$$, '22P02', null, 'so is uid() over them');

-- Super admins.
create temporary table admins (claims jsonb, expected boolean, what text);
insert into admins values
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"role": "super_admin"}}',
     true, 'a signed-in user with app_metadata.role super_admin is a super admin'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"role": "admin"}}',
     false, 'another app_metadata.role is not'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated"}',
     false, 'no app_metadata is not'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "user_metadata": {"role": "super_admin"}}',
     false, 'user_metadata (which the user may edit) saying super_admin is not'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "super_admin"}',
     false, 'a role claim super_admin is not'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"role": ["super_admin"]}}',
     false, 'app_metadata.role as an array is not'),
    ('{"role": "authenticated", "app_metadata": {"role": "super_admin"}}',
     false, 'without a sub it is not (no user)'),
    ('{"sub": "nobody", "role": "authenticated", "app_metadata": {"role": "super_admin"}}',
     false, 'with a malformed sub it is not'),
    ('{"role": "anon", "app_metadata": {"role": "super_admin"}}',
     false, 'an anon token with the claim is not'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "anon", "app_metadata": {"role": "super_admin"}}',
     false, 'an anon token with a sub and the claim is not'),
    ('{"role": "service_role", "app_metadata": {"role": "super_admin"}}',
     false, 'a service token with the claim is not'),
    ('{"sub": "a0000000-0000-4000-8000-000000000001", "role": "service_role", "app_metadata": {"role": "super_admin"}}',
     false, 'a service token with a sub and the claim is not');
grant select on admins to public;
create function pg_temp.super_admin_for(p_claims jsonb) returns boolean language sql
as $$ select set_config('request.jwt.claims', p_claims::text, true); select auth.is_super_admin() $$;
-- One assertion per case, so a failure names it; is() tells false from null (a null once let a
-- plain user through api.request_coverage_recompute). The claims decide, whatever the SQL role
-- (the coverage rls test checks that under the anon SQL role such claims get nothing).
set local role nightshift_authenticated;
select is(pg_temp.super_admin_for(claims), expected, what) from admins;
reset role;

-- Every request role may call the helpers.
set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "anon"}';
set local role nightshift_anon;
select is(auth.uid(), 'a0000000-0000-4000-8000-000000000001'::uuid, 'anon may call uid()');
select is(auth.role(), 'anon', 'and role()');
set local role nightshift_service;
select is(auth.jwt() ->> 'role', 'anon', 'the service role may call jwt()');
reset role;
select ok(not has_function_privilege('public', 'auth.uid()', 'execute'), 'PUBLIC may not (the grants are to the roles)');

select * from finish();
rollback;
