-- The durable engine's tables: what the workers declared (functions, schedules), the work
-- (runs, their attempts and memoised steps), what came in (events), and what was knowingly
-- not run (skipped_slots). Writes go through the functions of the next migrations, which
-- keep the invariants the constraints and indexes here make impossible to break.

create table nightshift.functions (
    id text primary key,
    max_attempts integer not null default 4,
    backoff_base_ms integer not null default 1000,
    backoff_multiplier numeric not null default 2,
    backoff_max_ms integer not null default 3600000,
    backoff_jitter boolean not null default false,
    concurrency_limit integer,
    concurrency_key text,
    timeout_ms integer,
    crash_limit integer not null default 3,
    event_names text[] not null default '{}',
    enabled boolean not null default true,
    retired_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint functions_id_is_valid check (id ~ '^\S+$' and length(id) <= 200),
    constraint functions_max_attempts_is_positive check (max_attempts >= 1),
    constraint functions_backoff_is_valid check (
        backoff_base_ms >= 0 and backoff_multiplier >= 1 and backoff_max_ms >= backoff_base_ms),
    constraint functions_concurrency_limit_is_positive check (concurrency_limit >= 1),
    constraint functions_concurrency_key_has_limit check (concurrency_key is null or concurrency_limit is not null),
    constraint functions_timeout_is_positive check (timeout_ms >= 1),
    constraint functions_crash_limit_is_positive check (crash_limit >= 1)
);
comment on table nightshift.functions is
    'Every function a worker declared, synced by nightshift.sync_functions at start-up.';
comment on column nightshift.functions.id is 'Stable name such as coverage/nightly-recompute.';
comment on column nightshift.functions.max_attempts is
    'Attempts allowed in total: 1 + retries (the Swift default of 3 retries makes 4).';
comment on column nightshift.functions.backoff_base_ms is
    'Delay before the first retry; retry n waits base * multiplier^(n-1), capped at backoff_max_ms.';
comment on column nightshift.functions.backoff_jitter is
    'Spread each retry delay by up to 20% either way (applied after the cap).';
comment on column nightshift.functions.concurrency_limit is
    'At most this many runs (per concurrency key) run at once; null = unlimited, 1 = singleton.';
comment on column nightshift.functions.concurrency_key is
    'Name of a top-level payload field: runs with different values of it are limited separately.';
comment on column nightshift.functions.timeout_ms is 'Per-attempt time limit enforced by the worker; null = none.';
comment on column nightshift.functions.crash_limit is
    'A run whose lease expired this many times in a row is quarantined as failed.';
comment on column nightshift.functions.event_names is 'Events that enqueue a run of this function (nightshift.send_event).';
comment on column nightshift.functions.enabled is
    'False stops cron and event triggers; an explicit nightshift.trigger or rerun still works.';
comment on column nightshift.functions.retired_at is
    'Set when a sync no longer declares the function; it can no longer be triggered.';

create table nightshift.schedules (
    function_id text primary key references nightshift.functions (id) on delete cascade,
    cron text not null,
    timezone text not null default 'UTC',
    enabled boolean not null default true,
    catch_up text not null default 'latest',
    catch_up_cap integer not null default 10,
    next_slot timestamptz not null,
    last_enqueued_slot timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint schedules_catch_up_is_valid check (catch_up in ('skip', 'latest', 'all')),
    -- Bounds the work of one tick after a long downtime.
    constraint schedules_catch_up_cap_is_valid check (catch_up_cap between 1 and 1000)
);
comment on table nightshift.schedules is 'Cron triggers: nightshift.tick enqueues each due slot exactly once.';
comment on column nightshift.schedules.timezone is 'IANA zone the cron expression is evaluated in.';
comment on column nightshift.schedules.catch_up is
    'When several slots are due at once (downtime): skip = run only a slot at most 60 s late, '
    'latest = run the newest, all = run the newest catch_up_cap. Every other slot is recorded in skipped_slots.';
comment on column nightshift.schedules.next_slot is
    'The first slot not yet handled; a value in the past after downtime is how missed slots are detected.';
create index schedules_next_slot_idx on nightshift.schedules (next_slot) where enabled;

