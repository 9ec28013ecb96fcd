-- detect_overdue_commitments: pending and in_progress past their due day become overdue;
-- completed, cancelled, overdue and not-yet-due ones are untouched; the commitment owner and
-- the dossier owner are notified once each (one notification for someone who is both); a
-- second run sends nothing; the affected dossiers' scores are recalculated (a drop below 60
-- notifies); dry run changes nothing and reports the same; the daily cap's suppressions are
-- counted.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(36);

truncate dossier.dossiers cascade;
-- 00:30 on 2026-03-15 in Riyadh is still the 14th in UTC: "today" is the 15th.
create temporary table t (as_of) as select timestamptz '2026-03-14 21:30:00+00';
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.user_id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-00aa-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.status(p_n integer) returns text language sql
return (select c.status from dossier.commitments c where c.id = pg_temp.id(p_n));
create function pg_temp.inbox(p_n integer) returns bigint language sql
return (select count(*) from notify.notifications n where n.user_id = pg_temp.user_id(p_n));

-- Dossier 1, owned by user 1: one engagement 10 days ago, one completed commitment.
-- Dossier 2, owned by user 3: one commitment overdue already, one of its owner due tomorrow.
insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.id(1), 'Kenya — Water Security', pg_temp.user_id(1)),
    (pg_temp.id(2), 'Chile — Tourism Board', pg_temp.user_id(3));
insert into dossier.engagements (dossier_id, occurred_at, kind) values (pg_temp.id(1), (select as_of from t) - interval '10 days', 'visit');
insert into dossier.commitments (id, dossier_id, owner_id, description, due_date, status, completed_at, overdue_at) values
    (pg_temp.id(101), pg_temp.id(1), pg_temp.user_id(2), 'Send the visit agenda', '2026-03-14', 'pending', null, null),
    (pg_temp.id(102), pg_temp.id(1), pg_temp.user_id(1), 'Confirm the delegation list', '2026-03-14', 'in_progress', null, null),
    (pg_temp.id(103), pg_temp.id(1), pg_temp.user_id(2), 'Share the trade figures', '2026-03-10', 'completed', '2026-03-09 10:00+03', null),
    (pg_temp.id(104), pg_temp.id(1), pg_temp.user_id(2), 'Draft the joint statement', '2026-03-10', 'cancelled', null, null),
    (pg_temp.id(105), pg_temp.id(2), pg_temp.user_id(2), 'Review the proposal', '2026-03-05', 'overdue', null, '2026-03-06 02:00+03'),
    (pg_temp.id(106), pg_temp.id(1), pg_temp.user_id(2), 'Prepare the minutes', '2026-03-15', 'pending', null, null),
    (pg_temp.id(107), pg_temp.id(1), pg_temp.user_id(2), 'Schedule the forum', '2026-03-20', 'in_progress', null, null),
    (pg_temp.id(201), pg_temp.id(2), pg_temp.user_id(3), 'Follow up on the funding request', '2026-03-16', 'pending', null, null);
-- Dossier 1 as of two days ago: 1 engagement (16.67), 1 of 1 kept (100), recency 100 = 75.
select is((dossier.calculate_health_score(pg_temp.id(1), true, (select as_of from t) - interval '2 days')).overall_score, 75::numeric,
    'dossier 1 scored 75 two days ago');

-- Dry run.
select is(dossier.detect_overdue_commitments(true, (select as_of from t)),
    '{"overdueCount": 2, "notificationsSent": 3, "healthScoresRecalculated": 1, "notificationsSuppressed": 0,
      "scoreDropNotificationsSent": 1, "dryRun": true}'::jsonb,
    'dry run: 2 commitments would become overdue, 3 notifications, 1 dossier recalculated, its drop notified');
select results_eq($$select status from dossier.commitments order by id$$,
    $$values ('pending'), ('in_progress'), ('completed'), ('cancelled'), ('overdue'), ('pending'), ('in_progress'), ('pending')$$,
    'dry run changes no status');
select is((select count(*) from notify.notifications where user_id in (pg_temp.user_id(1), pg_temp.user_id(2), pg_temp.user_id(3))),
    0::bigint, 'dry run sends no notification');
select is((select calculated_at from dossier.health_scores where dossier_id = pg_temp.id(1)), (select as_of from t) - interval '2 days',
    'dry run recalculates no score');
select is(dossier.detect_overdue_commitments(dry_run => true, as_of => (select as_of from t)) ->> 'overdueCount', '2',
    'and a second dry run reports the same');

-- The run.
select is(dossier.detect_overdue_commitments(false, (select as_of from t)),
    '{"overdueCount": 2, "notificationsSent": 3, "healthScoresRecalculated": 1, "notificationsSuppressed": 0,
      "scoreDropNotificationsSent": 1, "dryRun": false}'::jsonb,
    'the run does what the dry run said');
select is(pg_temp.status(101), 'overdue', 'pending and due yesterday (local day) becomes overdue');
select is(pg_temp.status(102), 'overdue', 'in_progress and past due becomes overdue');
select is(pg_temp.status(103), 'completed', 'completed stays completed');
select is(pg_temp.status(104), 'cancelled', 'cancelled stays cancelled');
select is(pg_temp.status(105), 'overdue', 'overdue stays overdue');
select is((select overdue_at from dossier.commitments where id = pg_temp.id(105)), '2026-03-06 02:00+03'::timestamptz,
    'and keeps the time it was marked');
