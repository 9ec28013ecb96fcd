-- api.notification_stats (0053): sent and suppressed per UTC day over the last days, deliveries by
-- channel and status, for readers; bad days 22023; anyone else 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(6);
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
    ('a0000000-0000-4000-8000-000000000001', 'slack', 'k2', 'failed', 5, null),
    ('a0000000-0000-4000-8000-000000000001', 'slack', 'k3', 'failed', 5, null),
    ('a0000000-0000-4000-8000-000000000001', 'email', 'k4', 'failed', 5, null);
insert into notify.daily_counts (user_id, day, sent, suppressed) values
    ('b0000000-0000-4000-8000-000000000001', (now() at time zone 'UTC')::date, 5, 2),
    ('b0000000-0000-4000-8000-000000000002', (now() at time zone 'UTC')::date, 3, 0),
    ('b0000000-0000-4000-8000-000000000001', (now() at time zone 'UTC')::date - 1, 1, 1),
    ('b0000000-0000-4000-8000-000000000001', (now() at time zone 'UTC')::date - 30, 9, 9);
select pg_temp.operator();
select is(api.notification_stats(14) -> 'days' -> 0,
    jsonb_build_object('day', (now() at time zone 'UTC')::date, 'sent', 8, 'suppressed', 2), 'today: sent and suppressed summed over users');
select is(jsonb_array_length(api.notification_stats(14) -> 'days'), 2, 'only the days within the window, newest first');
select is(api.notification_stats(14) -> 'deliveries',
    '[{"channel": "email", "status": "failed", "count": 1}, {"channel": "slack", "status": "delivered", "count": 1},
      {"channel": "slack", "status": "failed", "count": 2}]'::jsonb, 'deliveries by channel and status');
select is(jsonb_array_length(api.notification_stats(90) -> 'days'), 3, 'a longer window reaches further back');
select throws_ok('select api.notification_stats(0)', '22023', 'days must be between 1 and 90, got 0', 'days 0 is refused');
select pg_temp.stranger();
select throws_ok('select api.notification_stats(14)', '42501', 'api.notification_stats: needs the service role, a super admin or an operator',
    'a plain user may not');
select * from finish();
rollback;
