-- next_fire in IANA zones: a fixed offset (Riyadh) and both 2026 DST changes in New York
-- and London. A skipped wall time fires once at the end of the gap; a repeated wall time
-- fires once, at its first occurrence.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(26);

-- Asia/Riyadh: UTC+3 all year
select is(nightshift.next_fire('0 2 * * *', 'Asia/Riyadh', '2026-01-01 00:00:00Z'), '2026-01-01 23:00:00Z',
    '02:00 in Riyadh is 23:00 UTC on the previous day');
select is(nightshift.next_fire('0 2 * * *', 'Asia/Riyadh', '2026-07-01 00:00:00Z'), '2026-07-01 23:00:00Z',
    'Riyadh has no summer time: the same offset in July');
select is(nightshift.next_fire('@daily', 'Asia/Riyadh', '2026-01-01 22:00:00Z'), '2026-01-02 21:00:00Z',
    'midnight in Riyadh is 21:00 UTC');
select is(nightshift.next_fire('0 9 * * sun', 'Asia/Riyadh', '2026-01-01 00:00:00Z'), '2026-01-04 06:00:00Z',
    'the weekday is that of the local date, not the UTC one');

-- America/New_York, 2026-03-08: 02:00 EST (07:00 UTC) jumps to 03:00 EDT
select is(nightshift.next_fire('30 2 * * *', 'America/New_York', '2026-03-08 05:00:00Z'), '2026-03-08 07:00:00Z',
    'a daily 02:30 on the spring-forward day fires once at 03:00 EDT, the end of the gap');
select is(nightshift.next_fire('30 2 * * *', 'America/New_York', '2026-03-08 07:00:00Z'), '2026-03-09 06:30:00Z',
    'the next 02:30 is the following day, in EDT');
select is(nightshift.next_fire('30 2 * * *', 'America/New_York', '2026-03-07 08:00:00Z'), '2026-03-08 07:00:00Z',
    'from the day before, the skipped 02:30 is not skipped over');
select is(nightshift.next_fire('0 * * * *', 'America/New_York', '2026-03-08 05:30:00Z'), '2026-03-08 06:00:00Z',
    'hourly fires at 01:00 EST before the gap');
select is(nightshift.next_fire('0 * * * *', 'America/New_York', '2026-03-08 06:00:00Z'), '2026-03-08 07:00:00Z',
    'hourly fires once at 03:00 EDT for the skipped 02:00 and 03:00 together');
select is(nightshift.next_fire('0 * * * *', 'America/New_York', '2026-03-08 07:00:00Z'), '2026-03-08 08:00:00Z',
    'hourly goes on at 04:00 EDT after the gap');
select is(nightshift.next_fire('*/30 * * * *', 'America/New_York', '2026-03-08 06:30:00Z'), '2026-03-08 07:00:00Z',
    'every half hour collapses 02:00, 02:30 and 03:00 into one fire at the end of the gap');
select is(nightshift.next_fire('*/30 * * * *', 'America/New_York', '2026-03-08 07:00:00Z'), '2026-03-08 07:30:00Z',
    'every half hour resumes at 03:30 EDT');

-- America/New_York, 2026-11-01: 02:00 EDT (06:00 UTC) falls back to 01:00 EST
select is(nightshift.next_fire('30 1 * * *', 'America/New_York', '2026-11-01 00:00:00Z'), '2026-11-01 05:30:00Z',
    'a daily 01:30 on the fall-back day fires at its first occurrence, 01:30 EDT');
select is(nightshift.next_fire('30 1 * * *', 'America/New_York', '2026-11-01 05:30:00Z'), '2026-11-02 06:30:00Z',
    'the repeated 01:30 EST does not fire again; the next is the following day');
select is(nightshift.next_fire('30 1 * * *', 'America/New_York', '2026-11-01 06:10:00Z'), '2026-11-02 06:30:00Z',
    'from inside the repeated hour the 01:30 already had its turn');
select is(nightshift.next_fire('0 * * * *', 'America/New_York', '2026-11-01 04:30:00Z'), '2026-11-01 05:00:00Z',
    'hourly fires at 01:00 EDT');
select is(nightshift.next_fire('0 * * * *', 'America/New_York', '2026-11-01 05:00:00Z'), '2026-11-01 07:00:00Z',
    'hourly fires once per local hour: the repeated 01:00 EST is skipped, next is 02:00 EST');
select is(nightshift.next_fire('0 * * * *', 'America/New_York', '2026-11-01 07:00:00Z'), '2026-11-01 08:00:00Z',
    'hourly goes on at 03:00 EST');

-- Europe/London, 2026-03-29: 01:00 GMT jumps to 02:00 BST
select is(nightshift.next_fire('30 1 * * *', 'Europe/London', '2026-03-29 00:00:00Z'), '2026-03-29 01:00:00Z',
    'a daily 01:30 on the spring-forward day fires once at 02:00 BST');
select is(nightshift.next_fire('0 1 * * *', 'Europe/London', '2026-03-28 12:00:00Z'), '2026-03-29 01:00:00Z',
    'the skipped 01:00 fires at the end of the gap, 02:00 BST');
select is(nightshift.next_fire('0 9 * * *', 'Europe/London', '2026-03-28 12:00:00Z'), '2026-03-29 08:00:00Z',
    '09:00 after the change is 08:00 UTC');
select is(nightshift.next_fire('0 9 * * *', 'Europe/London', '2026-03-27 12:00:00Z'), '2026-03-28 09:00:00Z',
    '09:00 before the change is 09:00 UTC');

-- Europe/London, 2026-10-25: 02:00 BST falls back to 01:00 GMT
select is(nightshift.next_fire('30 1 * * *', 'Europe/London', '2026-10-25 00:00:00Z'), '2026-10-25 00:30:00Z',
    'a daily 01:30 on the fall-back day fires at its first occurrence, 01:30 BST');
select is(nightshift.next_fire('30 1 * * *', 'Europe/London', '2026-10-25 00:30:00Z'), '2026-10-26 01:30:00Z',
    'the repeated 01:30 GMT does not fire again');
select is(nightshift.next_fire('0 * * * *', 'Europe/London', '2026-10-25 00:00:00Z'), '2026-10-25 02:00:00Z',
    'hourly skips the repeated 01:00 GMT and fires next at 02:00 GMT');
select is(nightshift.next_fire('0 9 * * *', 'Europe/London', '2026-10-24 12:00:00Z'), '2026-10-25 09:00:00Z',
    '09:00 after the change is 09:00 UTC again');

select * from finish();
rollback;
