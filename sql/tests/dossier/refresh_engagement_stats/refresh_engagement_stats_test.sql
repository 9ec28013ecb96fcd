-- refresh_engagement_stats: the materialised view has the unique index CONCURRENTLY needs,
-- the refresh is concurrent, its figures follow the definition (calendar windows up to
-- now, planned ones apart, kinds), unchanged rows are not rewritten, and the refresh is
-- recorded.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

select has_materialized_view('dossier', 'dossier_engagement_stats', 'the engagement statistics are a materialised view');
select index_is_unique('dossier', 'dossier_engagement_stats', 'dossier_engagement_stats_dossier_id_idx',
    'with a unique index (the one REFRESH … CONCURRENTLY needs)');
select is((select pg_get_indexdef('dossier.dossier_engagement_stats_dossier_id_idx'::regclass) ~ '\(dossier_id\)$'
           and (select indpred is null and indexprs is null from pg_index where indexrelid = 'dossier.dossier_engagement_stats_dossier_id_idx'::regclass)),
    true, 'on the plain column dossier_id, without a predicate or an expression');
select ok((select relispopulated from pg_class where oid = 'dossier.dossier_engagement_stats'::regclass),
    'and populated, so a concurrent refresh is possible from the start');
select matches(pg_get_functiondef('dossier.refresh_engagement_stats()'::regprocedure),
    'refresh materialized view concurrently dossier\.dossier_engagement_stats', 'the refresh is CONCURRENTLY');

truncate dossier.dossiers cascade;
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
-- Noon of a calendar day (Asia/Riyadh) p_days before today, whatever the time now.
create function pg_temp.days_ago(p_days integer) returns timestamptz language sql
return (((now() at time zone 'Asia/Riyadh')::date - p_days) + time '12:00') at time zone 'Asia/Riyadh';

insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.id(1), 'Busy', gen_random_uuid()), (pg_temp.id(2), 'Quiet', gen_random_uuid());
insert into dossier.engagements (dossier_id, occurred_at, kind) values
    (pg_temp.id(1), pg_temp.days_ago(10), 'meeting'),
    (pg_temp.id(1), pg_temp.days_ago(60), 'call'),
    (pg_temp.id(1), pg_temp.days_ago(200), 'email'),
    (pg_temp.id(1), pg_temp.days_ago(400), 'call'),
    (pg_temp.id(1), now() + interval '5 days', 'visit');

select is(dossier.refresh_engagement_stats() - 'refreshedAt' - 'durationMs',
    '{"view": "dossier.dossier_engagement_stats", "rows": 2}'::jsonb, 'the refresh reports the view and its rows');
select results_eq(
    $$select total_engagements, engagements_last_30_days, engagements_last_90_days, engagements_last_365_days,
             upcoming_engagements, first_engagement_at, last_engagement_at, engagements_by_kind
      from dossier.dossier_engagement_stats where dossier_id = '00000000-0000-0000-0000-000000000001'$$,
    $$values (5::bigint, 1::bigint, 2::bigint, 3::bigint, 1::bigint, pg_temp.days_ago(400), pg_temp.days_ago(10),
              '{"meeting": 1, "call": 2, "email": 1, "visit": 1}'::jsonb)$$,
    'a busy dossier: 5 in all, 1 / 2 / 3 in the last 30 / 90 / 365 days, 1 planned, first and latest, by kind');
select results_eq(
    $$select total_engagements, engagements_last_90_days, last_engagement_at, engagements_by_kind
      from dossier.dossier_engagement_stats where dossier_id = '00000000-0000-0000-0000-000000000002'$$,
    $$values (0::bigint, 0::bigint, null::timestamptz, '{}'::jsonb)$$,
    'a dossier without engagements has a row of zeros');
select is((select refreshed_at from dossier.stats_refreshes where view_name = 'dossier.dossier_engagement_stats'), now(),
    'the refresh is recorded in stats_refreshes');
select set_eq($$select * from dossier.dossier_engagement_stats$$, $$select * from dossier.engagement_stats_live$$,
    'the view holds exactly what the live definition computes');

-- Only changed rows are rewritten.
create temporary table before_refresh as select dossier_id, ctid::text as at from dossier.dossier_engagement_stats;
insert into dossier.engagements (dossier_id, occurred_at, kind) values (pg_temp.id(1), now() - interval '1 hour', 'message');
select lives_ok($$select dossier.refresh_engagement_stats()$$, 'a second concurrent refresh works');
select is((select ctid::text from dossier.dossier_engagement_stats where dossier_id = pg_temp.id(2)),
    (select at from before_refresh where dossier_id = pg_temp.id(2)), 'an unchanged row is not rewritten');
select isnt((select ctid::text from dossier.dossier_engagement_stats where dossier_id = pg_temp.id(1)),
    (select at from before_refresh where dossier_id = pg_temp.id(1)), 'a changed row is');
select is((select engagements_last_30_days from dossier.dossier_engagement_stats where dossier_id = pg_temp.id(1)), 2::bigint,
    'and has the new engagement');

-- Deleted dossiers leave, new ones arrive.
delete from dossier.dossiers where id = pg_temp.id(2);
insert into dossier.dossiers (id, name, owner_id) values (pg_temp.id(3), 'New', gen_random_uuid());
select is(dossier.refresh_engagement_stats() -> 'rows', '2'::jsonb, 'a refresh drops deleted dossiers and adds new ones');
select set_eq($$select dossier_id from dossier.dossier_engagement_stats$$, array[pg_temp.id(1), pg_temp.id(3)],
    'the view lists exactly the current dossiers');

select throws_ok($$insert into dossier.engagements (dossier_id, occurred_at, kind) values ('00000000-0000-0000-0000-000000000001', now(), 'lunch')$$,
    '23514', null, 'kinds are meeting, call, email, message, visit, event or other');

select * from finish();
rollback;
