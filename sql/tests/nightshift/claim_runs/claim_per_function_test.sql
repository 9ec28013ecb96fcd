-- engine/0083: a claim reads the runs of the functions it claims for, function by function
-- (runs_claim_idx on (function_id, run_at)), and nothing else: not another function's older
-- backlog, not the function's own history. Across several functions the oldest due runs still
-- go first, and a claim whose oldest runs another session holds still comes back full.
--
-- The contention part needs committed runs another session can lock, so this file commits its
-- own (functions tests/contend-a and tests/contend-b) through dblink and deletes them before
-- and after.
set client_min_messages = warning;
create extension if not exists pgtap;

-- Leftovers of an interrupted run.
delete from nightshift.runs where function_id in ('tests/contend-a', 'tests/contend-b');
delete from nightshift.functions where id in ('tests/contend-a', 'tests/contend-b');

begin;
select plan(13);
-- A claim that waited for a lock instead of skipping it fails here rather than hanging.
set local lock_timeout = '2s';
create extension if not exists dblink;

-- Only this file's runs are claimable in this transaction, whatever else the database holds.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';

select nightshift.sync_functions('[{"id": "tests/served"}, {"id": "tests/backlog"}, {"id": "tests/second"}]');

-- Another function's backlog, older than anything served: 3,000 runs due an hour ago. And the
-- served function's history: 3,000 completed runs. The old claim read one or the other, run by
-- run, depending on the planner's statistics.
insert into nightshift.runs (function_id, max_attempts, trigger_kind, run_at)
select 'tests/backlog', 1, 'manual', now() - interval '1 hour' from generate_series(1, 3000);
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, run_at, created_at, started_at, finished_at)
select 'tests/served', 'completed', 1, 'manual', now() - interval '2 hours', now() - interval '2 hours',
       now() - interval '2 hours', now() - interval '2 hours'
from generate_series(1, 3000);
analyze nightshift.runs;

create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values ('served', nightshift.trigger('tests/served'));
insert into t_runs values ('second', nightshift.trigger('tests/second'));
update nightshift.runs set run_at = now() - interval '1 minute' where id in (select id from t_runs);

-- Rows of runs this transaction read so far: fetched through any of its indexes (counted on
-- the index), by a bitmap scan or by a sequential scan (counted on the table).
create function pg_temp.runs_read() returns bigint language sql volatile as $$
    select pg_stat_get_xact_tuples_fetched('nightshift.runs'::regclass) + pg_stat_get_xact_tuples_returned('nightshift.runs'::regclass)
           + (select sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)) from pg_index i where i.indrelid = 'nightshift.runs'::regclass) $$;
create temporary table t_read (label text primary key, before bigint, after bigint);

insert into t_read (label, before) values ('unlimited', pg_temp.runs_read());
create temporary table t_unlimited as select * from nightshift.claim_unlimited_runs('w1', 10, '30 seconds', '{tests/served}');
update t_read set after = pg_temp.runs_read() where label = 'unlimited';
select set_eq($$select id from t_unlimited$$, $$select id from t_runs where label = 'served'$$,
    'claim_unlimited_runs takes the served function''s due run');
select cmp_ok((select after - before from t_read where label = 'unlimited'), '<', 20::bigint,
    'reading a handful of rows: not the 3,000 older runs of another function, not the 3,000 of its history');

insert into t_read (label, before) values ('claim_runs', pg_temp.runs_read());
create temporary table t_claimed as select * from nightshift.claim_runs('w1', 10, '30 seconds', '{tests/second, tests/served}');
update t_read set after = pg_temp.runs_read() where label = 'claim_runs';
select set_eq($$select id from t_claimed$$, $$select id from t_runs where label = 'second'$$,
    'claim_runs over two functions takes what is due of them');
select cmp_ok((select after - before from t_read where label = 'claim_runs'), '<', 20::bigint,
    'and it too reads a handful of rows');

