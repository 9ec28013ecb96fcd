-- Sub-minute schedules, spelled as pg_cron spells them: 'N seconds' (N from 1 to 59) fires at
-- every instant whose epoch seconds are a multiple of N, the same instants in every zone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(24);

select is(nightshift.next_fire('1 second', 'UTC', '2026-01-01 10:00:00Z'), '2026-01-01 10:00:01Z',
    'every second fires at the next whole second');
select is(nightshift.next_fire('1 second', 'UTC', '2026-01-01 10:00:00.25Z'), '2026-01-01 10:00:01Z',
    'a fraction of a second rounds up to the next whole second');
select is(nightshift.next_fire('5 seconds', 'UTC', '2026-01-01 10:00:00Z'), '2026-01-01 10:00:05Z',
    'the result is strictly after the instant, even when the instant is a slot');
select is(nightshift.next_fire('5 seconds', 'UTC', '2026-01-01 10:00:03Z'), '2026-01-01 10:00:05Z',
    'every 5 seconds fires on multiples of 5');
select is(nightshift.next_fire('30 seconds', 'UTC', '2026-01-01 10:00:45Z'), '2026-01-01 10:01:00Z',
    'every 30 seconds fires on the minute and the half minute');
select is(nightshift.next_fire('7 seconds', 'UTC', '2026-01-01 00:00:00Z'), to_timestamp(ceil((extract(epoch from '2026-01-01 00:00:00Z'::timestamptz) + 1) / 7) * 7),
    'a step that does not divide a minute counts from the epoch, not from the minute');
select is(nightshift.next_fire('59 seconds', 'UTC', '1970-01-01 00:00:00Z'), '1970-01-01 00:00:59Z',
    'the slots of 59 seconds start at the epoch');
select is(nightshift.next_fire('5 Seconds', 'UTC', '2026-01-01 10:00:03Z'), '2026-01-01 10:00:05Z',
    'the unit is case-insensitive');
select is(nightshift.next_fire('5 second', 'UTC', '2026-01-01 10:00:03Z'), '2026-01-01 10:00:05Z',
    'the singular is accepted, as pg_cron does');
select is(nightshift.next_fire('  10   seconds ', 'UTC', '2026-01-01 10:00:03Z'), '2026-01-01 10:00:10Z',
    'surrounding and repeated blanks are ignored');

-- The same instants in every zone, across a DST change.
select is(nightshift.next_fire('10 seconds', 'America/New_York', '2026-03-08 06:59:55Z'), '2026-03-08 07:00:00Z',
    'in New York the slot at the spring-forward instant is the epoch multiple, like any other');
select is(nightshift.next_fire('10 seconds', 'Asia/Kathmandu', '2026-01-01 10:00:03Z'),
    nightshift.next_fire('10 seconds', 'UTC', '2026-01-01 10:00:03Z'),
    'a zone with a 45-minute offset gets the same slots as UTC');
select is(nightshift.next_fire('30 seconds', 'Europe/London', '2026-10-25 01:59:45Z'), '2026-10-25 02:00:00Z',
    'the repeated hour of a fall-back does not repeat or skip a slot');

-- Counting and the newest slots, the helpers tick uses, agree with a walk.
select is(nightshift._cron_count(nightshift._cron_parse('5 seconds'), 'UTC', '2026-01-01 10:00:00Z', '2026-01-01 10:01:00Z'), 12::bigint,
    'a minute holds 12 slots of 5 seconds (start included, end excluded)');
select is(nightshift._cron_count(nightshift._cron_parse('7 seconds'), 'Europe/London', '2026-01-01 10:00:00.5Z', '2026-01-01 11:00:00.5Z'),
    (with recursive w(slot) as (
        select nightshift.next_fire('7 seconds', 'UTC', '2026-01-01 10:00:00.5Z'::timestamptz - interval '1 microsecond')
        union all select nightshift.next_fire('7 seconds', 'UTC', w.slot) from w where w.slot < '2026-01-01 11:00:00.5Z')
     select count(*) from w where slot < '2026-01-01 11:00:00.5Z'),
    'an hour of 7-second slots is counted exactly as a walk of next_fire finds them');
select is(nightshift._cron_count(nightshift._cron_parse('1 second'), 'UTC', '2026-01-01 00:00:00Z', '2026-03-12 00:00:00Z'), 70 * 86400::bigint,
    'seventy days of every second are counted without enumerating them');
select is(nightshift._cron_latest(nightshift._cron_parse('5 seconds'), 'UTC', '2026-01-01 10:00:00Z', '2026-01-01 10:00:22Z', 3),
    array['2026-01-01 10:00:10Z', '2026-01-01 10:00:15Z', '2026-01-01 10:00:20Z']::timestamptz[],
    'the newest three slots up to an instant, ascending');
select is(nightshift._cron_latest(nightshift._cron_parse('5 seconds'), 'UTC', '2026-01-01 10:00:01Z', '2026-01-01 10:00:04Z', 3),
    '{}'::timestamptz[],
    'no slot in a range between two slots');

-- Bad values are refused, naming the value.
select lives_ok($$select nightshift.validate_cron('30 seconds')$$, 'validate_cron accepts 30 seconds');
select throws_ok($$select nightshift.validate_cron('0 seconds')$$, '22023',
    'invalid cron expression "0 seconds": seconds value "0" is out of range 1-59 (use a 5-field expression for a minute or more)',
    '0 seconds is refused');
select throws_ok($$select nightshift.validate_cron('60 seconds')$$, '22023',
    'invalid cron expression "60 seconds": seconds value "60" is out of range 1-59 (use a 5-field expression for a minute or more)',
    '60 seconds is refused: a minute or more is a 5-field expression');
select throws_ok($$select nightshift.validate_cron('x seconds')$$, '22023',
    'invalid cron expression "x seconds": "x" is not a whole number of seconds (use 1 to 59 seconds, such as "5 seconds")',
    'x seconds is refused');
select throws_ok($$select nightshift.next_fire('1.5 seconds', 'UTC', now())$$, '22023',
    'invalid cron expression "1.5 seconds": "1.5" is not a whole number of seconds (use 1 to 59 seconds, such as "5 seconds")',
    'a fraction of a second is refused');
select throws_ok($$select nightshift.next_fire('5 seconds', 'Mars/Base', now())$$, '22023',
    'unknown time zone "Mars/Base"',
    'the zone is still validated, although it does not move the slots');

select * from finish();
rollback;
