-- Relationship health scores: the formula (_compute_scores), the one set-based statement
-- that recalculates any set of dossiers and notifies owners of drops below 60
-- (_recalculate), and the public ways in: one dossier, given dossiers, every stale one, and
-- the freshness rate.
--
-- The formula, as of a moment as_of, with today = the calendar day of as_of in
-- dossier.settings.time_zone (default Asia/Riyadh) and "days since" a moment = today minus
-- its calendar day there:
--
--   recency_score           latest engagement at or before as_of: days since <= 30 -> 100,
--                           <= 90 -> 70, <= 180 -> 40, older or none -> 10.
--   engagement_frequency    n = engagements at or before as_of in the last 90 calendar days
--                           (days since 0..89); least(100, round(100 * n / target, 2)) with
--                           target = settings.engagement_target (default 6, about one every
--                           two weeks). No engagements -> 0. Planned (future) ones do not count.
--   commitment_fulfillment  among the dossier's commitments due in the last 365 calendar days
--                           (due_date >= today - 364) or later, cancelled ones excluded:
--                           fulfilled = completed (early or late), missed = overdue, or pending /
--                           in_progress with due_date before today (so the score does not wait
--                           for the overdue sweep); round(100 * fulfilled / (fulfilled +
--                           missed), 2). Nothing fulfilled or missed yet (no commitments, or
--                           none due) -> 100: no promise has been broken.
--   overall_score           round(0.30 * engagement_frequency + 0.40 * commitment_fulfillment
--                           + 0.30 * recency_score), from the components as stored (2 decimals),
--                           halves rounded up (numeric round): 0..100.

create function dossier._compute_scores(p_ids uuid[], p_stale_before timestamptz, p_as_of timestamptz)
returns table (
    dossier_id uuid, overall_score numeric, engagement_frequency numeric, commitment_fulfillment numeric,
    recency_score numeric, engagements_in_window integer, last_engagement_at timestamptz,
    commitments_fulfilled integer, commitments_missed integer)
language plpgsql
stable
set search_path = ''
set jit = off            -- compiling costs more (about a second) than it saves
set work_mem = '64MB'    -- every dossier at once aggregates in memory
as $$
begin
    -- One query text for both ways of choosing the dossiers, planned for the actual
    -- arguments every time (EXECUTE): a few dossiers are a few index-only range scans, every
    -- dossier is one pass over each table; the planner sees the choice through the tables'
    -- statistics, not through an opaque list.
    return query execute format($query$
    with cfg as materialized (
        -- Everything that depends on the day only, computed once: no time-zone arithmetic per row.
        select x.engagement_target, x.today,
               ((x.today - 89)::timestamp at time zone x.time_zone) as window_from,
               ((x.today - 30)::timestamp at time zone x.time_zone) as recent_30,
               ((x.today - 90)::timestamp at time zone x.time_zone) as recent_90,
               ((x.today - 180)::timestamp at time zone x.time_zone) as recent_180
        from (select s.time_zone, s.engagement_target, ($3 at time zone s.time_zone)::date as today
              from dossier.settings s) as x
    ), targets as not materialized (
        %s
    ), e as (
        select en.dossier_id,
               count(*) filter (where en.occurred_at >= (select cfg.window_from from cfg)) as in_window,
               max(en.occurred_at) as last_at
        from dossier.engagements en
        where en.dossier_id in (select t.id from targets t) and en.occurred_at <= $3
        group by en.dossier_id
    ), c as (
        select co.dossier_id,
               count(*) filter (where co.status = 'completed') as fulfilled,
               count(*) filter (where co.status = 'overdue'
                                   or (co.status in ('pending', 'in_progress') and co.due_date < (select cfg.today from cfg))) as missed
        from dossier.commitments co
        where co.dossier_id in (select t.id from targets t)
          and co.due_date >= (select cfg.today - 364 from cfg) and co.status <> 'cancelled'
        group by co.dossier_id
    )
    select t.id,
           round(0.30 * x.frequency + 0.40 * x.fulfillment + 0.30 * x.recency),
           x.frequency, x.fulfillment, x.recency::numeric,
           coalesce(e.in_window, 0)::integer, e.last_at,
           coalesce(c.fulfilled, 0)::integer, coalesce(c.missed, 0)::integer
    from targets t
    cross join cfg
    left join e on e.dossier_id = t.id
    left join c on c.dossier_id = t.id
    cross join lateral (
        select least(100, round(100.0 * coalesce(e.in_window, 0) / cfg.engagement_target, 2)) as frequency,
               case when coalesce(c.fulfilled, 0) + coalesce(c.missed, 0) = 0 then 100.00
                    else round(100.0 * c.fulfilled / (c.fulfilled + c.missed), 2) end as fulfillment,
               -- "days since <= 30" = on or after the start of the day 30 days before today.
               case when e.last_at >= cfg.recent_30 then 100
                    when e.last_at >= cfg.recent_90 then 70
                    when e.last_at >= cfg.recent_180 then 40
                    else 10 end as recency
    ) as x
    $query$,
    case when p_ids is not null then
        -- The given dossiers; unknown and repeated ids drop out.
        'select d.id from dossier.dossiers d where d.id = any ($1)'
    else
        -- Every dossier never scored or scored at or before p_stale_before.
        'select d.id from dossier.dossiers d left join dossier.health_scores h on h.dossier_id = d.id
         where h.dossier_id is null or h.calculated_at <= $2'
    end)
    using p_ids, p_stale_before, p_as_of;
