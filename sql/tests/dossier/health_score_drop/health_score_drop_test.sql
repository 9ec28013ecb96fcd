-- A score that drops from 60 or more to below 60 notifies the dossier owner once, with the
-- new and previous score and the contributing factors; 60 -> 60+, <60 -> <60, a first score
-- below 60 and a drop to exactly 60 do not notify. Whichever way in recalculates.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(23);

truncate dossier.dossiers cascade;
create temporary table t (as_of) as select timestamptz '2026-03-15 12:00:00+03';
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.owner(p_n integer) returns uuid language sql
return ('00000000-0000-0000-00ff-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.inbox(p_n integer) returns bigint language sql
return (select count(*) from notify.notifications n where n.user_id = pg_temp.owner(p_n));
-- Commitments of dossier p_n: p_kept completed and p_missed overdue, all due before today.
create function pg_temp.promise(p_n integer, p_kept integer, p_missed integer) returns void language sql
begin atomic
    insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at)
    select pg_temp.id(p_n), pg_temp.owner(p_n), 'promise ' || i, date '2026-03-01' - i,
           case when i <= p_kept then 'completed' else 'overdue' end,
           case when i <= p_kept then timestamptz '2026-02-01 10:00+03' end
    from generate_series(1, p_kept + p_missed) i;
end;

-- Dossiers 1-5, each with its own owner, with 5 engagements in the last 30 days
-- (frequency 83.33, recency 100): overall = round(54.999 + 0.4 * fulfilment).
insert into dossier.dossiers (id, name, owner_id)
select pg_temp.id(n), 'Dossier ' || n, pg_temp.owner(n) from generate_series(1, 5) n;
insert into dossier.engagements (dossier_id, occurred_at, kind)
select pg_temp.id(n), (select as_of from t) - (i * 3) * interval '1 day', 'meeting'
from generate_series(1, 5) n, generate_series(1, 5) i;
select pg_temp.promise(1, 1, 0), pg_temp.promise(2, 1, 0), pg_temp.promise(3, 0, 1), pg_temp.promise(5, 1, 0);
-- Dossier 4 scores 100 at first: 6 engagements (frequency 100) and nothing promised.
insert into dossier.engagements (dossier_id, occurred_at, kind) values (pg_temp.id(4), (select as_of from t) - interval '1 day', 'call');
select is(dossier.recalculate_stale_scores(as_of => (select as_of from t) - interval '1 day'),
    '{"recalculated": 5, "notificationsSent": 0}'::jsonb, 'first scores never notify');
select results_eq(
    $$select overall_score from dossier.health_scores order by dossier_id$$,
    $$values (95::numeric), (95), (55), (100), (95)$$,
    'starting scores: 95, 95, 55 (below 60 from the start), 100, 95');

-- 1: 95 -> 65 (three more missed: 1 of 4 kept = 25): >= 60 to >= 60.
-- 2: 95 -> 59 (nine more missed: 1 of 10 = 10): a drop below 60.
-- 3: 55 -> 55: below 60 to below 60.
-- 4: 100 -> 60 (one missed, frequency 100): a drop to exactly 60, not below.
select pg_temp.promise(1, 0, 3), pg_temp.promise(2, 0, 9), pg_temp.promise(4, 0, 1);
select is(dossier.recalculate_stale_scores(as_of => (select as_of from t)),
    '{"recalculated": 5, "notificationsSent": 1}'::jsonb, 'the stale pass recalculates all five and sends one drop notification');
select results_eq(
    $$select overall_score, previous_overall_score from dossier.health_scores order by dossier_id$$,
    $$values (65::numeric, 95::numeric), (59, 95), (55, 55), (60, 100), (95, 95)$$,
    'new and previous scores as expected');
