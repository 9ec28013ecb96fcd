-- recalculate_health_scores: the given dossiers, fresh or not, in one statement; unknown
-- ids refuse the whole call with NSD01 naming them.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

truncate dossier.dossiers cascade;
create temporary table t (as_of) as select timestamptz '2026-03-15 12:00:00+03';
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
insert into dossier.dossiers (id, name, owner_id)
select pg_temp.id(n), 'Dossier ' || n, gen_random_uuid() from generate_series(1, 3) n;
select dossier.calculate_health_score(pg_temp.id(1), true, (select as_of from t) - interval '5 minutes');

select is(dossier.recalculate_health_scores(array[pg_temp.id(1), pg_temp.id(2), pg_temp.id(1)], (select as_of from t)),
    '{"recalculated": 2, "notificationsSent": 0}'::jsonb, 'the given dossiers are recalculated, each once');
select is((select calculated_at from dossier.health_scores where dossier_id = pg_temp.id(1)), (select as_of from t),
    'a fresh score is recalculated all the same');
select is((select count(*) from dossier.health_scores where dossier_id = pg_temp.id(3)), 0::bigint, 'others are left alone');
select is(dossier.recalculate_health_scores('{}'), '{"recalculated": 0, "notificationsSent": 0}'::jsonb,
    'an empty list recalculates nothing');

select throws_ok(
    $$select dossier.recalculate_health_scores(array['00000000-0000-0000-0000-000000000003',
        '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f2']::uuid[])$$,
    'NSD01', 'unknown dossier 00000000-0000-0000-0000-0000000000f1, 00000000-0000-0000-0000-0000000000f2',
    'unknown ids raise NSD01 naming them');
select is((select count(*) from dossier.health_scores where dossier_id = pg_temp.id(3)), 0::bigint,
    'and nothing is recalculated');
select throws_ok($$select dossier.recalculate_health_scores(null)$$, '22004', null, 'a null list is refused');

-- As the service role (security definer: it writes the scores it may only read).
set local role nightshift_service;
select is(dossier.recalculate_health_scores(array[pg_temp.id(3)]) -> 'recalculated', '1'::jsonb,
    'the service role recalculates through the function');
select is((select count(*) from dossier.health_scores where dossier_id = pg_temp.id(3)), 1::bigint, 'and reads the result');
reset role;

select * from finish();
rollback;
