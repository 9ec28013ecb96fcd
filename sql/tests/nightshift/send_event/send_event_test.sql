-- send_event: stores the event and fans out to every enabled subscriber in one transaction;
-- an idempotency key never fans out twice.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(13);

select nightshift.sync_functions('[
    {"id": "tests/welcome", "events": ["user.created"]},
    {"id": "tests/audit", "events": ["user.created", "user.deleted"], "concurrency": {"limit": 1, "key": "user"}},
    {"id": "tests/disabled", "events": ["user.created"], "enabled": false},
    {"id": "tests/other", "events": ["order.placed"]}
]');

create temporary table t_events (label text primary key, id uuid);
insert into t_events values ('created', nightshift.send_event('user.created', '{"user": "u1"}', 'signup-u1'));

select results_eq(
    $$select name, data, idempotency_key, runs_enqueued from nightshift.events where id = (select id from t_events where label = 'created')$$,
    $$values ('user.created', '{"user": "u1"}'::jsonb, 'signup-u1', 2)$$,
    'the event is stored with the number of runs it enqueued');
select results_eq(
    $$select function_id, payload, trigger_kind, status, concurrency_key from nightshift.runs
      where trigger_event_id = (select id from t_events where label = 'created') order by function_id$$,
    $$values ('tests/audit', '{"user": "u1"}'::jsonb, 'event', 'queued', 'u1'),
             ('tests/welcome', '{"user": "u1"}'::jsonb, 'event', 'queued', null)$$,
    'each enabled subscriber gets one run whose payload is the event data');
select is((select count(distinct correlation_id)::integer from nightshift.runs
           where trigger_event_id = (select id from t_events where label = 'created')), 1,
    'the runs of one event share a correlation id');
select is((select correlation_id from nightshift.runs where function_id = 'tests/welcome'),
    (select id from t_events where label = 'created'),
    'that correlation id is the event id');
select is((select count(*)::integer from nightshift.runs where function_id in ('tests/disabled', 'tests/other')), 0,
    'disabled functions and other events'' subscribers get no run');

select is(nightshift.send_event('user.created', '{"user": "u1", "again": true}', 'signup-u1'),
    (select id from t_events where label = 'created'),
    'the same idempotency key returns the first event');
select is((select count(*)::integer from nightshift.runs where function_id like 'tests/%'), 2,
    'the same idempotency key never fans out twice');
select is((select count(*)::integer from nightshift.events where name = 'user.created'), 1,
    'the same idempotency key stores no second event');

insert into t_events values ('nobody', nightshift.send_event('nobody.listens'));
select results_eq(
    $$select name, data, runs_enqueued from nightshift.events where id = (select id from t_events where label = 'nobody')$$,
    $$values ('nobody.listens', '{}'::jsonb, 0)$$,
    'an event without subscribers is stored with no runs');

select isnt(nightshift.send_event('user.deleted', '{"user": "u2"}'), nightshift.send_event('user.deleted', '{"user": "u2"}'),
    'events without a key are never deduplicated');
select is((select count(*)::integer from nightshift.runs where function_id = 'tests/audit' and payload ->> 'user' = 'u2'), 2,
    'each keyless event fans out on its own');

select throws_ok($$select nightshift.send_event('')$$, '22023', 'an event needs a name',
    'an empty event name is refused');
select throws_ok($$select nightshift.send_event(null)$$, '22023', 'an event needs a name',
    'a null event name is refused');

select * from finish();
rollback;
