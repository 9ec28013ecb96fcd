-- A limited run leaving running wakes the workers when a due run of its group waits for the
-- place (issue 11e): complete, cancel, a final failure and a quarantine each NOTIFY
-- nightshift_runs with the function id; a group with nothing waiting, and unlimited runs,
-- send nothing. From separate sessions (dblink), since a notification leaves at commit.
--
-- The sessions commit, so this file works on committed rows of its own (functions
-- tests/wake-*) and deletes them before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

create or replace function pg_temp.forget_wake_tests() returns void language sql as $$
    delete from nightshift.run_attempts where run_id in (select id from nightshift.runs where function_id like 'tests/wake-%');
    delete from nightshift.runs where function_id like 'tests/wake-%';
    delete from nightshift.concurrency_groups where function_id like 'tests/wake-%';
    delete from nightshift.concurrency_hints where function_id like 'tests/wake-%';
    delete from nightshift.functions where id like 'tests/wake-%';
$$;
select pg_temp.forget_wake_tests();  -- leftovers of an interrupted run
insert into nightshift.functions (id, concurrency_limit, concurrency_key, crash_limit)
values ('tests/wake-limited', 1, 'tenant', 1), ('tests/wake-plain', null, null, 3);

begin;
select plan(9);
create extension if not exists dblink;

create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo;
select is((select count(*)::integer from (values ('ns_wake_listener'), ('ns_wake_worker')) c(name)
           where dblink_connect(c.name, (select conninfo from t_conf)) = 'OK'), 2,
    'a listening session and a worker session connect');
select from dblink_exec('ns_wake_listener', 'listen nightshift_runs') s;

