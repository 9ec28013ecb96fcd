-- api.deliveries (0049): deliveries newest first by channel and status, paged by next_before,
-- for readers; bad arguments 22023; others 42501.
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
insert into notify.channels (name) values ('slack'), ('email');
insert into notify.notifications (id, user_id, title, message) values
    ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 'T', 'M');
insert into notify.deliveries (notification_id, channel, idempotency_key, status, attempts, delivered_at) values
    ('a0000000-0000-4000-8000-000000000001', 'slack', 'k1', 'delivered', 1, now()),
    ('a0000000-0000-4000-8000-000000000001', 'email', 'k2', 'failed', 5, null),
    ('a0000000-0000-4000-8000-000000000001', 'slack', 'k3', 'failed', 5, null);
update notify.deliveries set max_attempts = 5;

select pg_temp.operator();
select is((select count(*)::int from jsonb_array_elements(api.deliveries() -> 'deliveries') d
           where d ? 'status' and not d ? 'idempotency_key' and not d ? 'title' and not d ? 'message'), 3,
    'an operator reads deliveries (without their idempotency key or the notification''s content)');
select is((select array_agg(d ->> 'channel' order by o) from jsonb_array_elements(api.deliveries() -> 'deliveries') with ordinality x(d, o)),
    array['slack', 'email', 'slack'], 'newest first');
select is(jsonb_array_length(api.deliveries(channel => 'slack') -> 'deliveries'), 2, 'by channel');
select is(jsonb_array_length(api.deliveries(channel => 'slack', status => 'failed') -> 'deliveries'), 1, 'by channel and status');
select is((select array_agg(d ->> 'channel' order by o) from jsonb_array_elements(
               api.deliveries("limit" => 2, before => api.deliveries("limit" => 2) ->> 'next_before') -> 'deliveries') with ordinality x(d, o)),
    array['slack'], 'next_before pages on');
select throws_ok($$select api.deliveries(status => 'dead')$$, '22023',
    'status must be one of pending, delivering, delivered, failed, got "dead"', 'an unknown status is 22023');
select throws_ok($$select api.deliveries(before => '-1')$$, '22023', 'before must be a next_before from a previous page, got "-1"', 'a bad cursor is 22023');
select pg_temp.stranger();
select throws_ok('select api.deliveries()', '42501', 'api.deliveries: needs the service role, a super admin or an operator', 'a plain user is refused');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok('select api.deliveries()', '42501', null, 'anon is refused');

select * from finish();
rollback;
