-- validate_cron: silent for valid expressions, the same errors as next_fire otherwise.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(5);

select lives_ok($$select nightshift.validate_cron('*/5 9-17 * jan-jun mon-fri')$$,
    'a valid expression passes');
select lives_ok($$select nightshift.validate_cron('@weekly')$$,
    'a macro passes');
select lives_ok($$select nightshift.validate_cron('0 0 29 2 *')$$,
    'February 29 passes: it fires in leap years');
select throws_ok($$select nightshift.validate_cron('0 0 31 4,6 *')$$, '22023',
    'invalid cron expression "0 0 31 4,6 *": it never fires (day-of-month "31" does not occur in month "4,6")',
    'a day no selected month has is refused');
select throws_ok($$select nightshift.validate_cron(null)$$, '22023',
    'invalid cron expression "": it is empty',
    'a null expression is refused as empty');

select * from finish();
rollback;
