-- Run events (0052): one nightshift_run_events notification per statement that changes runs
-- or checkpoints steps, grouped by function, status and step; the compact {"at", "n"} form when
-- a statement changes too many runs to list; nothing for a heartbeat.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(29);

-- The payload builder on its own.
select is(nightshift._run_events_payload('2026-12-06 07:00:00.5+01', '[["f/a", "queued", null, ["00000000-0000-0000-0000-000000000001"]]]', 1)::jsonb,
    '{"at": "2026-12-06T06:00:00.500000Z", "g": [["f/a", "queued", null, ["00000000-0000-0000-0000-000000000001"]]]}'::jsonb,
    'the grouped form, with the time in UTC');
select is(nightshift._run_events_payload('2026-12-06 07:00:00+00', null, 5000)::jsonb,
    '{"at": "2026-12-06T07:00:00.000000Z", "n": 5000}'::jsonb,
    'no groups (too many runs to group): the compact form with the count');
-- 40 runs, each of its own function with a 200-character id: the groups would pass 8000 bytes.
select is(nightshift._run_events_payload('2026-12-06 07:00:00+00',
        (select jsonb_agg(jsonb_build_array(repeat('f', 195) || to_char(i, 'FM00000'), 'running', null, jsonb_build_array(gen_random_uuid())))
         from generate_series(1, 40) i), 40)::jsonb,
    '{"at": "2026-12-06T07:00:00.000000Z", "n": 40}'::jsonb,
    'groups of 8000 bytes or more fall back to the compact form');
select cmp_ok(octet_length(nightshift._run_events_payload(now(),
        (select jsonb_build_array(jsonb_build_array(repeat('f', 200), 'completed', repeat('s', 200), jsonb_agg(gen_random_uuid())))
         from generate_series(1, 180)), 180)), '<', 8000,
    '180 runs of one group, with the longest function id and a long step name, still fit under the limit');

-- Who listens: run_events_listen renews the one row, never shortens it.
delete from nightshift.run_event_listeners;
select ok(not nightshift._run_events_wanted(), 'no server has announced itself: nobody listens');
select is(nightshift.run_events_listen(600), now() + interval '600 seconds', 'a server listens for ten minutes');
select is(nightshift.run_events_listen(90), now() + interval '600 seconds', 'a shorter renewal does not shorten it');
select ok(nightshift._run_events_wanted(), 'someone listens');
select throws_ok($$select nightshift.run_events_listen(0)$$, '22023', null, 'seconds must be 1 to 3600');
update nightshift.run_event_listeners set listening_until = now() - interval '1 second';
select ok(not nightshift._run_events_wanted(), 'an expired announcement: nobody listens');

-- The real sender notifies; the triggers are statement-level.
select results_eq($$select tgname::text collate "C", (tgtype & 1)::int from pg_trigger where tgname in ('runs_events_insert', 'runs_events_update', 'steps_events_insert') order by 1$$,
    $$values ('runs_events_insert' collate "C", 0), ('runs_events_update', 0), ('steps_events_insert', 0)$$,
    'three statement-level triggers (no FOR EACH ROW)');
select ok(prosrc ~ 'pg_notify\(''nightshift_run_events''', 'the sender notifies nightshift_run_events')
from pg_proc where oid = 'nightshift._run_events_send(text)'::regprocedure;

-- What the triggers send, captured instead of notified (this transaction only).
create temporary table t_sent (n serial primary key, payload jsonb not null);
create or replace function nightshift._run_events_send(p_payload text)
returns void language sql set search_path = '' as $$ insert into pg_temp.t_sent (payload) values (p_payload::jsonb) $$;

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select nightshift.sync_functions('[{"id": "tests/events"}, {"id": "tests/events-b"}]');
truncate t_sent;
select nightshift.trigger('tests/events-b', '{"n": 0}');
select is((select count(*) from t_sent), 0::bigint, 'nobody listens: an enqueue sends nothing');
select nightshift.run_events_listen(60);
truncate t_sent;

create temporary table t_runs (label text primary key, id uuid);
insert into t_runs values ('one', nightshift.trigger('tests/events', '{"n": 1}'));
select results_eq($$select payload -> 'g' from t_sent$$,
    $$select jsonb_build_array(jsonb_build_array('tests/events', 'queued', null, jsonb_build_array((select id from t_runs where label = 'one'))))$$,
    'an enqueue sends one notification: the function, queued, no step, the run id');
select matches((select payload ->> 'at' from t_sent), '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$', 'at is ISO-8601 in UTC');