insert into t_runs values ('later', nightshift.trigger('tests/served'));
update nightshift.runs set run_at = now() + interval '7 seconds' where id = (select id from t_runs where label = 'later');
update nightshift.runs set run_at = now() + interval '3 seconds' where function_id = 'tests/backlog';
insert into t_read (label, before) values ('wake', pg_temp.runs_read());
select is(nightshift.next_wake_at('{tests/served}'), now() + interval '7 seconds',
    'next_wake_at: the served function''s next run, not another function''s earlier one');
update t_read set after = pg_temp.runs_read() where label = 'wake';
select cmp_ok((select after - before from t_read where label = 'wake'), '<', 20::bigint,
    'read without walking the other function''s 3,000 runs');
select is(nightshift.next_wake_at(), now() + interval '3 seconds', 'with no functions named, every function''s runs count');

-- Oldest first across functions: the oldest due runs of all the named ones, whichever they are.
select nightshift.sync_functions('[{"id": "tests/a"}, {"id": "tests/b"}]');
insert into t_runs
select 'a' || m, nightshift.trigger('tests/a') from unnest(array[5, 3, 1]) m
union all
select 'b' || m, nightshift.trigger('tests/b') from unnest(array[4, 2]) m;
update nightshift.runs r set run_at = now() - substr(t.label, 2)::integer * interval '1 minute'
from t_runs t where r.id = t.id and t.label ~ '^[ab][0-9]$';
select set_eq($$select id from nightshift.claim_runs('w1', 3, '30 seconds', '{tests/a, tests/b}')$$,
    $$select id from t_runs where label in ('a5', 'b4', 'a3')$$,
    'several functions: the oldest due runs among them, whichever function they belong to');
select set_eq($$select id from nightshift.claim_unlimited_runs('w1', 10, '30 seconds', '{tests/a, tests/b}')$$,
    $$select id from t_runs where label in ('b2', 'a1')$$,
    'the next claim takes the rest');

-- Contention: committed runs, the oldest held by another session.
select is(dblink_connect('claim_contend', format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user)), 'OK', 'a second session connects');
select from dblink_exec('claim_contend', $q$
    insert into nightshift.functions (id) values ('tests/contend-a'), ('tests/contend-b');
    insert into nightshift.runs (id, function_id, max_attempts, trigger_kind, run_at) values
        ('00000000-0000-4000-8000-00000000ca05', 'tests/contend-a', 1, 'manual', now() - interval '5 minutes'),
        ('00000000-0000-4000-8000-00000000ca03', 'tests/contend-a', 1, 'manual', now() - interval '3 minutes'),
        ('00000000-0000-4000-8000-00000000cb04', 'tests/contend-b', 1, 'manual', now() - interval '4 minutes'),
        ('00000000-0000-4000-8000-00000000cb02', 'tests/contend-b', 1, 'manual', now() - interval '2 minutes')$q$) s;
select from dblink_exec('claim_contend', 'begin') s;
select is((select n from dblink('claim_contend', $q$
    select count(*)::integer from (
        select from nightshift.runs where id = '00000000-0000-4000-8000-00000000ca05' for update) locked$q$)
    as r(n integer)), 1, 'the other session holds the oldest run''s row lock');
-- Of the three oldest (a5, b4, a3), a5 is held: a3 and b4, and b2 in a5's place.
select set_eq($$select id::text from nightshift.claim_runs('w1', 3, '30 seconds', '{tests/contend-a, tests/contend-b}')$$,
    array['00000000-0000-4000-8000-00000000ca03', '00000000-0000-4000-8000-00000000cb04', '00000000-0000-4000-8000-00000000cb02'],
    'a claim whose oldest run another session holds skips it, without waiting, and still comes back full');
select from dblink_exec('claim_contend', 'rollback') s;
select set_eq($$select id::text from nightshift.claim_unlimited_runs('w1', 3, '30 seconds', '{tests/contend-a, tests/contend-b}')$$,
    array['00000000-0000-4000-8000-00000000ca05'], 'once the lock is released the held run is claimed, and nothing twice');

select from dblink_disconnect('claim_contend') s;
select * from finish();
rollback;

delete from nightshift.runs where function_id in ('tests/contend-a', 'tests/contend-b');
delete from nightshift.functions where id in ('tests/contend-a', 'tests/contend-b');
