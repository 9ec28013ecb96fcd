-- 0080: a list of failed or cancelled runs reads those runs' own indexes, not each function's
-- whole history, and answers what the walk answered: newest first across functions, every
-- filter applied, pages that join up.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(14);

create function pg_temp.operator() returns void language plpgsql as $$
begin
    perform set_config('request.jwt.claims',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}', true);
    perform set_config('role', 'nightshift_authenticated', true);
end $$;
create function pg_temp.ids(p_page jsonb) returns text[] language sql as $$
    select coalesce(array_agg(r ->> 'id' order by o), '{}') from jsonb_array_elements(p_page -> 'runs') with ordinality x(r, o) $$;
-- Pages of runs' heap this transaction has read so far (as the owner, who may name the table).
create function pg_temp.fetched() returns bigint language sql security definer as $$
    select pg_stat_get_xact_blocks_fetched('nightshift.runs'::regclass) $$;
grant execute on function pg_temp.fetched() to public;

select is(
    (select array_agg(format('%s %s: %s', c.relname, pg_get_indexdef(i.indexrelid) ~ '\(function_id, created_at, id\)',
                             pg_get_expr(i.indpred, i.indrelid)) order by c.relname)
     from pg_index i join pg_class c on c.oid = i.indexrelid
     where c.relname in ('runs_failed_idx', 'runs_cancelled_idx')),
    array['runs_cancelled_idx t: (status = ''cancelled''::text)', 'runs_failed_idx t: (status = ''failed''::text)'],
    'failed and cancelled runs have partial indexes in the lists'' order (function, created_at, id)');

-- A healthy function: 3,000 completed runs, two failures and a cancellation among them; a second
-- function with one failure in between in time, and one from a cron tick.
update nightshift.runs set run_at = 'infinity' where status = 'queued';
select nightshift.sync_functions('[{"id": "tests/rare-a"}, {"id": "tests/rare-b"}]');
insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, trigger_slot, created_at, run_at, finished_at)
select ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid,
       case when n in (1500, 2600) then 'tests/rare-b' else 'tests/rare-a' end,
       case when n in (100, 1500, 2000, 2600) then 'failed' when n = 2500 then 'cancelled' else 'completed' end,
       1, case when n = 2600 then 'cron' else 'manual' end, case when n = 2600 then '2020-01-01 00:00:00+00'::timestamptz end,
       '2020-01-01 00:00:00+00'::timestamptz + n * interval '1 second', 'infinity',
       '2020-01-01 00:00:00+00'::timestamptz + n * interval '1 second'
from generate_series(1, 3000) n;
analyze nightshift.runs;

select pg_temp.operator();
create temporary table t_lists as select
    pg_temp.fetched() as before_failed,
    api.runs(function_id => 'tests/rare-a', status => 'failed') as failed_a,
    pg_temp.fetched() as after_failed,
    api.runs(status => 'failed') as failed,
    api.runs(status => 'failed', "limit" => 1) as failed_first,
    api.runs(status => 'failed', "trigger" => 'cron') as failed_cron,
    api.runs(status => 'failed', since => '2020-01-01 00:25:00+00', until => '2020-01-01 00:40:00+00') as failed_window,
    pg_temp.fetched() as before_cancelled,
    api.runs(status => 'cancelled') as cancelled,
    pg_temp.fetched() as after_cancelled,
    api.runs(function_id => 'tests/rare-b', status => 'cancelled') as cancelled_b;
reset role;

-- Before 0080 this list read every page of the function's 3,000 runs (about 60) to find its two
-- failures.
select cmp_ok((select after_failed - before_failed from t_lists), '<=', 10::bigint,
    'failed runs of a function with 3,000 runs: a few pages read, not its history');
select cmp_ok((select after_cancelled - before_cancelled from t_lists), '<=', 10::bigint,
    'cancelled runs across functions: likewise');
select is(pg_temp.ids((select failed_a from t_lists)),
    array['00000000-0000-4000-8000-000000002000', '00000000-0000-4000-8000-000000000100'],
    'a function''s failed runs, newest first');
select is(pg_temp.ids((select failed from t_lists)),
    array['00000000-0000-4000-8000-000000002600', '00000000-0000-4000-8000-000000002000',
          '00000000-0000-4000-8000-000000001500', '00000000-0000-4000-8000-000000000100'],
    'every function''s failed runs, merged newest first');
select is(pg_temp.ids((select failed_cron from t_lists)), array['00000000-0000-4000-8000-000000002600'],
    'the trigger filter applies');
select is(pg_temp.ids((select failed_window from t_lists)), array['00000000-0000-4000-8000-000000002000', '00000000-0000-4000-8000-000000001500'],
    'since and until apply');
select is(pg_temp.ids((select cancelled from t_lists)), array['00000000-0000-4000-8000-000000002500'],
    'the cancelled run');
select is(pg_temp.ids((select cancelled_b from t_lists)), '{}'::text[], 'none for a function without one');

-- Pages of one join up to the one-page list.
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
        v_page := api.runs(status => 'failed', "limit" => 1, before => v_before);
        v_n := v_n + 1;
        insert into t_pages values (v_n, pg_temp.ids(v_page));
        v_before := v_page ->> 'next_before';
        exit when v_before is null or v_n > 10;
    end loop;
end $$;
reset role;
select is((select array_agg(x order by page, o) from t_pages, unnest(ids) with ordinality u(x, o)),
    pg_temp.ids((select failed from t_lists)), 'pages of one failed run join to the one-page order');
select is((select count(*)::integer from t_pages), 4, 'four pages, the last without a next_before');
select ok((select failed_first ->> 'next_before' is not null from t_lists), 'a first page of one says another follows');

-- `nightshift runs --status failed` (recent_runs) and the other statuses still answer as before.
select is((select array_agg(r.id::text order by r.created_at desc, r.id desc) from nightshift.recent_runs('tests/rare-a', 'failed', 20) r),
    array['00000000-0000-4000-8000-000000002000', '00000000-0000-4000-8000-000000000100'],
    'recent_runs lists a function''s failed runs');
select is((select count(*)::integer from nightshift.recent_runs('tests/rare-a', 'completed', 10000) r), 2995,
    'and its completed runs, through the walk');

select * from finish();
rollback;
