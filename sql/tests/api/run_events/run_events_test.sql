-- api.run_events (0053): the events a run sent through its send-event steps, oldest first, for readers;
-- a step of another name, or whose output is no event id, is not one; anyone else 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(5);
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
insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind) values
    ('00000000-0000-4000-8000-000000000001', 't/a', 'queued', 1, 'manual');
select nightshift.send_event('t.first', '{"n": 1}', 'run:00000000-0000-4000-8000-000000000001:send-event:t.first') as first \gset
select nightshift.send_event('t.second', '{"n": 2}', null) as second \gset
select nightshift.send_event('t.unrelated', '{}', null) as unrelated \gset
insert into nightshift.steps (run_id, name, output, attempt, completed_at) values
    ('00000000-0000-4000-8000-000000000001', 'send-event:t.first', to_jsonb(:'first'::text), 1, now()),
    ('00000000-0000-4000-8000-000000000001', 'send-event:t.second#2', to_jsonb(:'second'::text), 1, now()),
    ('00000000-0000-4000-8000-000000000001', 'fetch', to_jsonb(:'unrelated'::text), 1, now()),
    ('00000000-0000-4000-8000-000000000001', 'send-event:broken', '{"not": "an id"}', 1, now());
update nightshift.events set created_at = now() - interval '1 minute' where id = :'first';
select pg_temp.operator();
select is((select array_agg(e ->> 'name') from jsonb_array_elements(api.run_events('00000000-0000-4000-8000-000000000001')) e),
    array['t.first', 't.second'], 'the events of its send-event steps, oldest first; no other step''s output');
select is(api.run_events('00000000-0000-4000-8000-000000000001') -> 0 -> 'data', '{"n": 1}'::jsonb, 'with their data');
select is(api.run_events('00000000-0000-4000-8000-000000000001') -> 1 ->> 'step', 'send-event:t.second#2', 'and the step that sent each');
select is(api.run_events('00000000-0000-4000-8000-00000000dead'), '[]'::jsonb, 'an unknown run sent nothing');
select pg_temp.stranger();
select throws_ok('select api.run_events(''00000000-0000-4000-8000-000000000001'')', '42501',
    'api.run_events: needs the service role, a super admin or an operator', 'a plain user may not');
select * from finish();
rollback;
