-- 0074: nightshift.runs carries no index a claim or a completion pays for without need (every
-- update of a run's status writes an entry in each full index), runs triggered or enqueued take
-- their own id as correlation id (so runs_correlation_idx stays small), and a search by
-- correlation id still finds every run that carries it, whatever wrote it.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(26);

create function pg_temp.operator() returns void language plpgsql as $$
begin
    perform set_config('request.jwt.claims',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}', true);
    perform set_config('role', 'nightshift_authenticated', true);
end $$;
create function pg_temp.ids(p_page jsonb) returns text[] language sql as $$
    select coalesce(array_agg(r ->> 'id' order by o), '{}') from jsonb_array_elements(p_page -> 'runs') with ordinality x(r, o) $$;

-- Every index on runs that is not partial gets an entry per row version; each one added here
-- cost the claim → complete cycle 10-40 % (bench/engine/index_cost.sh). Add one only with its bench.
select is(
    (select array_agg(c.relname::text order by c.relname) from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = 'nightshift.runs'::regclass and i.indpred is null),
    array['runs_pkey'],
    'the only full index on runs is its primary key');
-- 0076: a claim's new row version (running) enters neither the per-function walk nor the BRIN.
select is(
    (select array_agg(c.relname::text || ': ' || pg_get_expr(i.indpred, i.indrelid) order by c.relname)
     from pg_index i join pg_class c on c.oid = i.indexrelid
     where c.relname in ('runs_finished_at_idx', 'runs_function_id_created_at_idx')),
    array['runs_finished_at_idx: (finished_at IS NOT NULL)', 'runs_function_id_created_at_idx: (status <> ''running''::text)'],
    'the function''s newest runs leave running runs out; finished_at (BRIN) holds finished runs only');

-- Priced for a table in memory, a batch's updates by id probe the primary key rather than read
-- the table (what they did at the default random_page_cost while it was a few thousand pages).
select is(
    (select array_agg(p.proname::text order by p.proname) from pg_proc p
     where p.pronamespace = 'nightshift'::regnamespace and 'random_page_cost=1.1' = any (p.proconfig)),
    array['claim_runs', 'claim_unlimited_runs', 'complete_runs', 'heartbeat'],
    'claim_runs, claim_unlimited_runs (0075), complete_runs and heartbeat plan with random_page_cost 1.1');

update nightshift.runs set run_at = 'infinity' where status = 'queued';
select nightshift.sync_functions('[{"id": "tests/corr-a", "events": ["tests.corr"]}, {"id": "tests/corr-b", "events": ["tests.corr"]}]');

create temporary table t_triggered as select nightshift.trigger('tests/corr-a', '{"n": 1}') as id;
select is((select correlation_id from nightshift.runs where id = (select id from t_triggered)), (select id from t_triggered),
    'a triggered run''s correlation id is its own id');
select is(nightshift.enqueue_many('tests/corr-b', '[{"n": 1}, {"n": 2}, {"n": 3}]'), 3, 'enqueue_many enqueues three runs');
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/corr-b' and correlation_id = id), 3,
    'each enqueued run''s correlation id is its own id');
select is((select count(distinct id)::integer from nightshift.runs where function_id = 'tests/corr-b'), 3,
    'enqueue_many draws one id per run');

create temporary table t_event as select nightshift.send_event('tests.corr', '{}') as id;
select is((select count(*)::integer from nightshift.runs
           where trigger_event_id = (select id from t_event) and correlation_id = (select id from t_event)), 2,
    'an event''s runs carry the event id as correlation id');
create temporary table t_rerun as select nightshift.rerun((select id from t_triggered)) as id;
-- A run as another writer makes it (an older version, a cron tick): a correlation id not its own.
insert into nightshift.runs (id, function_id, max_attempts, trigger_kind, trigger_slot, correlation_id, run_at)
values ('00000000-0000-4000-8000-0000000000f1', 'tests/corr-a', 1, 'cron', '2020-01-01 00:00:00+00', (select id from t_triggered), 'infinity');

