-- api.runs (0048): operators, super admins and the service read every run, newest first, with
-- each filter; anyone else is refused (42501); keyset paging over runs with equal created_at
-- neither drops nor repeats a row; bad arguments are 22023 naming the parameter.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(27);

create function pg_temp.act_as(p_role text, p_claims text) returns void language plpgsql as $$
begin
    reset role;
    perform set_config('request.jwt.claims', p_claims, true);
    if p_role is not null then perform set_config('role', p_role, true); end if;
end $$;
create function pg_temp.operator() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}') $$;
create function pg_temp.ids(p_page jsonb) returns text[] language sql as $$
    select coalesce(array_agg(r ->> 'id' order by o), '{}') from jsonb_array_elements(p_page -> 'runs') with ordinality x(r, o) $$;

insert into nightshift.functions (id) values ('t/one'), ('t/two');
insert into nightshift.events (id, name) values ('e0000000-0000-4000-8000-000000000001', 't.happened');
-- r1..r3 share created_at: only the id orders them.
insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, trigger_slot, trigger_event_id,
                             correlation_id, created_at, finished_at) values
    ('00000000-0000-4000-8000-000000000001', 't/one', 'queued', 1, 'manual', null, null,
     'c0000000-0000-4000-8000-000000000001', '2026-01-01 00:00:00+00', null),
    ('00000000-0000-4000-8000-000000000002', 't/one', 'completed', 1, 'cron', '2026-01-01 00:00:00+00', null,
     'c0000000-0000-4000-8000-000000000002', '2026-01-01 00:00:00+00', '2026-01-01 00:01:00+00'),
    ('00000000-0000-4000-8000-000000000003', 't/two', 'failed', 1, 'event', null, 'e0000000-0000-4000-8000-000000000001',
     'c0000000-0000-4000-8000-000000000003', '2026-01-01 00:00:00+00', '2026-01-01 00:01:00+00'),
    ('00000000-0000-4000-8000-000000000004', 't/two', 'cancelled', 1, 'manual', null, null,
     'c0000000-0000-4000-8000-000000000003', '2026-01-02 00:00:00+00', '2026-01-02 00:01:00+00'),
    ('00000000-0000-4000-8000-000000000005', 't/one', 'queued', 1, 'manual', null, null,
     'c0000000-0000-4000-8000-000000000005', '2026-01-03 00:00:00+00', null);
update nightshift.runs set run_at = created_at where function_id like 't/%';

-- Who may read.
select pg_temp.operator();
select is(pg_temp.ids(api.runs()),
    array['00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003',
          '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001'],
    'an operator reads every run, newest first, equal created_at by id descending');
select is(api.runs() -> 'next_before', 'null'::jsonb, 'one page holds them all: next_before is null');
select is((api.runs(id => '00000000-0000-4000-8000-000000000002') -> 'runs' -> 0) - 'id',
    jsonb_build_object('function_id', 't/one', 'status', 'completed', 'trigger', 'cron', 'cron_slot', '2026-01-01T00:00:00+00:00',
        'event_id', null, 'rerun_of', null, 'correlation_id', 'c0000000-0000-4000-8000-000000000002', 'attempt', 1, 'max_attempts', 1,
        'error', null, 'run_at', '2026-01-01T00:00:00+00:00',
        'created_at', '2026-01-01T00:00:00+00:00', 'started_at', null, 'finished_at', '2026-01-01T00:01:00+00:00'),
    'a listed run: its summary without payload, output, steps or attempts, timestamps in UTC');
select pg_temp.act_as('nightshift_authenticated',
    '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c2", "app_metadata": {"role": "super_admin"}}');
select is(jsonb_array_length(api.runs() -> 'runs'), 5, 'a super admin reads every run');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select is(jsonb_array_length(api.runs() -> 'runs'), 5, 'the service reads every run');
select pg_temp.act_as('nightshift_authenticated', '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c3"}');
select throws_ok($$select api.runs()$$, '42501', 'api.runs: needs the service role, a super admin or an operator',
    'a signed-in user with no operator role is refused');
select pg_temp.act_as('nightshift_authenticated',
    '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c3", "user_metadata": {"role": "operator"}}');
