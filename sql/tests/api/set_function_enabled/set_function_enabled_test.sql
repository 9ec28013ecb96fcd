-- api.set_function_enabled (0049): the service and super admins disable and enable a function for
-- good (a worker's sync does not undo it); re-enabling records the slots missed meanwhile as
-- skipped (disabled) and restarts the schedule from now; NSF01 for an unknown id; operators,
-- plain users and anon are refused and nothing changes.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(13);
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
create temporary table spec as
    select '[{"id": "t/cron", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}}]'::jsonb as specs;
select nightshift.sync_functions(specs) from spec;

select pg_temp.operator();
select throws_ok($$select api.set_function_enabled('t/cron', false)$$, '42501',
    'api.set_function_enabled: an operator reads but does not change; needs the service role or a super admin', 'an operator may not disable');
select pg_temp.stranger();
select throws_ok($$select api.set_function_enabled('t/cron', false)$$, '42501', null, 'a plain user may not');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok($$select api.set_function_enabled('t/cron', false)$$, '42501', null, 'anon may not');
reset role;
select ok((select enabled and enabled_override is null from nightshift.functions where id = 't/cron'), 'and it is untouched');

select pg_temp.admin();
select is(api.set_function_enabled('t/cron', false) - 'schedule' - 'backoff' - 'events',
    jsonb_build_object('id', 't/cron', 'kind', 'swift', 'defined_in', 'code', 'enabled', false, 'enabled_override', false,
        'retired', false, 'retired_at', null, 'max_attempts', 4, 'concurrency_limit', null, 'concurrency_key', null,
        'timeout_ms', null, 'crash_limit', 3),
    'a super admin disables it: the answer is the function as api.functions shows it');
reset role;
select nightshift.sync_functions(specs) from spec;
select is((select enabled from nightshift.functions where id = 't/cron'), false, 'a worker''s sync declaring it enabled does not undo it');
select is(nightshift.tick(now() + interval '1 hour'), 0, 'a tick enqueues none of its slots');

-- Slots fall due while it is off.
update nightshift.schedules set next_slot = now() - interval '1 hour' where function_id = 't/cron';
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(api.set_function_enabled('t/cron', true) ->> 'enabled', 'true', 'the service enables it');
reset role;
select ok((select next_slot > now() from nightshift.schedules where function_id = 't/cron'), 'its schedule starts from now');
select is((select reason from nightshift.skipped_slots where function_id = 't/cron'), 'disabled',
    'the slots that fell due meanwhile are recorded as skipped (disabled), not run');
select is((select count(*)::int from nightshift.runs where function_id = 't/cron'), 0, 'and none of them was enqueued');

select pg_temp.admin();
select throws_ok($$select api.set_function_enabled('no/such', true)$$, 'NSF01', 'unknown function "no/such"', 'an unknown id is NSF01');
select throws_ok($$select api.set_function_enabled('t/cron', null)$$, '22023', 'enabled must be true or false', 'null is refused');

select * from finish();
rollback;
