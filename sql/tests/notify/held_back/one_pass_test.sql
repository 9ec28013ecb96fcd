-- notify.held_back reads the rows it locks a bounded number of times, however many users hold
-- them (issue 16 §3): before 0073 each user's count per type was a subquery over every locked
-- row, users x rows (3,000 users: 27,000,000 rows filtered, most of a digest sweep's time). Speed
-- is not timed here: the plan of the function's own query (its source, as it stands in pg_proc)
-- is run under explain analyze and the rows its nodes handle are counted. And the counts per type
-- are still each user's own.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(4);

-- 300 users, 2 rows each, held back yesterday: odd users one of each type, even users two of one.
insert into notify.suppressed (user_id, title, message, metadata, day, time_zone)
select md5('one-pass:' || g)::uuid, format('Held %s-%s', g, k), 'm',
       jsonb_build_object('type', case when g % 2 = 1 and k = 2 then 'tests.one_pass_b' else 'tests.one_pass_a' end),
       notify.cap_day('UTC') - 1, 'UTC'
from generate_series(1, 300) g cross join generate_series(1, 2) k;

-- The function's query with its two arguments as parameters, under explain analyze.
create function pg_temp.held_back_plan(p_as_of timestamptz, p_type_prefix text) returns jsonb
language plpgsql as $$
declare
    v_query text;
    v_plan jsonb;
begin
    select substring(p.prosrc from 'return query(.*);\s*end\s*$') into strict v_query
    from pg_proc p where p.oid = 'notify.held_back(timestamptz, text)'::regprocedure;
    v_query := replace(replace(v_query, 'held_back.as_of', '$1'), 'held_back.type_prefix', '$2');
    execute 'explain (analyze, format json) ' || v_query into v_plan using p_as_of, p_type_prefix;
    return v_plan;
end
$$;
create temporary table plan as select pg_temp.held_back_plan(now(), 'tests.one_pass_') as plan;
-- Rows each node returned or filtered out, over all its loops.
create temporary table nodes as
    select n ->> 'Node Type' as node,
           ((n ->> 'Actual Rows')::numeric + coalesce((n ->> 'Rows Removed by Filter')::numeric, 0))
           * (n ->> 'Actual Loops')::numeric as handled
    from plan, jsonb_path_query(plan.plan, 'strict $.**') n
    where jsonb_typeof(n) = 'object' and n ? 'Node Type';

select is((select (plan -> 0 -> 'Plan' ->> 'Actual Rows')::integer from plan), 300,
    'the plan is the function''s query (one row per user)');
select cmp_ok((select sum(handled) from nodes), '<', 12000::numeric,
    'its nodes handle the 600 rows a bounded number of times (not once per user: 180,000)');

select is((select count(*) from notify.held_back(now(), 'tests.one_pass_') h
           where h.held_back = 2
             and h.type_counts = case when h.items -> 1 -> 'metadata' ->> 'type' = 'tests.one_pass_b'
                                      then '{"tests.one_pass_a": 1, "tests.one_pass_b": 1}'::jsonb
                                      else '{"tests.one_pass_a": 2}'::jsonb end),
    300::bigint, 'each of the 300 users has their own two rows and their own counts per type');
select is((select count(*) from notify.held_back(now(), 'tests.one_pass_') h
           where h.type_counts = '{"tests.one_pass_a": 1, "tests.one_pass_b": 1}'::jsonb),
    150::bigint, 'half of them one of each type');

select * from finish();
rollback;
