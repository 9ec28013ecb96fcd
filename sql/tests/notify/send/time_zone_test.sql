-- notify.send counts the cap per day in a time zone (issue 15 §6): the caller's time_zone, else
-- notify.settings.cap_time_zone. Pacific/Kiritimati (UTC+14) and Pacific/Pago_Pago (UTC-11)
-- are 25 hours apart, so at any moment they are on different calendar days: a user whose cap
-- is used up on the Kiritimati day still gets a notification counted on the Pago Pago day.
-- What the cap holds back records its day and zone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(11);

select notify.configure(2, '{}');
create temporary table t_user (id) as select '00000000-0000-4000-8000-0000000c0001'::uuid;
create function pg_temp.send(p_zone text) returns text language sql
return (select outcome from notify.send((select id from t_user), 'T', 'M', '{}', null, p_zone));

select is(array[pg_temp.send('Pacific/Kiritimati'), pg_temp.send('Pacific/Kiritimati'), pg_temp.send('Pacific/Kiritimati')],
    array['sent', 'sent', 'suppressed'], 'the cap of 2 on the Kiritimati day: the third is suppressed');
select is(pg_temp.send('Pacific/Pago_Pago'), 'sent', 'on the Pago Pago day (another date) the user still has places');
select set_eq($$select day, sent, suppressed from notify.daily_counts where user_id = (select id from t_user)$$,
    $$values (notify.cap_day('Pacific/Kiritimati'), 2, 1), (notify.cap_day('Pacific/Pago_Pago'), 1, 0)$$,
    'the ledger has one row per day, each the calendar day in the zone it was counted in');
select results_eq($$select day, time_zone, digest_id from notify.suppressed where user_id = (select id from t_user)$$,
    $$values (notify.cap_day('Pacific/Kiritimati'), 'Pacific/Kiritimati', null::uuid)$$,
    'the held-back row records its day and zone, and waits for a digest');

-- Without a zone: the default, as configured.
select notify.configure(2, '{}', 'Pacific/Kiritimati');
select is(pg_temp.send(null), 'suppressed', 'the default zone Kiritimati: that day''s cap is used up');
select notify.configure(2, '{}', 'Pacific/Pago_Pago');
select is(pg_temp.send(null), 'sent', 'the default zone Pago Pago: one place left that day');
select is(pg_temp.send(null), 'suppressed', 'and then none');
select is((select time_zone from notify.suppressed where user_id = (select id from t_user) order by id desc limit 1),
    'Pacific/Pago_Pago', 'the default zone is recorded with what it held back');

-- The UTC day is not the Riyadh day at 21:30 UTC: shown with cap_day, which send uses.
select is(notify.cap_day('Asia/Riyadh', '2026-03-14 21:30:00+00') - notify.cap_day('UTC', '2026-03-14 21:30:00+00'), 1,
    '21:30 UTC counts on the next day in Riyadh');

select throws_ok($$select notify.send('00000000-0000-4000-8000-0000000c0001', 'T', 'M', '{}', null, 'Nowhere/Land')$$, '22023', null,
    'an unknown zone is refused');
select is((select count(*)::integer from notify.notifications where user_id = (select id from t_user)), 4,
    'four sent in all (two on the Kiritimati day, two on the Pago Pago day)');

select * from finish();
rollback;
