-- The cap's day is the user's day, and nothing the cap holds back is dropped (issue 15 §6, §7).
--
--  * Day: notify.send counts a user's day in a time zone: its caller's (new argument
--    time_zone, for a caller that knows its users' day), else the deployment's default
--    (notify.settings.cap_time_zone, written by notify.configure from `[notifications]
--    cap_timezone`, default UTC as before). notify.cap_day(time_zone, at) is that day.
--  * Held back: a notify.suppressed row records the day it was counted against and the zone of
--    that day, and which digest later carried it (digest_id, digested_at).
--  * Digests: notify.held_back(as_of, type_prefix) locks and returns, per user, the rows held
--    back on days that have ended (in their own zone) and no digest carried yet;
--    notify.send_digest(...) sends one digest (no cap: see its comment) and marks its rows.
--    A caller (a pack's scheduled job) puts its own words around them. notify names no caller.
--  * notify.held_back_today(user_id): the inbox's count of what the cap held back today.

-- ---------------------------------------------------------------------------------------------
-- Time zones

alter table notify.settings add column cap_time_zone text not null default 'UTC';
comment on column notify.settings.cap_time_zone is
    'The time zone of the cap''s day when notify.send''s caller names none ([notifications] cap_timezone, default UTC).';
comment on column notify.settings.daily_cap_per_user is
    'Notifications a user may receive per day (the caller''s time zone, else cap_time_zone); the rest are suppressed '
    '(kept in notify.suppressed, and sent later in one digest by a caller of notify.send_digest).';

create function notify.cap_day(time_zone text default null, "at" timestamptz default now())
returns date
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_zone text := cap_day.time_zone;
begin
    if v_zone is null then
        select s.cap_time_zone into strict v_zone from notify.settings s;
    end if;
    return (coalesce(cap_day."at", now()) at time zone v_zone)::date;
end
$$;
comment on function notify.cap_day(text, timestamptz) is
    'The cap''s calendar day at "at" (default now) in time_zone (default notify.settings.cap_time_zone): 21:30 UTC is '
    'already the next day in Asia/Riyadh (UTC+3).';

comment on column notify.daily_counts.day is
    'The calendar day in the time zone notify.send counted it in (its caller''s, else settings.cap_time_zone).';

alter table notify.suppressed
    add column day date,
    add column time_zone text,
    add column digest_id uuid,
    add column digested_at timestamptz;
-- Rows from before: counted per UTC day.
update notify.suppressed s set day = (s.suppressed_at at time zone 'UTC')::date, time_zone = 'UTC';
alter table notify.suppressed
    alter column time_zone set default 'UTC',
    alter column time_zone set not null,
    alter column day set default ((now() at time zone 'UTC')::date),
    alter column day set not null,
    add constraint suppressed_digest_matches check ((digest_id is null) = (digested_at is null));
comment on column notify.suppressed.day is 'The day whose cap held it back, in time_zone.';
comment on column notify.suppressed.time_zone is 'The time zone of day (the one notify.send counted in).';
-- No foreign key: a digest pruned as read must not make its rows pending (and sent) again.
comment on column notify.suppressed.digest_id is
    'The digest notification that carried it to the user (notify.send_digest); null while it waits for one.';
comment on column notify.suppressed.digested_at is 'When a digest carried it; null while it waits for one.';
-- The digest sweep and the inbox's count read the rows still waiting, which are few.
create index suppressed_pending_idx on notify.suppressed (user_id, day) where digest_id is null;

-- ---------------------------------------------------------------------------------------------
-- notify.send with the day's time zone: a new signature, so the old one goes (a caller passing
-- five arguments resolves to the new one, time_zone taking its default).

drop function notify.send(uuid, text, text, jsonb, text);

create function notify.send(
    user_id uuid, title text, message text, metadata jsonb default '{}', dedupe_key text default null,
    time_zone text default null)
returns table (notification_id uuid, outcome text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_metadata jsonb := coalesce(send.metadata, '{}');
    v_zone text;
    v_day date;
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

    select s.daily_cap_per_user, coalesce(send.time_zone, s.cap_time_zone) into strict v_cap, v_zone from notify.settings s;
    -- The user's day, whatever the session's time zone: the caller's zone, else the default.
    -- An unknown zone fails here with PostgreSQL's own 22023 (time zone "..." not recognized);
    -- no lookup in pg_timezone_names, which reads the zone files on every call.
    v_day := (now() at time zone v_zone)::date;

    -- A repeat of a key already sent costs nothing against the cap.
    if send.dedupe_key is not null then
        select n.id into v_id from notify.notifications n where n.dedupe_key = send.dedupe_key;
        if found then
            return query select v_id, 'duplicate'::text;
            return;
        end if;
    end if;

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
        insert into notify.suppressed (user_id, title, message, metadata, dedupe_key, day, time_zone)
        values (send.user_id, send.title, send.message, v_metadata, send.dedupe_key, v_day, v_zone);
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
comment on function notify.send(uuid, text, text, jsonb, text, text) is
    'Sends a notification to a user: sent (inbox row + one pending delivery per enabled channel), '
    'duplicate (dedupe_key seen before: the existing id, not counted against the cap) or '
    'suppressed (the user''s cap for the day is used up: kept in notify.suppressed with that day, id null, and sent '
    'later in a digest by whoever calls notify.send_digest). The day is the calendar day in time_zone (the caller''s '
    'users'' zone), else in notify.settings.cap_time_zone.';

-- ---------------------------------------------------------------------------------------------
-- configure: the default zone of the cap's day ([notifications] cap_timezone).

drop function notify.configure(integer, text[]);

create function notify.configure(daily_cap integer, channels text[], cap_time_zone text default 'UTC')
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
    -- Names only, from PostgreSQL's IANA list: abbreviations and POSIX strings (EST, UTC+3)
    -- mean different days in different places. Read once at start-up, so the list's cost is paid once.
    if configure.cap_time_zone is null
       or not exists (select from pg_catalog.pg_timezone_names z where z.name = configure.cap_time_zone) then
        raise exception 'notify.configure: cap_time_zone ([notifications] cap_timezone) "%" is not an IANA time zone name (such as UTC or Asia/Riyadh)',
            coalesce(configure.cap_time_zone, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    update notify.settings s
    set daily_cap_per_user = configure.daily_cap, cap_time_zone = configure.cap_time_zone, updated_at = now()
    where s.daily_cap_per_user is distinct from configure.daily_cap
       or s.cap_time_zone is distinct from configure.cap_time_zone;

    -- Rows are kept when a channel goes away: its deliveries reference it, and it may come back.
    insert into notify.channels as ch (name, enabled)
    select distinct c, true from pg_catalog.unnest(configure.channels) c
    on conflict (name) do update set enabled = true, updated_at = now() where not ch.enabled;

    update notify.channels ch set enabled = false, updated_at = now()
    where ch.enabled and ch.name <> all (configure.channels);
end
$$;
comment on function notify.configure(integer, text[], text) is
    'Sets the daily cap, the default time zone of the cap''s day (an IANA name, 22023 otherwise) and the enabled '
    'channels (those given; every other channel is disabled). Called at start-up from config.';

-- ---------------------------------------------------------------------------------------------
-- Digests

create function notify.held_back(as_of timestamptz default now(), type_prefix text default '')
returns table (user_id uuid, suppressed_ids bigint[], days date[], held_back integer, items jsonb, type_counts jsonb)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
    if held_back.as_of is null or held_back.type_prefix is null then
        raise exception 'notify.held_back needs as_of and type_prefix, got null' using errcode = 'null_value_not_allowed';
    end if;

    return query
    with pending as (
        -- Locked until the caller's transaction ends, in id order: two digest sweeps at once
        -- do not both take a row. The second waits here, then sees digest_id set by the
        -- first (the row is re-checked after the wait) and skips it; a digest per row, once.
        select s.id, s.user_id, s.day, s.title, s.message, s.metadata, s.suppressed_at
        from notify.suppressed s
        where s.digest_id is null
          -- The day has ended where it was counted: nothing more can join it.
          and s.day < (held_back.as_of at time zone s.time_zone)::date
          and pg_catalog.starts_with(coalesce(s.metadata ->> 'type', ''), held_back.type_prefix)
        order by s.id
        for update of s
    ), per_type as (
        select p.user_id, coalesce(p.metadata ->> 'type', '') as type, count(*) as n
        from pending p
        group by 1, 2
    )
    select p.user_id,
           pg_catalog.array_agg(p.id order by p.id),
           pg_catalog.array_agg(distinct p.day order by p.day),
           count(*)::integer,
           pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'title', p.title, 'message', p.message, 'metadata', p.metadata,
               'day', p.day, 'heldBackAt', p.suppressed_at) order by p.id),
           (select pg_catalog.jsonb_object_agg(t.type, t.n) from per_type t where t.user_id = p.user_id)
    from pending p
    group by p.user_id
    order by p.user_id;
end
$$;
comment on function notify.held_back(timestamptz, text) is
    'Per user, what the cap held back on days that had ended by as_of (each row''s day in the zone it was counted in) '
    'and no digest carried yet, for metadata types starting with type_prefix: the suppressed ids, the days, the count, '
    'the items [{title, message, metadata, day, heldBackAt}] and the count per type. Locks those rows until the '
    'transaction ends: call notify.send_digest for them in the same transaction.';

create function notify.send_digest(
    user_id uuid, suppressed_ids bigint[], title text, message text, metadata jsonb default '{}', dedupe_key text default null)
returns table (notification_id uuid, outcome text, digested integer)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_metadata jsonb := coalesce(send_digest.metadata, '{}');
    v_id uuid;
    v_digested integer;
begin
    if send_digest.user_id is null or send_digest.suppressed_ids is null then
        raise exception 'notify.send_digest: user_id and suppressed_ids must not be null' using errcode = 'null_value_not_allowed';
    elsif send_digest.title is null or send_digest.message is null then
        raise exception 'notify.send_digest: title and message must not be null' using errcode = 'null_value_not_allowed';
    elsif pg_catalog.jsonb_typeof(v_metadata) <> 'object' then
        raise exception 'notify.send_digest: metadata must be a JSON object, got %', pg_catalog.jsonb_typeof(v_metadata)
            using errcode = 'invalid_parameter_value';
    end if;

    -- Only the user's rows still waiting, locked (a caller that skipped notify.held_back still
    -- cannot carry a row in two digests: a concurrent digest waits here and then skips it).
    perform from notify.suppressed s
    where s.id = any (send_digest.suppressed_ids) and s.user_id = send_digest.user_id and s.digest_id is null
    order by s.id
    for update of s;
    if not found then
        return query select null::uuid, 'empty'::text, 0;
        return;
    end if;

    -- Outside the cap, on purpose: the digest carries what an earlier day's cap held back (and
    -- counted there). Counted against today's cap, a day as busy as yesterday would hold the
    -- digest back in turn, and the items would never arrive: nothing would be dropped, only
    -- deferred for ever. It is one notification per sweep, so a user receives at most the
    -- cap and one digest a day.
    insert into notify.notifications (user_id, title, message, metadata, dedupe_key, created_at)
    values (send_digest.user_id, send_digest.title, send_digest.message,
            v_metadata || pg_catalog.jsonb_build_object('digest', true), send_digest.dedupe_key, pg_catalog.clock_timestamp())
    on conflict (dedupe_key) do nothing
    returning id into v_id;
    if v_id is null then
        -- This key's digest went out already (in a committed transaction): the rows stay
        -- waiting, for the next digest to carry, rather than be marked carried by one that
        -- did not list them.
        select n.id into strict v_id from notify.notifications n where n.dedupe_key = send_digest.dedupe_key;
        return query select v_id, 'duplicate'::text, 0;
        return;
    end if;

    update notify.suppressed s set digest_id = v_id, digested_at = now()
    where s.id = any (send_digest.suppressed_ids) and s.user_id = send_digest.user_id and s.digest_id is null;
    get diagnostics v_digested = row_count;

    insert into notify.deliveries (notification_id, channel, idempotency_key)
    select v_id, ch.name, v_id::text || ':' || ch.name
    from notify.channels ch
    where ch.enabled;
    if found then
        perform pg_catalog.pg_notify('nightshift_deliveries', '');
    end if;

    return query select v_id, 'sent'::text, v_digested;
