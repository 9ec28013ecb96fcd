-- sync_functions racing tick (issue 11 c), with two real sessions (dblink): a tick holds a due
-- schedule, enqueues its slot and records the older ones as skipped; a sync of the unchanged
-- schedule starts meanwhile. The sync must wait for the tick and keep the next_slot the tick
-- committed: written back stale, the next tick handled the same slots again (a second,
-- identical skip record).
--
-- The tick commits, so this file works on committed rows of its own (function tests/race,
-- slots in 2001 so that no other schedule is due at that instant) and deletes them before
-- and after. The sync never commits: it retires every function it is not told about.
set client_min_messages = warning;
create extension if not exists pgtap;

-- Leftovers of an interrupted run.
delete from nightshift.runs where function_id = 'tests/race';
delete from nightshift.functions where id = 'tests/race';

begin;
select plan(8);
create extension if not exists dblink;

create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo;
select is((select count(*)::integer from (values ('race_tick'), ('race_sync')) s(name)
           where dblink_connect(s.name, (select conninfo from t_conf)) = 'OK'), 2,
    'two separate sessions connect');

-- Every five minutes, last handled up to 00:55: the slots 01:00 and 01:05... are due.
select from dblink_exec('race_tick', $q$
    insert into nightshift.functions (id) values ('tests/race');
    insert into nightshift.schedules (function_id, cron, timezone, next_slot)
    values ('tests/race', '*/5 * * * *', 'UTC', '2001-01-01 00:00Z')$q$) s;

-- Session A ticks at 01:02 and has not committed yet: it holds the schedule row.
select from dblink_exec('race_tick', 'begin') s;
select is((select n from dblink('race_tick', $q$select nightshift.tick('2001-01-01 01:02Z')$q$) as r(n integer)), 1,
    'session A''s tick enqueues the 01:00 slot (not committed yet)');

-- Session B syncs the same, unchanged schedule, and gets as far as the schedule's row lock.
select from dblink_exec('race_sync', 'begin') s;
create temporary table t_sync as
select pid from dblink('race_sync', 'select pg_backend_pid()') as r(pid integer);
select from dblink_send_query('race_sync', $q$
    select nightshift.sync_functions('[{"id": "tests/race", "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"}}]')::text$q$) s;
do $$
begin
    for i in 1..100 loop  -- at most 5 s
        perform pg_stat_clear_snapshot();  -- pg_stat_activity is read once per transaction otherwise
        exit when exists (select 1 from pg_stat_activity a join t_sync t on t.pid = a.pid where a.wait_event_type = 'Lock');
        perform pg_sleep(0.05);
    end loop;
end
$$;
select is((select a.wait_event from pg_stat_activity a join t_sync t on t.pid = a.pid), 'transactionid',
    'session B''s sync waits for the tick that holds the schedule row');

select from dblink_exec('race_tick', 'commit') s;
select is((select r.result from dblink_get_result('race_sync') as r(result text)), '',
    'once the tick commits, the sync goes on and succeeds');
select from dblink_get_result('race_sync') as r(result text);

select is((select next_slot from dblink('race_sync', $q$
        select next_slot from nightshift.schedules where function_id = 'tests/race'$q$) as r(next_slot timestamptz)),
    '2001-01-01 01:05Z'::timestamptz,
    'the sync keeps the next_slot the tick committed, not the one it could have read before');
select is((select n from dblink('race_sync', $q$select nightshift.tick('2001-01-01 01:02Z')$q$) as r(n integer)), 0,
    'a later tick at the same instant has nothing to enqueue');
select results_eq(
    $$select * from dblink('race_sync', 'select first_slot, last_slot, slot_count, reason from nightshift.skipped_slots
                                          where function_id = ''tests/race''')
                      as r(first_slot timestamptz, last_slot timestamptz, slot_count integer, reason text)$$,
    $$values ('2001-01-01 00:00Z'::timestamptz, '2001-01-01 00:55Z'::timestamptz, 12, 'catch_up_latest')$$,
    'the skipped slots are recorded once, not again by the later tick');
select is((select n from dblink('race_sync', $q$select count(*)::integer from nightshift.runs where function_id = 'tests/race'$q$)
           as r(n integer)), 1,
    'one run for the slot');

select from dblink_exec('race_sync', 'rollback') s;
select from dblink_disconnect('race_tick') s;
select from dblink_disconnect('race_sync') s;
select * from finish();
rollback;

delete from nightshift.runs where function_id = 'tests/race';
delete from nightshift.functions where id = 'tests/race';
