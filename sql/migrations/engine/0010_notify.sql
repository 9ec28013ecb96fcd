-- Platform notifications, schema notify: the in-app inbox, a per-user daily cap the database
-- enforces, and the webhook outbox the Swift dispatcher drains (at least once, one
-- idempotency key per notification and channel). Every way in is a function below; the
-- service role calls them (grants at the end of this file).

create schema notify;
comment on schema notify is 'Platform notifications: inbox, per-user daily cap, webhook delivery outbox.';

-- Tables

create table notify.settings (
    id boolean primary key default true,
    daily_cap_per_user integer not null default 10,
    updated_at timestamptz not null default now(),
    constraint settings_is_one_row check (id),
    -- 0 is allowed (the spec said > 0): config accepts 0 (NIGHTSHIFT_NOTIFICATIONS_DAILY_CAP=0),
    -- and it means "hold every notification back, but keep and count it".
    constraint settings_daily_cap_is_valid check (daily_cap_per_user >= 0)
);
comment on table notify.settings is 'The one row of notification settings, written by notify.configure from config at start-up.';
comment on column notify.settings.daily_cap_per_user is
    'Notifications a user may receive per UTC day; the rest are suppressed (kept in notify.suppressed).';
insert into notify.settings default values;

create table notify.channels (
    name text primary key,
    enabled boolean not null default true,
    updated_at timestamptz not null default now(),
    constraint channels_name_is_valid check (name ~ '^\S+$' and length(name) <= 200)
);
-- The URL stays in config: it may carry a secret, and the database does not need it.
comment on table notify.channels is
    'Delivery channels by name; the dispatcher maps a name to its webhook URL from config.';
comment on column notify.channels.enabled is
    'Whether new notifications get a delivery on this channel; configure disables channels config no longer lists.';

create table notify.notifications (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null,
    title text not null,
    message text not null,
    metadata jsonb not null default '{}',
    read boolean not null default false,
    read_at timestamptz,
    dedupe_key text unique,
    created_at timestamptz not null default now(),
    constraint notifications_read_at_matches_read check (read = (read_at is not null)),
    constraint notifications_metadata_is_object check (pg_catalog.jsonb_typeof(metadata) = 'object')
);
comment on table notify.notifications is 'The in-app inbox: one row per notification sent (not suppressed).';
comment on column notify.notifications.dedupe_key is
    'Optional caller key: a second send with the same key returns the first notification (outcome duplicate).';
-- The inbox read: a user's notifications newest first, and the unread ones alone (badge counts).
create index notifications_user_id_created_at_idx on notify.notifications (user_id, created_at desc);
create index notifications_unread_idx on notify.notifications (user_id, created_at desc) where not read;

create table notify.daily_counts (
    user_id uuid not null,
    day date not null,
    sent integer not null default 0,
    suppressed integer not null default 0,
    primary key (user_id, day),
    constraint daily_counts_are_valid check (sent >= 0 and suppressed >= 0)
);
comment on table notify.daily_counts is
    'The cap ledger: per user and UTC day, how many notifications were sent and how many the cap suppressed. '
    'notify.send increments sent only while it is below the cap, on this row, so concurrent senders take turns.';
comment on column notify.daily_counts.day is 'The UTC calendar day.';

create table notify.suppressed (
    id bigint generated always as identity primary key,
    user_id uuid not null,
    title text not null,
    message text not null,
    metadata jsonb not null default '{}',
    dedupe_key text,
    suppressed_at timestamptz not null default now()
);
comment on table notify.suppressed is 'What the daily cap held back: kept, not lost silently, and counted in daily_counts.';
create index suppressed_user_id_idx on notify.suppressed (user_id, suppressed_at);
create index suppressed_suppressed_at_idx on notify.suppressed using brin (suppressed_at);

create table notify.deliveries (
    id bigint generated always as identity primary key,
    notification_id uuid not null references notify.notifications (id) on delete cascade,
    channel text not null references notify.channels (name),
    idempotency_key text not null unique,
    status text not null default 'pending',
    attempts integer not null default 0,
    max_attempts integer not null default 5,
    next_attempt_at timestamptz not null default now(),
    lease_expires_at timestamptz,
    last_status_code integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint deliveries_status_is_valid check (status in ('pending', 'delivering', 'delivered', 'failed')),
    constraint deliveries_attempts_are_valid check (max_attempts >= 1 and attempts between 0 and max_attempts),
    constraint deliveries_lease_matches_status check ((status = 'delivering') = (lease_expires_at is not null)),
    constraint deliveries_delivered_at_matches_status check ((status = 'delivered') = (delivered_at is not null))
);
comment on table notify.deliveries is
    'The outbox: one row per notification and enabled channel, drained by the dispatcher at least once.';
