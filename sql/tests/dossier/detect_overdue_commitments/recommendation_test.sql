-- The overdue notification carries the product's recommendation, word for word (issue 15 §8):
-- "Recommended: Update status or extend deadline." ends the message of each recipient (the
-- commitment's owner, the dossier's owner, someone who is both) and is in the metadata.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

truncate dossier.dossiers cascade;
create temporary table t (as_of) as select timestamptz '2026-03-14 21:30:00+00';
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.user_id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-00aa-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.message(p_user integer, p_commitment integer) returns text language sql
return (select n.message from notify.notifications n
        where n.user_id = pg_temp.user_id(p_user) and n.metadata ->> 'commitmentId' = pg_temp.id(p_commitment)::text);

-- Dossier 1 is user 1's: commitment 101 is user 2's (two recipients), 102 user 1's own (one, both roles).
insert into dossier.dossiers (id, name, owner_id) values (pg_temp.id(1), 'Kenya — Water Security', pg_temp.user_id(1));
insert into dossier.commitments (id, dossier_id, owner_id, description, due_date, status) values
    (pg_temp.id(101), pg_temp.id(1), pg_temp.user_id(2), 'Send the visit agenda', '2026-03-14', 'pending'),
    (pg_temp.id(102), pg_temp.id(1), pg_temp.user_id(1), 'Confirm the delegation list', '2026-03-13', 'in_progress');

select is(dossier.detect_overdue_commitments(false, (select as_of from t)) -> 'notificationsSent', '3'::jsonb,
    'two overdue commitments notify three times');
select is(pg_temp.message(2, 101),
    'Your commitment "Send the visit agenda" in dossier Kenya — Water Security was due on 2026-03-14 and is now overdue. '
    'Recommended: Update status or extend deadline.',
    'the commitment''s owner is told what to do: the product''s sentence ends the message');
select is(pg_temp.message(1, 101),
    'A commitment in your dossier Kenya — Water Security is overdue: "Send the visit agenda" was due on 2026-03-14. '
    'Recommended: Update status or extend deadline.',
    'so is the dossier''s owner');
select is(pg_temp.message(1, 102),
    'Your commitment "Confirm the delegation list" in your dossier Kenya — Water Security was due on 2026-03-13 and is now overdue. '
    'Recommended: Update status or extend deadline.',
    'and someone who owns both, in their one notification');
select is((select count(*) from notify.notifications n
           where n.dedupe_key like 'dossier.commitment-overdue:%'
             and n.message like '%Recommended: Update status or extend deadline.'),
    3::bigint, 'every overdue notification ends with it');
select is((select count(distinct n.metadata ->> 'recommendation') from notify.notifications n
           where n.dedupe_key like 'dossier.commitment-overdue:%'
             and n.metadata ->> 'recommendation' = 'Recommended: Update status or extend deadline.'),
    1::bigint, 'and carries it in metadata.recommendation, for a client that shows it apart');
select is((select count(*) from notify.notifications n
           where n.dedupe_key like 'dossier.commitment-overdue:%' and n.metadata ? 'recommendation'),
    3::bigint, 'on all three');

select * from finish();
rollback;
