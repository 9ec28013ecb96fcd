-- Engagement and commitment statistics per dossier: a live view each (the definition), a
-- materialised view each (what readers use; refreshed CONCURRENTLY, so reads never wait),
-- their refresh functions, and dossier.stats, the one-query read behind the dossier-stats
-- edge function.
--
-- "The last N days" is the same calendar window everywhere in the pack: today and the N-1
-- days before it, today being the calendar day in dossier.settings.time_zone.
--
-- The rows hold no timestamp of their own computation (that is in dossier.stats_refreshes):
-- REFRESH … CONCURRENTLY rewrites only the rows whose values changed, not all of them.

create view dossier.engagement_stats_live as
with cfg as materialized (
    select ((x.today - 29)::timestamp at time zone x.time_zone) as from_30,
           ((x.today - 89)::timestamp at time zone x.time_zone) as from_90,
           ((x.today - 364)::timestamp at time zone x.time_zone) as from_365
    from (select s.time_zone, (now() at time zone s.time_zone)::date as today from dossier.settings s) as x
)
select d.id as dossier_id,
       coalesce(a.total, 0) as total_engagements,
       coalesce(a.last_30, 0) as engagements_last_30_days,
       coalesce(a.last_90, 0) as engagements_last_90_days,
       coalesce(a.last_365, 0) as engagements_last_365_days,
       coalesce(a.upcoming, 0) as upcoming_engagements,
       a.first_at as first_engagement_at,
       a.last_at as last_engagement_at,
       coalesce(a.by_kind, '{}'::jsonb) as engagements_by_kind
from dossier.dossiers d
left join (
    -- One pass in (dossier_id, occurred_at, kind) index order, grouped as it streams.
    select e.dossier_id,
           count(*) as total,
           count(*) filter (where e.occurred_at <= now() and e.occurred_at >= (select cfg.from_30 from cfg)) as last_30,
           count(*) filter (where e.occurred_at <= now() and e.occurred_at >= (select cfg.from_90 from cfg)) as last_90,
           count(*) filter (where e.occurred_at <= now() and e.occurred_at >= (select cfg.from_365 from cfg)) as last_365,
           count(*) filter (where e.occurred_at > now()) as upcoming,
           min(e.occurred_at) as first_at,
           max(e.occurred_at) filter (where e.occurred_at <= now()) as last_at,
           jsonb_strip_nulls(jsonb_build_object(
               'meeting', nullif(count(*) filter (where e.kind = 'meeting'), 0),
               'call', nullif(count(*) filter (where e.kind = 'call'), 0),
               'email', nullif(count(*) filter (where e.kind = 'email'), 0),
               'message', nullif(count(*) filter (where e.kind = 'message'), 0),
               'visit', nullif(count(*) filter (where e.kind = 'visit'), 0),
               'event', nullif(count(*) filter (where e.kind = 'event'), 0),
               'other', nullif(count(*) filter (where e.kind = 'other'), 0))) as by_kind
    from dossier.engagements e
    group by e.dossier_id
) as a on a.dossier_id = d.id;
comment on view dossier.engagement_stats_live is
    'Engagement statistics of every dossier computed now (the definition of dossier_engagement_stats): total, in the last '
    '30/90/365 calendar days (settings.time_zone) up to now, planned (future) ones, the first and the latest (up to now), '
    'counts by kind. A dossier without engagements has a row of zeros.';

create view dossier.commitment_stats_live as
with cfg as materialized (
    select (now() at time zone s.time_zone)::date as today, s.time_zone from dossier.settings s
)
select d.id as dossier_id,
       coalesce(a.total, 0) as total_commitments,
       coalesce(a.pending, 0) as pending,
       coalesce(a.in_progress, 0) as in_progress,
       coalesce(a.completed, 0) as completed,
       coalesce(a.overdue, 0) as overdue,
       coalesce(a.cancelled, 0) as cancelled,
       coalesce(a.past_due_open, 0) as past_due_open,
       coalesce(a.due_next_30_days, 0) as due_next_30_days,
       a.next_due_date,
       coalesce(a.completed_on_time, 0) as completed_on_time,
       a.last_completed_at
from dossier.dossiers d
left join (
    select c.dossier_id,
           count(*) as total,
           count(*) filter (where c.status = 'pending') as pending,
           count(*) filter (where c.status = 'in_progress') as in_progress,
           count(*) filter (where c.status = 'completed') as completed,
           count(*) filter (where c.status = 'overdue') as overdue,
           count(*) filter (where c.status = 'cancelled') as cancelled,
           count(*) filter (where c.status in ('pending', 'in_progress') and c.due_date < (select cfg.today from cfg)) as past_due_open,
           count(*) filter (where c.status in ('pending', 'in_progress')
                              and c.due_date between (select cfg.today from cfg) and (select cfg.today from cfg) + 29) as due_next_30_days,
           min(c.due_date) filter (where c.status in ('pending', 'in_progress') and c.due_date >= (select cfg.today from cfg)) as next_due_date,
           -- Completed on or before the end of the due day (settings.time_zone).
           count(*) filter (where c.status = 'completed'
                              and c.completed_at < ((c.due_date + 1)::timestamp at time zone (select cfg.time_zone from cfg))) as completed_on_time,
           max(c.completed_at) as last_completed_at
    from dossier.commitments c
    group by c.dossier_id
) as a on a.dossier_id = d.id;
comment on view dossier.commitment_stats_live is
    'Commitment statistics of every dossier computed now (the definition of dossier_commitment_stats): total and counts by '
    'status, open ones past their due day (not yet swept to overdue), open ones due in the next 30 days, the next due date, '
    'completions by the end of the due day, the latest completion. A dossier without commitments has a row of zeros.';

