-- api.functions (0049): every function by id with kind, state, settings and its schedule with the
-- next five fire times in the schedule's zone (none while it cannot fire), for operators, super
-- admins and the service; anyone else 42501.
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
select nightshift.sync_functions('[{"id": "t/cron", "schedule": {"cron": "0 2 * * *", "timezone": "Asia/Riyadh"}, "retries": 1},
                                   {"id": "t/plain", "events": ["t.happened"]}]'::jsonb);

select pg_temp.operator();
select is((select array_agg(f ->> 'id' order by o) from jsonb_array_elements(api.functions()) with ordinality x(f, o)),
    array['t/cron', 't/plain'], 'an operator reads every function, by id');
select is((api.functions() -> 1) - 'backoff', jsonb_build_object('id', 't/plain', 'kind', 'swift', 'defined_in', 'code', 'enabled', true,
        'enabled_override', null, 'retired', false, 'retired_at', null, 'max_attempts', 4, 'concurrency_limit', null,
        'concurrency_key', null, 'timeout_ms', null, 'crash_limit', 3, 'events', '["t.happened"]'::jsonb, 'schedule', null),
    'a function without a schedule: kind, state, settings, events');
select is((api.functions() -> 0 -> 'schedule') - 'next_fires' - 'next_slot',
    '{"cron": "0 2 * * *", "timezone": "Asia/Riyadh", "enabled": true, "catch_up": "latest", "catch_up_cap": 10, "last_slot": null}'::jsonb,
    'a cron function''s schedule');
select is(jsonb_array_length(api.functions() -> 0 -> 'schedule' -> 'next_fires'), 5, 'with five next fire times');
select ok((select bool_and(t::text ~ '^"\d{4}-\d\d-\d\dT02:00:00\+03:00"$' and (t #>> '{}')::timestamptz > now())
           from jsonb_array_elements(api.functions() -> 0 -> 'schedule' -> 'next_fires') t),
    'each 02:00 Riyadh time (+03:00), in the future');
select ok((select bool_and((a #>> '{}')::timestamptz + interval '1 day' = (b #>> '{}')::timestamptz)
           from (select t as a, lead(t) over (order by o) as b
                 from jsonb_array_elements(api.functions() -> 0 -> 'schedule' -> 'next_fires') with ordinality x(t, o)) p
           where b is not null), 'a day apart, in order');
reset role;
update nightshift.functions set enabled = false where id = 't/cron';
select pg_temp.operator();
select is(api.functions() -> 0 -> 'schedule' -> 'next_fires', '[]'::jsonb, 'a disabled function fires never: no fire times');
select pg_temp.admin();
select is(jsonb_array_length(api.functions()), 2, 'a super admin reads them');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(jsonb_array_length(api.functions()), 2, 'the service reads them');
select pg_temp.stranger();
select throws_ok('select api.functions()', '42501', 'api.functions: needs the service role, a super admin or an operator', 'a plain user is refused');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok('select api.functions()', '42501', null, 'anon is refused');

select * from finish();
rollback;
