-- recalculate_stale_scores and freshness_rate: which scores are stale (never calculated,
-- or calculated the threshold or longer ago), fresh ones untouched, the threshold as a
-- parameter and as a setting, and the share of fresh scores.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(22);

truncate dossier.dossiers cascade;
create temporary table t (as_of) as select timestamptz '2026-03-15 12:00:00+03';
create function pg_temp.dossier(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.calculated_at(p_n integer) returns timestamptz language sql
return (select h.calculated_at from dossier.health_scores h where h.dossier_id = pg_temp.dossier(p_n));

-- 1: 2 hours old; 2: 30 minutes; 3: never; 4: exactly 60 minutes; 5: 59 min 59 s.
insert into dossier.dossiers (id, name, owner_id)
select pg_temp.dossier(n), 'Dossier ' || n, gen_random_uuid() from generate_series(1, 5) n;
insert into dossier.engagements (dossier_id, occurred_at, kind)
select pg_temp.dossier(n), (select as_of from t) - interval '3 days', 'call' from generate_series(1, 5) n;
select dossier.calculate_health_score(pg_temp.dossier(n), true, (select as_of from t) - age)
from (values (1, interval '2 hours'), (2, interval '30 minutes'), (4, interval '60 minutes'),
             (5, interval '59 minutes 59 seconds')) as v(n, age);

select is(dossier.freshness_rate(as_of => (select as_of from t)), 0.4000,
    'freshness: 2 of 5 dossiers have a score younger than 60 minutes (never scored counts as stale)');
select is(dossier.freshness_rate('3 hours', (select as_of from t)), 0.8000, 'freshness takes the threshold as a parameter');

select is(dossier.recalculate_stale_scores(as_of => (select as_of from t)),
    '{"recalculated": 3, "notificationsSent": 0}'::jsonb,
    'the default threshold (60 minutes) selects the 2-hour-old, the never-scored and the exactly-60-minute-old scores');
select is(pg_temp.calculated_at(1), (select as_of from t), 'a 2-hour-old score is recalculated');
select is(pg_temp.calculated_at(3), (select as_of from t), 'a dossier never scored gets its first score');
select is(pg_temp.calculated_at(4), (select as_of from t), 'a score exactly 60 minutes old is stale');
select is(pg_temp.calculated_at(2), (select as_of from t) - interval '30 minutes', 'a 30-minute-old score is untouched');
select is(pg_temp.calculated_at(5), (select as_of from t) - interval '59 minutes 59 seconds',
    'a score one second short of 60 minutes is untouched');
select is((select previous_calculated_at from dossier.health_scores where dossier_id = pg_temp.dossier(2)), null,
    'an untouched score has not even been rewritten');
select is(dossier.freshness_rate(as_of => (select as_of from t)), 1.0000, 'afterwards every score is fresh');

select is(dossier.recalculate_stale_scores(as_of => (select as_of from t)),
    '{"recalculated": 0, "notificationsSent": 0}'::jsonb, 'a second pass right after finds nothing stale');

select is(dossier.recalculate_stale_scores('20 minutes', (select as_of from t)) -> 'recalculated', '2'::jsonb,
    'a 20-minute threshold also selects the 30-minute and the 59-minute-old scores');
select is(pg_temp.calculated_at(2), (select as_of from t), 'the 30-minute-old score is now recalculated');

select is(dossier.recalculate_stale_scores('0 seconds', (select as_of from t)) -> 'recalculated', '5'::jsonb,
    'a zero threshold recalculates every score');

update dossier.settings set stale_after = interval '10 minutes';
select is(dossier.recalculate_stale_scores(as_of => (select as_of from t) + interval '10 minutes') -> 'recalculated', '5'::jsonb,
    'without a parameter the threshold is settings.stale_after');
select is(dossier.freshness_rate(as_of => (select as_of from t) + interval '15 minutes'), 1.0000,
    'freshness uses the setting too');
update dossier.settings set stale_after = interval '60 minutes';

-- A new dossier, and one whose score is recalculated with new engagements.
insert into dossier.dossiers (id, name, owner_id) values (pg_temp.dossier(6), 'New', gen_random_uuid());
select is(dossier.freshness_rate(as_of => (select as_of from t) + interval '10 minutes'), 0.8333,
    'a new dossier without a score lowers the freshness: 5 of 6');
select is(dossier.recalculate_stale_scores(as_of => (select as_of from t) + interval '10 minutes') -> 'recalculated', '1'::jsonb,
    'and is the one stale dossier');
select is((select overall_score from dossier.health_scores where dossier_id = pg_temp.dossier(6)), 43::numeric,
    'its score is the formula''s: nothing happened yet = 43');

truncate dossier.dossiers cascade;
select is(dossier.freshness_rate(), 1.0000, 'no dossiers at all: freshness 1');

select throws_ok($$select dossier.recalculate_stale_scores('-1 minute')$$, '22023', null, 'a negative threshold is refused');
select throws_ok($$select dossier.freshness_rate('1 minute', null)$$, '22023', null, 'a null as_of is refused');

select * from finish();
rollback;
