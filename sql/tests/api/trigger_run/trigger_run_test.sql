-- api.trigger_run (0053): super admins and the service run a function now with a payload object
-- (trigger manual); an operator, a plain user and anon are refused (42501) and nothing is queued;
-- an unknown function NSF01; a payload that is not an object 22023.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);
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
select nightshift.sync_functions('[{"id": "t/a"}]'::jsonb);
select pg_temp.operator();
select throws_ok($$select api.trigger_run('t/a', '{}')$$, '42501',
    'api.trigger_run: an operator reads but does not change; needs the service role or a super admin', 'an operator may not run a function');
select pg_temp.stranger();
select throws_ok($$select api.trigger_run('t/a', '{}')$$, '42501', 'api.trigger_run: needs the service role or a super admin', 'nor a plain user');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok($$select api.trigger_run('t/a', '{}')$$, '42501', null, 'nor anon');
reset role;
select is((select count(*) from nightshift.runs), 0::bigint, 'and nothing was queued');
select pg_temp.admin();
select api.trigger_run('t/a', '{"k": 1}') ->> 'run_id' as run \gset
reset role;
select is((select (payload, trigger_kind, status)::text from nightshift.runs where id = :'run'), '("{""k"": 1}",manual,queued)',
    'a super admin queues a manual run with the payload');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(api.trigger_run('t/a') ->> 'status', 'queued', 'the service too, with an empty payload by default');
select throws_ok($$select api.trigger_run('t/nope', '{}')$$, 'NSF01', null, 'an unknown function is NSF01');
select throws_ok($$select api.trigger_run('t/a', '[1]')$$, '22023', 'payload must be a JSON object', 'an array payload is refused');
select * from finish();
rollback;
