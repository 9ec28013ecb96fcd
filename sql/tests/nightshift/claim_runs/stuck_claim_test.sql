-- A claim transaction left open while it holds the hint fold (a stopped worker, a console)
-- does not stop the other workers: their claims wait for it at most 100 ms, then claim
-- without folding; once it ends, the next claim folds what waited. From separate sessions
-- (dblink).
--
-- The sessions commit, so this file works on committed rows of its own (functions
-- tests/stuck-*) and deletes them before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

create or replace function pg_temp.forget_stuck_tests() returns void language sql as $$
    delete from nightshift.run_attempts where run_id in (select id from nightshift.runs where function_id like 'tests/stuck-%');
    delete from nightshift.runs where function_id like 'tests/stuck-%';
    delete from nightshift.concurrency_groups where function_id like 'tests/stuck-%';
    delete from nightshift.concurrency_hints where function_id like 'tests/stuck-%';
    delete from nightshift.functions where id like 'tests/stuck-%';
$$;
select pg_temp.forget_stuck_tests();  -- leftovers of an interrupted run
insert into nightshift.functions (id, concurrency_limit, concurrency_key)
values ('tests/stuck-limited', 1, 'tenant'), ('tests/stuck-plain', null, null);

begin;
select plan(5);
create extension if not exists dblink;

create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo;
select is((select count(*)::integer from (values ('ns_stuck_open'), ('ns_stuck_worker')) c(name)
           where dblink_connect(c.name, (select conninfo from t_conf)) = 'OK'), 2,
    'two separate sessions connect');

-- The open claim folds a hint, so it holds the fold until its transaction ends.
select from dblink('ns_stuck_worker', $q$select nightshift.trigger('tests/stuck-limited', '{"tenant": "a"}')$q$) as r(x text);
select from dblink_exec('ns_stuck_open', 'begin') s;
select is((select r.tenant from dblink('ns_stuck_open',
           $q$select payload ->> 'tenant' from nightshift.claim_runs('stuck', 10, '1 minute', array['tests/stuck-limited'])$q$)
           as r(tenant text)), 'a', 'a claim folds the hint, claims, and stays open');

-- More work comes while it is open.
select from dblink('ns_stuck_worker', $q$select nightshift.trigger('tests/stuck-limited', '{"tenant": "b"}')$q$) as r(x text);
select from dblink('ns_stuck_worker', $q$select nightshift.trigger('tests/stuck-plain')$q$) as r(x text);
select from dblink_send_query('ns_stuck_worker',
    $q$select function_id from nightshift.claim_runs('other', 10, '1 minute', array['tests/stuck-limited', 'tests/stuck-plain'])$q$) s;
select from (select pg_sleep(0.5)) settle;
select is(dblink_is_busy('ns_stuck_worker'), 0, 'another worker''s claim does not wait for the open one (at most 100 ms)');
select results_eq($$select function_id from dblink_get_result('ns_stuck_worker') as r(function_id text)$$,
    $$values ('tests/stuck-plain')$$,
    'it claims the unlimited run; the new group waits for the fold');
select from dblink_get_result('ns_stuck_worker') as r(function_id text);

select from dblink_exec('ns_stuck_open', 'commit') s;
select results_eq(
    $$select r.tenant from dblink('ns_stuck_worker',
      $q$select payload ->> 'tenant' from nightshift.claim_runs('other', 10, '1 minute', array['tests/stuck-limited', 'tests/stuck-plain'])$q$)
      as r(tenant text)$$,
    $$values ('b')$$,
    'once the open claim ends, the next claim folds the new group''s hint and claims its run');

select from dblink_disconnect('ns_stuck_open') s;
select from dblink_disconnect('ns_stuck_worker') s;
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
select pg_temp.forget_stuck_tests();
