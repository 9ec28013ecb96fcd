-- Issue 16 §5: the dispatcher records its successes many at a time. One statement (and one
-- commit) per group of finished webhooks instead of one per webhook: at thousands of deliveries a
-- second the per-delivery commit was the dispatcher's ceiling.

create function notify.complete_deliveries(ids bigint[], status_codes integer[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_unknown bigint;
    v_updated integer;
begin
    if ids is null or status_codes is null
       or pg_catalog.cardinality(ids) <> pg_catalog.cardinality(status_codes) then
        raise exception 'notify.complete_deliveries needs two arrays of the same length (ids, status codes), got % and %',
            coalesce(pg_catalog.cardinality(ids)::text, 'null'), coalesce(pg_catalog.cardinality(status_codes)::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    -- As complete_delivery: no lease check (the receiver has the notification, whoever reports
    -- it) and the first report of success is kept. Rows are updated in id order, as claims lock
    -- them, so two dispatchers finishing overlapping sets cannot deadlock.
    with reported as (
        select r.id, r.status_code
        from rows from (pg_catalog.unnest(ids), pg_catalog.unnest(status_codes)) as r(id, status_code)
    ), locked as (
        select d.id from notify.deliveries d
        where d.id in (select r.id from reported r) and d.status <> 'delivered'
        order by d.id
        for update
    ), updated as (
        update notify.deliveries d
        set status = 'delivered', delivered_at = now(), last_status_code = r.status_code,
            lease_expires_at = null, updated_at = now()
        from reported r, locked l
        where d.id = l.id and r.id = l.id
        returning d.id
    )
    select count(*) into v_updated from updated;

    select r.id into v_unknown
    from pg_catalog.unnest(ids) as r(id)
    where not exists (select from notify.deliveries d where d.id = r.id)
    limit 1;
    if v_unknown is not null then
        raise exception 'notify.complete_deliveries: unknown delivery %', v_unknown using errcode = 'NSN01';
    end if;
    return v_updated;
end
$$;
comment on function notify.complete_deliveries(bigint[], integer[]) is
    'Marks many deliveries delivered at once (ids[i] answered status_codes[i], a 2xx): complete_delivery for a batch, '
    'in one statement. Returns how many changed (a delivery already delivered keeps its first report). NSN01 names an '
    'unknown id (and nothing is recorded).';

revoke all on function notify.complete_deliveries(bigint[], integer[]) from public;
grant execute on function notify.complete_deliveries(bigint[], integer[]) to nightshift_service;
