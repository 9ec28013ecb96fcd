-- Every run of coverage/nightly-recompute carries the story's payload (issue 15 §9):
-- {"triggered_at", "trigger_type"}: "cron" at its slot for the schedule's runs, "manual" at the
-- time of the request for the admin route's, the console's and a rerun; a caller cannot forge
-- them; other functions' payloads are untouched.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(11);

insert into coverage.institutions (id, name) values ('c0000000-0000-4000-8000-0000000000e1', 'One');
select nightshift.sync_functions('[
    {"id": "coverage/nightly-recompute", "schedule": {"cron": "0 2 * * *", "timezone": "UTC"}, "concurrency": {"limit": 1}},
    {"id": "tests/other", "schedule": {"cron": "0 2 * * *", "timezone": "UTC"}}
]');
create temp table slot (at) on commit drop as
    select s.next_slot from nightshift.schedules s where s.function_id = 'coverage/nightly-recompute';
create function pg_temp.utc(p_at timestamptz) returns text language sql
return to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- The schedule fires (a session in another zone changes nothing: the time is UTC).
set local timezone = 'Asia/Riyadh';
select nightshift.tick((select at from slot) + interval '30 seconds');
select is((select r.payload from nightshift.runs r where r.function_id = 'coverage/nightly-recompute' and r.trigger_kind = 'cron'),
    jsonb_build_object('trigger_type', 'cron', 'triggered_at', pg_temp.utc((select at from slot))),
    'the cron-fired run says trigger_type cron, triggered_at its slot');
select matches((select r.payload ->> 'triggered_at' from nightshift.runs r
                where r.function_id = 'coverage/nightly-recompute' and r.trigger_kind = 'cron'),
    '^\d{4}-\d\d-\d\dT02:00:00\.000Z$', 'as ISO 8601 in UTC, whatever the session''s zone');
select is((select r.payload from nightshift.runs r where r.function_id = 'tests/other'), '{}'::jsonb,
    'another function''s cron run keeps its empty payload');

-- The admin route's trigger.
create temp table requested (r jsonb) on commit drop;
insert into requested select coverage.request_recompute('c0000000-0000-4000-8000-0000000000e1');
select is((select r.payload - 'triggered_at' from nightshift.runs r where r.id = (select (r ->> 'job_id')::uuid from requested)),
    '{"institution_id": "c0000000-0000-4000-8000-0000000000e1", "trigger_type": "manual"}'::jsonb,
    'the manual trigger''s run says trigger_type manual, beside its institution');
select is((select r.payload ->> 'triggered_at' from nightshift.runs r where r.id = (select (r ->> 'job_id')::uuid from requested)),
    pg_temp.utc(now()), 'triggered_at the time of the request');

-- Any other way in is manual too, and the database decides.
create temp table forged (id uuid) on commit drop;
insert into forged select nightshift.trigger('coverage/nightly-recompute',
    '{"trigger_type": "cron", "triggered_at": "1999-01-01T00:00:00Z"}');
select is((select r.payload ->> 'trigger_type' from nightshift.runs r where r.id = (select id from forged)), 'manual',
    'a trigger from the console is manual, whatever its payload said');
select is((select r.payload ->> 'triggered_at' from nightshift.runs r where r.id = (select id from forged)), pg_temp.utc(now()),
    'and triggered now');
select is((select r.payload ? 'institution_id' from nightshift.runs r where r.id = (select id from forged)), false,
    'a full run has no institution_id');

update nightshift.runs set status = 'failed', finished_at = now(), error = '{"message": "boom"}'
where function_id = 'coverage/nightly-recompute' and trigger_kind = 'cron';
create temp table rerun (id uuid) on commit drop;
insert into rerun select nightshift.rerun((select r.id from nightshift.runs r
                                           where r.function_id = 'coverage/nightly-recompute' and r.trigger_kind = 'cron'));
select is((select r.payload ->> 'trigger_type' from nightshift.runs r where r.id = (select id from rerun)), 'manual',
    'a rerun of the cron run is manual: somebody asked for it');
select is((select r.payload ->> 'triggered_at' from nightshift.runs r where r.id = (select id from rerun)), pg_temp.utc(now()),
    'triggered when it was asked for');
select is((select count(*) from nightshift.runs r
           where r.function_id = 'coverage/nightly-recompute' and not (r.payload ?& array['triggered_at', 'trigger_type'])),
    0::bigint, 'no run of the recompute is without the two fields');

select * from finish();
rollback;
