-- The cap's day is the user's day (issue 15 §6): notify.cap_day is the calendar day in a zone
-- (21:30 UTC is already tomorrow in Riyadh, UTC+3), the default zone is the one
-- notify.configure wrote from [notifications] cap_timezone, and a name that is not an IANA
-- zone is refused naming the key.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

select is(notify.cap_day('Asia/Riyadh', '2026-03-14 21:30:00+00'), date '2026-03-15',
    '21:30 UTC on the 14th is the 15th in Riyadh');
select is(notify.cap_day('UTC', '2026-03-14 21:30:00+00'), date '2026-03-14', 'and still the 14th in UTC');
select is(notify.cap_day('Asia/Riyadh', '2026-03-14 20:59:59+00'), date '2026-03-14',
    '20:59:59 UTC is the 14th in Riyadh (the day turns at 21:00 UTC)');

select is((select cap_time_zone from notify.settings), 'UTC', 'the default zone is UTC until configured');
select is(notify.cap_day(null, '2026-03-14 21:30:00+00'), date '2026-03-14', 'so the default day is the UTC day');

select lives_ok($$select notify.configure(10, '{}', 'Asia/Riyadh')$$, 'configure takes cap_time_zone');
select is((select cap_time_zone from notify.settings), 'Asia/Riyadh', 'and writes it');
select is(notify.cap_day(null, '2026-03-14 21:30:00+00'), date '2026-03-15', 'the default day is now the Riyadh day');
select throws_ok($$select notify.configure(10, '{}', 'Mars/Olympus_Mons')$$, '22023',
    'notify.configure: cap_time_zone ([notifications] cap_timezone) "Mars/Olympus_Mons" is not an IANA time zone name (such as UTC or Asia/Riyadh)',
    'an unknown zone is refused, naming the key');
select throws_ok($$select notify.configure(10, '{}', 'EST5EDT+1')$$, '22023', null,
    'a POSIX string is refused too (not a zone name)');

select * from finish();
rollback;
