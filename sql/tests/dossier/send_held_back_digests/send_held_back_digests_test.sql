-- dossier.send_held_back_digests (issue 15 §6, §7), end to end through the overdue sweep: the
-- cap of 10 counts the user's day in Riyadh; what it holds back arrives the next day in ONE
-- digest per user ("N more overdue commitments", the items in metadata), outside that day's
-- cap, once (a second sweep that day sends nothing); other callers' held-back rows are left.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

truncate dossier.dossiers cascade;
select notify.configure(10, '{}');
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.user_id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-00ab-' || lpad(p_n::text, 12, '0'))::uuid;

-- User 1 owns a dossier with 13 commitments past due, user 2 one with 1: 14 overdue notices,
-- 13 for user 1 (owner of both roles: one notice each), of which the cap lets 10 through.
insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.id(1), 'Kenya — Water Security', pg_temp.user_id(1)), (pg_temp.id(2), 'Chile — Tourism Board', pg_temp.user_id(2));
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
select pg_temp.id(1), pg_temp.user_id(1), 'Commitment ' || i, date '2020-01-01' + i, 'pending' from generate_series(1, 13) i;
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
values (pg_temp.id(2), pg_temp.user_id(2), 'Send the agenda', date '2020-01-01', 'pending');

select is(dossier.detect_overdue_commitments() -> 'notificationsSuppressed', '3'::jsonb, 'the cap held 3 of user 1''s back');
select results_eq($$select time_zone, day, count(*)::integer from notify.suppressed where user_id = pg_temp.user_id(1) group by 1, 2$$,
    $$values ('Asia/Riyadh', notify.cap_day('Asia/Riyadh'), 3)$$,
    'counted against the Riyadh day (the pack''s zone), not the UTC day');
select is(notify.cap_day('Asia/Riyadh', '2026-03-14 21:30:00+00'), date '2026-03-15', '(21:30 UTC is the next day in Riyadh)');

-- Not yet: the day has not ended in Riyadh.
select is(dossier.send_held_back_digests() -> 'digestsSent', '0'::jsonb, 'the same day: no digest yet');

-- The next day in Riyadh.
create temporary table r as select dossier.send_held_back_digests(now() + interval '1 day') as result;
select is((select result - 'day' from r), '{"digestsSent": 1, "notificationsCarried": 3, "timeZone": "Asia/Riyadh"}'::jsonb,
    'the next day: one digest carrying the three');
select is((select result ->> 'day' from r), (notify.cap_day('Asia/Riyadh') + 1)::text, 'on the next Riyadh day');
create temporary table digest as
    select n.* from notify.notifications n where n.user_id = pg_temp.user_id(1) and n.metadata ->> 'type' = 'dossier.held_back_digest';
select is((select count(*)::integer from digest), 1, 'user 1 has one digest');
select is((select title from digest), '3 more overdue commitments', 'titled with the count');
select ok((select message ~ '^The daily limit of notifications held these back on \d{4}-\d\d-\d\d: Commitment overdue in Kenya' from digest),
    'its message says when and lists them');
select is((select (metadata -> 'digest')::boolean and (metadata ->> 'heldBack')::integer = 3 and (metadata ->> 'overdueCount')::integer = 3
                  and jsonb_array_length(metadata -> 'items') = 3 from digest), true,
    'metadata: digest flag, heldBack 3, overdueCount 3, the three items');
select is((select array(select i -> 'metadata' ->> 'type' from jsonb_array_elements(metadata -> 'items') i) from digest),
    array['dossier.commitment_overdue', 'dossier.commitment_overdue', 'dossier.commitment_overdue'],
    'each item is a held-back overdue notice with its own metadata');
select is((select dedupe_key from digest), format('dossier.held-back-digest:%s:%s', pg_temp.user_id(1), notify.cap_day('Asia/Riyadh') + 1),
    'its dedupe key is per user and day');
select is((select count(*)::integer from notify.suppressed where user_id = pg_temp.user_id(1) and digest_id = (select id from digest)), 3,
    'the three rows are marked carried by it');
select is((select coalesce(sum(sent), 0)::integer from notify.daily_counts where user_id = pg_temp.user_id(1) and day > notify.cap_day('Asia/Riyadh')), 0,
    'the digest counts against no day''s cap');

-- Twice in a row, and a later day: nothing more.
select is(dossier.send_held_back_digests(now() + interval '1 day') -> 'digestsSent', '0'::jsonb, 'a second sweep that day sends nothing');
select is(dossier.send_held_back_digests(now() + interval '2 days') -> 'digestsSent', '0'::jsonb, 'and nor does the next day''s');

select * from finish();
rollback;
