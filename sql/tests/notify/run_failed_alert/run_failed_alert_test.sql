-- A function's on_failure channel (0047): when one of its runs fails for good, by whichever
-- path (fail_run's last attempt or a non-retriable error, claim_runs quarantining a run whose
-- worker vanished, tick failing a retired function's runs), exactly one delivery goes to the
-- channel, carrying the function, run, attempts, error, SQLSTATE or HTTP status and the time.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(26);

update nightshift.runs set run_at = 'infinity' where status = 'queued';
update nightshift.runs set lease_expires_at = 'infinity' where status = 'running';
select notify.configure(10, array['ops', 'audit', 'gone']);
select notify.configure(10, array['ops', 'audit']);

-- Claims the next run of p_function and ends it with p_error.
create function pg_temp.fail_next(p_function text, p_error jsonb, p_retriable boolean)
returns text
language plpgsql as $$
declare
    v_claim record;
begin
    update nightshift.runs set run_at = now() where function_id = p_function and status = 'queued';
    select * into strict v_claim from nightshift.claim_runs('w1', 1, '30 seconds', array[p_function]);
    return nightshift.fail_run(v_claim.id, v_claim.lease_token, p_error, p_retriable);
end
$$;

create function pg_temp.alerts(p_function text)
returns table (channel text, status text, title text, metadata jsonb)
language sql as $$
    select d.channel, d.status, n.title, n.metadata
    from notify.notifications n join notify.deliveries d on d.notification_id = n.id
    where n.user_id is null and n.metadata ->> 'function_id' = p_function
$$;

-- define_function's on_failure.
select is((nightshift.define_function('ops/div', 'sql', '"select 1 / 0"', retries => 1, on_failure => 'ops')).on_failure,
    'ops', 'define_function stores on_failure');
select throws_ok(
    $$select nightshift.define_function('ops/nowhere', 'sql', '"select 1"', on_failure => 'pager')$$,
    '22023', 'on_failure: no notification channel "pager" is configured (configured: audit, ops)',
    'an unknown channel is refused, naming it and the configured ones');
select throws_ok(
    $$select nightshift.define_function('ops/nowhere', 'sql', '"select 1"', on_failure => 'gone')$$,
    '22023', 'on_failure: no notification channel "gone" is configured (configured: audit, ops)',
    'so is a channel config no longer lists');
select is((select count(*)::integer from nightshift.functions where id = 'ops/nowhere'), 0, 'and nothing is defined');
select is((nightshift.define_function('ops/div', 'sql', '"select 1 / 0"', retries => 1)).on_failure, null,
    'redefined without it: no channel');
select nightshift.define_function('ops/div', 'sql', '"select 1 / 0"', retries => 1, on_failure => 'ops');

-- fail_run: a retried attempt alerts nobody; the last one does, once.
select nightshift.trigger('ops/div');
select is(pg_temp.fail_next('ops/div', '{"message": "SQLSTATE 22012: division by zero", "sqlstate": "22012"}', true),
    'queued', 'attempt 1 of 2 fails: retried');
select is_empty($$select * from pg_temp.alerts('ops/div')$$, 'a retried attempt alerts nobody');
select is(pg_temp.fail_next('ops/div', '{"message": "SQLSTATE 22012: division by zero", "sqlstate": "22012"}', true),
    'failed', 'attempt 2 of 2 fails: the run failed');
select results_eq(
    $$select a.channel, a.status, a.title, a.metadata - 'failed_at' - 'run_id', (a.metadata ->> 'run_id')::uuid = r.id,
             (a.metadata ->> 'failed_at')::timestamptz = r.finished_at
      from pg_temp.alerts('ops/div') a cross join nightshift.runs r where r.function_id = 'ops/div'$$,
    $$values ('ops', 'pending', 'run failed: ops/div', '{"kind": "run_failed", "function_id": "ops/div", "attempts": 2,
              "max_attempts": 2, "sqlstate": "22012", "http_status": null,
              "error": {"message": "SQLSTATE 22012: division by zero", "sqlstate": "22012"}}'::jsonb, true, true)$$,
    'one delivery to ops: the function, run id, attempts, SQLSTATE, error and the time of the failure');
select results_eq(
    $$select n.dedupe_key = 'run-failed:' || r.id, n.message from notify.notifications n, nightshift.runs r
      where r.function_id = 'ops/div' and n.user_id is null$$,
    $$values (true, 'SQLSTATE 22012: division by zero')$$, 'keyed run-failed:<run id>, the error''s message as its text');

-- The same run failing again (put back by hand, as a replayed failure would) sends nothing more.
update nightshift.runs set status = 'queued', finished_at = null, attempt = 1 where function_id = 'ops/div';
select is(pg_temp.fail_next('ops/div', '{"message": "again"}', false), 'failed', 'the same run fails a second time');
select is((select count(*)::integer from pg_temp.alerts('ops/div')), 1, 'still exactly one delivery');

-- A non-retriable error on attempt 1: at once. An HTTP job's status comes along.
select nightshift.define_function('crm/sync', 'http', '"http://127.0.0.1:9/sync"', retries => 3, on_failure => 'audit');
select nightshift.trigger('crm/sync');
select is(pg_temp.fail_next('crm/sync', '{"message": "POST http://127.0.0.1:9/sync answered HTTP 400", "http_status": 400}', false),
    'failed', 'a 400 fails the run at once');
select results_eq($$select channel, (metadata ->> 'attempts')::int, metadata -> 'http_status' from pg_temp.alerts('crm/sync')$$,
    $$values ('audit', 1, '400'::jsonb)$$, 'one delivery to audit, with the HTTP status');

-- Without on_failure, and on completion, nothing.
select nightshift.define_function('ops/quiet', 'sql', '"select 1"', retries => 0);
select nightshift.trigger('ops/quiet');
select is(pg_temp.fail_next('ops/quiet', '{"message": "boom"}', false), 'failed', 'a function without on_failure fails');
select is_empty($$select * from pg_temp.alerts('ops/quiet')$$, 'and alerts nobody');
select nightshift.define_function('ops/fine', 'sql', '"select 1"', on_failure => 'ops');
select nightshift.trigger('ops/fine');
select lives_ok($$select nightshift.complete_run(c.id, c.lease_token, '{}')
                  from nightshift.claim_runs('w1', 1, '30 seconds', array['ops/fine']) c$$, 'a run completes');
select is_empty($$select * from pg_temp.alerts('ops/fine')$$, 'a completed run alerts nobody');

-- A worker killed -9: its lease expires, and the run is quarantined by the next claim.
select nightshift.sync_functions('[{"id": "cfg/crashy", "crash_limit": 1, "on_failure": "ops"}]');
select is((select on_failure from nightshift.functions where id = 'cfg/crashy'), 'ops', 'sync_functions records the spec''s on_failure');
select nightshift.trigger('cfg/crashy');
select nightshift.claim_runs('w-killed', 1, '30 seconds', array['cfg/crashy']);
update nightshift.runs set lease_expires_at = now() - interval '1 second' where function_id = 'cfg/crashy';
select results_eq($$select quarantined from nightshift.claim_runs('w2', 1, '30 seconds', array['cfg/crashy'])$$,
    $$values (true)$$, 'the next claim quarantines it (crash_limit reached)');
select results_eq($$select channel, metadata -> 'error' ->> 'outcome' from pg_temp.alerts('cfg/crashy')$$,
    $$values ('ops', 'quarantined')$$, 'one delivery to ops for the quarantined run');

-- A dropped (retired) function: tick fails its queued runs after the grace; they alert too.
select nightshift.define_function('ops/dropped', 'sql', '"select 1"', on_failure => 'ops');
select nightshift.trigger('ops/dropped');
select nightshift.drop_function('ops/dropped');
update nightshift.functions set retired_at = now() - interval '1 hour' where id = 'ops/dropped';
select is(nightshift._fail_retired_runs('1 minute', 10), 1, 'tick''s sweep fails the retired function''s run');
select results_eq($$select channel, metadata -> 'error' ->> 'message' from pg_temp.alerts('ops/dropped')$$,
    $$values ('ops', 'function retired')$$, 'and it alerts ops');

-- A channel config dropped since: the run still fails; the alert is kept, undelivered.
select nightshift.sync_functions('[{"id": "cfg/crashy", "crash_limit": 1, "on_failure": "gone"}, {"id": "cfg/gone", "on_failure": "gone", "max_attempts": 1}]');
select nightshift.trigger('cfg/gone');
select is(pg_temp.fail_next('cfg/gone', '{"message": "boom"}', true), 'failed', 'a run of a function alerting a disabled channel fails');
select is((select count(*)::integer from notify.notifications where metadata ->> 'function_id' = 'cfg/gone'), 1,
    'its alert is kept, without a delivery');

select throws_ok($$select nightshift.sync_functions('[{"id": "cfg/bad", "on_failure": 7}]')$$, '22023',
    'invalid spec for function "cfg/bad": on_failure must be a channel name, got 7', 'a spec''s on_failure must be a string');

select * from finish();
rollback;
