-- api.cancel_run (0048): the service and super admins cancel a queued or running run; a
-- finished one is NSR02 with its status in DETAIL; an unknown id NSR01; operators, plain users
-- and anon are refused (42501) and the run is left alone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(11);
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
select nightshift.trigger('t/one', '{}') as queued \gset
select nightshift.trigger('t/one', '{}') as other \gset
select nightshift.trigger('t/one', '{}') as done \gset
update nightshift.runs set status = 'completed', finished_at = now() where id = :'done';

select pg_temp.operator();
select throws_ok(format('select api.cancel_run(%L)', :'queued'), '42501',
    'api.cancel_run: an operator reads but does not change; needs the service role or a super admin', 'an operator may not cancel');
select pg_temp.stranger();
select throws_ok(format('select api.cancel_run(%L)', :'queued'), '42501', 'api.cancel_run: needs the service role or a super admin',
    'a plain user may not cancel');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok(format('select api.cancel_run(%L)', :'queued'), '42501', null, 'anon may not cancel');
reset role;
select is((select status from nightshift.runs where id = :'queued'), 'queued', 'and the run is still queued');

select pg_temp.admin();
select is(api.cancel_run(:'queued'), jsonb_build_object('run_id', :'queued', 'status', 'cancelled'), 'a super admin cancels a queued run');
reset role;
select is((select status from nightshift.runs where id = :'queued'), 'cancelled', 'which is cancelled');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(api.cancel_run(:'other') ->> 'status', 'cancelled', 'the service cancels one');
select throws_ok(format('select api.cancel_run(%L)', :'done'), 'NSR02', format('run "%s" has already finished: completed', :'done'),
    'a completed run is NSR02 naming its state');
select throws_ok(format('select api.cancel_run(%L)', :'queued'), 'NSR02', format('run "%s" has already finished: cancelled', :'queued'),
    'cancelling twice is NSR02 too');
create function pg_temp.detail(p_sql text) returns text language plpgsql as $$
declare v text;
begin execute p_sql; return null;
exception when others then get stacked diagnostics v = pg_exception_detail; return v; end $$;
select is(pg_temp.detail(format('select api.cancel_run(%L)', :'done')), 'completed', 'DETAIL is the status alone');
select throws_ok($$select api.cancel_run('00000000-0000-4000-8000-00000000dead')$$, 'NSR01',
    'unknown run "00000000-0000-4000-8000-00000000dead"', 'an unknown id is NSR01');

select * from finish();
rollback;
