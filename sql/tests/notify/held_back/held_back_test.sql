-- notify.held_back (issue 15 §7): per user, the suppressed rows of days that have ended in the
-- zone each was counted in, not yet carried by a digest, of the types asked for; today's rows
-- wait; the items, days and counts per type are listed; the rows are locked FOR UPDATE.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

create function pg_temp.u(p_n integer) returns uuid language sql
return ('00000000-0000-4000-8000-0000000e' || lpad(p_n::text, 4, '0'))::uuid;
-- Held back on the 14th (Riyadh) for user 1 (two overdue, one drop) and user 2 (one overdue),
-- on the 15th for user 1 (today, as of 2026-03-15 09:00 Riyadh), and one other caller's.
insert into notify.suppressed (user_id, title, message, metadata, day, time_zone, suppressed_at) values
    (pg_temp.u(1), 'Overdue A', 'm', '{"type": "dossier.commitment_overdue"}', '2026-03-14', 'Asia/Riyadh', '2026-03-14 08:00+00'),
    (pg_temp.u(1), 'Overdue B', 'm', '{"type": "dossier.commitment_overdue"}', '2026-03-14', 'Asia/Riyadh', '2026-03-14 08:01+00'),
    (pg_temp.u(1), 'Drop C', 'm', '{"type": "dossier.health_score_dropped"}', '2026-03-14', 'Asia/Riyadh', '2026-03-14 08:02+00'),
    (pg_temp.u(2), 'Overdue D', 'm', '{"type": "dossier.commitment_overdue"}', '2026-03-14', 'Asia/Riyadh', '2026-03-14 08:03+00'),
    (pg_temp.u(1), 'Overdue E', 'm', '{"type": "dossier.commitment_overdue"}', '2026-03-15', 'Asia/Riyadh', '2026-03-14 22:00+00'),
    (pg_temp.u(1), 'Invoice F', 'm', '{"type": "billing.invoice"}', '2026-03-14', 'Asia/Riyadh', '2026-03-14 08:04+00');
create temporary table h as
    select * from notify.held_back('2026-03-15 06:00+00', 'dossier.') where user_id in (pg_temp.u(1), pg_temp.u(2));

select results_eq($$select user_id, held_back, days from h order by user_id$$,
    $$values (pg_temp.u(1), 3, array[date '2026-03-14']), (pg_temp.u(2), 1, array[date '2026-03-14'])$$,
    'one row per user: the 14th''s rows of the dossier types, not today''s (the 15th), not billing''s');
select is((select type_counts from h where user_id = pg_temp.u(1)),
    '{"dossier.commitment_overdue": 2, "dossier.health_score_dropped": 1}'::jsonb, 'counted per type');
select is((select array(select i ->> 'title' from jsonb_array_elements(items) i) from h where user_id = pg_temp.u(1)),
    array['Overdue A', 'Overdue B', 'Drop C'], 'the items in the order they were held back');
select ok((select items -> 0 ?& array['title', 'message', 'metadata', 'day', 'heldBackAt'] from h where user_id = pg_temp.u(1)),
    'each item has its title, message, metadata, day and time');
select is((select held_back from notify.held_back('2026-03-14 20:59+00', 'dossier.') where user_id = pg_temp.u(1)), null,
    'at 20:59 UTC on the 14th (23:59 in Riyadh) the 14th has not ended: nothing yet');
select is((select held_back from notify.held_back('2026-03-14 21:00+00', 'dossier.') where user_id = pg_temp.u(1)), 3,
    'at 21:00 UTC (midnight in Riyadh) it has, though it is still the 14th in UTC');
select is((select held_back from notify.held_back('2026-03-15 06:00+00', '') where user_id = pg_temp.u(1)), 4,
    'an empty prefix takes every type');
select is((select held_back from notify.held_back('2026-03-16 06:00+00', 'dossier.') where user_id = pg_temp.u(1)), 4,
    'a day later the 15th''s row joins (days 14 and 15)');
select throws_ok($$select * from notify.held_back(null, 'x')$$, '22004', null, 'as_of must not be null');

select * from finish();
rollback;