-- WITH DATA: REFRESH … CONCURRENTLY refuses a view that was never populated.
create materialized view dossier.dossier_engagement_stats as
    select * from dossier.engagement_stats_live
with data;
-- The unique index REFRESH MATERIALIZED VIEW CONCURRENTLY needs (and the lookup by dossier).
create unique index dossier_engagement_stats_dossier_id_idx on dossier.dossier_engagement_stats (dossier_id);
comment on materialized view dossier.dossier_engagement_stats is
    'dossier.engagement_stats_live as of its last refresh (dossier.stats_refreshes); dossier.refresh_engagement_stats() '
    'refreshes it CONCURRENTLY.';

create materialized view dossier.dossier_commitment_stats as
    select * from dossier.commitment_stats_live
with data;
create unique index dossier_commitment_stats_dossier_id_idx on dossier.dossier_commitment_stats (dossier_id);
comment on materialized view dossier.dossier_commitment_stats is
    'dossier.commitment_stats_live as of its last refresh (dossier.stats_refreshes); dossier.refresh_commitment_stats() '
    'refreshes it CONCURRENTLY.';

create table dossier.stats_refreshes (
    view_name text primary key,
    refreshed_at timestamptz not null,
    duration_ms numeric not null,
    row_count bigint not null
);
comment on table dossier.stats_refreshes is 'When each statistics view was last refreshed, how long it took, how many rows it has.';
insert into dossier.stats_refreshes (view_name, refreshed_at, duration_ms, row_count) values
    ('dossier.dossier_engagement_stats', now(), 0, 0),
    ('dossier.dossier_commitment_stats', now(), 0, 0);
analyze dossier.stats_refreshes;

create function dossier.refresh_engagement_stats()
returns jsonb
language plpgsql
security definer
set search_path = ''
set jit = off             -- compiling costs more than it saves here
set work_mem = '64MB'     -- the per-dossier aggregates and the CONCURRENTLY diff stay in memory
as $$
declare
    v_started timestamptz := clock_timestamp();
    v_row dossier.stats_refreshes;
begin
    -- Readers keep reading the previous contents meanwhile; a second refresh waits for this one.
    refresh materialized view concurrently dossier.dossier_engagement_stats;
    insert into dossier.stats_refreshes as r (view_name, refreshed_at, duration_ms, row_count)
    values ('dossier.dossier_engagement_stats', now(),
            round((extract(epoch from clock_timestamp() - v_started) * 1000)::numeric, 1),
            (select count(*) from dossier.dossier_engagement_stats))
    on conflict (view_name) do update
        set refreshed_at = excluded.refreshed_at, duration_ms = excluded.duration_ms, row_count = excluded.row_count
    returning r.* into v_row;
    return jsonb_build_object('view', v_row.view_name, 'rows', v_row.row_count, 'refreshedAt', v_row.refreshed_at,
                              'durationMs', v_row.duration_ms);
end
$$;
comment on function dossier.refresh_engagement_stats() is
    'REFRESH MATERIALIZED VIEW CONCURRENTLY dossier.dossier_engagement_stats (readers are never blocked), recorded in '
    'dossier.stats_refreshes; returns {view, rows, refreshedAt, durationMs}.';

create function dossier.refresh_commitment_stats()
returns jsonb
language plpgsql
security definer
set search_path = ''
set jit = off
set work_mem = '64MB'
as $$
declare
    v_started timestamptz := clock_timestamp();
    v_row dossier.stats_refreshes;
begin
    refresh materialized view concurrently dossier.dossier_commitment_stats;
    insert into dossier.stats_refreshes as r (view_name, refreshed_at, duration_ms, row_count)
    values ('dossier.dossier_commitment_stats', now(),
            round((extract(epoch from clock_timestamp() - v_started) * 1000)::numeric, 1),
            (select count(*) from dossier.dossier_commitment_stats))
    on conflict (view_name) do update
        set refreshed_at = excluded.refreshed_at, duration_ms = excluded.duration_ms, row_count = excluded.row_count
    returning r.* into v_row;
    return jsonb_build_object('view', v_row.view_name, 'rows', v_row.row_count, 'refreshedAt', v_row.refreshed_at,
                              'durationMs', v_row.duration_ms);
end
$$;
comment on function dossier.refresh_commitment_stats() is
    'REFRESH MATERIALIZED VIEW CONCURRENTLY dossier.dossier_commitment_stats (readers are never blocked), recorded in '
    'dossier.stats_refreshes; returns {view, rows, refreshedAt, durationMs}.';

