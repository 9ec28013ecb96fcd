-- claim_runs under real concurrency, from six separate sessions (dblink) that claim, check,
-- complete and claim again as fast as they can: a limit of two per key and a singleton are
-- never exceeded at any commit, every run is claimed and completed exactly once, and no
-- claimer ever waits for another or errors (a lost race means SKIP LOCKED, never a unique
-- violation on runs_singleton_idx).
--
-- The sessions commit, so this file works on committed rows of its own (functions
-- tests/race-*) and deletes them before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

create or replace function pg_temp.forget_race_tests() returns void language sql as $$
    delete from nightshift.run_attempts where run_id in (select id from nightshift.runs where function_id like 'tests/race-%');
    delete from nightshift.runs where function_id like 'tests/race-%';
    delete from nightshift.concurrency_groups where function_id like 'tests/race-%';
    delete from nightshift.concurrency_hints where function_id like 'tests/race-%';
    delete from nightshift.functions where id like 'tests/race-%';
    drop table if exists public.tests_race_violations;
$$;
select pg_temp.forget_race_tests();  -- leftovers of an interrupted run
insert into nightshift.functions (id, concurrency_limit, concurrency_key)
values ('tests/race-pair', 2, 'tenant'), ('tests/race-single', 1, null), ('tests/race-plain', null, null);
-- 8 tenants × 15 runs limited to two at once per tenant, 40 runs of a singleton, 60 unlimited.
select nightshift.enqueue_many('tests/race-pair',
    (select jsonb_agg(jsonb_build_object('tenant', 't' || (i % 8))) from generate_series(1, 120) i));
select nightshift.enqueue_many('tests/race-single', (select jsonb_agg(jsonb_build_object('n', i)) from generate_series(1, 40) i));
select nightshift.enqueue_many('tests/race-plain', (select jsonb_agg(jsonb_build_object('n', i)) from generate_series(1, 60) i));
-- What the sessions saw running right after each of their claims committed, when over a limit.
create table public.tests_race_violations (session integer, seen text);

begin;
select plan(7);
create extension if not exists dblink;

create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo;
select is((select count(*)::integer from generate_series(1, 6) i
           where dblink_connect('ns_race_' || i, (select conninfo from t_conf)) = 'OK'), 6,
    'six separate sessions connect');

-- Every session waits at a barrier (an advisory lock this session holds), then loops: claim
-- up to three runs, commit; look at what runs (all sessions' committed claims) and record any
-- group over its limit; hold the runs a moment; complete them; commit. Until nothing is left.
select from (select pg_advisory_lock(1314062353)) barrier;  -- 0x4E530011: 'NS' lock space 17
select is((select sum(dblink_send_query('ns_race_' || i, format($q$
    do $do$
    declare
        v_ids uuid[];
        v_tokens bigint[];
        v_idle integer := 0;
    begin
        perform pg_advisory_lock_shared(1314062353);
        perform pg_advisory_unlock_shared(1314062353);
        while v_idle < 20 loop
            select array_agg(c.id), array_agg(c.lease_token) into v_ids, v_tokens
            from nightshift.claim_runs('race-%s', 3, '1 minute', array['tests/race-pair', 'tests/race-single', 'tests/race-plain']) c;
            commit;
            insert into public.tests_race_violations
            select %s, r.function_id || ':' || coalesce(r.payload ->> 'tenant', '') || ' x' || count(*)
            from nightshift.runs r
            where r.function_id in ('tests/race-pair', 'tests/race-single') and r.status = 'running'
            group by r.function_id, r.payload ->> 'tenant'
            having count(*) > case r.function_id when 'tests/race-pair' then 2 else 1 end;
            commit;
            if v_ids is null then
                v_idle := v_idle + 1;
                perform pg_sleep(0.01);
                continue;
            end if;
            v_idle := 0;
            perform pg_sleep(random() * 0.005);
            perform nightshift.complete_runs(v_ids, v_tokens, array_fill('{}'::jsonb, array[cardinality(v_ids)]));
            commit;
        end loop;
    end
    $do$ $q$, i, i)))::integer from generate_series(1, 6) i), 6, 'six sessions are waiting to claim');
select from (select pg_sleep(0.2)) settle;
select from (select pg_advisory_unlock(1314062353)) go;
select is((select count(*)::integer from generate_series(1, 6) i, dblink_get_result('ns_race_' || i, false) as r(status text)
           where r.status = 'DO'), 6, 'every session claimed and completed until nothing was left, without an error');
select from generate_series(1, 6) i, dblink_get_result('ns_race_' || i, false) as r(status text);

select is_empty($$select * from public.tests_race_violations$$,
    'after every claim, no group had more runs running than its limit (two per tenant, one for the singleton)');
select results_eq(
    $$select function_id, count(*)::integer from nightshift.runs where function_id like 'tests/race-%' and status = 'completed'
      group by 1 order by 1$$,
    $$values ('tests/race-pair', 120), ('tests/race-plain', 60), ('tests/race-single', 40)$$,
    'every run was claimed and completed');
select is((select count(*)::integer from nightshift.ended_attempts a join nightshift.runs r on r.id = a.run_id
           where r.function_id like 'tests/race-%'), 220,
    'each exactly once: one attempt per run');
select cmp_ok((select count(distinct worker)::integer from nightshift.ended_attempts a join nightshift.runs r on r.id = a.run_id
               where r.function_id like 'tests/race-%'), '>', 1,
    'the sessions really shared the work');

select from generate_series(1, 6) i, dblink_disconnect('ns_race_' || i) s;
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
select pg_temp.forget_race_tests();
