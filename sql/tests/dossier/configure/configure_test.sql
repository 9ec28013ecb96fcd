-- dossier.configure (issue 15 §6): `[dossier] timezone` into dossier.settings.time_zone, an
-- IANA name or an error naming the key; the overdue sweep then counts the cap in that zone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(6);

select is((select time_zone from dossier.settings), 'Asia/Riyadh', 'the default is Asia/Riyadh');
select lives_ok($$select dossier.configure('Europe/Paris')$$, 'an IANA name is taken');
select is((select time_zone from dossier.settings), 'Europe/Paris', 'and written');
select throws_ok($$select dossier.configure('Riyadh')$$, '22023',
    '[dossier] timezone: "Riyadh" is not an IANA time zone name (such as Asia/Riyadh)', 'another is refused, naming the key');
select throws_ok($$select dossier.configure(null)$$, '22023', null, 'and so is null');

-- A zone whose calendar day differs from UTC's now (one of these two always does): the
-- overdue notice is counted on that zone's day, where the user's cap (1) is still free,
-- although the user's UTC day is full.
truncate dossier.dossiers cascade;
select notify.configure(1, '{}');
create temporary table z as
    select case when notify.cap_day('Pacific/Kiritimati') <> notify.cap_day('UTC') then 'Pacific/Kiritimati' else 'Pacific/Pago_Pago' end as zone;
select dossier.configure((select zone from z));
insert into notify.daily_counts (user_id, day, sent) values ('00000000-0000-0000-00ac-000000000001', notify.cap_day('UTC'), 1);
insert into dossier.dossiers (id, name, owner_id) values ('00000000-0000-0000-0000-000000000001', 'D', '00000000-0000-0000-00ac-000000000001');
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
values ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-00ac-000000000001', 'C', '2020-01-01', 'pending');
select is(dossier.detect_overdue_commitments() -> 'notificationsSent', '1'::jsonb,
    'the sweep counts the pack''s day: sent, though the UTC day''s cap is used up');

select * from finish();
rollback;
