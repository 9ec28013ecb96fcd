-- dossier.send_held_back_digests from two sessions at once (dblink): the second sweep waits on
-- the first's row locks and then finds the rows carried, so the user gets one digest; a sweep
-- that rolls back leaves the rows to the other, which then carries them (nothing lost).
--
-- The sessions commit, so this file works on committed rows of its own (user ids
-- 00000000-0000-0000-0000-0000001d....), and deletes them before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

delete from notify.notifications where user_id::text like '00000000-0000-0000-0000-0000001d%';
delete from notify.suppressed where user_id::text like '00000000-0000-0000-0000-0000001d%';

begin;
select plan(9);
create extension if not exists dblink;
create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo;
select is((select count(*)::integer from generate_series(1, 2) i
           where dblink_connect('dossier_digest_' || i, (select conninfo from t_conf)) = 'OK'), 2, 'two separate sessions connect');

-- Two held back yesterday (Riyadh) for user 1, committed.
select is(dblink_exec('dossier_digest_1', $q$
    insert into notify.suppressed (user_id, title, message, metadata, day, time_zone)
    select '00000000-0000-0000-0000-0000001d0001', 'Overdue ' || i, 'm', '{"type": "dossier.commitment_overdue"}',
           notify.cap_day('Asia/Riyadh') - 1, 'Asia/Riyadh'
    from generate_series(1, 2) i$q$), 'INSERT 0 2', 'two held back yesterday (committed)');

-- A sweeps and has not committed; B sweeps too and waits for A.
select from dblink_exec('dossier_digest_1', 'begin') s;
-- (At least one: a sweep carries every user's waiting rows, this file's and any left in the database.)
select ok((select r >= 1 from dblink('dossier_digest_1', $q$select (dossier.send_held_back_digests() ->> 'digestsSent')::integer$q$)
           as x(r integer)), 'session A sends the digest (not committed yet)');
select from dblink_send_query('dossier_digest_2', $q$select (dossier.send_held_back_digests() ->> 'digestsSent')::integer$q$) s;
select from (select pg_sleep(0.3)) settle;
select is(dblink_is_busy('dossier_digest_2'), 1, 'session B, sweeping at the same time, waits for A');
select from dblink_exec('dossier_digest_1', 'commit') s;
select is((select r from dblink_get_result('dossier_digest_2') as x(r integer)), 0, 'once A commits, B sends nothing');
select from dblink_get_result('dossier_digest_2') as x(r integer);
select is((select count(*)::integer from notify.notifications where user_id = '00000000-0000-0000-0000-0000001d0001'), 1,
    'the user has exactly one digest');

-- A rolls back: B carries the rows.
select from dblink_exec('dossier_digest_1', $q$
    insert into notify.suppressed (user_id, title, message, metadata, day, time_zone)
    values ('00000000-0000-0000-0000-0000001d0002', 'Overdue', 'm', '{"type": "dossier.commitment_overdue"}',
            notify.cap_day('Asia/Riyadh') - 1, 'Asia/Riyadh')$q$) s;
select from dblink_exec('dossier_digest_1', 'begin') s;
select from dblink('dossier_digest_1', $q$select dossier.send_held_back_digests()::text$q$) as x(r text);
select from dblink_send_query('dossier_digest_2', $q$select (dossier.send_held_back_digests() ->> 'digestsSent')::integer$q$) s;
select from (select pg_sleep(0.3)) settle;
select is(dblink_is_busy('dossier_digest_2'), 1, 'B waits for A again');
select from dblink_exec('dossier_digest_1', 'rollback') s;
select ok((select r >= 1 from dblink_get_result('dossier_digest_2') as x(r integer)), 'A rolled back: B sends the digest');
select from dblink_get_result('dossier_digest_2') as x(r integer);
select is((select count(*)::integer from notify.notifications where user_id = '00000000-0000-0000-0000-0000001d0002'), 1,
    'one digest for that user');

select from generate_series(1, 2) i, dblink_disconnect('dossier_digest_' || i) s;
select * from finish();
rollback;

delete from notify.notifications where user_id::text like '00000000-0000-0000-0000-0000001d%';
delete from notify.suppressed where user_id::text like '00000000-0000-0000-0000-0000001d%';