select is(pg_temp.inbox(1), 0::bigint, '95 -> 65 (still 60 or more) does not notify');
select is(pg_temp.inbox(3), 0::bigint, '55 -> 55 (below 60 before and after) does not notify');
select is(pg_temp.inbox(4), 0::bigint, '100 -> 60 (not below 60) does not notify');
select is(pg_temp.inbox(5), 0::bigint, '95 -> 95 does not notify');
select is(pg_temp.inbox(2), 1::bigint, '95 -> 59 notifies the dossier owner');

select is((select title from notify.notifications where user_id = pg_temp.owner(2)),
    'Relationship health score dropped for Dossier 2', 'the title names the dossier');
select matches((select message from notify.notifications where user_id = pg_temp.owner(2)),
    'from 95 to 59', 'the message gives the previous and the new score');
select matches((select message from notify.notifications where user_id = pg_temp.owner(2)),
    'engagement frequency 83\.33, commitment fulfilment 10, recency 100', 'and the contributing factors');
select is((select metadata - 'factors' - 'calculatedAt' - 'previousCalculatedAt' from notify.notifications where user_id = pg_temp.owner(2)),
    jsonb_build_object('type', 'dossier.health_score_dropped', 'dossierId', pg_temp.id(2), 'dossierName', 'Dossier 2',
                       'previousScore', 95, 'newScore', 59, 'threshold', 60),
    'the metadata carries the dossier, both scores and the threshold');
select is((select metadata -> 'factors' from notify.notifications where user_id = pg_temp.owner(2)),
    jsonb_build_object('engagementFrequency', 83.33, 'commitmentFulfillment', 10, 'recencyScore', 100,
                       'engagementsLast90Days', 5,
                       'lastEngagementAt', (select max(occurred_at) from dossier.engagements where dossier_id = pg_temp.id(2)),
                       'commitmentsFulfilled', 1, 'commitmentsMissed', 9),
    'and the factors: the three components and their inputs');
select is((select (metadata ->> 'previousCalculatedAt')::timestamptz from notify.notifications where user_id = pg_temp.owner(2)),
    (select as_of from t) - interval '1 day', 'and when the previous score was calculated');

-- The same drop is not notified twice.
select is(dossier.recalculate_stale_scores('0 seconds', (select as_of from t) + interval '2 hours') -> 'notificationsSent', '0'::jsonb,
    'recalculating 59 -> 59 again sends nothing');
update dossier.health_scores
set overall_score = 95, calculated_at = (select as_of from t) - interval '1 day'
where dossier_id = pg_temp.id(2);
select is((dossier.calculate_health_score(pg_temp.id(2), true, (select as_of from t) + interval '3 hours')).overall_score, 59::numeric,
    'replaying the very same drop (same previous score, same time) recalculates');
select is(pg_temp.inbox(2), 1::bigint, 'but its dedupe key (dossier and previous calculated_at) stops a second notification');

-- A new drop later is a new event: 59 -> 95 -> 59 notifies again.
delete from dossier.commitments where dossier_id = pg_temp.id(2) and status = 'overdue';
select is((dossier.calculate_health_score(pg_temp.id(2), true, (select as_of from t) + interval '4 hours')).overall_score, 95::numeric,
    'kept promises bring the score back up to 95, without a notification');
select pg_temp.promise(2, 0, 9);
select is((dossier.calculate_health_score(pg_temp.id(2), true, (select as_of from t) + interval '5 hours')).overall_score, 59::numeric,
    'calculate_health_score sees the second drop');
select is(pg_temp.inbox(2), 2::bigint, 'and notifies it: a second drop is a second notification');

-- recalculate_health_scores reports its drops too.
select pg_temp.promise(5, 0, 9);
select is(dossier.recalculate_health_scores(array[pg_temp.id(5)], (select as_of from t) + interval '5 hours'),
    '{"recalculated": 1, "notificationsSent": 1}'::jsonb, 'recalculate_health_scores counts the drop notifications it sent');
select is(pg_temp.inbox(5), 1::bigint, 'and the owner of dossier 5 has it');

select * from finish();
rollback;