end
$$;
comment on function notify.send_digest(uuid, bigint[], text, text, jsonb, text) is
    'Sends one digest to a user for the given held-back rows (notify.suppressed ids, the user''s, not yet carried): an '
    'inbox notification with metadata.digest = true and one delivery per enabled channel, outside the daily cap; marks '
    'the rows carried (digest_id). Outcome sent (digested = rows marked), duplicate (dedupe_key sent before: nothing '
    'marked) or empty (none of the rows is waiting: nothing sent).';

-- ---------------------------------------------------------------------------------------------
-- The inbox's count

create function notify.held_back_today(user_id uuid)
returns integer
language sql
stable
security definer
set search_path = ''
as $$
    -- Today in the zone each row was counted in: the day the user is living when it was held.
    select count(*)::integer
    from notify.suppressed s
    where s.user_id = held_back_today.user_id
      and s.digest_id is null
      and s.day = (now() at time zone s.time_zone)::date
$$;
comment on function notify.held_back_today(uuid) is
    'How many of the user''s notifications the cap held back today (in the zone each was counted in); a digest brings '
    'them on the next day.';

create function api.notifications_held_back()
returns integer
language sql
stable
security definer
set search_path = ''
as $$
    select notify.held_back_today(auth.require_uid('api.notifications_held_back'))
