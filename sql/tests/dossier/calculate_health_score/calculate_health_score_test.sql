-- calculate_health_score: the formula at every boundary (recency 30/31, 90/91, 180/181
-- days, none; calendar days in the settings' zone; the frequency window and cap; the
-- fulfilment window and each status), the rounding, the no-engagement and no-commitment
-- cases, fresh scores returned as stored, force, and the errors.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(55);

-- Whatever the database holds, this file sees only its own dossiers.
truncate dossier.dossiers cascade;
-- As of noon on 2026-03-15 in Riyadh (settings.time_zone, UTC+3 all year): today = 2026-03-15.
create temporary table t (as_of) as select timestamptz '2026-03-15 12:00:00+03';

create function pg_temp.dossier(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
-- A dossier with one engagement p_days calendar days before 2026-03-15 (at 10:00 local), or none.
create function pg_temp.with_engagement(p_n integer, p_days integer) returns uuid language plpgsql as $$
begin
    insert into dossier.dossiers (id, name, owner_id) values (pg_temp.dossier(p_n), 'Dossier ' || p_n, gen_random_uuid());
    if p_days is not null then
        insert into dossier.engagements (dossier_id, occurred_at, kind)
        values (pg_temp.dossier(p_n), ((date '2026-03-15' - p_days) + time '10:00') at time zone 'Asia/Riyadh', 'meeting');
    end if;
    return pg_temp.dossier(p_n);
end
$$;
create function pg_temp.score(p_n integer) returns dossier.health_scores language sql
return dossier.calculate_health_score(pg_temp.dossier(p_n), true, (select as_of from t));

-- Recency: one engagement, no commitments (fulfilment 100).
select pg_temp.with_engagement(1, 0), pg_temp.with_engagement(2, 30), pg_temp.with_engagement(3, 31),
       pg_temp.with_engagement(4, 89), pg_temp.with_engagement(5, 90), pg_temp.with_engagement(6, 91),
       pg_temp.with_engagement(7, 180), pg_temp.with_engagement(8, 181), pg_temp.with_engagement(9, null);
select is((pg_temp.score(1)).recency_score, 100.00, 'recency: an engagement today scores 100');
select is((pg_temp.score(2)).recency_score, 100.00, 'recency: 30 days since the latest engagement scores 100');
select is((pg_temp.score(3)).recency_score, 70.00, 'recency: 31 days scores 70');
select is((pg_temp.score(5)).recency_score, 70.00, 'recency: 90 days scores 70');
select is((pg_temp.score(6)).recency_score, 40.00, 'recency: 91 days scores 40');
select is((pg_temp.score(7)).recency_score, 40.00, 'recency: 180 days scores 40');
select is((pg_temp.score(8)).recency_score, 10.00, 'recency: 181 days scores 10');
select is((pg_temp.score(9)).recency_score, 10.00, 'recency: no engagement at all scores 10');

-- Overall on those: one engagement in the 90-day window is 100/6 = 16.67.
select is((pg_temp.score(1)).overall_score, 75::numeric, '1 recent engagement, nothing promised: round(0.3*16.67 + 0.4*100 + 0.3*100) = 75');
select is((pg_temp.score(3)).overall_score, 66::numeric, '31 days: round(5.001 + 40 + 21) = 66');
select is((pg_temp.score(4)).engagement_frequency, 16.67, 'frequency: 89 days ago is inside the 90-day window');
select is((pg_temp.score(5)).engagement_frequency, 0.00, 'frequency: 90 days ago is outside it (today and the 89 days before)');
select is((pg_temp.score(5)).overall_score, 61::numeric, '90 days: round(0 + 40 + 21) = 61');
select is((pg_temp.score(6)).overall_score, 52::numeric, '91 days: round(0 + 40 + 12) = 52');
select is((pg_temp.score(9)).overall_score, 43::numeric, 'no engagements, no commitments: round(0 + 40 + 3) = 43');
select is((pg_temp.score(9)).engagement_frequency, 0.00, 'no engagements: frequency 0');
select is((pg_temp.score(9)).commitment_fulfillment, 100.00, 'no commitments: fulfilment 100 (no promise broken)');
select is((pg_temp.score(9)).last_engagement_at, null, 'no engagements: no latest one');

-- Calendar days in Asia/Riyadh, not elapsed 24-hour periods, not UTC days.
insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.dossier(20), 'Late evening', gen_random_uuid()),
    (pg_temp.dossier(21), 'A minute too early', gen_random_uuid()),
    (pg_temp.dossier(22), 'UTC evening', gen_random_uuid()),
    (pg_temp.dossier(23), 'Planned only', gen_random_uuid());
