-- Least privilege. nightshift_service (the role the API and workers assume) changes engine
-- state only through the public functions, which run as their owner (security definer,
-- search_path = ''); it may read the tables and views. nightshift_anon and
-- nightshift_authenticated get nothing here. Internal helpers (_*) and install_pg_cron are
-- for the owner only.

revoke all on all functions in schema nightshift from public;
revoke all on all tables in schema nightshift from public;
revoke all on all sequences in schema nightshift from public;
alter default privileges in schema nightshift revoke execute on functions from public;

grant execute on function
    nightshift.next_fire(text, text, timestamptz),
    nightshift.validate_cron(text),
    nightshift.sync_functions(jsonb),
    nightshift.trigger(text, jsonb, text),
    nightshift.enqueue_many(text, jsonb),
    nightshift.send_event(text, jsonb, text),
    nightshift.tick(timestamptz),
    nightshift.claim_runs(text, integer, interval, text[]),
    nightshift.heartbeat(uuid[], bigint[], interval),
    nightshift.checkpoint_step(uuid, bigint, text, jsonb),
    nightshift.complete_run(uuid, bigint, jsonb),
    nightshift.complete_runs(uuid[], bigint[], jsonb[]),
    nightshift.fail_run(uuid, bigint, jsonb, boolean),
    nightshift.sleep_run(uuid, bigint, text, timestamptz),
    nightshift.cancel(uuid),
    nightshift.rerun(uuid),
    nightshift.prune(interval)
to nightshift_service;

grant select on
    nightshift.functions,
    nightshift.schedules,
    nightshift.runs,
    nightshift.run_attempts,
    nightshift.steps,
    nightshift.events,
    nightshift.skipped_slots,
    nightshift.stuck_runs,
    nightshift.missed_slots,
    nightshift.failures_last_24h,
    nightshift.queue_depth
to nightshift_service;
