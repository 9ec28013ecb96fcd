-- The dossier schema: tables, keys, the constraints that keep the data honest, the indexes
-- the functions rely on, and the settings' defaults; the members of a dossier (0042).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(29);

select has_schema('dossier', 'the dossier schema exists');
select tables_are('dossier',
    array['settings', 'dossiers', 'members', 'engagements', 'commitments', 'health_scores', 'stats_refreshes'],
    'its tables');
select materialized_views_are('dossier', array['dossier_engagement_stats', 'dossier_commitment_stats'], 'its materialised views');
select views_are('dossier', array['engagement_stats_live', 'commitment_stats_live'], 'its live views');
select ok((select count(*) = 4 from nightshift.schema_migrations where name ~ '^001[1-4]_dossier_'),
    'migrations 0011-0014 are recorded');

select col_is_pk('dossier', 'health_scores', 'dossier_id', 'one score per dossier');
select fk_ok('dossier', 'engagements', 'dossier_id', 'dossier', 'dossiers', 'id', 'engagements belong to a dossier');
select fk_ok('dossier', 'commitments', 'dossier_id', 'dossier', 'dossiers', 'id', 'commitments belong to a dossier');
select fk_ok('dossier', 'health_scores', 'dossier_id', 'dossier', 'dossiers', 'id', 'scores belong to a dossier');
select fk_ok('dossier', 'members', 'dossier_id', 'dossier', 'dossiers', 'id', 'members belong to a dossier');
select col_is_pk('dossier', 'members', array['dossier_id', 'user_id'], 'a user is a member of a dossier once');
select has_index('dossier', 'members', 'members_user_id_idx', array['user_id'], 'members by user (the dossiers I am in)');
select is((select array_agg(distinct confdeltype) from pg_constraint
           where contype = 'f' and connamespace = 'dossier'::regnamespace), array['c']::"char"[],
    'deleting a dossier deletes its engagements, commitments, score and members');
select is(pg_get_indexdef('dossier.engagements_dossier_occurred_idx'::regclass),
    'CREATE INDEX engagements_dossier_occurred_idx ON dossier.engagements USING btree (dossier_id, occurred_at) INCLUDE (kind)',
    'engagements are indexed by dossier and time, with the kind (index-only recency, frequency, statistics)');
select is(pg_get_indexdef('dossier.commitments_dossier_due_idx'::regclass),
    'CREATE INDEX commitments_dossier_due_idx ON dossier.commitments USING btree (dossier_id, due_date) INCLUDE (status)',
    'commitments by dossier and due date, with the status (index-only fulfilment)');
select has_index('dossier', 'commitments', 'commitments_open_due_idx', array['due_date'], 'open commitments by due date (the sweep)');
select is((select pg_get_expr(indpred, indrelid) from pg_index where indexrelid = 'dossier.commitments_open_due_idx'::regclass),
    '(status = ANY (ARRAY[''pending''::text, ''in_progress''::text]))', 'only the open ones');

insert into dossier.dossiers (id, name, owner_id) values ('00000000-0000-0000-0000-000000000001', 'Checked', gen_random_uuid());
select throws_ok($$insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
                   values ('00000000-0000-0000-0000-000000000001', gen_random_uuid(), 'x', current_date, 'done')$$,
    '23514', null, 'a status outside pending, in_progress, completed, overdue, cancelled is refused');
select throws_ok($$insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
                   values ('00000000-0000-0000-0000-000000000001', gen_random_uuid(), 'x', current_date, 'completed')$$,
    '23514', null, 'a completed commitment needs completed_at');
select throws_ok($$insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at)
                   values ('00000000-0000-0000-0000-000000000001', gen_random_uuid(), 'x', current_date, 'pending', now())$$,
    '23514', null, 'and only a completed one has it');
select col_default_is('dossier', 'commitments', 'status', 'pending'::text, 'a new commitment is pending');
select throws_ok($$insert into dossier.members (dossier_id, user_id, role)
                   values ('00000000-0000-0000-0000-000000000001', gen_random_uuid(), 'admin')$$,
    '23514', null, 'a member''s role is owner, editor or viewer');
select lives_ok($$insert into dossier.members (dossier_id, user_id, role)
                  select '00000000-0000-0000-0000-000000000001', gen_random_uuid(), r from unnest(array['owner', 'editor', 'viewer']) r$$,
    'all three roles are accepted');
select throws_ok($$insert into dossier.dossiers (name, owner_id) values ('  ', gen_random_uuid())$$, '23514', null,
    'a dossier needs a name');
select throws_ok($$insert into dossier.health_scores (dossier_id, overall_score, engagement_frequency, commitment_fulfillment,
                       recency_score, calculated_at, engagements_in_window, commitments_fulfilled, commitments_missed)
                   values ('00000000-0000-0000-0000-000000000001', 101, 0, 0, 10, now(), 0, 0, 0)$$,
    '23514', null, 'a score stays within 0..100');

select results_eq($$select time_zone, stale_after, engagement_target from dossier.settings$$,
    $$values ('Asia/Riyadh', interval '60 minutes', 6)$$, 'settings: Riyadh days, stale after 60 minutes, 6 engagements per 90 days');
select throws_ok($$insert into dossier.settings (id) values (false)$$, '23514', null, 'settings have one row');
select throws_ok($$update dossier.settings set time_zone = 'Mars/Olympus'$$, '22023', null, 'an unknown time zone is refused');
select throws_ok($$update dossier.settings set stale_after = '0 minutes'$$, '23514', null, 'a threshold must be positive');

select * from finish();
rollback;