-- Runs the statement in the worker session (its own transaction, committed), then returns
-- how many notifications for function p_function the listener got. A notification reaches the
-- listener some time after its commit (long on a loaded machine): what earlier statements sent
-- (a trigger's own wake) is drained until 0.3 s pass quietly, and the statement's are collected
-- until 0.3 s after the last one, or 2 s when none comes.
create function pg_temp.wakes(p_sql text, p_function text default 'tests/wake-limited') returns integer
language plpgsql as $$
declare
    v_quiet integer := 0;
    v_ticks integer := 0;
    v_got integer;
    v_count integer := 0;
begin
    while v_quiet < 3 and v_ticks < 100 loop
        perform pg_sleep(0.1);
        v_ticks := v_ticks + 1;
        v_quiet := case when (select count(*) from dblink_get_notify('ns_wake_listener')) = 0 then v_quiet + 1 else 0 end;
    end loop;
    perform * from dblink('ns_wake_worker', p_sql) as r(x text);
    v_quiet := 0;
    v_ticks := 0;
    while v_ticks < 20 and (v_count = 0 or v_quiet < 3) loop
        perform pg_sleep(0.1);
        v_ticks := v_ticks + 1;
        select count(*) filter (where n.notify_name = 'nightshift_runs' and n.extra = p_function)::integer
        into v_got from dblink_get_notify('ns_wake_listener') n;
        v_count := v_count + v_got;
        v_quiet := case when v_got = 0 then v_quiet + 1 else 0 end;
    end loop;
    return v_count;
end
$$;
-- The id of the worker session's running run of a tenant, and its lease token.
create function pg_temp.running(p_tenant text) returns table (id uuid, lease_token bigint)
language sql as $$
    select r.id, r.lease_token from dblink('ns_wake_worker', format(
        $q$select id, lease_token from nightshift.runs where function_id = 'tests/wake-limited'
           and status = 'running' and payload ->> 'tenant' = %L$q$, p_tenant)) as r(id uuid, lease_token bigint)
$$;

-- Tenant a: one running, one queued behind it. Tenant b: one running, nothing behind it.
select from dblink('ns_wake_worker', $q$select nightshift.enqueue_many('tests/wake-limited',
    '[{"tenant": "a"}, {"tenant": "a"}, {"tenant": "b"}]')$q$) as r(x text);
select from dblink('ns_wake_worker', $q$select nightshift.claim_runs('w1', 10, '1 minute', array['tests/wake-limited'])$q$) as r(x text);

select is(pg_temp.wakes((select format('select nightshift.complete_run(%L, %s, ''{}'')', id, lease_token) from pg_temp.running('a'))), 1,
    'completing a run whose group has a due run waiting notifies nightshift_runs with the function id');
select is(pg_temp.wakes((select format('select nightshift.complete_run(%L, %s, ''{}'')', id, lease_token) from pg_temp.running('b'))), 0,
    'completing one whose group has nothing waiting notifies nothing');

-- Cancel: a's second run is claimed, a third queued behind it; cancelling the running one frees the place.
select from dblink('ns_wake_worker', $q$select nightshift.claim_runs('w1', 10, '1 minute', array['tests/wake-limited'])$q$) as r(x text);
select from dblink('ns_wake_worker', $q$select nightshift.trigger('tests/wake-limited', '{"tenant": "a"}')$q$) as r(x text);
select is(pg_temp.wakes((select format('select nightshift.cancel(%L)', id) from pg_temp.running('a'))), 1,
    'cancelling a running limited run with a run waiting behind it notifies');

-- A final failure.
select from dblink('ns_wake_worker', $q$select nightshift.claim_runs('w1', 10, '1 minute', array['tests/wake-limited'])$q$) as r(x text);
select from dblink('ns_wake_worker', $q$select nightshift.trigger('tests/wake-limited', '{"tenant": "a"}')$q$) as r(x text);
select is(pg_temp.wakes((select format('select nightshift.fail_run(%L, %s, ''{}'', false)', id, lease_token) from pg_temp.running('a'))), 1,
    'a run failing for good with a run waiting behind it notifies');

-- A quarantine (crash_limit 1) by a claimer of another function's runs' worker... of this one.
select from dblink('ns_wake_worker', $q$select nightshift.claim_runs('w1', 10, '1 minute', array['tests/wake-limited'])$q$) as r(x text);
select from dblink('ns_wake_worker', $q$select nightshift.trigger('tests/wake-limited', '{"tenant": "a"}')$q$) as r(x text);
select from dblink_exec('ns_wake_worker', $q$update nightshift.runs set lease_expires_at = now() - interval '1 second'
                                             where function_id = 'tests/wake-limited' and status = 'running'$q$) s;
select is(pg_temp.wakes($q$select nightshift.claim_runs('w2', 0, '1 minute', array['tests/wake-limited'])$q$), 0,
    'a claim of nothing quarantines nothing (it visits max_runs expired leases at most)');
select is(pg_temp.wakes($q$select count(*) from nightshift.claim_runs('w2', 2, '1 minute', array['tests/wake-limited'])$q$), 1,
    'quarantining a run with a run waiting behind it notifies');

-- Unlimited runs: their completion is the hot path, and notifies nothing.
select from dblink('ns_wake_worker', $q$select nightshift.trigger('tests/wake-plain')$q$) as r(x text);
select from dblink('ns_wake_worker', $q$select nightshift.claim_runs('w1', 10, '1 minute', array['tests/wake-plain'])$q$) as r(x text);
select is(pg_temp.wakes((select format('select nightshift.complete_runs(array[%L]::uuid[], array[%s]::bigint[], array[''{}'']::jsonb[])', r.id, r.lease_token)
                         from dblink('ns_wake_worker', $q$select id, lease_token from nightshift.runs where function_id = 'tests/wake-plain' and status = 'running'$q$)
                              as r(id uuid, lease_token bigint)), 'tests/wake-plain'), 0,
    'completing an unlimited run notifies nothing');
select is((select count(*)::integer from dblink('ns_wake_worker', $q$select 1 from nightshift.runs where function_id = 'tests/wake-limited'
           and status = 'running'$q$) as r(x integer)), 1,
    'and the run that waited was claimed by the claim that quarantined the other');

select from dblink_disconnect('ns_wake_listener') s;
select from dblink_disconnect('ns_wake_worker') s;
select * from finish();
rollback;

-- After a failure too, a session may still be open (and hold the rows this file deletes).
-- The rollback took dblink's functions away, not its connections: bring them back to close those.
do $$
declare
    v_installed constant boolean := exists (select 1 from pg_extension where extname = 'dblink');
begin
    create extension if not exists dblink;
    perform dblink_disconnect(c) from unnest(dblink_get_connections()) c;
    if not v_installed then
        drop extension dblink;
    end if;
end
$$;
select pg_temp.forget_wake_tests();
