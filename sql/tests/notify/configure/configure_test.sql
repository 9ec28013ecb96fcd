-- configure: sets the daily cap, enables the channels given and disables every other one
-- (rows are kept: deliveries reference them), and refuses bad arguments by name.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(12);

update notify.channels set enabled = true;
insert into notify.channels (name, enabled) values ('tests-leftover', true) on conflict (name) do nothing;

select lives_ok($$select notify.configure(7, array['ops', 'audit', 'ops'])$$, 'configure takes a cap and channel names');
select is((select daily_cap_per_user from notify.settings), 7, 'the cap is stored');
select is((select count(*)::integer from notify.settings), 1, 'settings stay one row');
select results_eq($$select name from notify.channels where enabled order by name$$, $$values ('audit'), ('ops')$$,
    'exactly the channels given are enabled (a repeated name counts once)');
select ok((select not enabled from notify.channels where name = 'tests-leftover'),
    'a channel config no longer lists is disabled, not deleted');

select notify.configure(7, array['audit', 'tests-leftover']);
select results_eq($$select name from notify.channels where enabled order by name$$,
    $$values ('audit'), ('tests-leftover')$$, 'a disabled channel listed again is enabled again');
select notify.configure(7, '{}');
select is_empty($$select from notify.channels where enabled$$, 'an empty list disables every channel');

select throws_ok($$select notify.configure(null, array['ops'])$$, '22004', 'notify.configure: daily_cap must not be null',
    'a null cap is refused by name');
select throws_ok($$select notify.configure(-1, array['ops'])$$, '22023', 'notify.configure: daily_cap must be 0 or more, got -1',
    'a negative cap is refused');
select throws_ok($$select notify.configure(5, null)$$, '22004',
    'notify.configure: channels must not be null (pass an empty array for none)', 'null channels are refused by name');
select throws_ok($$select notify.configure(5, array['ops', ' '])$$, '22023', null, 'a blank channel name is refused');
select is((select daily_cap_per_user from notify.settings), 7, 'a refused call changes nothing');

select * from finish();
rollback;