insert into dossier.engagements (dossier_id, occurred_at, kind) values
    (pg_temp.dossier(20), '2026-02-13 23:59:00+03', 'call'),   -- 29 days 0 h 2 min before as_of below, calendar day 30
    (pg_temp.dossier(21), '2026-02-12 23:59:00+03', 'call'),   -- 30 days 0 h 2 min before, calendar day 31
    (pg_temp.dossier(22), '2026-02-12 21:30:00+00', 'call'),   -- 2026-02-13 00:30 in Riyadh: calendar day 30
    (pg_temp.dossier(23), '2026-03-15 12:00:01+03', 'visit');  -- one second after as_of: planned
select is((dossier.calculate_health_score(pg_temp.dossier(20), true, '2026-03-15 00:01:00+03')).recency_score, 100.00,
    'recency counts calendar days: the evening of day 30 still scores 100 just after midnight');
select is((dossier.calculate_health_score(pg_temp.dossier(21), true, '2026-03-15 00:01:00+03')).recency_score, 70.00,
    'a minute before midnight on day 31 scores 70 though only 30 days and 2 minutes have passed');
select is((dossier.calculate_health_score(pg_temp.dossier(22), true, '2026-03-15 00:01:00+03')).recency_score, 100.00,
    'days are those of Asia/Riyadh: 21:30 UTC on the 12th is the 13th there');
select is((pg_temp.score(23)).recency_score, 10.00, 'a planned (future) engagement is not a recent one');
select is((pg_temp.score(23)).engagements_in_window, 0, 'nor does it count for frequency');

-- Frequency: n / 6 (settings.engagement_target), capped at 100.
insert into dossier.dossiers (id, name, owner_id)
select pg_temp.dossier(n), 'Frequency ' || n, gen_random_uuid() from generate_series(30, 33) n;
insert into dossier.engagements (dossier_id, occurred_at, kind)
select pg_temp.dossier(30 + k), (select as_of from t) - (i * 5) * interval '1 day', 'email'
from (values (0, 3), (1, 6), (2, 7), (3, 12)) as v(k, n), generate_series(1, n) i;
select is((pg_temp.score(30)).engagement_frequency, 50.00, 'frequency: 3 engagements in 90 days of a target of 6 = 50');
select is((pg_temp.score(31)).engagement_frequency, 100.00, 'frequency: 6 = 100');
select is((pg_temp.score(32)).engagement_frequency, 100.00, 'frequency: 7 is capped at 100');
select is((pg_temp.score(33)).engagements_in_window, 12, 'the inputs record how many engagements were in the window');
select is((pg_temp.score(31)).overall_score, 100::numeric, 'every component at 100 scores 100');
update dossier.settings set engagement_target = 3;
select is((pg_temp.score(30)).engagement_frequency, 100.00, 'the target is a setting: 3 of 3 = 100');
update dossier.settings set engagement_target = 6;