select is(
    (select count(*)::integer from nightshift.runs r
     where r.function_id like 'tests/corr-%' and r.correlation_id <> r.id and r.correlation_id is distinct from r.trigger_event_id),
    2, 'only the rerun and the foreign-made run are in runs_correlation_idx''s range');

-- What an operator's searches answer, compared below with the table as the owner sees it.
grant select on t_triggered, t_event to public;
select pg_temp.operator();
create temporary table t_search as select
    api.runs(correlation_id => (select id from t_triggered)) as by_run,
    api.runs(correlation_id => (select id from t_event)) as by_event,
    api.runs(correlation_id => (select id from t_event), function_id => 'tests/corr-b') as by_event_b;
reset role;
select is(
    (select array_agg(x order by x) from unnest(pg_temp.ids((select by_run from t_search))) x),
    (select array_agg(id::text order by id::text) from nightshift.runs
     where id in ((select id from t_triggered), (select id from t_rerun), '00000000-0000-4000-8000-0000000000f1')),
    'a search by a triggered run''s correlation id finds the run, its rerun and the run another writer gave it');
select is(
    (select array_agg(x order by x) from unnest(pg_temp.ids((select by_event from t_search))) x),
    (select array_agg(id::text order by id::text) from nightshift.runs where trigger_event_id = (select id from t_event)),
    'a search by an event id finds the event''s runs');
select is(pg_temp.ids((select by_event_b from t_search)),
    (select array_agg(id::text) from nightshift.runs where trigger_event_id = (select id from t_event) and function_id = 'tests/corr-b'),
    'the other filters apply to a correlation search');

-- Paging merges the functions' walks: pages of two over runs of three functions interleaved in
-- time, equal created_at included, give exactly the one-page order.
select nightshift.sync_functions('[{"id": "tests/page-a"}, {"id": "tests/page-b"}, {"id": "tests/page-c"}]');
insert into nightshift.runs (function_id, max_attempts, trigger_kind, created_at, run_at)
select 'tests/page-' || (array['a', 'b', 'c'])[1 + n % 3], 1, 'manual',
       '2020-01-01 00:00:00+00'::timestamptz + (n / 2) * interval '1 minute', 'infinity'
from generate_series(1, 11) n;
create temporary table t_pages (page integer, ids text[]);
grant all on t_pages to public;
select pg_temp.operator();
do $$
declare
    v_before text;
    v_page jsonb;
    v_n integer := 0;
begin
    loop
        v_page := api.runs(until => '2020-01-02', "limit" => 2, before => v_before);
        v_n := v_n + 1;
        insert into t_pages values (v_n, pg_temp.ids(v_page));
        v_before := v_page ->> 'next_before';
        exit when v_before is null or v_n > 20;
    end loop;
end $$;
select is((select array_agg(x order by page, o) from t_pages, unnest(ids) with ordinality u(x, o)),
    pg_temp.ids(api.runs(until => '2020-01-02', "limit" => 20)),
    'pages of two across three functions join to the one-page order (newest first, ties by id)');
select is(array_length(pg_temp.ids(api.runs(until => '2020-01-02', "limit" => 20)), 1), 11, 'the one page holds all eleven');
reset role;

-- The live statuses come from the claim and lease indexes: the same answer as the walks give.
update nightshift.runs set status = 'running', lease_token = 1, lease_owner = 'w', lease_expires_at = 'infinity',
                           started_at = created_at, claimed_at = created_at
where function_id like 'tests/page-%' and extract(minute from created_at)::integer % 2 = 1;
select pg_temp.operator();
select is(pg_temp.ids(api.runs(status => 'running', until => '2020-01-02', "limit" => 3)),
    (select pg_temp.ids(jsonb_build_object('runs', jsonb_agg(r order by o) filter (where r ->> 'status' = 'running')))
     from jsonb_array_elements(api.runs(until => '2020-01-02', "limit" => 20) -> 'runs') with ordinality x(r, o))[1:3],
    'running runs, newest first across functions, as the full list orders them');
