-- api.run (0048): one run with payload, output, its lease, steps and every attempt (the claim in
-- progress as outcome running, the completing claim read off the run), for operators, super admins and the service; NSR01 for an
-- unknown id; anyone else 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(14);
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
select nightshift.trigger('t/one', '{"n": 1}') as run_id \gset
select r.id as claimed, r.lease_token as first_token from nightshift.claim_runs('w-1', 1, '1 minute') r \gset
select nightshift.checkpoint_step(:'run_id', :first_token, 'fetch', '{"rows": 3}');
select nightshift.fail_run(:'run_id', :first_token, '{"message": "boom"}', true);
update nightshift.runs set run_at = now() where id = :'run_id';
select r.lease_token as second_token from nightshift.claim_runs('w-2', 1, '1 minute') r \gset

select pg_temp.operator();
select is(api.run(:'run_id') ->> 'status', 'running', 'an operator reads a run');
select is(api.run(:'run_id') -> 'payload', '{"n": 1}'::jsonb, 'with its payload');
select is(api.run(:'run_id') -> 'steps', jsonb_build_array(jsonb_build_object('name', 'fetch', 'output', '{"rows": 3}'::jsonb,
        'attempt', 1, 'completed_at', (api.run(:'run_id') -> 'steps' -> 0 -> 'completed_at'))),
    'its steps: name, output, attempt');
select is((select jsonb_agg(a - 'started_at' - 'finished_at' - 'error') from jsonb_array_elements(api.run(:'run_id') -> 'attempts') a),
    jsonb_build_array(
        jsonb_build_object('attempt', 1, 'worker', 'w-1', 'lease_token', :first_token, 'outcome', 'retrying'),
        jsonb_build_object('attempt', 2, 'worker', 'w-2', 'lease_token', :second_token, 'outcome', 'running')),
    'every attempt with its worker, lease token and outcome, the claim in progress last as running');
select is(api.run(:'run_id') -> 'attempts' -> 0 -> 'error', '{"message": "boom"}'::jsonb, 'an ended attempt keeps its error');
select is((api.run(:'run_id') -> 'lease') - 'claimed_at' - 'expires_at',
    jsonb_build_object('worker', 'w-2', 'token', :second_token), 'the current lease: worker and token');
select ok(api.run(:'run_id') -> 'attempts' -> 1 ->> 'finished_at' is null, 'the claim in progress has not finished');
select pg_temp.admin();
select is(api.run(:'run_id') ->> 'id', :'run_id', 'a super admin reads it');
reset role;
select nightshift.complete_runs(array[:'run_id'::uuid], array[:second_token::bigint], array['{"done": true}'::jsonb]);
select finished_at from nightshift.runs where id = :'run_id' \gset
select pg_temp.operator();
select is((select jsonb_agg(a - 'started_at' - 'finished_at' - 'error') from jsonb_array_elements(api.run(:'run_id') -> 'attempts') a),
    jsonb_build_array(
        jsonb_build_object('attempt', 1, 'worker', 'w-1', 'lease_token', :first_token, 'outcome', 'retrying'),
        jsonb_build_object('attempt', 2, 'worker', 'w-2', 'lease_token', :second_token, 'outcome', 'completed')),
    'a completed run lists its completing claim as completed, with that claim''s token');
select is((api.run(:'run_id') -> 'attempts' -> 1 ->> 'finished_at')::timestamptz, :'finished_at'::timestamptz,
    'the completing claim ended when the run finished');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(api.run(:'run_id') ->> 'function_id', 't/one', 'the service reads it');
select throws_ok($$select api.run('00000000-0000-4000-8000-00000000dead')$$, 'NSR01',
    'unknown run "00000000-0000-4000-8000-00000000dead"', 'an unknown id is NSR01');
select pg_temp.stranger();
select throws_ok(format('select api.run(%L)', :'run_id'), '42501', 'api.run: needs the service role, a super admin or an operator',
    'a plain user is refused');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok(format('select api.run(%L)', :'run_id'), '42501', null, 'anon is refused');

select * from finish();
rollback;
