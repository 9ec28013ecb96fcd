-- Row-level security on coverage (0043), acting as each request role with forged claims: an
-- institution's admins read that institution, its admins and its snapshots and nothing else;
-- a super admin (a signed-in user whose app_metadata.role is super_admin) reads everything;
-- nobody writes through a request role. api.request_coverage_recompute is for super admins and
-- the service role: a plain user, an institution's admin, and an anon or service token under
-- the authenticated role are refused with 42501 and enqueue nothing; anon is refused outright.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(36);

-- I1 is administered by A, I2 by B; S is a super admin; N a signed-in user who administers nothing.
insert into coverage.institutions (id, name) values
    ('c0000000-0000-4000-8000-0000000000e1', 'One'), ('c0000000-0000-4000-8000-0000000000e2', 'Two');
insert into coverage.institution_admins (institution_id, user_id, email) values
    ('c0000000-0000-4000-8000-0000000000e1', 'a0000000-0000-4000-8000-0000000000c1', 'a@one.example'),
    ('c0000000-0000-4000-8000-0000000000e2', 'b0000000-0000-4000-8000-0000000000c2', 'b@two.example');
insert into coverage.coverage_snapshots (id, institution_id, matrix, total_score, computed_at) values
    ('50000000-0000-4000-8000-000000000011', 'c0000000-0000-4000-8000-0000000000e1', '{}', 0.5, now() - interval '1 day'),
    ('50000000-0000-4000-8000-000000000012', 'c0000000-0000-4000-8000-0000000000e1', '{}', 0.6, now()),
    ('50000000-0000-4000-8000-000000000021', 'c0000000-0000-4000-8000-0000000000e2', '{}', 0.7, now());
select nightshift.sync_functions('[{"id": "coverage/nightly-recompute"}]');
create temporary table owner_counts as
    select (select count(*) from coverage.institutions) as institutions, (select count(*) from coverage.institution_admins) as admins,
           (select count(*) from coverage.coverage_snapshots) as snapshots;
grant select on owner_counts to public;

create function pg_temp.act_as(p_role text, p_claims jsonb default '{}') returns void language plpgsql as $$
begin
    perform set_config('role', p_role, true), set_config('request.jwt.claims', p_claims::text, true);
end
$$;
create function pg_temp.as_user(p_user uuid, p_extra jsonb default '{}') returns void language sql
return pg_temp.act_as('nightshift_authenticated', jsonb_build_object('sub', p_user, 'role', 'authenticated') || p_extra);
create function pg_temp.recompute_runs() returns bigint language sql security definer
return (select count(*) from nightshift.runs where function_id = 'coverage/nightly-recompute');

-- A, the admin of I1
select pg_temp.as_user('a0000000-0000-4000-8000-0000000000c1');
select set_eq($$select id from coverage.institutions$$, $$values ('c0000000-0000-4000-8000-0000000000e1'::uuid)$$,
    'an admin sees the institution it administers, not the other');
select set_eq($$select institution_id, user_id from coverage.institution_admins$$,
    $$values ('c0000000-0000-4000-8000-0000000000e1'::uuid, 'a0000000-0000-4000-8000-0000000000c1'::uuid)$$,
    'its admins only');
select set_eq($$select id from coverage.coverage_snapshots$$,
    $$values ('50000000-0000-4000-8000-000000000011'::uuid), ('50000000-0000-4000-8000-000000000012')$$,
    'and its snapshots only');
select ok(coverage.caller_administers('c0000000-0000-4000-8000-0000000000e1')
          and not coverage.caller_administers('c0000000-0000-4000-8000-0000000000e2'),
    'caller_administers: I1 yes, I2 no');
select throws_ok($$insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
                   values ('c0000000-0000-4000-8000-0000000000e1', '{}', 1, now())$$, '42501', null,
    'an admin cannot write a snapshot');
select throws_ok($$insert into coverage.institution_admins (institution_id, user_id, email)
                   values ('c0000000-0000-4000-8000-0000000000e2', 'a0000000-0000-4000-8000-0000000000c1', 'a@one.example')$$,
    '42501', null, 'nor make itself an admin of another institution');
select throws_ok($$update coverage.institutions set status = 'inactive'$$, '42501', null, 'nor change an institution');
select throws_ok($$delete from coverage.coverage_snapshots$$, '42501', null, 'nor delete snapshots');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501',
    'recomputing coverage on demand takes a super admin (app_metadata.role = super_admin)',
    'an institution''s admin may not request a recompute, even of its own institution');
select throws_ok($$select coverage.request_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'nor call coverage.request_recompute directly');
select throws_ok($$select * from coverage.list_admins('c0000000-0000-4000-8000-0000000000e2')$$, '42501', null,
    'nor coverage.list_admins');

