-- Digests without a quadratic, and without a first-night cliff (issue 16 §3).
--
-- A digest sweep (dossier.send_held_back_digests: notify.held_back, then notify.send_digest per
-- user, in one statement) sends thousands of digests at once. Two costs grew with the square of
-- their number:
--
--  * Every night, in notify.held_back: each user's count per type was a correlated subquery over
--    the locked rows (the CTE pending), which PostgreSQL runs once per user over all of them:
--    users x rows (3,000 users with 3 rows each: 27,000,000 rows filtered, 0.96 s of the sweep's
--    1.17 s; 10,000 users: 17.7 s, and the job's timeout is 300 s). Each user's counts are now
--    taken from the user's own types, aggregated with the rest of the user's row in one pass (a
--    join of two groupings of the rows was no better: estimating a few rows, the planner nests
--    the loop and reads one grouping once per user).
--  * On the first night, in notify.send_digest, as in notify.send before 0063: a session makes its
--    generic plans after five calls, while the inbox (notify.notifications) is empty or a page, and
--    keeps them while the sweep fills it; the foreign-key check of each digest's delivery
--    (deliveries -> notifications, id = $1) is then a sequential scan of every digest sent before
--    it. notify.send_digest now does what notify.send does (see 0063): while the inbox is under 16
--    pages and the session has not seen it larger (the same session setting,
--    notify.inbox_planned_large: whichever function sees the inbox large first, the generic plans
--    made after it are made for a large inbox, and the foreign-key check's plan is one for both),
--    it calls itself again through notify._send_digest_custom_plans, whose
--    plan_cache_mode = force_custom_plan plans its statements and the foreign-key checks they fire
--    for the inbox's current size. A warm digest pays one setting lookup.

-- ---------------------------------------------------------------------------------------------
-- notify.held_back: the counts per type from each user's own rows

create or replace function notify.held_back(as_of timestamptz default now(), type_prefix text default '')
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
    ), per_user as (
        select p.user_id,
               pg_catalog.array_agg(p.id order by p.id) as suppressed_ids,
               pg_catalog.array_agg(distinct p.day order by p.day) as days,
               count(*)::integer as held_back,
               pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'title', p.title, 'message', p.message, 'metadata', p.metadata,
                   'day', p.day, 'heldBackAt', p.suppressed_at) order by p.id) as items,
               pg_catalog.array_agg(coalesce(p.metadata ->> 'type', '')) as types
        from pending p
        group by p.user_id
    )
    select u.user_id, u.suppressed_ids, u.days, u.held_back, u.items,
           -- Counted in the user's own types: a subquery or a join over all the pending rows
           -- (whose count the planner cannot estimate) reads every row once per user.
           (select pg_catalog.jsonb_object_agg(t.type, t.n)
            from (select x.type, count(*) as n from pg_catalog.unnest(u.types) as x(type) group by x.type) t)
    from per_user u
    order by u.user_id;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- notify.send_digest: custom plans while the inbox is small

create function notify._send_digest_custom_plans(
    user_id uuid, suppressed_ids bigint[], title text, message text, metadata jsonb, dedupe_key text)
returns table (notification_id uuid, outcome text, digested integer)
language sql
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
    select d.notification_id, d.outcome, d.digested
    from notify.send_digest(user_id, suppressed_ids, title, message, metadata, dedupe_key) d
$$;
comment on function notify._send_digest_custom_plans(uuid, bigint[], text, text, jsonb, text) is
    'notify.send_digest with plan_cache_mode = force_custom_plan, which notify.send_digest calls itself while '
    'notify.notifications is smaller than 16 pages (its statements and foreign-key checks planned for the table''s '
    'current size). Internal: call notify.send_digest.';

create or replace function notify.send_digest(
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
    -- While the inbox is small, plan every statement for its current size (see the header and
    -- 0063): the same call again, with custom plans, until a session has seen the inbox past 16
    -- pages (a session setting shared with notify.send, undone if the transaction rolls back).
    if pg_catalog.current_setting('notify.inbox_planned_large', true) is distinct from 'on' then
        if pg_catalog.pg_relation_size('notify.notifications') >= 16 * 8192 then
            perform pg_catalog.set_config('notify.inbox_planned_large', 'on', false);
        elsif pg_catalog.current_setting('plan_cache_mode') <> 'force_custom_plan' then
            return query select d.notification_id, d.outcome, d.digested
                         from notify._send_digest_custom_plans(send_digest.user_id, send_digest.suppressed_ids,
                                                               send_digest.title, send_digest.message,
                                                               send_digest.metadata, send_digest.dedupe_key) d;
            return;
        end if;
    end if;

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

-- Grants: create or replace keeps notify.held_back's and notify.send_digest's (0050: the service
-- role). The helper stays the owner's (as every _* function): notify.send_digest, security
-- definer, calls it as the owner; no role calls it directly.
revoke all on function notify._send_digest_custom_plans(uuid, bigint[], text, text, jsonb, text) from public;