end
$$;
comment on function dossier._compute_scores(uuid[], timestamptz, timestamptz) is
    'The health-score formula (see dossier.calculate_health_score) as of p_as_of for the given dossiers, or with null '
    'ids for every dossier never scored or scored at or before p_stale_before; writes nothing.';

-- ONE statement: choose the dossiers (the given ids, or every stale one), score them,
-- upsert the scores keeping the one each replaced, and notify the owner of every dossier
-- whose score went from 60 or more to below 60. The previous score is read from the row the
-- upsert locks, so two concurrent recalculations cannot both see the same drop; the
-- dedupe key (dossier and the replaced score's calculated_at) makes the notification of one
-- drop happen once even so.
create function dossier._recalculate(p_ids uuid[], p_stale_before timestamptz, p_as_of timestamptz)
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
                   (extract(epoch from x.previous_calculated_at) * 1000000)::bigint)) as n
    )
    select (select count(*) from upserted)::integer,
           (select count(*) from sent s where s.outcome = 'sent')::integer;
end
$$;
comment on function dossier._recalculate(uuid[], timestamptz, timestamptz) is
    'One statement: recalculates the given dossiers (or, with null ids, every dossier never scored or scored at or '
    'before p_stale_before) as of p_as_of, keeps the replaced score, notifies owners of drops from >= 60 to < 60. '
    'Returns how many were recalculated and how many drop notifications were sent.';

create function dossier._require_dossiers(p_ids uuid[])
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
    v_unknown uuid[];
begin
    select array_agg(u.id order by u.ord) into v_unknown
    from unnest(p_ids) with ordinality as u(id, ord)
    where u.id is not null and not exists (select from dossier.dossiers d where d.id = u.id);
    if v_unknown is not null then
        raise exception 'unknown dossier %', array_to_string(v_unknown[1:10], ', ')
            using errcode = 'NSD01',
                  detail = format('%s unknown dossier id(s): %s', cardinality(v_unknown), array_to_string(v_unknown, ', '));
    end if;
end
$$;
comment on function dossier._require_dossiers(uuid[]) is
    'Raises NSD01 ("unknown dossier <id>[, <id>…]", all of them in the detail) unless every id is a dossier.';

create function dossier.calculate_health_score(dossier_id uuid, force boolean default false, as_of timestamptz default now())
returns dossier.health_scores
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_score dossier.health_scores;
    v_stale_after interval;
begin
    if calculate_health_score.dossier_id is null then
        raise exception 'calculate_health_score needs a dossier_id, got null' using errcode = 'null_value_not_allowed';
    end if;
    if force is null or as_of is null then
        raise exception 'calculate_health_score needs force and as_of, got null' using errcode = 'null_value_not_allowed';
    end if;
    perform dossier._require_dossiers(array[calculate_health_score.dossier_id]);

    if not force then
        select s.stale_after into v_stale_after from dossier.settings s;
        select h.* into v_score from dossier.health_scores h where h.dossier_id = calculate_health_score.dossier_id;
        if found and v_score.calculated_at > as_of - v_stale_after then
            return v_score;  -- fresh: the stored score
        end if;
    end if;

    perform dossier._recalculate(array[calculate_health_score.dossier_id], null, as_of);
    select h.* into v_score from dossier.health_scores h where h.dossier_id = calculate_health_score.dossier_id;
    return v_score;