$$;
comment on function api.notifications_held_back() is
    'How many of the caller''s notifications the daily cap held back today; they arrive in one digest on the next day.';

create or replace view notify.suppressed_today as
select c.user_id, c.sent, c.suppressed, s.daily_cap_per_user
from notify.daily_counts c
cross join notify.settings s
where c.day = (now() at time zone s.cap_time_zone)::date and c.suppressed > 0;
comment on view notify.suppressed_today is
    'Users the cap held back today (in the default zone, settings.cap_time_zone): sent and suppressed counts against the cap.';

-- ---------------------------------------------------------------------------------------------
-- Grants, as in 0010 and 0041.

revoke all on function
    notify.cap_day(text, timestamptz),
    notify.send(uuid, text, text, jsonb, text, text),
    notify.configure(integer, text[], text),
    notify.held_back(timestamptz, text),
    notify.send_digest(uuid, bigint[], text, text, jsonb, text),
    notify.held_back_today(uuid),
    api.notifications_held_back()
from public;
grant execute on function
    notify.cap_day(text, timestamptz),
    notify.send(uuid, text, text, jsonb, text, text),
    notify.configure(integer, text[], text),
    notify.held_back(timestamptz, text),
    notify.send_digest(uuid, bigint[], text, text, jsonb, text),
    notify.held_back_today(uuid)
to nightshift_service;
grant execute on function api.notifications_held_back() to nightshift_authenticated;
