-- 0078: run ids are time-ordered (UUID version 7), whoever creates the run, so new runs sit
-- together at the end of runs_pkey and run_attempts_pkey; they stay unguessable.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);

select nightshift.sync_functions('[{"id": "tests/ids", "events": ["tests.ids"]}]');
update nightshift.runs set run_at = 'infinity' where status = 'queued';

create temporary table t_ids (source text, id uuid);
insert into t_ids select 'trigger', nightshift.trigger('tests/ids', '{"n": 1}');
select nightshift.enqueue_many('tests/ids', '[{"n": 2}, {"n": 3}, {"n": 4}]');
insert into t_ids select 'enqueue_many', r.id from nightshift.runs r where r.function_id = 'tests/ids' and r.trigger_kind = 'manual'
    and r.id not in (select id from t_ids);
select pg_sleep(0.002);
select nightshift.send_event('tests.ids', '{}');
insert into t_ids select 'event', r.id from nightshift.runs r where r.function_id = 'tests/ids' and r.trigger_kind = 'event';
insert into t_ids select 'rerun', nightshift.rerun((select id from t_ids where source = 'trigger'));

select is((select count(*)::integer from t_ids), 6, 'a triggered run, three enqueued, an event''s and a rerun');
select is((select array_agg(distinct substr(id::text, 15, 1)) from t_ids), array['7'],
    'every one is a version 7 UUID');
select is((select array_agg(distinct substr(id::text, 20, 1) in ('8', '9', 'a', 'b')) from t_ids), array[true],
    'with the RFC variant bits');
-- The first 48 bits are the creation time in Unix milliseconds: within a second of created_at.
select ok((select bool_and(abs(('x' || replace(substr(r.id::text, 1, 13), '-', ''))::bit(48)::bigint
                               - (extract(epoch from r.created_at) * 1000)::bigint) < 1000)
           from nightshift.runs r join t_ids t using (id)),
    'their first 48 bits are the creation time in milliseconds');
-- Ids taken at least 2 ms apart sort in that order (within a millisecond they need not).
select ok((select id from t_ids where source in ('trigger', 'enqueue_many') order by id desc limit 1)
          < (select id from t_ids where source in ('event', 'rerun') order by id limit 1),
    'a later run''s id sorts after an earlier one''s');
select is((select count(distinct substr(id::text, 20))::integer from t_ids), 6, 'the random parts differ');
select is((select pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
           where d.adrelid = 'nightshift.runs'::regclass and a.attname = 'id'),
    'nightshift._uuid_v7()', 'the column''s default is the time-ordered id');
select ok(not has_function_privilege('nightshift_service', 'nightshift._uuid_v7()', 'execute'),
    'a helper: the service role does not call it');

select * from finish();
rollback;
