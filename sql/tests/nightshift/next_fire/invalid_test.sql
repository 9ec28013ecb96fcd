-- Invalid expressions and zones: SQLSTATE 22023 and a message naming the field and value.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(25);

select throws_ok($$select nightshift.next_fire('', 'UTC', now())$$, '22023',
    'invalid cron expression "": it is empty',
    'an empty expression is refused');
select throws_ok($$select nightshift.next_fire('   ', 'UTC', now())$$, '22023',
    'invalid cron expression "   ": it is empty',
    'a blank expression is refused');
select throws_ok($$select nightshift.next_fire('* * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "* * * *": expected 5 fields (minute hour day-of-month month day-of-week), found 4',
    'four fields are refused');
select throws_ok($$select nightshift.next_fire('0 * * * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 * * * * *": expected 5 fields (minute hour day-of-month month day-of-week), found 6',
    'six fields (seconds) are refused');
select throws_ok($$select nightshift.next_fire('61 * * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "61 * * * *": minute value "61" is out of range 0-59',
    'a minute above 59 is refused');
select throws_ok($$select nightshift.next_fire('0 24 * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 24 * * *": hour value "24" is out of range 0-23',
    'an hour above 23 is refused');
select throws_ok($$select nightshift.next_fire('0 0 0 * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 0 * *": day-of-month value "0" is out of range 1-31',
    'day-of-month 0 is refused');
select throws_ok($$select nightshift.next_fire('0 0 32 * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 32 * *": day-of-month value "32" is out of range 1-31',
    'day-of-month 32 is refused');
select throws_ok($$select nightshift.next_fire('0 0 * 13 *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 * 13 *": month value "13" is out of range 1-12',
    'month 13 is refused');
select throws_ok($$select nightshift.next_fire('0 0 * * 8', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 * * 8": day-of-week value "8" is out of range 0-7',
    'day-of-week 8 is refused');
select throws_ok($$select nightshift.next_fire('99999999999 * * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "99999999999 * * * *": minute value "99999999999" is out of range 0-59',
    'a huge number is reported as out of range, not as an overflow');
select throws_ok($$select nightshift.next_fire('*/0 * * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "*/0 * * * *": minute step "*/0" must be at least 1',
    'a zero step is refused');
select throws_ok($$select nightshift.next_fire('*/x * * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "*/x * * * *": minute step "*/x" is not a number',
    'a step that is not a number is refused');
select throws_ok($$select nightshift.next_fire('5/10 * * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "5/10 * * * *": minute step "5/10" needs a range or * before the slash',
    'a step after a single value is refused');
select throws_ok($$select nightshift.next_fire('0 17-9 * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 17-9 * * *": hour range "17-9" runs backwards',
    'a backwards range is refused');
select throws_ok($$select nightshift.next_fire('0 9- * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 9- * * *": hour range "9-" is incomplete',
    'a range without an end is refused');
select throws_ok($$select nightshift.next_fire('0 1,,2 * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 1,,2 * * *": hour list "1,,2" has an empty element',
    'an empty list element is refused');
select throws_ok($$select nightshift.next_fire('0 0 * foo *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 * foo *": month name "foo" is unknown (use jan feb mar apr may jun jul aug sep oct nov dec or 1-12)',
    'an unknown month name is refused');
select throws_ok($$select nightshift.next_fire('0 0 * * funday', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 * * funday": day-of-week name "funday" is unknown (use sun mon tue wed thu fri sat or 0-7)',
    'an unknown weekday name is refused');
select throws_ok($$select nightshift.next_fire('0 jan * * *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 jan * * *": hour value "jan" is not a number',
    'names are refused in fields that have none');
select throws_ok($$select nightshift.next_fire('@reboot', 'UTC', now())$$, '22023',
    'invalid cron expression "@reboot": unknown macro (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)',
    'an unknown macro is refused');
select throws_ok($$select nightshift.next_fire('0 0 30 2 *', 'UTC', now())$$, '22023',
    'invalid cron expression "0 0 30 2 *": it never fires (day-of-month "30" does not occur in month "2")',
    'an expression that can never fire is refused');
select throws_ok($$select nightshift.next_fire('0 0 * * *', 'Mars/Base', now())$$, '22023',
    'unknown time zone "Mars/Base"',
    'an unknown time zone is refused');
select throws_ok($$select nightshift.next_fire('0 0 * * *', 'PST', now())$$, '22023',
    'unknown time zone "PST"',
    'an abbreviation is not an IANA zone, even though AT TIME ZONE would accept it');

select throws_ok($$select nightshift.next_fire('0 0 * * *', 'UTC', 'infinity')$$, '22023',
    'cron fire times are defined only after a finite instant, not infinity',
    'an infinite instant is refused');

select * from finish();
rollback;