end
$$;
comment on function dossier.calculate_health_score(uuid, boolean, timestamptz) is
    'The health score of one dossier with its components and inputs: the stored one when it is fresh (calculated less than '
    'settings.stale_after before as_of) and force is false, else recalculated as of as_of and stored (a drop from >= 60 to '
    '< 60 notifies the dossier owner). '
    'recency_score: latest engagement at or before as_of, days since (calendar days in settings.time_zone) <= 30 -> 100, '
    '<= 90 -> 70, <= 180 -> 40, older or none -> 10. '
    'engagement_frequency: least(100, round(100 * n / settings.engagement_target (default 6), 2)), n = engagements in the '
    'last 90 calendar days up to as_of (days since 0..89); none -> 0. '
    'commitment_fulfillment: of the commitments due in the last 365 calendar days or later, cancelled excluded, '
    'round(100 * fulfilled / (fulfilled + missed), 2) where fulfilled = completed and missed = overdue or pending/in_progress '
    'past due_date; none fulfilled or missed (including no commitments) -> 100. '
    'overall_score = round(0.30 * engagement_frequency + 0.40 * commitment_fulfillment + 0.30 * recency_score), 0..100, '
    'halves up. Unknown dossier -> SQLSTATE NSD01 naming the id; null argument -> 22004.';

create function dossier.recalculate_health_scores(dossier_ids uuid[], as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_result record;
begin
    if dossier_ids is null or as_of is null then
        raise exception 'recalculate_health_scores needs dossier_ids and as_of, got null'
            using errcode = 'null_value_not_allowed';
    end if;
    perform dossier._require_dossiers(dossier_ids);
    select r.* into v_result from dossier._recalculate(dossier_ids, null, as_of) r;
    return jsonb_build_object('recalculated', v_result.recalculated, 'notificationsSent', v_result.notifications_sent);
end
$$;
comment on function dossier.recalculate_health_scores(uuid[], timestamptz) is
    'Recalculates the given dossiers now, fresh or not, in one statement (drops from >= 60 to < 60 notify the owner); '
    'returns {recalculated, notificationsSent}. Any unknown id -> NSD01 naming it, and nothing is recalculated.';

create function dossier.recalculate_stale_scores(stale_after interval default null, as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_stale_after interval;
    v_result record;
begin
    select coalesce(recalculate_stale_scores.stale_after, s.stale_after) into v_stale_after from dossier.settings s;
    if v_stale_after < interval '0' or as_of is null then
        raise exception 'recalculate_stale_scores needs a threshold of zero or more and as_of, got % and %',
            v_stale_after, coalesce(as_of::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select r.* into v_result from dossier._recalculate(null, as_of - v_stale_after, as_of) r;
    return jsonb_build_object('recalculated', v_result.recalculated, 'notificationsSent', v_result.notifications_sent);
end
$$;
comment on function dossier.recalculate_stale_scores(interval, timestamptz) is
    'Recalculates, in one statement, every dossier whose score is stale as of as_of: never calculated, or calculated '
    'stale_after (default settings.stale_after, 60 minutes) or longer before. Fresh scores are not touched. Drops from '
    '>= 60 to < 60 notify the owner. Returns {recalculated, notificationsSent}. A job that runs every N minutes and '
    'wants every score fresh at every moment passes stale_after = threshold - N minutes.';

create function dossier.freshness_rate(stale_after interval default null, as_of timestamptz default now())
returns numeric
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_stale_after interval;
    v_rate numeric;
begin
    select coalesce(freshness_rate.stale_after, s.stale_after) into v_stale_after from dossier.settings s;
    if v_stale_after < interval '0' or as_of is null then
        raise exception 'freshness_rate needs a threshold of zero or more and as_of, got % and %',
            v_stale_after, coalesce(as_of::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select case when count(*) = 0 then 1.0000
                else round(count(h.dossier_id) filter (where h.calculated_at > as_of - v_stale_after)::numeric / count(*), 4)
           end
    into v_rate
    from dossier.dossiers d
    left join dossier.health_scores h on h.dossier_id = d.id;
    return v_rate;
end
$$;
comment on function dossier.freshness_rate(interval, timestamptz) is
    'Share (0..1, 4 decimals) of dossiers whose score is fresh as of as_of: calculated less than stale_after (default '
    'settings.stale_after) before. A dossier never scored is not fresh; no dossiers at all -> 1.';

revoke all on all functions in schema dossier from public;
grant execute on function
    dossier.calculate_health_score(uuid, boolean, timestamptz),
    dossier.recalculate_health_scores(uuid[], timestamptz),
    dossier.recalculate_stale_scores(interval, timestamptz),
    dossier.freshness_rate(interval, timestamptz)
to nightshift_service;