-- Fulfilment: completed / (completed + missed) over commitments due from 364 days before
-- today on, cancelled ones and open ones not yet due left out.
insert into dossier.dossiers (id, name, owner_id)
select pg_temp.dossier(n), 'Fulfilment ' || n, gen_random_uuid() from generate_series(40, 47) n;
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at) values
    (pg_temp.dossier(40), gen_random_uuid(), 'done', '2026-03-01', 'completed', '2026-03-01 10:00+03'),
    (pg_temp.dossier(40), gen_random_uuid(), 'missed', '2026-03-02', 'overdue', null),
    (pg_temp.dossier(41), gen_random_uuid(), 'done', '2026-03-01', 'completed', '2026-03-01 10:00+03'),
    (pg_temp.dossier(41), gen_random_uuid(), 'not swept yet', '2026-03-14', 'pending', null),
    (pg_temp.dossier(42), gen_random_uuid(), 'done', '2026-03-01', 'completed', '2026-03-01 10:00+03'),
    (pg_temp.dossier(42), gen_random_uuid(), 'started, not swept yet', '2026-03-14', 'in_progress', null),
    (pg_temp.dossier(43), gen_random_uuid(), 'due today', '2026-03-15', 'pending', null),
    (pg_temp.dossier(43), gen_random_uuid(), 'due later', '2026-04-15', 'in_progress', null),
    (pg_temp.dossier(43), gen_random_uuid(), 'called off', '2026-03-01', 'cancelled', null),
    (pg_temp.dossier(44), gen_random_uuid(), 'done early', '2026-05-01', 'completed', '2026-03-10 10:00+03'),
    (pg_temp.dossier(44), gen_random_uuid(), 'missed', '2026-03-02', 'overdue', null),
    (pg_temp.dossier(45), gen_random_uuid(), 'done', '2026-03-01', 'completed', '2026-03-01 10:00+03'),
    (pg_temp.dossier(45), gen_random_uuid(), 'missed long ago', '2025-03-15', 'overdue', null),   -- 365 days: outside
    (pg_temp.dossier(46), gen_random_uuid(), 'done', '2026-03-01', 'completed', '2026-03-01 10:00+03'),
    (pg_temp.dossier(46), gen_random_uuid(), 'missed a year ago', '2025-03-16', 'overdue', null), -- 364 days: inside
    (pg_temp.dossier(47), gen_random_uuid(), 'missed', '2026-03-02', 'overdue', null);
select is((pg_temp.score(40)).commitment_fulfillment, 50.00, 'fulfilment: 1 completed, 1 overdue = 50');
select is((pg_temp.score(41)).commitment_fulfillment, 50.00, 'a pending commitment past its due date counts as missed before the sweep');
select is((pg_temp.score(42)).commitment_fulfillment, 50.00, 'so does an in_progress one');
select is((pg_temp.score(43)).commitment_fulfillment, 100.00,
    'nothing judged yet (due today, due later, cancelled): fulfilment 100');
select is((pg_temp.score(43)).commitments_fulfilled + (pg_temp.score(43)).commitments_missed, 0, 'and none of them counted');
select is((pg_temp.score(44)).commitment_fulfillment, 50.00, 'a commitment completed before its (future) due date counts as fulfilled');
select is((pg_temp.score(45)).commitment_fulfillment, 100.00, 'a commitment due 365 days ago is outside the window');
select is((pg_temp.score(46)).commitment_fulfillment, 50.00, 'one due 364 days ago is inside');
select is((pg_temp.score(47)).commitment_fulfillment, 0.00, 'only missed: fulfilment 0');
select is((pg_temp.score(47)).overall_score, 3::numeric, 'nothing kept, no engagement: round(0 + 0 + 3) = 3');

-- Rounding: components to 2 decimals, the overall from them, halves up.
insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.dossier(50), 'Half', gen_random_uuid()),
    (pg_temp.dossier(51), 'Just under a half', gen_random_uuid()),
    (pg_temp.dossier(52), 'Thirds', gen_random_uuid());