select is(pg_temp.status(106), 'pending', 'due today is not overdue yet');
select is(pg_temp.status(107), 'in_progress', 'due later is not overdue');
select is(pg_temp.status(201), 'pending', 'nor is a commitment due tomorrow');
select is((select overdue_at from dossier.commitments where id = pg_temp.id(101)), (select as_of from t),
    'a commitment marked overdue records when');

select is(pg_temp.inbox(2), 1::bigint, 'the owner of commitment 101 gets one notification');
select is((select metadata ->> 'roles' from notify.notifications where user_id = pg_temp.user_id(2)), '["commitment_owner"]',
    'as its owner');
select is((select title from notify.notifications where user_id = pg_temp.user_id(2)), 'Commitment overdue in Kenya — Water Security',
    'titled with the dossier');
select is((select message from notify.notifications where user_id = pg_temp.user_id(2)),
    'Your commitment "Send the visit agenda" in dossier Kenya — Water Security was due on 2026-03-14 and is now overdue. '
    'Recommended: Update status or extend deadline.',
    'saying what was due when, and what to do');
select is((select count(*) from notify.notifications where user_id = pg_temp.user_id(1) and dedupe_key like 'dossier.commitment-overdue:%'),
    2::bigint, 'the dossier owner gets one per overdue commitment: 101 as dossier owner, 102 as both');
select is((select metadata -> 'roles' from notify.notifications
           where user_id = pg_temp.user_id(1) and metadata ->> 'commitmentId' = pg_temp.id(102)::text),
    '["commitment_owner", "dossier_owner"]'::jsonb, 'someone who is both owners is notified once, in both roles');
select is((select metadata - 'markedOverdueAt' from notify.notifications
           where user_id = pg_temp.user_id(1) and metadata ->> 'commitmentId' = pg_temp.id(101)::text),
    jsonb_build_object('type', 'dossier.commitment_overdue', 'commitmentId', pg_temp.id(101), 'dossierId', pg_temp.id(1),
                       'dossierName', 'Kenya — Water Security', 'description', 'Send the visit agenda', 'dueDate', '2026-03-14',
                       'commitmentOwnerId', pg_temp.user_id(2), 'dossierOwnerId', pg_temp.user_id(1), 'roles', array['dossier_owner'],
                       'recommendation', 'Recommended: Update status or extend deadline.'),
    'the metadata names the commitment, the dossier, both owners and the role');
select is(pg_temp.inbox(3), 0::bigint, 'the owner of a dossier with nothing overdue hears nothing');

-- The affected dossier was recalculated, and its drop notified.
select is((select calculated_at from dossier.health_scores where dossier_id = pg_temp.id(1)), (select as_of from t),
    'the affected dossier''s score is recalculated as of the run');
select is((select overall_score from dossier.health_scores where dossier_id = pg_temp.id(1)), 48::numeric,
    'to round(0.3 * 16.67 + 0.4 * 33.33 + 0.3 * 100) = 48: 1 of 3 kept');
select is((select count(*) from notify.notifications where user_id = pg_temp.user_id(1) and dedupe_key like 'dossier.health-drop:%'),
    1::bigint, 'the drop from 75 below 60 notified the dossier owner');
select is((select count(*) from dossier.health_scores where dossier_id = pg_temp.id(2)), 0::bigint,
    'a dossier without overdue commitments is not recalculated');

-- A second run finds nothing and sends nothing.
select is(dossier.detect_overdue_commitments(false, (select as_of from t) + interval '1 hour'),
    '{"overdueCount": 0, "notificationsSent": 0, "healthScoresRecalculated": 0, "notificationsSuppressed": 0,
      "scoreDropNotificationsSent": 0, "dryRun": false}'::jsonb,
    'a second run finds nothing to do');
select is((select count(*) from notify.notifications where user_id in (pg_temp.user_id(1), pg_temp.user_id(2))), 4::bigint,
    'and sends no second notification');

-- Reopened and overdue again: the same commitment is never notified twice.
update dossier.commitments set status = 'pending', overdue_at = null where id = pg_temp.id(101);
select is(dossier.detect_overdue_commitments(false, (select as_of from t) + interval '2 hours') -> 'overdueCount', '1'::jsonb,
    'a reopened commitment past due is marked overdue again');
select is(dossier.detect_overdue_commitments(true, (select as_of from t) + interval '2 hours') -> 'notificationsSent', '0'::jsonb,
    '(a dry run already knows there is nothing to send)');
select is((select count(*) from notify.notifications where user_id in (pg_temp.user_id(1), pg_temp.user_id(2))), 4::bigint,
    'but nobody is notified about it a second time');

-- The daily cap: what it holds back is counted.
update notify.settings set daily_cap_per_user = 1;
insert into dossier.commitments (id, dossier_id, owner_id, description, due_date, status) values
    (pg_temp.id(202), pg_temp.id(2), pg_temp.user_id(3), 'Draft the memorandum', '2026-03-13', 'pending'),
    (pg_temp.id(203), pg_temp.id(2), pg_temp.user_id(3), 'Send the minutes', '2026-03-12', 'in_progress');
select is(dossier.detect_overdue_commitments(false, (select as_of from t) + interval '3 hours') - 'scoreDropNotificationsSent',
    '{"overdueCount": 2, "notificationsSent": 1, "healthScoresRecalculated": 1, "notificationsSuppressed": 1, "dryRun": false}'::jsonb,
    'with a cap of 1 a day, one of user 3''s two notifications is sent and one suppressed, and both are counted');

select throws_ok($$select dossier.detect_overdue_commitments(null)$$, '22004', null, 'a null dry_run is refused');

select * from finish();
rollback;
