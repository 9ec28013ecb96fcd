-- api.replay_event (0049): the service and super admins send an event again (a new event, same
-- name and data, replay_of the original, fanned out anew); NSE01 for an unknown id; operators,
-- plain users and anon are refused and nothing is sent.
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
select nightshift.sync_functions('[{"id": "t/a", "events": ["t.happened"]}]'::jsonb);
select nightshift.send_event('t.happened', '{"n": 1}', 'once') as original \gset

select pg_temp.operator();
select throws_ok(format('select api.replay_event(%L)', :'original'), '42501',
    'api.replay_event: an operator reads but does not change; needs the service role or a super admin', 'an operator may not replay');
select pg_temp.stranger();
select throws_ok(format('select api.replay_event(%L)', :'original'), '42501', null, 'a plain user may not');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok(format('select api.replay_event(%L)', :'original'), '42501', null, 'anon may not');
reset role;
select is((select count(*)::int from nightshift.events), 1, 'and nothing was sent');

select pg_temp.admin();
select api.replay_event(:'original') as replay \gset
select is((:'replay'::jsonb) - 'id' - 'created_at' - 'runs',
    jsonb_build_object('name', 't.happened', 'data', '{"n": 1}'::jsonb, 'idempotency_key', null, 'runs_enqueued', 1, 'replay_of', :'original'),
    'a super admin replays it: a new event with the same name and data, replay_of the original, despite the original''s idempotency key');
select is(jsonb_array_length((:'replay'::jsonb) -> 'runs'), 1, 'fanned out to the subscribed function anew');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(api.replay_event(:'original') ->> 'replay_of', :'original', 'the service replays it');
select throws_ok($$select api.replay_event('00000000-0000-4000-8000-00000000dead')$$, 'NSE01',
    'unknown event "00000000-0000-4000-8000-00000000dead"', 'an unknown event is NSE01');

select * from finish();
rollback;
