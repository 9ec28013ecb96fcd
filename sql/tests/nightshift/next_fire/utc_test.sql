-- next_fire in UTC: every field form, the Vixie day rule, rollovers and the macros.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(36);

-- Field forms
select is(nightshift.next_fire('* * * * *', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-01 00:01:00Z',
    'every minute fires at the next whole minute');
select is(nightshift.next_fire('* * * * *', 'UTC', '2026-01-01 00:00:30Z'), '2026-01-01 00:01:00Z',
    'a time between minutes fires at the next whole minute');
select is(nightshift.next_fire('5 * * * *', 'UTC', '2026-01-01 00:05:00Z'), '2026-01-01 01:05:00Z',
    'the result is strictly after the given instant, even when that instant is a slot');
select is(nightshift.next_fire('*/15 * * * *', 'UTC', '2026-01-01 00:07:00Z'), '2026-01-01 00:15:00Z',
    'a minute step fires on multiples of the step');
select is(nightshift.next_fire('0 6,18 * * *', 'UTC', '2026-01-01 07:00:00Z'), '2026-01-01 18:00:00Z',
    'an hour list fires at the next listed hour');
select is(nightshift.next_fire('0 9-17 * * *', 'UTC', '2026-01-01 17:30:00Z'), '2026-01-02 09:00:00Z',
    'past the end of an hour range it rolls over to the first hour of the next day');
select is(nightshift.next_fire('0 8-18/5 * * *', 'UTC', '2026-01-01 13:01:00Z'), '2026-01-01 18:00:00Z',
    'a stepped range counts from its start (8, 13, 18)');
select is(nightshift.next_fire('0 */6 * * *', 'UTC', '2026-01-01 13:00:00Z'), '2026-01-01 18:00:00Z',
    'an hour step fires every sixth hour from midnight');
select is(nightshift.next_fire('0 0 1 jun *', 'UTC', '2026-01-01 00:00:00Z'), '2026-06-01 00:00:00Z',
    'a month name selects that month');
select is(nightshift.next_fire('0 0 1 JAN-Mar *', 'UTC', '2026-01-01 00:00:00Z'), '2026-02-01 00:00:00Z',
    'month names are case-insensitive and form ranges');
select is(nightshift.next_fire('0 12 * * mon-fri', 'UTC', '2026-01-02 13:00:00Z'), '2026-01-05 12:00:00Z',
    'a weekday range skips the weekend (Friday afternoon to Monday noon)');
select is(nightshift.next_fire('0 0 * * 7', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-04 00:00:00Z',
    'day-of-week 7 is Sunday');
select is(nightshift.next_fire('0 0 * * 0', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-04 00:00:00Z',
    'day-of-week 0 is Sunday too');
select is(nightshift.next_fire('0 0 * * SUN', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-04 00:00:00Z',
    'weekday names are case-insensitive');
select is(nightshift.next_fire('0 0 * * 5-7', 'UTC', '2026-01-05 00:00:00Z'), '2026-01-09 00:00:00Z',
    'a weekday range ending in 7 covers Friday to Sunday');

-- The day rule (Vixie cron)
select is(nightshift.next_fire('0 0 13 * fri', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-02 00:00:00Z',
    'with both day fields restricted, a matching weekday fires (Friday the 2nd)');
select is(nightshift.next_fire('0 0 13 * fri', 'UTC', '2026-01-09 00:00:00Z'), '2026-01-13 00:00:00Z',
    'with both day fields restricted, a matching day of the month fires (Tuesday the 13th)');
select is(nightshift.next_fire('0 0 13 * *', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-13 00:00:00Z',
    'with day-of-week *, only the day of the month decides');
select is(nightshift.next_fire('0 0 * * fri', 'UTC', '2026-01-03 00:00:00Z'), '2026-01-09 00:00:00Z',
    'with day-of-month *, only the weekday decides');
select is(nightshift.next_fire('0 0 */2 * mon', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-05 00:00:00Z',
    'a day-of-month field starting with * is ANDed with the weekday (odd days that are Mondays)');

-- Rollovers
select is(nightshift.next_fire('0 0 31 * *', 'UTC', '2026-01-31 00:00:00Z'), '2026-03-31 00:00:00Z',
    'the 31st skips months that do not have one');
select is(nightshift.next_fire('59 23 * * *', 'UTC', '2026-12-31 23:59:00Z'), '2027-01-01 23:59:00Z',
    'the last minute of the year rolls over into the next year');
select is(nightshift.next_fire('0 0 1 1 *', 'UTC', '2026-06-15 00:00:00Z'), '2027-01-01 00:00:00Z',
    'a yearly expression waits for the next first of January');
select is(nightshift.next_fire('0 0 29 2 *', 'UTC', '2026-01-01 00:00:00Z'), '2028-02-29 00:00:00Z',
    'February 29 fires only in a leap year');
select is(nightshift.next_fire('0 0 29 2 *', 'UTC', '2028-02-29 00:00:00Z'), '2032-02-29 00:00:00Z',
    'after one February 29 the next is four years later');
select is(nightshift.next_fire('30 12 28-31 2 *', 'UTC', '2026-02-28 12:30:00Z'), '2027-02-28 12:30:00Z',
    'days beyond the end of February are skipped in a common year');

-- Macros
select is(nightshift.next_fire('@hourly', 'UTC', '2026-01-01 00:30:00Z'), '2026-01-01 01:00:00Z',
    '@hourly fires at the top of the next hour');
select is(nightshift.next_fire('@daily', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-02 00:00:00Z',
    '@daily fires at the next midnight');
select is(nightshift.next_fire('@midnight', 'UTC', '2026-01-01 10:00:00Z'), '2026-01-02 00:00:00Z',
    '@midnight is @daily');
select is(nightshift.next_fire('@weekly', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-04 00:00:00Z',
    '@weekly fires at midnight on Sunday');
select is(nightshift.next_fire('@monthly', 'UTC', '2026-01-15 00:00:00Z'), '2026-02-01 00:00:00Z',
    '@monthly fires at midnight on the first of the month');
select is(nightshift.next_fire('@yearly', 'UTC', '2026-01-01 00:00:00Z'), '2027-01-01 00:00:00Z',
    '@yearly fires at midnight on January 1');
select is(nightshift.next_fire('@annually', 'UTC', '2026-03-01 00:00:00Z'), '2027-01-01 00:00:00Z',
    '@annually is @yearly');
select is(nightshift.next_fire('@DAILY', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-02 00:00:00Z',
    'macros are case-insensitive');
select is(nightshift.next_fire('  0   12 * *   *  ', 'UTC', '2026-01-01 00:00:00Z'), '2026-01-01 12:00:00Z',
    'extra whitespace between and around fields is accepted');
select is(nightshift.next_fire(null, 'UTC', '2026-01-01 00:00:00Z'), null,
    'a null argument gives null, like other strict SQL functions');

select * from finish();
rollback;
