-- The dossier pack's notifications count the pack's day, and what the cap holds back arrives the
-- next day in one digest (issue 15 §6, §7).
--
--  * dossier.configure(time_zone): `[dossier] timezone` (default Asia/Riyadh) into
--    dossier.settings.time_zone; the pack's jobs call it at the start of each run.
--  * The overdue sweep and the health-drop notification pass that zone to notify.send, so the
--    10-a-day cap counts the user's day in Riyadh, not UTC (21:30 UTC is already tomorrow).
--  * dossier.send_held_back_digests(as_of): for every user, one digest of what the cap held back
--    on days that have ended ("3 more overdue commitments"), once per user and day (dedupe
--    key), set-based over notify.held_back and notify.send_digest. The job
--    dossier/send-held-back-digests calls it shortly after midnight in the pack's zone.

create function dossier.configure(time_zone text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- PostgreSQL's IANA list: the zone "at time zone" will be asked for later, refused now.
    if configure.time_zone is null
       or not exists (select from pg_catalog.pg_timezone_names z where z.name = configure.time_zone) then
        raise exception '[dossier] timezone: "%" is not an IANA time zone name (such as Asia/Riyadh)',
            coalesce(configure.time_zone, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- Only a change is written: every run calls this, and the row is read by every function.
    update dossier.settings s set time_zone = configure.time_zone where s.time_zone is distinct from configure.time_zone;
end
$$;
comment on function dossier.configure(text) is
    'Sets dossier.settings.time_zone from `[dossier] timezone` (an IANA name, else 22023 naming the key): the calendar day '
    'of due dates, statistics and the daily notification cap. The pack''s jobs call it at the start of each run.';

create or replace function dossier._recalculate(p_ids uuid[], p_stale_before timestamptz, p_as_of timestamptz)
returns table (recalculated integer, notifications_sent integer)
language plpgsql
set search_path = ''
set jit = off
as $$
begin
    return query
    with scored as (
        select s.* from dossier._compute_scores(p_ids, p_stale_before, p_as_of) as s
    ), upserted as (
        insert into dossier.health_scores as h (
            dossier_id, overall_score, engagement_frequency, commitment_fulfillment, recency_score, calculated_at,
            engagements_in_window, last_engagement_at, commitments_fulfilled, commitments_missed)
        select s.dossier_id, s.overall_score, s.engagement_frequency, s.commitment_fulfillment, s.recency_score, p_as_of,
               s.engagements_in_window, s.last_engagement_at, s.commitments_fulfilled, s.commitments_missed
        from scored s
        order by s.dossier_id  -- one lock order for every recalculation: no deadlocks between them
        on conflict (dossier_id) do update set
            previous_overall_score = h.overall_score,
            previous_calculated_at = h.calculated_at,
            overall_score = excluded.overall_score,
            engagement_frequency = excluded.engagement_frequency,
            commitment_fulfillment = excluded.commitment_fulfillment,
            recency_score = excluded.recency_score,
            calculated_at = excluded.calculated_at,
            engagements_in_window = excluded.engagements_in_window,
            last_engagement_at = excluded.last_engagement_at,
            commitments_fulfilled = excluded.commitments_fulfilled,
            commitments_missed = excluded.commitments_missed
        returning h.*
    ), dropped as (
        select u.*, d.name, d.owner_id
        from upserted u
        join dossier.dossiers d on d.id = u.dossier_id
        where u.previous_overall_score >= 60 and u.overall_score < 60
    ), sent as (
        select n.outcome
        from dropped x
        cross join lateral notify.send(
            x.owner_id,
            'Relationship health score dropped for ' || x.name,
            format('The relationship health score of %s dropped from %s to %s (below 60). Contributing factors: '
                   'engagement frequency %s, commitment fulfilment %s, recency %s.',
                   x.name, x.previous_overall_score, x.overall_score, trim_scale(x.engagement_frequency),
                   trim_scale(x.commitment_fulfillment), trim_scale(x.recency_score)),
            jsonb_build_object(
                'type', 'dossier.health_score_dropped',
                'dossierId', x.dossier_id,
                'dossierName', x.name,
                'previousScore', x.previous_overall_score,
                'newScore', x.overall_score,
                'threshold', 60,
                'factors', jsonb_build_object(
                    'engagementFrequency', trim_scale(x.engagement_frequency),
                    'commitmentFulfillment', trim_scale(x.commitment_fulfillment),
                    'recencyScore', trim_scale(x.recency_score),
                    'engagementsLast90Days', x.engagements_in_window,
                    'lastEngagementAt', x.last_engagement_at,
                    'commitmentsFulfilled', x.commitments_fulfilled,
                    'commitmentsMissed', x.commitments_missed),
                'previousCalculatedAt', x.previous_calculated_at,
                'calculatedAt', x.calculated_at),
            format('dossier.health-drop:%s:%s', x.dossier_id,
                   (extract(epoch from x.previous_calculated_at) * 1000000)::bigint),
            -- The cap's day is the pack's day (dossier.settings.time_zone, `[dossier] timezone`).
            time_zone => (select s.time_zone from dossier.settings s)) as n
    )
    select (select count(*) from upserted)::integer,
           (select count(*) from sent s where s.outcome = 'sent')::integer;
end
$$;
comment on function dossier._recalculate(uuid[], timestamptz, timestamptz) is
    'One statement: recalculates the given dossiers (or, with null ids, every dossier never scored or scored at or '
    'before p_stale_before) as of p_as_of, keeps the replaced score, notifies owners of drops from >= 60 to < 60. '
    'Returns how many were recalculated and how many drop notifications were sent.';

create or replace function dossier.detect_overdue_commitments(dry_run boolean default false, as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
set jit = off  -- compiling these statements costs about a second; they run in less
as $$
declare
    v_today date;
    v_time_zone text;
    v_overdue integer;
    v_sent integer;
    v_suppressed integer;
    v_dossier_ids uuid[];
    v_drops integer;
    v_recalculated record;
begin
    if dry_run is null or as_of is null then
        raise exception 'detect_overdue_commitments needs dry_run and as_of, got null'
            using errcode = 'null_value_not_allowed';
    end if;
    select (as_of at time zone s.time_zone)::date, s.time_zone into v_today, v_time_zone from dossier.settings s;

    if dry_run then
        -- The same selection, read only: what a real run would do now, before the daily cap
        -- (a notification the cap would hold back is counted as sent here).
        with due as (
            select c.id, c.dossier_id, c.owner_id, d.owner_id as dossier_owner_id
            from dossier.commitments c
            join dossier.dossiers d on d.id = c.dossier_id
            where c.status in ('pending', 'in_progress') and c.due_date < v_today
        ), recipients as (
            select distinct due.id, r.user_id
            from due
            cross join lateral (values (due.owner_id), (due.dossier_owner_id)) as r(user_id)
        )
        select (select count(*) from due),
               (select count(*) from recipients x
                where not exists (select from notify.notifications n
                                  where n.dedupe_key = format('dossier.commitment-overdue:%s:%s', x.id, x.user_id))),
               (select array_agg(distinct due.dossier_id) from due)
        into v_overdue, v_sent, v_dossier_ids;

        select count(*) into v_drops
        from dossier._compute_scores(coalesce(v_dossier_ids, '{}'), null, as_of) s
        join dossier.health_scores h on h.dossier_id = s.dossier_id
        where h.overall_score >= 60 and s.overall_score < 60;

        return jsonb_build_object(
            'overdueCount', v_overdue,
            'notificationsSent', v_sent,
            'healthScoresRecalculated', coalesce(cardinality(v_dossier_ids), 0),
            'notificationsSuppressed', 0,
            'scoreDropNotificationsSent', v_drops,
            'dryRun', true);
    end if;

    -- One statement: lock the due commitments in id order (two sweeps at once wait for each
    -- other instead of deadlocking; the second finds them overdue already and skips them),
    -- mark them overdue, and notify each person concerned once per commitment.
    with due as (
        select c.id
        from dossier.commitments c
        where c.status in ('pending', 'in_progress') and c.due_date < v_today
        order by c.id
        for update of c
    ), marked as (
        update dossier.commitments c
        set status = 'overdue', overdue_at = as_of, updated_at = now()
        from due, dossier.dossiers d
        where c.id = due.id and d.id = c.dossier_id
          and c.status in ('pending', 'in_progress')  -- rechecked on the row as locked
        returning c.id, c.dossier_id, c.owner_id, c.description, c.due_date,
                  d.name as dossier_name, d.owner_id as dossier_owner_id
    ), recipients as (
        -- The commitment owner and the dossier owner; one person who is both gets one
        -- notification that says so (roles), never two.
        select m.*, r.user_id, array_agg(r.role order by r.role) as roles
        from marked m
        cross join lateral (values (m.owner_id, 'commitment_owner'), (m.dossier_owner_id, 'dossier_owner'))
            as r(user_id, role)
        group by m.id, m.dossier_id, m.owner_id, m.description, m.due_date, m.dossier_name, m.dossier_owner_id, r.user_id
    ), sent as (
        select n.outcome
        from recipients x
        cross join lateral notify.send(
            x.user_id,
            'Commitment overdue in ' || x.dossier_name,
            case when x.roles = array['commitment_owner', 'dossier_owner'] then
                     format('Your commitment "%s" in your dossier %s was due on %s and is now overdue.',
                            x.description, x.dossier_name, x.due_date)
                 when x.roles = array['commitment_owner'] then
                     format('Your commitment "%s" in dossier %s was due on %s and is now overdue.',
                            x.description, x.dossier_name, x.due_date)
                 else
                     format('A commitment in your dossier %s is overdue: "%s" was due on %s.',
                            x.dossier_name, x.description, x.due_date)
            end,
            jsonb_build_object(
                'type', 'dossier.commitment_overdue',
                'commitmentId', x.id,
                'dossierId', x.dossier_id,
                'dossierName', x.dossier_name,
                'description', x.description,
                'dueDate', x.due_date,
                'commitmentOwnerId', x.owner_id,
                'dossierOwnerId', x.dossier_owner_id,
                'roles', to_jsonb(x.roles),
                'markedOverdueAt', as_of),
            -- Per commitment and person: never twice, whatever runs again.
            format('dossier.commitment-overdue:%s:%s', x.id, x.user_id),
            -- The cap counts the user's day: the pack's zone, the same one as "today" above.
            time_zone => v_time_zone) as n
    )
    select (select count(*) from marked),
           (select count(*) from sent s where s.outcome = 'sent'),
           (select count(*) from sent s where s.outcome = 'suppressed'),
           (select array_agg(distinct m.dossier_id) from marked m)
    into v_overdue, v_sent, v_suppressed, v_dossier_ids;

    -- The affected dossiers' health, in one statement (drops below 60 notify their owners).
    select r.* into v_recalculated from dossier._recalculate(coalesce(v_dossier_ids, '{}'), null, as_of) r;

    return jsonb_build_object(
        'overdueCount', v_overdue,
        'notificationsSent', v_sent,
        'healthScoresRecalculated', v_recalculated.recalculated,
        'notificationsSuppressed', v_suppressed,
        'scoreDropNotificationsSent', v_recalculated.notifications_sent,
        'dryRun', false);
end
$$;
comment on function dossier.detect_overdue_commitments(boolean, timestamptz) is
    'Marks every pending or in_progress commitment whose due_date is before today (the calendar day of as_of in '
    'settings.time_zone) overdue, notifies its owner and its dossier''s owner (one notification per commitment and person: '
    'someone who is both gets one, with roles [commitment_owner, dossier_owner]; dedupe key '
    'dossier.commitment-overdue:<commitment>:<user>, so never twice), then recalculates the affected dossiers'' health '
    'scores in one statement (a drop below 60 notifies the dossier owner). The daily cap counts days in settings.time_zone; what it holds back arrives in dossier.send_held_back_digests''s digest the next day. Returns {overdueCount, notificationsSent (sent '
    'overdue notifications), healthScoresRecalculated, notificationsSuppressed (held back by the daily cap, kept in '
    'notify.suppressed), scoreDropNotificationsSent, dryRun}. dry_run = true changes nothing and reports what a run would '
    'do now (notifications not already sent, before the daily cap; predicted drops).';

create function dossier.send_held_back_digests(as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_time_zone text;
    v_today date;
    v_result jsonb;
begin
    if as_of is null then
        raise exception 'send_held_back_digests needs as_of, got null' using errcode = 'null_value_not_allowed';
    end if;
    select s.time_zone, (as_of at time zone s.time_zone)::date into v_time_zone, v_today from dossier.settings s;

    -- One statement: notify.held_back locks the waiting rows (a concurrent sweep waits, then
    -- finds them carried), notify.send_digest sends each user's digest and marks the rows.
    with held as (
        select h.*, coalesce((h.type_counts ->> 'dossier.commitment_overdue')::integer, 0) as overdue
        from notify.held_back(as_of, 'dossier.') h
    ), sent as (
        select d.outcome, d.digested
        from held x
        cross join lateral notify.send_digest(
            x.user_id,
            x.suppressed_ids,
            case when x.overdue = x.held_back then
                     format('%s more overdue %s', x.overdue, case when x.overdue = 1 then 'commitment' else 'commitments' end)
                 when x.overdue = 0 then
                     format('%s more dossier %s', x.held_back, case when x.held_back = 1 then 'notification' else 'notifications' end)
                 else
                     format('%s more overdue %s and %s more dossier %s', x.overdue,
                            case when x.overdue = 1 then 'commitment' else 'commitments' end, x.held_back - x.overdue,
                            case when x.held_back - x.overdue = 1 then 'notification' else 'notifications' end)
            end,
            format('The daily limit of notifications held these back on %s: %s.',
                   (select string_agg(day::text, ', ' order by day) from unnest(x.days) day),
                   (select string_agg(i ->> 'title', '; ' order by o) || case when x.held_back > 5 then '; …' else '' end
                    from jsonb_array_elements(x.items) with ordinality as t(i, o) where o <= 5)),
            jsonb_build_object(
                'type', 'dossier.held_back_digest',
                'heldBack', x.held_back,
                'overdueCount', x.overdue,
                'days', to_jsonb(x.days),
                'items', x.items,
                'digestDay', v_today,
                'timeZone', v_time_zone),
            -- One digest per user and day (the pack's day it is sent on): a second sweep that
            -- day, sequential or concurrent, sends nothing more.
            format('dossier.held-back-digest:%s:%s', x.user_id, v_today)) as d
    )
    select jsonb_build_object(
               'digestsSent', count(*) filter (where s.outcome = 'sent'),
               'notificationsCarried', coalesce(sum(s.digested), 0),
               'day', v_today,
               'timeZone', v_time_zone)
    into v_result
    from sent s;
    return v_result;
end
$$;
comment on function dossier.send_held_back_digests(timestamptz) is
    'Sends every user one digest of the dossier notifications the daily cap held back on days that had ended by as_of '
    '(in the pack''s time zone): title "N more overdue commitments" (or "... and M more dossier notifications"), the held '
    'items in metadata.items, metadata.digest = true, outside the cap; dedupe key '
    'dossier.held-back-digest:<user>:<day of as_of>, so once per user and day. Returns {digestsSent, '
    'notificationsCarried, day, timeZone}.';

-- As in 0014: revoke PUBLIC's default on every function of the schema, grant the callers.
revoke all on all functions in schema dossier from public;
grant execute on function
    dossier.configure(text),
    dossier.send_held_back_digests(timestamptz),
    dossier.detect_overdue_commitments(boolean, timestamptz)
to nightshift_service;