-- 50: 3 engagements 40-50 days ago (frequency 50, recency 70), 1 of 16 kept (6.25):
--     0.3*50 + 0.4*6.25 + 0.3*70 = 15 + 2.5 + 21 = 38.5 -> 39.
-- 51: 5 engagements in the last 30 days (83.33), 1 of 16 kept (6.25), recency 100:
--     24.999 + 2.5 + 30 = 57.499 -> 57 (the unrounded 83.333… would give 57.5 -> 58).
-- 52: 2 engagements in 30 days (33.33), 2 of 3 kept (66.67), recency 100:
--     9.999 + 26.668 + 30 = 66.667 -> 67.
insert into dossier.engagements (dossier_id, occurred_at, kind)
select pg_temp.dossier(50), (select as_of from t) - (40 + i) * interval '1 day', 'call' from generate_series(1, 3) i
union all
select pg_temp.dossier(51), (select as_of from t) - (i * 5) * interval '1 day', 'call' from generate_series(1, 5) i
union all
select pg_temp.dossier(52), (select as_of from t) - (i * 5) * interval '1 day', 'call' from generate_series(1, 2) i;
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at)
select pg_temp.dossier(d), gen_random_uuid(), 'c' || i, date '2026-03-01' - i,
       case when i <= k then 'completed' else 'overdue' end,
       case when i <= k then timestamptz '2026-02-20 10:00+03' end
from (values (50, 16, 1), (51, 16, 1), (52, 3, 2)) as v(d, n, k), generate_series(1, n) i;
select is((pg_temp.score(50)).overall_score, 39::numeric, 'rounding: 38.5 rounds half up to 39');
select is((pg_temp.score(50)).commitment_fulfillment, 6.25, 'fulfilment 1/16 = 6.25 exactly');
select is((pg_temp.score(51)).engagement_frequency, 83.33, 'components are kept to 2 decimals: 5/6 = 83.33');
select is((pg_temp.score(51)).overall_score, 57::numeric,
    'the overall is computed from the stored components: 24.999 + 2.5 + 30 = 57.499 -> 57');
select is((pg_temp.score(52)).overall_score, 67::numeric, 'rounding: 66.667 -> 67');
select is((pg_temp.score(52)).commitment_fulfillment, 66.67, 'fulfilment 2/3 = 66.67');

-- Stored, fresh, forced.
select is((dossier.calculate_health_score(pg_temp.dossier(30), true, (select as_of from t))).calculated_at,
    (select as_of from t), 'the score is stored as of as_of');
insert into dossier.engagements (dossier_id, occurred_at, kind)
select pg_temp.dossier(30), (select as_of from t) - interval '1 hour', 'call' from generate_series(1, 3);
select is(dossier.calculate_health_score(pg_temp.dossier(30), as_of => (select as_of from t) + interval '59 minutes'),
    (select h from dossier.health_scores h where h.dossier_id = pg_temp.dossier(30)),
    'within 60 minutes, the stored score comes back unchanged (not recalculated)');
select is((dossier.calculate_health_score(pg_temp.dossier(30), as_of => (select as_of from t) + interval '59 minutes')).engagement_frequency,
    50.00, 'even though three engagements were added since');
select is((dossier.calculate_health_score(pg_temp.dossier(30), true, (select as_of from t) + interval '59 minutes')).engagement_frequency,
    100.00, 'force recalculates a fresh score');
select is((dossier.calculate_health_score(pg_temp.dossier(30), false, (select as_of from t) + interval '119 minutes')).calculated_at,
    (select as_of from t) + interval '119 minutes', 'a score 60 minutes old is stale: recalculated without force');
select is((select previous_calculated_at from dossier.health_scores where dossier_id = pg_temp.dossier(30)),
    (select as_of from t) + interval '59 minutes', 'the replaced score is kept as the previous one');
select ok((select count(*) = 1 from dossier.health_scores where dossier_id = pg_temp.dossier(30)),
    'one row per dossier, however often it is calculated');

-- Errors.
select throws_ok($$select dossier.calculate_health_score('00000000-0000-0000-0000-00000000beef')$$,
    'NSD01', 'unknown dossier 00000000-0000-0000-0000-00000000beef', 'an unknown dossier raises NSD01 naming it');
select throws_ok($$select dossier.calculate_health_score(null)$$, '22004', null, 'a null dossier id is refused');
select throws_ok($$select dossier.calculate_health_score(pg_temp.dossier(1), null)$$, '22004', null, 'a null force is refused');

select * from finish();
rollback;