create function dossier.stats(dossier_ids uuid[])
returns table (dossier_id uuid, found boolean, stats jsonb)
language plpgsql
stable
security definer
set search_path = ''
set jit = off  -- a read of a few index lookups: compiling would cost a hundred times more
as $$
begin
    if dossier_ids is null then
        raise exception 'stats needs dossier_ids, got null' using errcode = 'null_value_not_allowed';
    end if;
    if cardinality(dossier_ids) > 1000 then
        raise exception 'stats reads at most 1000 dossiers at once, got %', cardinality(dossier_ids)
            using errcode = 'invalid_parameter_value';
    end if;
    return query
    with requested as (
        -- Each id once, at its first position; a null id is skipped.
        select r.id, min(r.pos) as pos
        from unnest(dossier_ids) with ordinality as r(id, pos)
        where r.id is not null
        group by r.id
    )
    select r.id, d.id is not null,
           case when d.id is not null then jsonb_build_object(
               'dossierId', d.id,
               'name', d.name,
               'ownerId', d.owner_id,
               'engagementStats', jsonb_build_object(
                   'total', e.total_engagements,
                   'last30Days', e.engagements_last_30_days,
                   'last90Days', e.engagements_last_90_days,
                   'last365Days', e.engagements_last_365_days,
                   'upcoming', e.upcoming_engagements,
                   'firstEngagementAt', e.first_engagement_at,
                   'lastEngagementAt', e.last_engagement_at,
                   'daysSinceLastEngagement', cfg.today - (e.last_engagement_at at time zone cfg.time_zone)::date,
                   'byKind', e.engagements_by_kind,
                   'computedAt', e.computed_at),
               'commitmentStats', jsonb_build_object(
                   'total', c.total_commitments,
                   'pending', c.pending,
                   'inProgress', c.in_progress,
                   'completed', c.completed,
                   'overdue', c.overdue,
                   'cancelled', c.cancelled,
                   'pastDueOpen', c.past_due_open,
                   'dueNext30Days', c.due_next_30_days,
                   'nextDueDate', c.next_due_date,
                   'completedOnTime', c.completed_on_time,
                   'lastCompletedAt', c.last_completed_at,
                   'computedAt', c.computed_at),
               'healthScore', case when h.dossier_id is not null then jsonb_build_object(
                   'overallScore', h.overall_score,
                   'engagementFrequency', trim_scale(h.engagement_frequency),
                   'commitmentFulfillment', trim_scale(h.commitment_fulfillment),
                   'recencyScore', trim_scale(h.recency_score),
                   'calculatedAt', h.calculated_at,
                   'stale', h.calculated_at <= now() - cfg.stale_after) end)
           end
    from requested r
    cross join (select s.time_zone, s.stale_after, (now() at time zone s.time_zone)::date as today
                from dossier.settings s) as cfg
    left join dossier.dossiers d on d.id = r.id
    -- The materialised row; a dossier created since the last refresh is computed live.
    left join lateral (
        select m.*, (select x.refreshed_at from dossier.stats_refreshes x
                     where x.view_name = 'dossier.dossier_engagement_stats') as computed_at
        from dossier.dossier_engagement_stats m where m.dossier_id = d.id
        union all
        select l.*, now() from dossier.engagement_stats_live l
        where l.dossier_id = d.id
          and not exists (select from dossier.dossier_engagement_stats m where m.dossier_id = d.id)
    ) e on true
    left join lateral (
        select m.*, (select x.refreshed_at from dossier.stats_refreshes x
                     where x.view_name = 'dossier.dossier_commitment_stats') as computed_at
        from dossier.dossier_commitment_stats m where m.dossier_id = d.id
        union all
        select l.*, now() from dossier.commitment_stats_live l
        where l.dossier_id = d.id
          and not exists (select from dossier.dossier_commitment_stats m where m.dossier_id = d.id)
    ) c on true
    left join dossier.health_scores h on h.dossier_id = d.id
    order by r.pos;
end
$$;
comment on function dossier.stats(uuid[]) is
    'Statistics and health score of up to 1000 dossiers in one query, for the dossier-stats edge function: one row per '
    'distinct requested id in request order, found = false (stats null) for an unknown id. stats = {dossierId, name, '
    'ownerId, engagementStats (from dossier_engagement_stats as of its last refresh, computedAt; computed live for a '
    'dossier not in the view yet; daysSinceLastEngagement as of now), commitmentStats (likewise), healthScore (the stored score with stale = older than settings.stale_after, '
    'or null when never scored; reading never recalculates)}. Null array -> 22004; more than 1000 ids -> 22023.';

revoke all on all functions in schema dossier from public;
grant select on dossier.engagement_stats_live, dossier.commitment_stats_live,
    dossier.dossier_engagement_stats, dossier.dossier_commitment_stats, dossier.stats_refreshes
    to nightshift_service;
grant execute on function
    dossier.refresh_engagement_stats(),
    dossier.refresh_commitment_stats(),
    dossier.stats(uuid[])
to nightshift_service;