select is(pg_temp.ids(api.runs(status => 'queued', function_id => 'tests/page-b', until => '2020-01-02')),
    (select pg_temp.ids(jsonb_build_object('runs', jsonb_agg(r order by o) filter (where r ->> 'status' = 'queued')))
     from jsonb_array_elements(api.runs(function_id => 'tests/page-b', until => '2020-01-02', "limit" => 20) -> 'runs') with ordinality x(r, o)),
    'queued runs of one function, from the claim indexes');
-- Running runs are not in runs_function_id_created_at_idx (0076): every list adds them.
select is(array_length(pg_temp.ids(api.runs(until => '2020-01-02', "limit" => 20)), 1), 11,
    'the unfiltered list still holds all eleven, the running ones too');
create temporary table t_function_runs as select api.function_runs(100) as all_runs, api.function_runs(3) as newest;
reset role;
select is((select array_agg(r ->> 'id' order by r ->> 'id') from t_function_runs, jsonb_array_elements(all_runs -> 'tests/page-a') r),
    (select array_agg(id::text order by id::text) from nightshift.runs where function_id = 'tests/page-a'),
    'a function''s newest runs hold its running runs');
select is((select array_agg(r ->> 'id' order by o) from t_function_runs, jsonb_array_elements(newest -> 'tests/page-b') with ordinality x(r, o)),
    (select array_agg(id::text order by created_at desc, id desc) from (
        select id, created_at from nightshift.runs where function_id = 'tests/page-b'
        order by created_at desc, id desc limit 3) n),
    'merged with the walk, newest first, cut at the limit');
-- 0079: `nightshift runs` lists through the same walk (nightshift.recent_runs).
select is((select array_agg(r.id::text order by r.created_at desc, r.id desc) from nightshift.recent_runs('tests/page-b', 'queued', 20) r
           where r.created_at < '2020-01-02'),
    (select array_agg(id::text order by created_at desc, id desc) from nightshift.runs where function_id = 'tests/page-b' and status = 'queued'),
    'recent_runs: queued runs of one function, newest first');
select is((select array_agg(r.id::text order by r.created_at desc, r.id desc) from nightshift.recent_runs('tests/page-a', null, 3) r),
    (select array_agg(id::text order by created_at desc, id desc) from (
        select id, created_at from nightshift.runs where function_id = 'tests/page-a' order by created_at desc, id desc limit 3) n),
    'recent_runs: a function''s newest three, running ones among them');
select throws_ok($$select * from nightshift.recent_runs(null, null, 0)$$, '22023',
    'limit must be between 1 and 10000, got 0', 'recent_runs refuses a limit out of range');
select throws_ok($$select * from nightshift.recent_runs(null, 'done', 5)$$, '22023',
    'status must be one of queued, running, completed, failed, cancelled, got "done"', 'and an unknown status');
select ok(has_function_privilege('nightshift_service', 'nightshift.recent_runs(text, text, integer)', 'execute')
          and not has_function_privilege('nightshift_authenticated', 'nightshift.recent_runs(text, text, integer)', 'execute'),
    'the service role lists runs with it; an authenticated user may not');
update nightshift.runs set status = 'running', lease_token = 2, lease_owner = 'w', lease_expires_at = 'infinity',
                           started_at = created_at, claimed_at = created_at
where id = (select id from t_triggered);
select pg_temp.operator();
create temporary table t_overview as select api.overview() as o;
reset role;
select is(
    (select sum((m ->> 1)::integer)::integer from t_overview, jsonb_array_elements(o -> 'per_minute') m),
    (select count(*)::integer from nightshift.runs, t_overview where created_at >= (o ->> 'since')::timestamptz),
    'the overview''s last 24 h count running runs too');
select ok((select count(*) from nightshift.runs, t_overview
           where created_at >= (o ->> 'since')::timestamptz and status = 'running') > 0,
    'a running run is among them');

select * from finish();
rollback;
