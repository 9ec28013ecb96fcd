-- api.retry_delivery (0049): the service and super admins queue a failed delivery again (pending,
-- due now, 5 more attempts, the dispatcher woken); a delivered or pending one is NSN02 with its
-- status in DETAIL; NSN01 for an unknown id; operators, plain users and anon are refused.
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
insert into notify.channels (name) values ('slack');
insert into notify.notifications (id, user_id, title, message) values
    ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 'T', 'M');
insert into notify.deliveries (notification_id, channel, idempotency_key, status, attempts, max_attempts, delivered_at, next_attempt_at) values
    ('a0000000-0000-4000-8000-000000000001', 'slack', 'k1', 'failed', 5, 5, null, now() - interval '1 day'),
    ('a0000000-0000-4000-8000-000000000001', 'slack', 'k2', 'delivered', 1, 5, now(), now());
select id as failed from notify.deliveries where idempotency_key = 'k1' \gset
select id as delivered from notify.deliveries where idempotency_key = 'k2' \gset

select pg_temp.operator();
select throws_ok(format('select api.retry_delivery(%s)', :failed), '42501',
    'api.retry_delivery: an operator reads but does not change; needs the service role or a super admin', 'an operator may not retry');
select pg_temp.stranger();
select throws_ok(format('select api.retry_delivery(%s)', :failed), '42501', null, 'a plain user may not');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok(format('select api.retry_delivery(%s)', :failed), '42501', null, 'anon may not');
reset role;
select is((select status from notify.deliveries where id = :failed), 'failed', 'and it is still failed');

listen nightshift_deliveries;
select pg_temp.admin();
select is(api.retry_delivery(:failed) - 'id' - 'notification_id' - 'created_at' - 'updated_at' - 'next_attempt_at',
    '{"channel": "slack", "status": "pending", "attempts": 5, "max_attempts": 10, "last_status_code": null, "last_error": null,
      "delivered_at": null}'::jsonb, 'a super admin queues it again: pending, 5 more attempts, attempts keep counting');
reset role;
select ok((select next_attempt_at <= now() from notify.deliveries where id = :failed), 'due now');
select is((select count(*)::int from notify.claim_deliveries(10, '1 minute')), 1, 'and a dispatcher claims it');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select throws_ok(format('select api.retry_delivery(%s)', :delivered), 'NSN02',
    format('delivery %s is delivered: only a failed delivery can be retried', :delivered), 'a delivered one is NSN02');
select throws_ok(format('select api.retry_delivery(%s)', :failed), 'NSN02',
    format('delivery %s is delivering: only a failed delivery can be retried', :failed), 'one in flight is NSN02 too');
create function pg_temp.detail(p_sql text) returns text language plpgsql as $$
declare v text;
begin execute p_sql; return null;
exception when others then get stacked diagnostics v = pg_exception_detail; return v; end $$;
select is(pg_temp.detail(format('select api.retry_delivery(%s)', :delivered)), 'delivered', 'DETAIL is the status alone');
select throws_ok('select api.retry_delivery(9999999)', 'NSN01', 'unknown delivery 9999999', 'an unknown id is NSN01');

select * from finish();
rollback;
