-- Coverage pack: the data behind the nightly USMLE coverage recompute.
--
--   reference axes   systems (16) × disciplines (7), seeded here, read by every computation
--   concept graph    concepts (one system, one discipline); an institution's courses and their
--                    sessions TEACH concepts (course_teaches, session_teaches); its assessment
--                    items ASSESS concepts (item_assesses). These tables stand in for the seed's
--                    graph database; the edge tables are named after its relationships.
--   results          coverage_snapshots (the matrix per institution and night, 30 kept),
--                    coverage_job_runs (one telemetry row per job run)
--   alerting         institution_admins (who hears about new gaps)
--
-- Writes from the application go through the functions of the next migrations; the grants
-- (0024) give the service role no direct write on any table here.
--
-- The axes. The USMLE Content Outline classifies Step 1 items into 18 areas on its System
-- axis; the three reproductive areas (Pregnancy, Childbirth & the Puerperium; Female
-- Reproductive System & Breast; Male Reproductive System) are one system here, which gives
-- the 16 systems below (usmle_outline_area keeps the official wording). The disciplines are
-- the outline's traditionally defined Step 1 disciplines less Biostatistics & Epidemiology,
-- which already is a system on the other axis (a concept has one place in the matrix); the
-- interdisciplinary areas (genetics, immunology, histology & cell biology, nutrition) are
-- tagged with the discipline that teaches them (Immune is a system).

create schema coverage;
comment on schema coverage is
    'Coverage pack: USMLE systems × disciplines coverage of each institution''s curriculum, snapshots, gap deltas.';

create table coverage.systems (
    id smallint primary key,
    name text not null,
    usmle_outline_area text not null,
    constraint systems_name_key unique (name)
);
comment on table coverage.systems is
    'The 16 USMLE Step 1 systems: rows of the coverage matrix, in id order. Reference data, seeded by the migration.';
comment on column coverage.systems.name is 'The key of the system in a coverage matrix (jsonb).';
comment on column coverage.systems.usmle_outline_area is 'The USMLE Content Outline area(s) this system stands for.';

insert into coverage.systems (id, name, usmle_outline_area) values
    (1, 'General Principles', 'General Principles of Foundational Science'),
    (2, 'Immune', 'Immune System'),
    (3, 'Blood & Lymphoreticular', 'Blood & Lymphoreticular System'),
    (4, 'Behavioral Health', 'Behavioral Health'),
    (5, 'Nervous System & Special Senses', 'Nervous System & Special Senses'),
    (6, 'Skin & Subcutaneous Tissue', 'Skin & Subcutaneous Tissue'),
    (7, 'Musculoskeletal', 'Musculoskeletal System'),
    (8, 'Cardiovascular', 'Cardiovascular System'),
    (9, 'Respiratory', 'Respiratory System'),
    (10, 'Gastrointestinal', 'Gastrointestinal System'),
    (11, 'Renal/Urinary', 'Renal & Urinary System'),
    (12, 'Reproductive', 'Pregnancy, Childbirth, & the Puerperium; Female Reproductive System & Breast; Male Reproductive System'),
    (13, 'Endocrine', 'Endocrine System'),
    (14, 'Multisystem Processes', 'Multisystem Processes & Disorders'),
    (15, 'Biostatistics & Epidemiology', 'Biostatistics, Epidemiology/Population Health, & Interpretation of the Medical Literature'),
    (16, 'Social Sciences', 'Social Sciences');

create table coverage.disciplines (
    id smallint primary key,
    name text not null,
    constraint disciplines_name_key unique (name)
);
comment on table coverage.disciplines is
    'The 7 disciplines: columns of the coverage matrix, in id order. Reference data, seeded by the migration.';
comment on column coverage.disciplines.name is 'The key of the discipline inside a system of a coverage matrix (jsonb).';

