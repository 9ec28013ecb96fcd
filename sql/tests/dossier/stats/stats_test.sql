-- stats: one query for one or many dossiers' statistics and score, in request order, with
-- unknown ids marked, materialised figures as of the last refresh, live ones for a dossier
-- the views do not have yet, and the stored score (never recalculated by reading).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(18);

truncate dossier.dossiers cascade;
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.stats(p_n integer) returns jsonb language sql
return (select s.stats from dossier.stats(array[pg_temp.id(p_n)]) s);

insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.id(1), 'Japan — Energy Partnership', '00000000-0000-0000-00aa-000000000001'),
    (pg_temp.id(2), 'Norway — Water Security', '00000000-0000-0000-00aa-000000000002');
insert into dossier.engagements (dossier_id, occurred_at, kind) values
    (pg_temp.id(1), now() - interval '3 days', 'meeting'), (pg_temp.id(1), now() - interval '40 days', 'call');
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status) values
    (pg_temp.id(1), gen_random_uuid(), 'Send the figures', (now() at time zone 'Asia/Riyadh')::date + 7, 'pending');
select dossier.refresh_engagement_stats(), dossier.refresh_commitment_stats();

select results_eq(
    $$select dossier_id, found from dossier.stats(array['00000000-0000-0000-0000-000000000002',
        '00000000-0000-0000-0000-0000000000ff', null, '00000000-0000-0000-0000-000000000001',
        '00000000-0000-0000-0000-000000000002']::uuid[])$$,
    $$values ('00000000-0000-0000-0000-000000000002'::uuid, true), ('00000000-0000-0000-0000-0000000000ff', false),
             ('00000000-0000-0000-0000-000000000001', true)$$,
    'one row per distinct id in request order, unknown ones marked, nulls skipped');
select is((select stats from dossier.stats(array['00000000-0000-0000-0000-0000000000ff'::uuid])), null,
    'an unknown dossier has no stats');
select is(pg_temp.stats(1) - 'engagementStats' - 'commitmentStats' - 'healthScore',
    jsonb_build_object('dossierId', pg_temp.id(1), 'name', 'Japan — Energy Partnership',
                       'ownerId', '00000000-0000-0000-00aa-000000000001'),
    'the dossier itself');
select is((pg_temp.stats(1) -> 'engagementStats') - 'firstEngagementAt' - 'lastEngagementAt' - 'computedAt',
    '{"total": 2, "last30Days": 1, "last90Days": 2, "last365Days": 2, "upcoming": 0, "daysSinceLastEngagement": 3,
      "byKind": {"meeting": 1, "call": 1}}'::jsonb,
    'its engagement statistics');
select is((pg_temp.stats(1) -> 'commitmentStats') - 'nextDueDate' - 'computedAt' - 'lastCompletedAt',
    '{"total": 1, "pending": 1, "inProgress": 0, "completed": 0, "overdue": 0, "cancelled": 0, "pastDueOpen": 0,
      "dueNext30Days": 1, "completedOnTime": 0}'::jsonb,
    'its commitment statistics');
select is((pg_temp.stats(1) -> 'commitmentStats' ->> 'nextDueDate')::date, (now() at time zone 'Asia/Riyadh')::date + 7,
    'with the next due date');
select is((pg_temp.stats(1) -> 'engagementStats' ->> 'computedAt')::timestamptz,
    (select refreshed_at from dossier.stats_refreshes where view_name = 'dossier.dossier_engagement_stats'),
    'materialised figures say when they were computed: the last refresh');
select is(pg_temp.stats(1) -> 'healthScore', 'null'::jsonb, 'a dossier never scored has a null health score');
select is((select count(*) from dossier.health_scores), 0::bigint, 'and reading did not score it');

-- Materialised: a new engagement shows after the next refresh.
insert into dossier.engagements (dossier_id, occurred_at, kind) values (pg_temp.id(1), now() - interval '1 day', 'email');
select is(pg_temp.stats(1) -> 'engagementStats' -> 'total', '2'::jsonb, 'between refreshes the figures are the materialised ones');
select dossier.refresh_engagement_stats();
select is(pg_temp.stats(1) -> 'engagementStats' -> 'total', '3'::jsonb, 'a refresh brings the new engagement in');

-- A dossier created since the last refresh is computed live.
insert into dossier.dossiers (id, name, owner_id) values (pg_temp.id(3), 'Brand new', gen_random_uuid());
insert into dossier.engagements (dossier_id, occurred_at, kind) values (pg_temp.id(3), now() - interval '2 days', 'visit');
select is(pg_temp.stats(3) -> 'engagementStats' -> 'total', '1'::jsonb, 'a dossier not in the view yet is computed live');
select is((pg_temp.stats(3) -> 'engagementStats' ->> 'computedAt')::timestamptz, now(), 'as of now');
select is(pg_temp.stats(3) -> 'commitmentStats' -> 'total', '0'::jsonb, 'commitments too');

-- The stored score, fresh or stale.
select dossier.calculate_health_score(pg_temp.id(1));
select dossier.calculate_health_score(pg_temp.id(2), true, now() - interval '2 hours');
select is((pg_temp.stats(1) -> 'healthScore') - 'calculatedAt',
    (select jsonb_build_object('overallScore', overall_score, 'engagementFrequency', trim_scale(engagement_frequency),
                               'commitmentFulfillment', trim_scale(commitment_fulfillment), 'recencyScore', trim_scale(recency_score),
                               'stale', false)
     from dossier.health_scores where dossier_id = pg_temp.id(1)),
    'the stored score with its components, fresh');
select is(pg_temp.stats(2) -> 'healthScore' -> 'stale', 'true'::jsonb, 'a score 2 hours old is marked stale, not recalculated');

select throws_ok($$select * from dossier.stats(null)$$, '22004', null, 'a null array is refused');
select throws_ok($$select * from dossier.stats(array(select gen_random_uuid() from generate_series(1, 1001)))$$, '22023',
    'stats reads at most 1000 dossiers at once, got 1001', 'more than 1000 ids are refused');

select * from finish();
rollback;