-- B, the admin of I2
select pg_temp.as_user('b0000000-0000-4000-8000-0000000000c2');
select set_eq($$select institution_id from coverage.coverage_snapshots$$, $$values ('c0000000-0000-4000-8000-0000000000e2'::uuid)$$,
    'the other admin sees its own institution''s snapshots only');

-- N, a plain signed-in user: no app_metadata at all.
select pg_temp.as_user('00000000-0000-4000-8000-0000000000f1');
select is((select count(*) from coverage.institutions) + (select count(*) from coverage.institution_admins)
          + (select count(*) from coverage.coverage_snapshots), 0::bigint, 'a user who administers nothing sees nothing');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'and may not request a recompute (no app_metadata: is_super_admin is false, not null)');
select pg_temp.as_user('00000000-0000-4000-8000-0000000000f1', '{"app_metadata": {"role": "admin"}}');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'nor with another app_metadata role');
select pg_temp.as_user('00000000-0000-4000-8000-0000000000f1', '{"user_metadata": {"role": "super_admin"}}');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'nor when user_metadata (which the user edits) says super_admin');
select is((select count(*) from coverage.coverage_snapshots), 0::bigint, 'which reads nothing either');

-- Anon and service tokens under the authenticated role.
select pg_temp.act_as('nightshift_authenticated', '{"role": "anon"}');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'an anon token under the authenticated role may not request a recompute');
select pg_temp.act_as('nightshift_authenticated',
    '{"sub": "00000000-0000-4000-8000-0000000000f1", "role": "anon", "app_metadata": {"role": "super_admin"}}');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'nor one claiming super_admin');
select is((select count(*) from coverage.coverage_snapshots), 0::bigint, 'and reads nothing');
select pg_temp.act_as('nightshift_authenticated', '{"role": "service_role"}');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'a service token under the authenticated role may not (the SQL role decides, not the claim)');
select pg_temp.act_as('nightshift_authenticated', '{"role": "service_role", "app_metadata": {"role": "super_admin"}}');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'nor one claiming super_admin');
select is((select count(*) from coverage.coverage_snapshots), 0::bigint, 'and reads nothing');
select is(pg_temp.recompute_runs(), 0::bigint, 'none of the refused requests enqueued a run');

-- The anon role
select pg_temp.act_as('nightshift_anon',
    '{"sub": "5a000000-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"role": "super_admin"}}');
select throws_ok($$select * from coverage.coverage_snapshots$$, '42501', null, 'anon may not read coverage at all');
select throws_ok($$select api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1')$$, '42501', null,
    'nor call api.request_coverage_recompute, whatever its claims');

-- S, a super admin
select pg_temp.as_user('5a000000-0000-4000-8000-000000000001', '{"app_metadata": {"role": "super_admin"}}');
select results_eq(
    $$select (select count(*) from coverage.institutions), (select count(*) from coverage.institution_admins),
             (select count(*) from coverage.coverage_snapshots)$$,
    $$select * from owner_counts$$,
    'a super admin reads every institution, admin and snapshot');
select ok(coverage.caller_administers('c0000000-0000-4000-8000-0000000000e2'), 'caller_administers says so');
select is(api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e2') - 'job_id', '{"status": "queued", "created": true}',
    'a super admin requests a recompute');
select throws_ok($$insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
                   values ('c0000000-0000-4000-8000-0000000000e1', '{}', 1, now())$$, '42501', null,
    'but writes no snapshot either');

-- The service role
select pg_temp.act_as('nightshift_service');
select results_eq(
    $$select (select count(*) from coverage.institutions), (select count(*) from coverage.institution_admins),
             (select count(*) from coverage.coverage_snapshots)$$,
    $$select * from owner_counts$$,
    'the service role reads everything');
select is(api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e2') -> 'created', 'false',
    'and requests recomputes: I2''s is already queued');
select is(api.request_coverage_recompute('c0000000-0000-4000-8000-0000000000e1') -> 'created', 'true', 'I1''s is new');
select pg_temp.act_as('nightshift_service', '{"sub": "a0000000-0000-4000-8000-0000000000c1", "role": "authenticated"}');
select is((select count(*) from coverage.coverage_snapshots), (select snapshots from owner_counts),
    'with a user''s claims it still reads everything: the role decides');
reset role;

select set_eq($$select payload ->> 'institution_id' from nightshift.runs where function_id = 'coverage/nightly-recompute'$$,
    array['c0000000-0000-4000-8000-0000000000e2', 'c0000000-0000-4000-8000-0000000000e1'],
    'exactly two runs were enqueued: the super admin''s and the service''s');
select is(pg_temp.recompute_runs(), 2::bigint, 'one each');

select * from finish();
rollback;
