-- send under real concurrency, from separate sessions (dblink): eight sessions sending five
-- each for one user at the same instant get exactly the cap through and the rest suppressed;
-- a concurrent duplicate that lost the race on its dedupe key gives its place back; and a
-- committed send wakes a listener on nightshift_deliveries.
--
-- The sessions commit, so this file works on committed rows of its own (fixed user ids and
-- channel names), restores the cap it changes, and deletes its rows before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

-- Leftovers of an interrupted run.
delete from notify.notifications where user_id::text like '00000000-0000-0000-0000-0000000f%';
delete from notify.suppressed where user_id::text like '00000000-0000-0000-0000-0000000f%';
delete from notify.daily_counts where user_id::text like '00000000-0000-0000-0000-0000000f%';
delete from notify.channels where name = 'tests-concurrency';

begin;
select plan(14);
create extension if not exists dblink;

-- How the sessions reach this database, and the cap to restore.
create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo,
       (select daily_cap_per_user from notify.settings) as old_cap;

select is((select count(*)::integer from generate_series(1, 8) i
           where dblink_connect('notify_cap_' || i, (select conninfo from t_conf)) = 'OK'), 8,
    'eight separate sessions connect');
select is(dblink_exec('notify_cap_1', 'update notify.settings set daily_cap_per_user = 10'), 'UPDATE 1',
    'the cap is 10 (committed; restored below)');

-- The cap: every session waits at a barrier (an advisory lock this session holds), then sends
-- five notifications, each in its own transaction, as fast as it can.
select from (select pg_advisory_lock(1314062352)) barrier;  -- 0x4E530010: 'NS' lock space 16
select is((select sum(dblink_send_query('notify_cap_' || i, $q$
    do $do$
    begin
        perform pg_advisory_lock_shared(1314062352);
        perform pg_advisory_unlock_shared(1314062352);
        for i in 1..5 loop
            perform notify.send('00000000-0000-0000-0000-0000000f0001', 'concurrent', 'm');
            commit;
        end loop;
    end
    $do$ $q$))::integer from generate_series(1, 8) i), 8, 'eight sessions are waiting to send');
select from (select pg_sleep(0.2)) settle;
select is((select count(*)::integer from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory'
           and datname = current_database()), 8, 'all eight are at the barrier');
select from (select pg_advisory_unlock(1314062352)) go;
select is((select count(*)::integer from generate_series(1, 8) i, dblink_get_result('notify_cap_' || i) as r(status text)
           where r.status = 'DO'), 8, 'every session sent its five');
-- dblink needs one more read per session, which finds nothing, before a session is reusable.
select from generate_series(1, 8) i, dblink_get_result('notify_cap_' || i) as r(status text);

select results_eq(
    $$select sent, suppressed from notify.daily_counts where user_id = '00000000-0000-0000-0000-0000000f0001'$$,
    $$values (10, 30)$$, 'of 40 concurrent sends exactly 10 (the cap) were sent and 30 suppressed');
select is((select count(*)::integer from notify.notifications where user_id = '00000000-0000-0000-0000-0000000f0001'), 10,
    'exactly 10 reached the inbox');
select is((select count(*)::integer from notify.suppressed where user_id = '00000000-0000-0000-0000-0000000f0001'), 30,
    'the 30 others are kept as suppressed');

-- A duplicate racing on its dedupe key: B checks before A commits, then waits on A's key.
select from dblink_exec('notify_cap_1', 'begin') s;
select is((select outcome from dblink('notify_cap_1', $q$
    select outcome from notify.send('00000000-0000-0000-0000-0000000f0002', 'A', 'm', '{}', 'tests-concurrency-key')$q$)
    as r(outcome text)), 'sent', 'session A sends with a dedupe key and has not committed yet');
select from dblink_send_query('notify_cap_2', $q$
    select notification_id, outcome from notify.send('00000000-0000-0000-0000-0000000f0003', 'B', 'm', '{}', 'tests-concurrency-key')$q$) s;
select from (select pg_sleep(0.2)) settle;
select is(dblink_is_busy('notify_cap_2'), 1, 'session B, sending the same key, waits for A');
select from dblink_exec('notify_cap_1', 'commit') s;
select results_eq($$select outcome, notification_id = (select id from notify.notifications where dedupe_key = 'tests-concurrency-key')
                    from dblink_get_result('notify_cap_2') as r(notification_id uuid, outcome text)$$,
    $$values ('duplicate', true)$$, 'once A commits, B is a duplicate of A''s notification');
select from dblink_get_result('notify_cap_2') as r(notification_id uuid, outcome text);
select is((select sent from notify.daily_counts where user_id = '00000000-0000-0000-0000-0000000f0003'), 0,
    'B''s place under its cap was given back');

-- The wake-up: a committed send that creates a delivery notifies nightshift_deliveries.
select from dblink_exec('notify_cap_3', 'listen nightshift_deliveries') s;
select from dblink_exec('notify_cap_4', $q$insert into notify.channels (name) values ('tests-concurrency')$q$) s;
select is((select outcome from dblink('notify_cap_4', $q$
    select s.outcome from generate_series(1, 11) g
    cross join lateral notify.send('00000000-0000-0000-0000-0000000f0004', 'Wake ' || g, 'm') s
    order by g desc limit 1$q$) as r(outcome text)), 'suppressed',
    'eleven sends in one transaction: the eleventh is suppressed (the ten before it made deliveries)');
select from dblink_exec('notify_cap_4', $q$delete from notify.channels where name = 'tests-concurrency'
                                           and not exists (select from notify.deliveries where channel = 'tests-concurrency')$q$) s;
-- A notification reaches the listener some time after its commit (long on a loaded machine):
-- collected until 0.3 s after the last one, or 3 s when none comes.
create function pg_temp.delivery_wakes() returns integer language plpgsql as $$
declare
    v_count integer := 0;
    v_got integer;
    v_quiet integer := 0;
    v_ticks integer := 0;
begin
    while v_ticks < 30 and (v_count = 0 or v_quiet < 3) loop
        perform pg_sleep(0.1);
        v_ticks := v_ticks + 1;
        select count(*) filter (where notify_name = 'nightshift_deliveries')::integer into v_got
        from dblink_get_notify('notify_cap_3');
        v_count := v_count + v_got;
        v_quiet := case when v_got = 0 then v_quiet + 1 else 0 end;
    end loop;
    return v_count;
end
$$;
select is(pg_temp.delivery_wakes(), 1,
    'a listener on nightshift_deliveries is woken once per transaction, not once per delivery');

select from dblink_exec('notify_cap_1', format('update notify.settings set daily_cap_per_user = %s', (select old_cap from t_conf))) s;
select from generate_series(1, 8) i, dblink_disconnect('notify_cap_' || i) s;
select * from finish();
rollback;

delete from notify.notifications where user_id::text like '00000000-0000-0000-0000-0000000f%';
delete from notify.suppressed where user_id::text like '00000000-0000-0000-0000-0000000f%';
delete from notify.daily_counts where user_id::text like '00000000-0000-0000-0000-0000000f%';
delete from notify.channels where name = 'tests-concurrency';
