-- Operator views: what is stuck, what was missed, what failed, what is waiting.

create view nightshift.stuck_runs as
select r.id, r.function_id, r.attempt, r.crash_count, r.lease_owner, r.lease_expires_at,
       now() - r.lease_expires_at as overdue, r.started_at, r.correlation_id
from nightshift.runs r
where r.status = 'running' and r.lease_expires_at < now();
comment on view nightshift.stuck_runs is
    'Running runs whose lease expired and that no worker has picked up yet (the next claim resumes or quarantines them).';

create view nightshift.missed_slots as
select k.id, k.function_id, k.first_slot, k.last_slot, k.slot_count, k.reason, k.recorded_at,
       s.cron, s.timezone, f.retired_at
from nightshift.skipped_slots k
join nightshift.functions f on f.id = k.function_id
left join nightshift.schedules s on s.function_id = k.function_id
order by k.recorded_at desc, k.id desc;
comment on view nightshift.missed_slots is 'Cron slots that were not run, and why, newest first.';

create view nightshift.failures_last_24h as
select r.function_id,
       count(*) as failed_count,
       (pg_catalog.array_agg(r.error order by r.finished_at desc))[1] as last_error,
       max(r.finished_at) as last_failed_at
from nightshift.runs r
where r.status = 'failed' and r.finished_at > now() - interval '24 hours'
group by r.function_id;
comment on view nightshift.failures_last_24h is 'Failed runs per function in the last 24 hours, with the latest error.';

create view nightshift.queue_depth as
with waiting as (
    -- In three parts so that each reads a partial index (runs_claim_idx,
    -- runs_claim_limited_idx, runs_lease_expires_at_idx) instead of all the history.
    select r.function_id, r.run_at, false as running
    from nightshift.runs r where r.status = 'queued' and r.concurrency_limit is null
    union all
    select r.function_id, r.run_at, false
    from nightshift.runs r where r.status = 'queued' and r.concurrency_limit is not null
    union all
    select r.function_id, null, true
    from nightshift.runs r where r.status = 'running'
)
select f.id as function_id,
       count(w.function_id) filter (where not w.running) as queued,
       count(w.function_id) filter (where w.running) as running,
       count(w.function_id) filter (where not w.running and w.run_at <= now()) as due_now
from nightshift.functions f
left join waiting w on w.function_id = f.id
group by f.id;
comment on view nightshift.queue_depth is
    'Per function: runs queued (including those waiting for a retry or a sleep), running, and queued and due now.';