truncate t_sent;
select nightshift.enqueue_many('tests/events', '[{}, {}, {}, {}, {}]');
select is((select count(*) from t_sent), 1::bigint, 'enqueue_many of five runs: one notification');
select is((select jsonb_array_length(payload #> '{g,0,3}') from t_sent), 5, 'listing the five runs in one group');

truncate t_sent;
select nightshift.enqueue_many('tests/events-b', (select jsonb_agg('{}'::jsonb) from generate_series(1, 300)));
select results_eq($$select payload - 'at' from t_sent$$,
    $$values ('{"n": 300}'::jsonb)$$,
    'three hundred runs in one statement: one notification in the compact form');
update nightshift.runs set run_at = 'infinity' where function_id = 'tests/events-b';
truncate t_sent;
select is((select count(*) from t_sent), 0::bigint, 'an update that changes no status sends nothing');

-- Claims, steps, completion, failure: each statement one notification.
create temporary table t_claim as select * from nightshift.claim_runs('w1', 3, '30 seconds', array['tests/events']);
select is((select count(*) from t_sent), 1::bigint, 'a claim of three runs: one notification');
select results_eq($$select g ->> 0, g ->> 1, jsonb_array_length(g -> 3) from t_sent, jsonb_array_elements(payload -> 'g') g$$,
    $$values ('tests/events', 'running', 3)$$,
    'one group: the three runs are running');

truncate t_sent;
select nightshift.heartbeat(array_agg(id), array_agg(lease_token), '1 minute') from t_claim;
select is((select count(*) from t_sent), 0::bigint, 'a heartbeat sends nothing');

-- A subquery: a function in the target list would run for every row before ORDER BY/LIMIT.
select nightshift.checkpoint_step(c.id, c.lease_token, 'fetch', '{"ok": true}') from (select * from t_claim order by id limit 1) c;
select results_eq($$select payload -> 'g' from t_sent$$,
    $$select jsonb_build_array(jsonb_build_array('tests/events', 'running', 'fetch', jsonb_build_array((select min(id::text) from t_claim))))$$,
    'a checkpointed step: one notification naming the step, the run still running');
truncate t_sent;
select nightshift.checkpoint_step(c.id, c.lease_token, 'fetch', '{"ok": false}') from (select * from t_claim order by id limit 1) c;
select is((select count(*) from t_sent), 0::bigint, 'a replayed step (nothing inserted) sends nothing');

select nightshift.complete_run(c.id, c.lease_token, '{}') from (select * from t_claim order by id limit 1) c;
select results_eq($$select g ->> 1 from t_sent, jsonb_array_elements(payload -> 'g') g$$, $$values ('completed')$$,
    'a completion: completed');
truncate t_sent;
select nightshift.fail_run(c.id, c.lease_token, '{"message": "boom"}', true) from (select * from t_claim order by id offset 1 limit 1) c;
select results_eq($$select g ->> 1 from t_sent, jsonb_array_elements(payload -> 'g') g$$, $$values ('queued')$$,
    'a failure with attempts left: queued again (the retry)');
truncate t_sent;
select nightshift.fail_run(c.id, c.lease_token, '{"message": "boom"}', false) from (select * from t_claim order by id offset 2 limit 1) c;
select results_eq($$select g ->> 1 from t_sent, jsonb_array_elements(payload -> 'g') g$$, $$values ('failed')$$,
    'a final failure: failed');
truncate t_sent;
insert into t_runs values ('cancelled', nightshift.trigger('tests/events-b', '{"n": 2}'));
truncate t_sent;
select nightshift.cancel(id) from t_runs where label = 'cancelled';
select results_eq($$select payload -> 'g' from t_sent$$,
    $$select jsonb_build_array(jsonb_build_array('tests/events-b', 'cancelled', null, jsonb_build_array((select id from t_runs where label = 'cancelled'))))$$,
    'a cancel: cancelled');

-- A lease that expired, taken over by another worker: running again, a new attempt.
truncate t_sent;
create temporary table t_claim2 as select * from nightshift.claim_runs('w1', 1, '30 seconds', array['tests/events']);
update nightshift.runs set lease_expires_at = now() - interval '1 second' where id = (select id from t_claim2);
truncate t_sent;
create temporary table t_claim3 as select * from nightshift.claim_runs('w2', 1, '30 seconds', array['tests/events']);
select results_eq($$select payload -> 'g' from t_sent$$,
    $$select jsonb_build_array(jsonb_build_array('tests/events', 'running', null, jsonb_build_array((select id from t_claim2))))$$,
    'a run claimed again after its lease expired: one notification, running (a new attempt)');

select * from finish();
rollback;