select throws_ok($$select api.runs()$$, '42501', null, 'user_metadata (which the user edits) makes no operator');
select pg_temp.act_as('nightshift_authenticated', '{"role": "authenticated", "sub": "op-1", "app_metadata": {"role": "operator"}}');
select throws_ok($$select api.runs()$$, '42501', null, 'an operator claim without a user id (sub) is refused');
select pg_temp.act_as('nightshift_anon', '{"role": "anon", "app_metadata": {"role": "operator"}}');
select throws_ok($$select api.runs()$$, '42501', null, 'anon cannot call it, whatever its claims say');

-- Filters.
select pg_temp.operator();
select is(pg_temp.ids(api.runs(function_id => 't/two')),
    array['00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003'], 'function_id filters');
select is(pg_temp.ids(api.runs(status => 'queued')),
    array['00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001'], 'status filters');
select is(pg_temp.ids(api.runs("trigger" => 'cron')), array['00000000-0000-4000-8000-000000000002'], 'trigger filters');
select is(pg_temp.ids(api.runs(since => '2026-01-02 00:00:00+00')),
    array['00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000004'], 'since is inclusive');
select is(pg_temp.ids(api.runs(until => '2026-01-02 00:00:00+00')),
    array['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001'],
    'until is exclusive');
select is(pg_temp.ids(api.runs(id => '00000000-0000-4000-8000-000000000004')), array['00000000-0000-4000-8000-000000000004'],
    'id finds one run');
select is(pg_temp.ids(api.runs(correlation_id => 'c0000000-0000-4000-8000-000000000003')),
    array['00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003'], 'correlation_id finds the runs it ties');
select is(pg_temp.ids(api.runs(function_id => 't/one', status => 'queued', since => '2026-01-02 00:00:00+00')),
    array['00000000-0000-4000-8000-000000000005'], 'filters combine');
select is(pg_temp.ids(api.runs(function_id => 'no/such')), '{}'::text[], 'an unknown function lists nothing');

-- Paging.
create temporary table pages (n int, page jsonb);
insert into pages select 1, api.runs("limit" => 2);
insert into pages select 2, api.runs("limit" => 2, before => (select page ->> 'next_before' from pages where n = 1));
insert into pages select 3, api.runs("limit" => 2, before => (select page ->> 'next_before' from pages where n = 2));
select is((select page ->> 'next_before' from pages where n = 1),
    '2026-01-02T00:00:00.000000Z~00000000-0000-4000-8000-000000000004', 'next_before names the last row of the page');
select is((select array_agg(i order by n, o) from pages, unnest(pg_temp.ids(page)) with ordinality u(i, o)),
    pg_temp.ids(api.runs()), 'pages of 2 over runs with equal created_at: every run once, in order');
select is((select page -> 'next_before' from pages where n = 3), 'null'::jsonb, 'the last page has no next_before');
select is(pg_temp.ids(api.runs("limit" => 1, before => '2026-01-01T00:00:00.000000Z~00000000-0000-4000-8000-000000000002')),
    array['00000000-0000-4000-8000-000000000001'], 'a cursor in the middle of equal created_at goes on by id');

-- Bad arguments name the parameter.
select throws_ok($$select api.runs("limit" => 0)$$, '22023', 'limit must be between 1 and 200, got 0', 'limit 0 is refused');
select throws_ok($$select api.runs("limit" => 201)$$, '22023', 'limit must be between 1 and 200, got 201', 'limit 201 is refused');
select throws_ok($$select api.runs(status => 'done')$$, '22023',
    'status must be one of queued, running, completed, failed, cancelled, got "done"', 'an unknown status is refused');
select throws_ok($$select api.runs("trigger" => 'webhook')$$, '22023',
    'trigger must be one of cron, event, manual, rerun, got "webhook"', 'an unknown trigger is refused');
select throws_ok($$select api.runs(before => '2026-13-45T00:00:00Z~00000000-0000-4000-8000-000000000002')$$, '22023',
    'before must be a next_before from a previous page, got "2026-13-45T00:00:00Z~00000000-0000-4000-8000-000000000002"',
    'a cursor that does not parse is refused');

select * from finish();
rollback;
