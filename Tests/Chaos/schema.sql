-- The chaos suite's effect tables (Tests/Chaos; not a migration: only the suite's own throwaway
-- cluster has them). The workload (Sources/nightshift/ChaosWorkload.swift) writes them; the
-- checks (Tests/Chaos/checks.py) read them beside nightshift.* and notify.*.
create schema if not exists chaos;

-- One row per step.transaction commit. No unique constraint on (run_id, step) on purpose: a
-- step committed twice must show as two rows, not as an error that hides it.
create table if not exists chaos.tx_effects (
    run_id uuid not null,
    step text not null,
    attempt integer not null,
    pid integer not null,
    recorded_at timestamptz not null default clock_timestamp()
);
create index if not exists tx_effects_run_id_idx on chaos.tx_effects (run_id, step);

-- One row per execution of a step.run body (committed on its own, before the body's work),
-- to compare with the crashes of its run.
create table if not exists chaos.step_executions (
    run_id uuid not null,
    step text not null,
    attempt integer not null,
    pid integer not null,
    recorded_at timestamptz not null default clock_timestamp()
);
create index if not exists step_executions_run_id_idx on chaos.step_executions (run_id, step);

grant usage on schema chaos to public;
grant insert, select on chaos.tx_effects, chaos.step_executions to public;
