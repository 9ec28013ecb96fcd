-- api.overview (0053): queue depth per function, runs and failures per minute over 24 h, stuck runs,
-- missed slots and p50/p95 durations, for readers (operators included); anyone else 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(12);
create function pg_temp.act_as(p_role text, p_claims text) returns void language plpgsql as $$
begin
    reset role;
    perform set_config('request.jwt.claims', p_claims, true);
    if p_role is not null then perform set_config('role', p_role, true); end if;
end $$;
create function pg_temp.operator() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}') $$;
create function pg_temp.admin() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated',
        '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c2", "app_metadata": {"role": "super_admin"}}') $$;
create function pg_temp.stranger() returns void language sql as $$
    select pg_temp.act_as('nightshift_authenticated', '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c3"}') $$;
select nightshift.sync_functions('[{"id": "t/a", "schedule": {"cron": "* * * * *"}}, {"id": "t/b"}]'::jsonb);
-- A ticker that has not run for ten minutes: about ten slots overdue.
update nightshift.schedules set next_slot = date_trunc('minute', now()) - interval '9 minutes' where function_id = 't/a';
insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason)
    values ('t/a', now() - interval '2 hours', now() - interval '1 hour', 60, 'catch_up_latest');
insert into nightshift.runs (function_id, status, max_attempts, trigger_kind, created_at, run_at, started_at, finished_at,
                             lease_owner, lease_token, lease_expires_at, claimed_at) values
    ('t/a', 'queued', 1, 'manual', now(), now() + interval '1 hour', null, null, null, null, null, null),
    ('t/a', 'queued', 1, 'manual', now() - interval '20 minutes', now() - interval '20 minutes', null, null, null, null, null, null),
    ('t/a', 'running', 1, 'manual', now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '30 minutes', null,
     'w1', 1, now() - interval '1 minute', now() - interval '30 minutes'),
    ('t/b', 'completed', 1, 'manual', now() - interval '2 hours', now(), now() - interval '2 hours', now() - interval '2 hours' + interval '1 second', null, null, null, null),
    ('t/b', 'completed', 1, 'manual', now() - interval '2 hours', now(), now() - interval '2 hours', now() - interval '2 hours' + interval '3 seconds', null, null, null, null),
    ('t/b', 'failed', 1, 'manual', now() - interval '2 hours', now(), now() - interval '2 hours', now() - interval '2 hours', null, null, null, null),
    ('t/b', 'completed', 1, 'manual', now() - interval '3 days', now(), now() - interval '3 days', now() - interval '3 days' + interval '9 seconds', null, null, null, null);

select pg_temp.operator();
select is(api.overview() -> 'queue',
    '[{"function_id": "t/a", "queued": 2, "due": 1, "running": 1}]'::jsonb, 'an operator reads the queue: queued, due and running per function');
select is((select sum((m ->> 1)::int) from jsonb_array_elements(api.overview() -> 'per_minute') m), 6::bigint,
    'per_minute counts the runs created in the last 24 h (not the one of 3 days ago)');
select is((select sum((m ->> 2)::int) from jsonb_array_elements(api.overview() -> 'per_minute') m), 1::bigint, 'and the one that failed');
select ok((select bool_and((m ->> 0)::int between 0 and 1439) from jsonb_array_elements(api.overview() -> 'per_minute') m),
    'each minute is an index from since, within the 24 h');
select is((select (m ->> 0)::int from jsonb_array_elements(api.overview() -> 'per_minute') m order by 1 desc limit 1), 1439,
    'a run created now falls in the last minute');
select is((select array_agg(s ->> 'reason' order by s ->> 'reason') from jsonb_array_elements(api.overview() -> 'stuck') s),
    array['due, not claimed', 'lease expired'], 'stuck: a run past its lease and a run due for 20 minutes, unclaimed');
select is((api.overview() -> 'missed' -> 0) - 'overdue_slots', '{"function_id": "t/a", "skipped_slots_24h": 60}'::jsonb,
    'missed: the slots skipped in the last 24 h');
select ok((api.overview() -> 'missed' -> 0 ->> 'overdue_slots')::int between 9 and 10, 'and the slots overdue now');
select is(api.overview() -> 'durations', '[{"function_id": "t/b", "runs": 2, "p50_ms": 2000, "p95_ms": 2900}]'::jsonb,
    'p50 and p95 of the last 24 h''s completed runs, in ms');
select pg_temp.admin();
select lives_ok('select api.overview()', 'a super admin reads it');
select pg_temp.stranger();
select throws_ok('select api.overview()', '42501', 'api.overview: needs the service role, a super admin or an operator', 'a plain user may not');
select pg_temp.act_as('nightshift_anon', '{"role": "anon"}');
select throws_ok('select api.overview()', '42501', null, 'nor anon');
select * from finish();
rollback;