insert into coverage.disciplines (id, name) values
    (1, 'Anatomy'),
    (2, 'Physiology'),
    (3, 'Biochemistry'),
    (4, 'Pathology'),
    (5, 'Pharmacology'),
    (6, 'Microbiology'),
    (7, 'Behavioral Science');

create table coverage.institutions (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    status text not null default 'active',
    created_at timestamptz not null default now(),
    constraint institutions_status_is_valid check (status in ('active', 'inactive')),
    constraint institutions_name_is_valid check (length(btrim(name)) > 0)
);
comment on table coverage.institutions is 'Medical schools whose curriculum coverage is computed (tenant key of the pack).';
comment on column coverage.institutions.status is 'Only active institutions are recomputed by the nightly job.';
create index institutions_active_idx on coverage.institutions (id) where status = 'active';

create table coverage.institution_admins (
    institution_id uuid not null references coverage.institutions (id) on delete cascade,
    user_id uuid not null,
    email text not null,
    display_name text,
    created_at timestamptz not null default now(),
    primary key (institution_id, user_id),
    constraint institution_admins_email_is_valid check (email ~ '^[^@\s]+@[^@\s]+$')
);
comment on table coverage.institution_admins is
    'The people notified when an institution''s coverage gains gaps (coverage/gap-alerts).';
comment on column coverage.institution_admins.user_id is 'The platform user (auth subject) the notification is addressed to.';

create table coverage.concepts (
    id bigint generated by default as identity primary key,
    code text not null,
    name text not null,
    system_id smallint not null references coverage.systems (id),
    discipline_id smallint not null references coverage.disciplines (id),
    constraint concepts_code_key unique (code)
);
comment on table coverage.concepts is
    'The concept catalogue shared by every institution; each concept is one cell of the matrix (system, discipline).';
create index concepts_cell_idx on coverage.concepts (system_id, discipline_id);

create table coverage.courses (
    id bigint generated by default as identity primary key,
    institution_id uuid not null references coverage.institutions (id) on delete cascade,
    code text not null,
    name text not null,
    constraint courses_institution_code_key unique (institution_id, code)
);
comment on table coverage.courses is 'An institution''s courses; a course TEACHES concepts itself and through its sessions.';

create table coverage.sessions (
    id bigint generated by default as identity primary key,
    course_id bigint not null references coverage.courses (id) on delete cascade,
    title text not null
);
comment on table coverage.sessions is 'Lectures, labs and small groups of a course; they TEACH concepts.';
create index sessions_course_id_idx on coverage.sessions (course_id);

create table coverage.assessment_items (
    id bigint generated by default as identity primary key,
    institution_id uuid not null references coverage.institutions (id) on delete cascade,
    course_id bigint references coverage.courses (id) on delete set null,
    stem text not null
);
comment on table coverage.assessment_items is 'An institution''s exam questions; they ASSESS concepts.';
comment on column coverage.assessment_items.course_id is 'The course that set the item, if any (coverage does not depend on it).';
create index assessment_items_institution_id_idx on coverage.assessment_items (institution_id);
create index assessment_items_course_id_idx on coverage.assessment_items (course_id);

-- The edges. Keyed by (source, concept): the primary key serves the per-institution walk of
-- the computation; concept-side indexes serve deleting a concept from the catalogue.
create table coverage.course_teaches (
    course_id bigint not null references coverage.courses (id) on delete cascade,
    concept_id bigint not null references coverage.concepts (id) on delete cascade,
    primary key (course_id, concept_id)
);
comment on table coverage.course_teaches is 'Graph edge (Course)-[:TEACHES]->(Concept).';
create index course_teaches_concept_id_idx on coverage.course_teaches (concept_id);

create table coverage.session_teaches (
    session_id bigint not null references coverage.sessions (id) on delete cascade,
    concept_id bigint not null references coverage.concepts (id) on delete cascade,
    primary key (session_id, concept_id)
);
comment on table coverage.session_teaches is 'Graph edge (Session)-[:TEACHES]->(Concept).';
create index session_teaches_concept_id_idx on coverage.session_teaches (concept_id);

