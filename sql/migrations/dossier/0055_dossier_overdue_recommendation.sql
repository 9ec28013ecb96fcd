-- The overdue notification carries the product's recommendation (issue 15 §8): the story's
-- notification service ends every overdue message with "Recommended: Update status or extend
-- deadline.", and its users act on it. dossier.detect_overdue_commitments is 0051's with that
-- sentence at the end of each of the three messages (commitment owner, dossier owner, both) and
-- in metadata.recommendation; nothing else changes (selection, locking, cap, dedupe keys).

create or replace function dossier.detect_overdue_commitments(dry_run boolean default false, as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
set jit = off  -- compiling these statements costs about a second; they run in less
as $$
declare
    -- The product's sentence (its notification service's overdue message), kept word for word:
    -- its users and its support pages know it.
    v_recommendation constant text := 'Recommended: Update status or extend deadline.';
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
            -- Each ends with the product's recommendation, word for word (v_recommendation).
            case when x.roles = array['commitment_owner', 'dossier_owner'] then
                     format('Your commitment "%s" in your dossier %s was due on %s and is now overdue. %s',
                            x.description, x.dossier_name, x.due_date, v_recommendation)
                 when x.roles = array['commitment_owner'] then
                     format('Your commitment "%s" in dossier %s was due on %s and is now overdue. %s',
                            x.description, x.dossier_name, x.due_date, v_recommendation)
                 else
                     format('A commitment in your dossier %s is overdue: "%s" was due on %s. %s',
                            x.dossier_name, x.description, x.due_date, v_recommendation)
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
                'markedOverdueAt', as_of,
                'recommendation', v_recommendation),
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
    'dossier.commitment-overdue:<commitment>:<user>, so never twice; each message ends with the recommendation '
    '"Recommended: Update status or extend deadline.", also in metadata.recommendation), then recalculates the affected dossiers'' health '
    'scores in one statement (a drop below 60 notifies the dossier owner). The daily cap counts days in settings.time_zone; what it holds back arrives in dossier.send_held_back_digests''s digest the next day. Returns {overdueCount, notificationsSent (sent '
    'overdue notifications), healthScoresRecalculated, notificationsSuppressed (held back by the daily cap, kept in '
    'notify.suppressed), scoreDropNotificationsSent, dryRun}. dry_run = true changes nothing and reports what a run would '
    'do now (notifications not already sent, before the daily cap; predicted drops).';

-- create or replace keeps the function's grants (0051: nightshift_service); restated so this file
-- reads whole.
revoke all on function dossier.detect_overdue_commitments(boolean, timestamptz) from public;
grant execute on function dossier.detect_overdue_commitments(boolean, timestamptz) to nightshift_service;
