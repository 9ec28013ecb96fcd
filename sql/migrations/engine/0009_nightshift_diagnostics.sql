-- What the built-in function nightshift/diagnostics writes: one row per executed step, so a
-- deployment (and the test suite) can see that a finished step never ran twice after a retry,
-- a crash or a restart. Rows go with their run when prune deletes it.

create table nightshift.diagnostic_effects (
    id bigint generated always as identity primary key,
    run_id uuid not null references nightshift.runs (id) on delete cascade,
    step text not null,
    attempt integer not null,
    recorded_at timestamptz not null default clock_timestamp()
);
comment on table nightshift.diagnostic_effects is
    'One row per step executed by nightshift/diagnostics: the side effect that proves steps run once.';
create index diagnostic_effects_run_id_idx on nightshift.diagnostic_effects (run_id);

grant select on nightshift.diagnostic_effects to nightshift_service;