create table coverage.item_assesses (
    item_id bigint not null references coverage.assessment_items (id) on delete cascade,
    concept_id bigint not null references coverage.concepts (id) on delete cascade,
    primary key (item_id, concept_id)
);
comment on table coverage.item_assesses is 'Graph edge (AssessmentItem)-[:ASSESSES]->(Concept).';
create index item_assesses_concept_id_idx on coverage.item_assesses (concept_id);

create table coverage.coverage_snapshots (
    id uuid primary key default gen_random_uuid(),
    institution_id uuid not null references coverage.institutions (id) on delete cascade,
    matrix jsonb not null,
    total_score numeric not null,
    computed_at timestamptz not null,
    -- clock_timestamp, not now(): two snapshots of one institution taken in one transaction
    -- (tests, a console session) still have an order, and "newest" is well defined.
    created_at timestamptz not null default clock_timestamp(),
    constraint coverage_snapshots_matrix_is_object check (jsonb_typeof(matrix) = 'object'),
    constraint coverage_snapshots_total_score_is_valid check (total_score between 0 and 1)
);
comment on table coverage.coverage_snapshots is
    'One coverage matrix per institution and recompute; the 30 newest per institution are kept.';
comment on column coverage.coverage_snapshots.matrix is
    '{system: {discipline: {assessed_count, total_count, gap_count}}}, all 16 × 7 cells (coverage.compute_for_institution).';
comment on column coverage.coverage_snapshots.total_score is
    'Assessed / taught concepts over the whole matrix, 0..1 rounded to 4 places; 0 when nothing is taught.';
comment on column coverage.coverage_snapshots.computed_at is 'When the matrix was computed.';
create index coverage_snapshots_institution_created_idx
    on coverage.coverage_snapshots (institution_id, created_at desc);

create table coverage.coverage_job_runs (
    id uuid primary key default gen_random_uuid(),
    run_id uuid,
    started_at timestamptz not null,
    completed_at timestamptz not null,
    duration_ms bigint not null,
    institutions_processed integer not null default 0,
    institutions_failed integer not null default 0,
    total_gaps_detected integer not null default 0,
    total_gaps_resolved integer not null default 0,
    errors jsonb not null default '[]',
    created_at timestamptz not null default now(),
    constraint coverage_job_runs_run_id_key unique (run_id),
    constraint coverage_job_runs_times_are_ordered check (completed_at >= started_at),
    constraint coverage_job_runs_duration_is_valid check (duration_ms >= 0),
    constraint coverage_job_runs_counts_are_valid check (
        institutions_processed >= 0 and institutions_failed >= 0
        and total_gaps_detected >= 0 and total_gaps_resolved >= 0),
    constraint coverage_job_runs_errors_is_array check (jsonb_typeof(errors) = 'array')
);
comment on table coverage.coverage_job_runs is
    'Telemetry: one row per run of coverage/nightly-recompute, written even when institutions failed.';
comment on column coverage.coverage_job_runs.run_id is
    'The engine run (nightshift.runs.id) that wrote the row; unique, so a resumed run rewrites its row. No foreign key: runs are pruned sooner.';
comment on column coverage.coverage_job_runs.institutions_processed is 'Institutions whose snapshot was stored.';
comment on column coverage.coverage_job_runs.institutions_failed is 'Institutions that failed for good (after retries).';
comment on column coverage.coverage_job_runs.total_gaps_detected is
    'New gaps over all institutions: the sum of positive gap_count deltas (process_institution''s gaps_detected).';
comment on column coverage.coverage_job_runs.total_gaps_resolved is
    'Resolved gaps over all institutions: the sum of -delta over cells whose gap_count fell (gaps_resolved).';
comment on column coverage.coverage_job_runs.errors is
    'One object per failed institution, e.g. {"institution_id", "sqlstate", "message"}.';
create index coverage_job_runs_created_at_idx on coverage.coverage_job_runs (created_at desc);
