-- api.rerun_run (0048): the service and super admins enqueue a rerun of any run (same payload,
-- trigger rerun, the original's correlation id); unknown NSR01; a retired function NSF01;
-- operators, plain users and anon are refused (42501) and nothing is enqueued.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);
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

insert into nightshift.functions (id) values ('t/one');
select nightshift.trigger('t/one', '{"k": 2}') as original \gset
update nightshift.runs set status = 'failed', finished_at = now() where id = :'original';

select pg_temp.operator();
select throws_ok(format('select api.rerun_run(%L)', :'original'), '42501',
    'api.rerun_run: an operator reads but does not change; needs the service role or a super admin', 'an operator may not rerun');
select pg_temp.stranger();
select throws_ok(format('select api.rerun_run(%L)', :'original'), '42501', null, 'a plain user may not rerun');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok(format('select api.rerun_run(%L)', :'original'), '42501', null, 'anon may not rerun');
reset role;
select is((select count(*)::int from nightshift.runs where rerun_of = :'original'), 0, 'and nothing was enqueued');

select pg_temp.admin();
select api.rerun_run(:'original') as answer \gset
select is((:'answer'::jsonb) - 'run_id', jsonb_build_object('rerun_of', :'original', 'status', 'queued'), 'a super admin reruns it');
reset role;
select is((select jsonb_build_object('trigger', trigger_kind, 'payload', payload, 'same_correlation',
                                     correlation_id = (select correlation_id from nightshift.runs where id = :'original'))
           from nightshift.runs where id = (:'answer'::jsonb ->> 'run_id')::uuid),
    '{"trigger": "rerun", "payload": {"k": 2}, "same_correlation": true}'::jsonb, 'the new run: trigger rerun, same payload and correlation id');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(api.rerun_run(:'original') ->> 'status', 'queued', 'the service reruns it');
select throws_ok($$select api.rerun_run('00000000-0000-4000-8000-00000000dead')$$, 'NSR01', null, 'an unknown run is NSR01');
reset role;
update nightshift.functions set retired_at = now() where id = 't/one';
select pg_temp.admin();
select throws_ok(format('select api.rerun_run(%L)', :'original'), 'NSF01', 'function "t/one" is retired', 'a retired function is NSF01');

select * from finish();
rollback;
