-- The fold of concurrency hints starts from a floor, so that it does not walk every hint ever
-- folded; a hint committed late, below hints already folded, must still be folded. Here an
-- enqueue stays open while a later one commits and claims fold past it; once it commits, its
-- run is claimed. From separate sessions (dblink): the open transaction must be another one.
--
-- The sessions commit, so this file works on committed rows of its own (functions
-- tests/late-*) and deletes them before and after.
set client_min_messages = warning;
create extension if not exists pgtap;

create or replace function pg_temp.forget_late_tests() returns void language sql as $$
    delete from nightshift.run_attempts where run_id in (select id from nightshift.runs where function_id like 'tests/late-%');
    delete from nightshift.runs where function_id like 'tests/late-%';
    delete from nightshift.concurrency_groups where function_id like 'tests/late-%';
    delete from nightshift.concurrency_hints where function_id like 'tests/late-%';
    delete from nightshift.functions where id like 'tests/late-%';
$$;
select pg_temp.forget_late_tests();  -- leftovers of an interrupted run
insert into nightshift.functions (id, concurrency_limit, concurrency_key) values ('tests/late-limited', 1, 'tenant');

begin;
select plan(7);
create extension if not exists dblink;

create temporary table t_conf as
select format('host=%s port=%s dbname=%s user=%s',
              coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port'), current_database(), current_user) as conninfo;
select is((select count(*)::integer from (values ('ns_late_open'), ('ns_late_other'), ('ns_late_claimer')) c(name)
           where dblink_connect(c.name, (select conninfo from t_conf)) = 'OK'), 3,
    'three separate sessions connect');

-- The claimer's claims of tests/late-limited, as tenant names.
create function pg_temp.claim() returns text language sql as $$
    select coalesce(string_agg(r.tenant, ',' order by r.tenant), '') from dblink('ns_late_claimer',
        $q$select payload ->> 'tenant' from nightshift.claim_runs('late', 10, '1 minute', array['tests/late-limited'])$q$)
        as r(tenant text)
$$;

select from dblink_exec('ns_late_open', 'begin') s;
select from dblink('ns_late_open', $q$select nightshift.trigger('tests/late-limited', '{"tenant": "early"}')$q$) as r(x text);
select from dblink('ns_late_other', $q$select nightshift.trigger('tests/late-limited', '{"tenant": "later"}')$q$) as r(x text);
select ok(
    (select r.id from dblink('ns_late_other', $q$select id from nightshift.concurrency_hints where concurrency_key = 'later'$q$) as r(id bigint))
    > (select r.id from dblink('ns_late_open', $q$select id from nightshift.concurrency_hints where concurrency_key = 'early'$q$) as r(id bigint)),
    'the committed enqueue''s hint has a higher id than the open one''s');

select is(pg_temp.claim(), 'later', 'a claim folds and claims the committed run');
-- More enqueues commit and are folded while the first stays open: a floor that followed the
-- folded hints would now be above the open one's.
select from dblink('ns_late_other', $q$select nightshift.trigger('tests/late-limited', '{"tenant": "later 2"}')$q$) as r(x text);
select is(pg_temp.claim(), 'later 2', 'a claim folds and claims a second committed run');
select from dblink('ns_late_other', $q$select nightshift.trigger('tests/late-limited', '{"tenant": "later 3"}')$q$) as r(x text);
select is(pg_temp.claim(), 'later 3', 'and a third (the open enqueue is not visible yet)');

select from dblink_exec('ns_late_open', 'commit') s;
select is(pg_temp.claim(), 'early',
    'once the open enqueue commits, its hint is folded although a later one was folded first: its run is claimed');
select is((select r.n from dblink('ns_late_claimer', $q$select count(*)::integer from nightshift.concurrency_hints
           where function_id = 'tests/late-limited'$q$) as r(n integer)), 0,
    'no hint of it is left behind');

select from dblink_disconnect('ns_late_open') s;
select from dblink_disconnect('ns_late_other') s;
select from dblink_disconnect('ns_late_claimer') s;
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
select pg_temp.forget_late_tests();
