-- api.events (0049): events newest first with the runs each fanned out to, by name and time, with
-- keyset paging stable over equal created_at, for readers; bad arguments 22023; others 42501.
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
select nightshift.sync_functions('[{"id": "t/a", "events": ["t.happened"]}, {"id": "t/b", "events": ["t.happened"]}, {"id": "t/c"}]'::jsonb);
select nightshift.send_event('t.happened', '{"n": 1}') as fanned \gset
insert into nightshift.events (id, name, created_at) values
    ('e0000000-0000-4000-8000-000000000001', 't.other', '2026-01-01 00:00+00'),
    ('e0000000-0000-4000-8000-000000000002', 't.other', '2026-01-01 00:00+00'),
    ('e0000000-0000-4000-8000-000000000003', 't.other', '2026-01-01 00:00+00');

select pg_temp.operator();
select is(api.events(name => 't.happened') -> 'events' -> 0 -> 'data', '{"n": 1}'::jsonb, 'an operator reads an event''s data');
select is((select array_agg(r ->> 'function_id') from jsonb_array_elements(api.events(name => 't.happened') -> 'events' -> 0 -> 'runs') r),
    array['t/a', 't/b'], 'and the runs it fanned out to');
select is((select array_agg(e ->> 'id') from jsonb_array_elements(api.events() -> 'events') e),
    array[:'fanned', 'e0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000001'],
    'newest first, equal created_at by id');
create temporary table pages (n int, page jsonb);
insert into pages select 1, api.events(name => 't.other', "limit" => 2);
insert into pages select 2, api.events(name => 't.other', "limit" => 2, before => (select page ->> 'next_before' from pages where n = 1));
select is((select array_agg(e ->> 'id' order by n, o) from pages, jsonb_array_elements(page -> 'events') with ordinality x(e, o)),
    array['e0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000001'],
    'pages of 2 over equal created_at: each event once');
select is((select page -> 'next_before' from pages where n = 2), 'null'::jsonb, 'the last page has no next_before');
select is(jsonb_array_length(api.events(until => '2026-01-02') -> 'events'), 3, 'until is exclusive, by created_at');
select is(jsonb_array_length(api.events(since => '2026-01-02') -> 'events'), 1, 'since filters');
select throws_ok($$select api.events("limit" => 0)$$, '22023', 'limit must be between 1 and 200, got 0', 'a bad limit is 22023');
select throws_ok($$select api.events(before => 'x')$$, '22023', 'before must be a next_before from a previous page, got "x"', 'a bad cursor is 22023');
select pg_temp.stranger();
select throws_ok('select api.events()', '42501', 'api.events: needs the service role, a super admin or an operator', 'a plain user is refused');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok('select api.events()', '42501', null, 'anon is refused');

select * from finish();
rollback;
