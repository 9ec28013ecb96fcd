-- No first-night cliff for notify.send (issue 16 §3).
--
-- notify.send runs once per notification, often thousands of times in one statement (the
-- dossier overdue sweep) and on a worker's pooled connection for its whole life. Its statements
-- are plpgsql's cached plans, and so are the foreign-key checks its inserts fire (deliveries ->
-- notifications). After five calls a session keeps a generic plan when it looks no dearer than
-- the custom ones, and keeps it until the table's statistics change. While notify.notifications
-- is empty or a page or two (a fresh install; or analyzed as empty), a sequential scan is the
-- cheapest plan for the dedupe-key lookup (dedupe_key = $1) and for the foreign-key check
-- (id = $1), and the session keeps both while the table grows in the same statement: every send
-- scans every notification sent before it, O(n^2) (2,000 sends into empty tables: 1.4 s instead
-- of 0.4 s).
--
-- Custom plans are planned per call for the table's current size (its pages on disk, whatever
-- the statistics say) and turn to the indexes after a few pages; but planning every statement
-- on every call doubles a warm send's cost. So notify.send plans per call only while the inbox is
-- smaller than 16 pages (128 kB, a few hundred notifications): it calls itself again through
-- notify._send_custom_plans, whose plan_cache_mode = force_custom_plan holds for the nested
-- call's statements and the foreign-key checks they fire, and for nothing its caller runs. The
-- first generic plans are then made with the table past 16 pages, where an index scan is
-- cheaper than any sequential scan. A session that has seen the table past 16 pages stops
-- looking at its size (notify.inbox_planned_large, a session setting): a warm send pays one
-- setting lookup. (A table emptied later in that session, by truncate, is not noticed: its next
-- generic plans may be sequential scans again until the table is analyzed.)

create function notify._send_custom_plans(
    user_id uuid, title text, message text, metadata jsonb, dedupe_key text, time_zone text)
returns table (notification_id uuid, outcome text)
language sql
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
    select s.notification_id, s.outcome
    from notify.send(user_id, title, message, metadata, dedupe_key, time_zone) s
$$;
comment on function notify._send_custom_plans(uuid, text, text, jsonb, text, text) is
    'notify.send with plan_cache_mode = force_custom_plan, which notify.send calls itself while notify.notifications '
    'is smaller than 16 pages (its statements and foreign-key checks planned for the table''s current size). '
    'Internal: call notify.send.';

create or replace function notify.send(
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
    -- While the inbox is small, plan every statement for its current size (see the header): the
    -- same call again, with custom plans. Once a session has seen it past 16 pages it stops
    -- looking (a session setting, undone if the transaction rolls back): its cached plans are
    -- index scans from then on, and a warm call pays one setting lookup.
    if pg_catalog.current_setting('notify.inbox_planned_large', true) is distinct from 'on' then
        if pg_catalog.pg_relation_size('notify.notifications') >= 16 * 8192 then
            perform pg_catalog.set_config('notify.inbox_planned_large', 'on', false);
        elsif pg_catalog.current_setting('plan_cache_mode') <> 'force_custom_plan' then
            return query select s.notification_id, s.outcome
                         from notify._send_custom_plans(send.user_id, send.title, send.message, send.metadata,
                                                        send.dedupe_key, send.time_zone) s;
            return;
        end if;
    end if;

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

-- Grants: a helper stays the owner's (as every _* function): notify.send, security definer,
-- calls it as the owner; no role calls it directly.
revoke all on function notify._send_custom_plans(uuid, text, text, jsonb, text, text) from public;