create table nightshift.events (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    data jsonb not null default '{}',
    idempotency_key text unique,
    runs_enqueued integer not null default 0,
    created_at timestamptz not null default now(),
    constraint events_name_is_valid check (name <> '')
);
comment on table nightshift.events is 'Durable event log; each event enqueued a run of every subscribed function.';
comment on column nightshift.events.runs_enqueued is 'How many runs the event fanned out to when it was sent.';
create index events_created_at_idx on nightshift.events (created_at);

create sequence nightshift.runs_lease_token_seq;
comment on sequence nightshift.runs_lease_token_seq is
    'Fencing tokens: every claim of a run takes a new one, so a worker that lost its lease is recognised.';

create table nightshift.runs (
    id uuid primary key default gen_random_uuid(),
    function_id text not null references nightshift.functions (id),
    status text not null default 'queued',
    payload jsonb not null default '{}',
    output jsonb,
    error jsonb,
    attempt integer not null default 1,
    max_attempts integer not null,
    run_at timestamptz not null default now(),
    lease_owner text,
    lease_token bigint,
    lease_expires_at timestamptz,
    claimed_at timestamptz,
    crash_count integer not null default 0,
    correlation_id uuid not null default gen_random_uuid(),
    idempotency_key text,
    trigger_kind text not null,
    trigger_slot timestamptz,
    -- History links, not foreign keys: events and original runs are pruned on their own clock.
    trigger_event_id uuid,
    rerun_of uuid,
    concurrency_key text,
    concurrency_limit integer,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint runs_status_is_valid check (status in ('queued', 'running', 'completed', 'failed', 'cancelled')),
    constraint runs_trigger_kind_is_valid check (trigger_kind in ('cron', 'event', 'manual', 'rerun')),
    constraint runs_trigger_is_complete check (
        (trigger_kind = 'cron') = (trigger_slot is not null)
        and (trigger_kind = 'event') = (trigger_event_id is not null)
        and (trigger_kind = 'rerun') = (rerun_of is not null)),
    constraint runs_attempt_is_valid check (attempt between 1 and max_attempts),
    constraint runs_lease_matches_status check (
        (status = 'running') = (lease_token is not null)
        and (lease_token is null) = (lease_expires_at is null)
        and (lease_token is null or (lease_owner is not null and claimed_at is not null))),
    constraint runs_finished_at_matches_status check (
        (status in ('completed', 'failed', 'cancelled')) = (finished_at is not null)),
    constraint runs_concurrency_limit_is_positive check (concurrency_limit >= 1)
);
comment on table nightshift.runs is 'One execution of a function: queued -> running -> completed | failed | cancelled.';
comment on column nightshift.runs.attempt is 'The attempt being run, or the last one (1-based); a crash does not use one up.';
comment on column nightshift.runs.run_at is 'The run may start at or after this instant (retry backoff and durable sleep set it ahead).';
comment on column nightshift.runs.lease_owner is
    'The worker holding the lease, or after it ended the last one that held it.';
comment on column nightshift.runs.claimed_at is
    'When the latest claim began: the start of the current (or last) attempt.';
comment on column nightshift.runs.lease_token is 'Fencing token of the current claim; every write by a worker must present it.';
comment on column nightshift.runs.crash_count is 'Leases lost in a row; a retry or a durable sleep ends the streak.';
comment on column nightshift.runs.error is 'The latest error (also kept per attempt in run_attempts).';
comment on column nightshift.runs.correlation_id is
    'Ties log lines together: shared by the runs of one event (the event id) and by a run and its reruns.';
comment on column nightshift.runs.concurrency_key is 'Value of the function''s concurrency key field in the payload, copied at enqueue.';
comment on column nightshift.runs.concurrency_limit is 'The function''s concurrency limit, copied at enqueue; null = unlimited.';

create unique index runs_idempotency_key_idx on nightshift.runs (function_id, idempotency_key)
    where idempotency_key is not null;
-- One run per cron slot, enforced by the database whatever calls tick and how often.
create unique index runs_cron_slot_idx on nightshift.runs (function_id, trigger_slot)
    where trigger_kind = 'cron';
