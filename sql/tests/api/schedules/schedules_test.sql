-- api.schedules (0049): every cron schedule with its next and last slot, the slots overdue now and
-- the slots knowingly skipped (total and newest ranges), for readers; anyone else 42501.
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
select nightshift.sync_functions('[{"id": "t/every5", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}},
                                   {"id": "t/plain"}]'::jsonb);
-- Three slots due and not handled; two ranges skipped before.
update nightshift.schedules set next_slot = date_trunc('hour', now()) - interval '15 minutes',
                                last_enqueued_slot = date_trunc('hour', now()) - interval '20 minutes'
where function_id = 't/every5';
insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason) values
    ('t/every5', '2026-01-01 00:00+00', '2026-01-01 00:10+00', 3, 'catch_up_latest'),
    ('t/every5', '2026-01-02 00:00+00', '2026-01-02 00:00+00', 1, 'disabled');

select pg_temp.operator();
select is((select array_agg(s ->> 'function_id') from jsonb_array_elements(api.schedules()) s), array['t/every5'],
    'an operator reads the cron schedules (a function without one is not listed)');
select is((api.schedules() -> 0) - 'next_slot' - 'last_slot' - 'overdue_slots' - 'skipped',
    '{"function_id": "t/every5", "cron": "*/5 * * * *", "timezone": "UTC", "enabled": true, "function_enabled": true,
      "retired": false, "catch_up": "latest", "catch_up_cap": 10, "skipped_slots": 4}'::jsonb,
    'its settings, and 4 slots skipped in total');
select ok((api.schedules() -> 0 ->> 'overdue_slots')::int >= 4, 'the slots due since next_slot are overdue (4 or more, by the clock)');
select is(api.schedules() -> 0 -> 'skipped' -> 0 ->> 'reason', 'disabled', 'the newest skipped range first, with its reason');
select is(jsonb_array_length(api.schedules() -> 0 -> 'skipped'), 2, 'every range (up to ten)');
reset role;
update nightshift.schedules set next_slot = now() + interval '1 hour' where function_id = 't/every5';
select pg_temp.admin();
select is((api.schedules() -> 0 ->> 'overdue_slots')::int, 0, 'nothing overdue when next_slot is ahead; a super admin reads it');
select pg_temp.stranger();
select throws_ok('select api.schedules()', '42501', 'api.schedules: needs the service role, a super admin or an operator', 'a plain user is refused');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok('select api.schedules()', '42501', null, 'anon is refused');

select * from finish();
rollback;
