-- api.function_runs (0053): each function's newest runs (id, status, created_at), at most limit each,
-- for readers; a bad limit 22023; anyone else 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(6);
create function pg_temp.act_as(p_role text, p_claims text) returns void language plpgsql as $$
begin
    reset role;
    perform set_config('request.jwt.claims', p_claims, true);
    if p_role is not null then perform set_config('role', p_role, true); end if;
end $$;
create function pg_temp.operator() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}') $$;
create function pg_temp.admin() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c2", "app_metadata": {"role": "super_admin"}}') $$;
create function pg_temp.stranger() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated', '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c3"}') $$;
select nightshift.sync_functions('[{"id": "t/a"}, {"id": "t/b"}, {"id": "t/none"}]'::jsonb);
insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, created_at, finished_at) values
    ('00000000-0000-4000-8000-000000000001', 't/a', 'completed', 1, 'manual', now() - interval '3 minutes', now()),
    ('00000000-0000-4000-8000-000000000002', 't/a', 'failed', 1, 'manual', now() - interval '2 minutes', now()),
    ('00000000-0000-4000-8000-000000000003', 't/a', 'queued', 1, 'manual', now() - interval '1 minute', null),
    ('00000000-0000-4000-8000-000000000004', 't/b', 'queued', 1, 'manual', now(), null);
select pg_temp.operator();
select is((select array_agg(r ->> 'id') from jsonb_array_elements(api.function_runs(2) -> 't/a') r),
    array['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002'], 'the newest runs first, at most limit');
select is(api.function_runs(2) -> 't/a' -> 1 ->> 'status', 'failed', 'each with its status');
select is(api.function_runs(20) -> 't/none', '[]'::jsonb, 'a function without runs has an empty list');
select is((select count(*) from jsonb_object_keys(api.function_runs(20))), 3::bigint, 'every function is a key');
select throws_ok('select api.function_runs(0)', '22023', 'limit must be between 1 and 100, got 0', 'limit 0 is refused');
select pg_temp.stranger();
select throws_ok('select api.function_runs(5)', '42501', 'api.function_runs: needs the service role, a super admin or an operator', 'a plain user may not');
select * from finish();
rollback;