-- A singleton cannot run twice at once for the same key: the backstop behind claim_runs'
-- per-group lock.
create unique index runs_singleton_idx on nightshift.runs (function_id, concurrency_key) nulls not distinct
    where status = 'running' and concurrency_limit = 1;
-- Claiming: unlimited runs oldest first, and limited runs per (function, key) kept apart so a
-- backlog of runs waiting for a concurrency slot never slows the unlimited path down.
create index runs_claim_idx on nightshift.runs (run_at)
    where status = 'queued' and concurrency_limit is null;
create index runs_claim_limited_idx on nightshift.runs (function_id, concurrency_key, run_at)
    where status = 'queued' and concurrency_limit is not null;
create index runs_running_limited_idx on nightshift.runs (function_id, concurrency_key)
    where status = 'running' and concurrency_limit is not null;
create index runs_lease_expires_at_idx on nightshift.runs (lease_expires_at) where status = 'running';
-- Pruning by finish time: runs finish in roughly time order, so a BRIN index finds old
-- ones at a fraction of a btree's upkeep on every completion.
create index runs_finished_at_idx on nightshift.runs using brin (finished_at);
-- failures_last_24h: only failed runs are indexed.
create index runs_failed_idx on nightshift.runs (function_id, finished_at) where status = 'failed';

-- No foreign key to runs: its check would cost a query per completed run on the hottest
-- path. Rows are written only by the engine's functions, for a run they hold locked, and
-- nightshift.prune deletes them together with their run.
create table nightshift.run_attempts (
    run_id uuid not null,
    lease_token bigint not null,
    attempt integer not null,
    worker text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    outcome text not null,
    error jsonb,
    primary key (run_id, lease_token),
    constraint run_attempts_outcome_is_valid check (
        outcome in ('completed', 'retrying', 'failed', 'crashed', 'cancelled', 'sleeping'))
);
-- Written once, when a claim ends, rather than at the claim and again at its end: half the
-- writes on the hot path. The claim in progress is visible in runs (lease_owner, claimed_at).
comment on table nightshift.run_attempts is
    'How every claim of a run ended, so no attempt''s outcome is lost; the claim in progress is in runs.';
comment on column nightshift.run_attempts.lease_token is 'The claim''s fencing token; unique per claim.';
comment on column nightshift.run_attempts.outcome is
    'completed, retrying (failed, will retry), failed, crashed (lease expired), cancelled, sleeping (durable sleep).';

create table nightshift.steps (
    run_id uuid not null references nightshift.runs (id) on delete cascade,
    name text not null,
    output jsonb,
    attempt integer not null,
    completed_at timestamptz not null default now(),
    primary key (run_id, name)
);
comment on table nightshift.steps is
    'Memoised step outputs: a retried or resumed run returns these instead of running the steps again.';

create table nightshift.skipped_slots (
    id bigint generated always as identity primary key,
    function_id text not null references nightshift.functions (id) on delete cascade,
    first_slot timestamptz not null,
    last_slot timestamptz not null,
    slot_count integer not null,
    reason text not null,
    recorded_at timestamptz not null default now(),
    constraint skipped_slots_reason_is_valid check (
        reason in ('catch_up_skip', 'catch_up_latest', 'catch_up_cap', 'disabled', 'rescheduled')),
    constraint skipped_slots_range_is_valid check (first_slot <= last_slot and slot_count >= 1)
);
comment on table nightshift.skipped_slots is
    'Cron slots knowingly not run, one row per range, so a missed run is visible and never silent.';
comment on column nightshift.skipped_slots.reason is
    'catch_up_skip / catch_up_latest / catch_up_cap: the catch-up policy after downtime; '
    'disabled: the schedule or function was off; rescheduled: the cron or zone changed while slots were due.';
create index skipped_slots_function_id_idx on nightshift.skipped_slots (function_id);
create index skipped_slots_recorded_at_idx on nightshift.skipped_slots (recorded_at);

create table nightshift.maintenance (
    task text primary key,
    last_run_at timestamptz not null default '-infinity'
);
comment on table nightshift.maintenance is 'When periodic housekeeping last ran (tick prunes history at most hourly).';
insert into nightshift.maintenance (task) values ('prune');