comment on column notify.deliveries.idempotency_key is
    'notification id || '':'' || channel, sent as the Idempotency-Key header so a receiver can drop repeats.';
comment on column notify.deliveries.status is
    'pending (due at next_attempt_at) -> delivering (claimed under a lease) -> delivered | failed, or back to pending to retry.';
comment on column notify.deliveries.attempts is 'Claims so far: the current or last attempt number.';
comment on column notify.deliveries.lease_expires_at is
    'While delivering: when another dispatcher may reclaim it (the claimer died or hung).';
-- Claiming: due pending rows, and delivering rows (few: the ones in flight) whose lease ran out.
create index deliveries_claim_idx on notify.deliveries (status, next_attempt_at)
    where status in ('pending', 'delivering');
-- The foreign key's cascade from notifications, and prune.
create index deliveries_notification_id_idx on notify.deliveries (notification_id);
create index deliveries_created_at_idx on notify.deliveries using brin (created_at);

-- Sending

create function notify.send(user_id uuid, title text, message text, metadata jsonb default '{}', dedupe_key text default null)
returns table (notification_id uuid, outcome text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    -- The cap is per UTC day whatever the session's time zone.
    v_day date := (now() at time zone 'UTC')::date;
    v_metadata jsonb := coalesce(send.metadata, '{}');
    v_cap integer;
    v_id uuid;
begin
    if send.user_id is null then
        raise exception 'notify.send: user_id must not be null' using errcode = 'null_value_not_allowed';
    elsif send.title is null then
        raise exception 'notify.send: title must not be null' using errcode = 'null_value_not_allowed';
    elsif send.message is null then
        raise exception 'notify.send: message must not be null' using errcode = 'null_value_not_allowed';
    elsif pg_catalog.jsonb_typeof(v_metadata) <> 'object' then
        raise exception 'notify.send: metadata must be a JSON object, got %', pg_catalog.jsonb_typeof(v_metadata)
            using errcode = 'invalid_parameter_value';
    end if;

    -- A repeat of a key already sent costs nothing against the cap.
    if send.dedupe_key is not null then
        select n.id into v_id from notify.notifications n where n.dedupe_key = send.dedupe_key;
        if found then
            return query select v_id, 'duplicate'::text;
            return;
        end if;
    end if;

    select s.daily_cap_per_user into strict v_cap from notify.settings s;

    -- The cap, atomically: a sender takes a place only while sent < cap. Concurrent senders for
    -- one user and day serialize on this row (the first inserts it, the others wait on its
    -- insert or row lock and then re-check sent < cap on the newest version), so however many
    -- send at once, no more than cap get through. With a cap of 0 nothing is inserted at all.
    insert into notify.daily_counts as c (user_id, day, sent)
    select send.user_id, v_day, 1
    where v_cap > 0
    on conflict (user_id, day) do update set sent = c.sent + 1 where c.sent < v_cap;

    if not found then
        insert into notify.daily_counts as c (user_id, day, suppressed)
        values (send.user_id, v_day, 1)
        on conflict (user_id, day) do update set suppressed = c.suppressed + 1;
        insert into notify.suppressed (user_id, title, message, metadata, dedupe_key)
        values (send.user_id, send.title, send.message, v_metadata, send.dedupe_key);
        return query select null::uuid, 'suppressed'::text;
        return;
    end if;

    -- clock_timestamp, not now(): notifications sent in one transaction still list newest first.
    insert into notify.notifications (user_id, title, message, metadata, dedupe_key, created_at)
    values (send.user_id, send.title, send.message, v_metadata, send.dedupe_key, pg_catalog.clock_timestamp())
    on conflict (dedupe_key) do nothing
    returning id into v_id;

    if v_id is null then
        -- A concurrent send with the same key committed first (the check above did not see it
        -- yet): a duplicate after all, so give the place back. This transaction still holds
        -- the daily_counts row lock from the upsert, so the decrement cannot race.
        update notify.daily_counts c set sent = c.sent - 1 where c.user_id = send.user_id and c.day = v_day;
        select n.id into strict v_id from notify.notifications n where n.dedupe_key = send.dedupe_key;
        return query select v_id, 'duplicate'::text;
        return;
    end if;

    insert into notify.deliveries (notification_id, channel, idempotency_key)
    select v_id, ch.name, v_id::text || ':' || ch.name
    from notify.channels ch
    where ch.enabled;
    if found then
        -- One wake-up per send, not per delivery: the dispatcher claims in batches anyway.
        perform pg_catalog.pg_notify('nightshift_deliveries', '');
    end if;

    return query select v_id, 'sent'::text;
end
$$;
comment on function notify.send(uuid, text, text, jsonb, text) is
    'Sends a notification to a user: sent (inbox row + one pending delivery per enabled channel), '
    'duplicate (dedupe_key seen before: the existing id, not counted against the cap) or '
    'suppressed (the user''s cap for the UTC day is used up: kept in notify.suppressed, id null).';

create function notify.configure(daily_cap integer, channels text[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    if configure.daily_cap is null then
        raise exception 'notify.configure: daily_cap must not be null' using errcode = 'null_value_not_allowed';
    elsif configure.daily_cap < 0 then
        raise exception 'notify.configure: daily_cap must be 0 or more, got %', configure.daily_cap
            using errcode = 'invalid_parameter_value';
    elsif configure.channels is null then
        raise exception 'notify.configure: channels must not be null (pass an empty array for none)'
            using errcode = 'null_value_not_allowed';
    elsif exists (select from pg_catalog.unnest(configure.channels) c where c is null or c !~ '^\S+$') then
        raise exception 'notify.configure: channel names must be non-empty and without spaces, got %', configure.channels
            using errcode = 'invalid_parameter_value';
    end if;

    update notify.settings s set daily_cap_per_user = configure.daily_cap, updated_at = now()
    where s.daily_cap_per_user is distinct from configure.daily_cap;

    -- Rows are kept when a channel goes away: its deliveries reference it, and it may come back.
    insert into notify.channels as ch (name, enabled)
    select distinct c, true from pg_catalog.unnest(configure.channels) c
    on conflict (name) do update set enabled = true, updated_at = now() where not ch.enabled;

    update notify.channels ch set enabled = false, updated_at = now()
    where ch.enabled and ch.name <> all (configure.channels);
end
$$;
comment on function notify.configure(integer, text[]) is
    'Sets the daily cap and the enabled channels (those given; every other channel is disabled). Called at start-up from config.';

-- Delivering

create function notify.claim_deliveries("limit" integer, lease interval)
returns table (id bigint, notification_id uuid, channel text, idempotency_key text, attempt integer, payload jsonb)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
    if claim_deliveries."limit" is null or claim_deliveries."limit" < 0
       or claim_deliveries.lease is null or claim_deliveries.lease <= interval '0' then
        raise exception 'notify.claim_deliveries needs a limit >= 0 and a positive lease'
            using errcode = 'invalid_parameter_value';
    end if;

    -- A lease that ran out during the last allowed attempt (the dispatcher died or hung mid
    -- request): no attempt is left, so it fails here instead of being sent once more. SKIP
    -- LOCKED: a dispatcher completing it right now holds the row, and its answer wins.
    update notify.deliveries d
    set status = 'failed', lease_expires_at = null, updated_at = now(),
        last_error = 'lease expired during the last attempt (the dispatcher stopped before reporting an outcome)'
    where d.id in (
        select e.id from notify.deliveries e
        where e.status = 'delivering' and e.lease_expires_at < now() and e.attempts >= e.max_attempts
        for update skip locked);

    return query
    with picked as (
        -- SKIP LOCKED lets many dispatchers claim at once, each taking rows no other claimer
        -- holds, and never reclaims a row whose (late) owner is writing its outcome right now.
        select d.id
        from notify.deliveries d
        where (d.status = 'pending' and d.next_attempt_at <= now())
           or (d.status = 'delivering' and d.lease_expires_at < now() and d.attempts < d.max_attempts)
        order by d.next_attempt_at, d.id
        limit claim_deliveries."limit"
        for update skip locked
    ), claimed as (
        update notify.deliveries d
        set status = 'delivering', attempts = d.attempts + 1, lease_expires_at = now() + claim_deliveries.lease,
            updated_at = now()
        from picked p
        where d.id = p.id
        returning d.id, d.notification_id, d.channel, d.idempotency_key, d.attempts
    )
    select c.id, c.notification_id, c.channel, c.idempotency_key, c.attempts,
           pg_catalog.jsonb_build_object(
               'id', n.id, 'user_id', n.user_id, 'title', n.title, 'message', n.message,
               'metadata', n.metadata, 'created_at', n.created_at, 'channel', c.channel)
    from claimed c
    join notify.notifications n on n.id = c.notification_id
    order by c.id;
end
$$;
comment on function notify.claim_deliveries(integer, interval) is
    'Claims up to limit due deliveries (pending and due, or delivering with an expired lease) under a lease: '
    'status delivering, attempts + 1. payload is the JSON the webhook receives.';

create function notify.complete_delivery(id bigint, status_code integer)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- No lease check: the receiver has the notification, whoever reports it. A late dispatcher
    -- whose lease was taken over is right too; the first report of success is kept.
    update notify.deliveries d
    set status = 'delivered', delivered_at = now(), last_status_code = complete_delivery.status_code,
        lease_expires_at = null, updated_at = now()
    where d.id = complete_delivery.id and d.status <> 'delivered';
    if not found and not exists (select from notify.deliveries d where d.id = complete_delivery.id) then
        raise exception 'notify.complete_delivery: unknown delivery %', complete_delivery.id using errcode = 'NSN01';
    end if;
end
$$;
comment on function notify.complete_delivery(bigint, integer) is
    'Marks a delivery delivered (the receiver answered 2xx); a second report is ignored. NSN01 for an unknown id.';

create function notify.fail_delivery(id bigint, error text, status_code integer, retriable boolean, attempt integer default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_delivery notify.deliveries;
begin
    -- Locked so that a claimer reclaiming an expired lease skips the row while this decides.
    select d.* into v_delivery from notify.deliveries d where d.id = fail_delivery.id for update;
    if not found then
        raise exception 'notify.fail_delivery: unknown delivery %', fail_delivery.id using errcode = 'NSN01';
    end if;

    -- Fencing: a failure reported for an attempt that no longer owns the row (its lease was
    -- taken over, or the delivery already ended) changes nothing.
    if v_delivery.status <> 'delivering'
       or (fail_delivery.attempt is not null and fail_delivery.attempt <> v_delivery.attempts) then
        return v_delivery.status;
    end if;

    if coalesce(fail_delivery.retriable, true) and v_delivery.attempts < v_delivery.max_attempts then
        -- Retry n waits 2^(n-1) seconds: 1 s, 2 s, 4 s, ..., at most an hour (the exponent is
        -- bounded first, so a large max_attempts cannot overflow the interval).
        update notify.deliveries d
        set status = 'pending', lease_expires_at = null, updated_at = now(),
            next_attempt_at = now() + least(interval '1 hour',
                interval '1 second' * pg_catalog.power(2, least(v_delivery.attempts - 1, 12))),
            last_error = fail_delivery.error, last_status_code = fail_delivery.status_code
        where d.id = v_delivery.id;
        return 'pending';
    end if;

    update notify.deliveries d
    set status = 'failed', lease_expires_at = null, updated_at = now(),
        last_error = fail_delivery.error, last_status_code = fail_delivery.status_code
    where d.id = v_delivery.id;
    return 'failed';
end
$$;
comment on function notify.fail_delivery(bigint, text, integer, boolean, integer) is
    'Ends a delivery attempt with an error: pending again after 1 s * 2^(attempts-1) (capped at 1 h) while retriable '
    'and attempts remain, else failed. Returns the new status. attempt (optional) fences out a stale claim: '
    'then, or when the delivery is not delivering, nothing changes and the current status is returned.';

-- The inbox

create function notify.list_notifications(user_id uuid, unread_only boolean default false, "limit" integer default 50)
returns setof notify.notifications
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if list_notifications.user_id is null then
        raise exception 'notify.list_notifications: user_id must not be null' using errcode = 'null_value_not_allowed';
    elsif list_notifications."limit" is null or list_notifications."limit" not between 1 and 1000 then
        raise exception 'notify.list_notifications: limit must be between 1 and 1000, got %',
            coalesce(list_notifications."limit"::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    return query
    select n.*
    from notify.notifications n
    where n.user_id = list_notifications.user_id
      and (not coalesce(list_notifications.unread_only, false) or not n.read)
    order by n.created_at desc, n.id desc
    limit list_notifications."limit";
end
$$;
comment on function notify.list_notifications(uuid, boolean, integer) is
    'A user''s notifications, newest first (unread only when asked), at most limit (1..1000).';

create function notify.mark_read(user_id uuid, notification_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    update notify.notifications n
    set read = true, read_at = now()
    where n.id = mark_read.notification_id and n.user_id = mark_read.user_id and not n.read;
    if found then
        return true;
    end if;
    -- Already read: still true (marking twice is not an error), and the first read_at stays.
    -- Another user's id, or none: false, which the HTTP layer answers with 404.
    return exists (
        select from notify.notifications n where n.id = mark_read.notification_id and n.user_id = mark_read.user_id);
end
$$;
comment on function notify.mark_read(uuid, uuid) is
    'Marks one of the user''s notifications read; false when the id is not that user''s (nothing changed).';

-- Housekeeping

create function notify.prune(keep interval default '90 days')
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_cutoff timestamptz;
    v_rows integer;
    v_total integer := 0;
begin
    if prune.keep is null or prune.keep < interval '0' then
        raise exception 'notify.prune needs a retention of zero or more, got %', coalesce(prune.keep::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    v_cutoff := now() - prune.keep;

    delete from notify.deliveries d where d.status in ('delivered', 'failed') and d.created_at < v_cutoff;
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;

    -- Unread notifications stay whatever their age, and so does one with a delivery still
    -- under way (deleting it would cascade to work the dispatcher has not finished).
    delete from notify.notifications n
    where n.read and n.created_at < v_cutoff
      and not exists (
          select from notify.deliveries d where d.notification_id = n.id and d.status in ('pending', 'delivering'));
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;

    delete from notify.daily_counts c where c.day < (v_cutoff at time zone 'UTC')::date;
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;

    delete from notify.suppressed s where s.suppressed_at < v_cutoff;
    get diagnostics v_rows = row_count;
    return v_total + v_rows;
end
$$;
comment on function notify.prune(interval) is
    'Deletes finished deliveries, read notifications, daily counts and suppressed rows older than keep; '
    'returns how many rows went. Unread notifications and unfinished deliveries are kept.';

-- Views

create view notify.delivery_status as
select d.channel, d.status, count(*) as delivery_count, min(d.next_attempt_at) as oldest_next_attempt_at
from notify.deliveries d
group by d.channel, d.status;
comment on view notify.delivery_status is 'Deliveries per channel and status (with the earliest next_attempt_at of each group).';

create view notify.suppressed_today as
select c.user_id, c.sent, c.suppressed, s.daily_cap_per_user
from notify.daily_counts c
cross join notify.settings s
where c.day = (now() at time zone 'UTC')::date and c.suppressed > 0;
comment on view notify.suppressed_today is 'Users the cap held back today (UTC): sent and suppressed counts against the cap.';

-- Grants. Least privilege, as in 0008: nightshift_service calls the functions, which run as
-- their owner (security definer, search_path = ''), and may read the tables and views;
-- nobody else gets anything.

revoke all on schema notify from public;
grant usage on schema notify to nightshift_service;

revoke all on all functions in schema notify from public;
revoke all on all tables in schema notify from public;
revoke all on all sequences in schema notify from public;
alter default privileges in schema notify revoke execute on functions from public;

grant execute on function
    notify.send(uuid, text, text, jsonb, text),
    notify.configure(integer, text[]),
    notify.claim_deliveries(integer, interval),
    notify.complete_delivery(bigint, integer),
    notify.fail_delivery(bigint, text, integer, boolean, integer),
    notify.list_notifications(uuid, boolean, integer),
    notify.mark_read(uuid, uuid),
    notify.prune(interval)
to nightshift_service;

grant select on
    notify.settings,
    notify.channels,
    notify.notifications,
    notify.daily_counts,
    notify.suppressed,
    notify.deliveries,
    notify.delivery_status,
    notify.suppressed_today
to nightshift_service;
