-- The dossier pack: relationship health and commitment tracking of an international
-- dossier system. Tables, indexes, settings and the privileges the pack's functions are
-- written for. The statistics views are in 0012, scoring in 0013, overdue detection in 0014.
--
-- Errors callers can act on carry their own SQLSTATE:
--   NSD01 unknown dossier (the HTTP layer answers 404), 22004 a required argument is null,
--   22023 invalid argument.

create schema dossier;
comment on schema dossier is
    'Dossier pack: dossiers, engagements, commitments, health scores, their statistics views, overdue detection.';

-- One row: the knobs of the pack. The defaults are the documented behaviour; change them
-- with an update (as the owner) and every function picks them up at its next call.
create table dossier.settings (
    id boolean primary key default true check (id),
    -- Calendar days ("30 days since", "past its due date") are counted in this zone: the
    -- business day of the desk that owns the dossiers. The overdue check runs at 02:00 here.
    time_zone text not null default 'Asia/Riyadh'
        check ((timestamptz '2000-01-01 00:00+00' at time zone time_zone) is not null),
    -- A score calculated this long ago or longer is stale (recalculate_stale_scores, freshness_rate).
    stale_after interval not null default interval '60 minutes' check (stale_after > interval '0'),
    -- Engagements in the 90-day frequency window (today and the 89 calendar days before)
    -- that earn the full engagement frequency of 100.
    engagement_target integer not null default 6 check (engagement_target > 0)
);
comment on table dossier.settings is
    'The one row of dossier settings: time_zone of calendar days (default Asia/Riyadh), stale_after '
    '(default 60 minutes), engagement_target (engagements per 90-day window for a frequency of 100, default 6).';
insert into dossier.settings default values;
-- One row: without statistics the planner guesses a thousand and costs every query by it.
analyze dossier.settings;

create table dossier.dossiers (
    id uuid primary key default gen_random_uuid(),
    name text not null check (btrim(name) <> ''),
    owner_id uuid not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table dossier.dossiers is 'A relationship (a counterpart, a country desk, an organisation) and the user who owns it.';
create index dossiers_owner_id_idx on dossier.dossiers (owner_id);

create table dossier.engagements (
    id uuid primary key default gen_random_uuid(),
    dossier_id uuid not null references dossier.dossiers (id) on delete cascade,
    occurred_at timestamptz not null,
    kind text not null check (kind in ('meeting', 'call', 'email', 'message', 'visit', 'event', 'other')),
    created_at timestamptz not null default now()
);
comment on table dossier.engagements is
    'One contact with the counterpart of a dossier (meeting, call, email, message, visit, event, other); '
    'occurred_at in the future is a planned engagement and counts for nothing until it happens.';
-- Serves the foreign key, the latest engagement (recency) and the window count (frequency)
-- of one dossier as an index-only range scan, and (with kind) the statistics of every
-- dossier as one ordered index-only pass, without a sort or a hash table.
create index engagements_dossier_occurred_idx on dossier.engagements (dossier_id, occurred_at) include (kind);

create table dossier.commitments (
    id uuid primary key default gen_random_uuid(),
    dossier_id uuid not null references dossier.dossiers (id) on delete cascade,
    owner_id uuid not null,
    description text not null check (btrim(description) <> ''),
    due_date date not null,
    status text not null default 'pending'
        check (status in ('pending', 'in_progress', 'completed', 'overdue', 'cancelled')),
    completed_at timestamptz,
    -- When detect_overdue_commitments marked it overdue (null when set by hand or never).
    overdue_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint commitments_completed_at_check check ((status = 'completed') = (completed_at is not null))
);
comment on table dossier.commitments is
    'A promise made in a dossier, owned by one user, due on a calendar day (settings.time_zone). '
    'pending/in_progress past due_date become overdue (detect_overdue_commitments); completed_at is set exactly when completed.';
-- Serves the foreign key and the fulfilment window of one dossier as an index-only scan.
create index commitments_dossier_due_idx on dossier.commitments (dossier_id, due_date) include (status);
-- The overdue sweep reads only the open commitments, by due date.
create index commitments_open_due_idx on dossier.commitments (due_date)
    where status in ('pending', 'in_progress');
create index commitments_owner_id_idx on dossier.commitments (owner_id);

create table dossier.health_scores (
    dossier_id uuid primary key references dossier.dossiers (id) on delete cascade,
    overall_score numeric(3, 0) not null check (overall_score between 0 and 100),
    engagement_frequency numeric(5, 2) not null check (engagement_frequency between 0 and 100),
    commitment_fulfillment numeric(5, 2) not null check (commitment_fulfillment between 0 and 100),
    recency_score numeric(5, 2) not null check (recency_score in (10, 40, 70, 100)),
    calculated_at timestamptz not null,
    -- The inputs the components came from, for explanations and notifications.
    engagements_in_window integer not null check (engagements_in_window >= 0),
    last_engagement_at timestamptz,
    commitments_fulfilled integer not null check (commitments_fulfilled >= 0),
    commitments_missed integer not null check (commitments_missed >= 0),
    -- The score this one replaced: what a drop below 60 is measured against.
    previous_overall_score numeric(3, 0),
    previous_calculated_at timestamptz
) with (fillfactor = 80);  -- room for HOT updates: every recalculation rewrites every row
comment on table dossier.health_scores is
    'The latest relationship health score of each dossier (see dossier.calculate_health_score for the formula) '
    'and the one it replaced.';

-- Least privilege. nightshift_service (the role the API and workers assume) reads the
-- tables and changes them only through the pack's public functions (security definer,
-- search_path = ''), granted in the file that creates each one. Helpers (_*) and the seed
-- generator are for the owner only; nightshift_anon and nightshift_authenticated get nothing.
-- (PUBLIC's default EXECUTE cannot be revoked per schema: each file revokes it from the
-- functions it creates.)
revoke all on schema dossier from public;
grant usage on schema dossier to nightshift_service;
grant select on dossier.settings, dossier.dossiers, dossier.engagements, dossier.commitments, dossier.health_scores
    to nightshift_service;
