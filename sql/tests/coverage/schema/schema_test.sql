-- The coverage schema: tables, the seeded axes, indexes, the invariants the constraints keep,
-- and the function conventions (search_path pinned, public API as security definer).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(14);

select is_empty(
    $$select unnest(array['systems', 'disciplines', 'institutions', 'institution_admins', 'concepts', 'courses', 'sessions',
                          'assessment_items', 'course_teaches', 'session_teaches', 'item_assesses', 'coverage_snapshots',
                          'coverage_job_runs'])
      except select tablename::text from pg_tables where schemaname = 'coverage'$$,
    'every coverage table exists');
select results_eq($$select name from coverage.systems order by id$$,
    $$values ('General Principles'), ('Immune'), ('Blood & Lymphoreticular'), ('Behavioral Health'),
             ('Nervous System & Special Senses'), ('Skin & Subcutaneous Tissue'), ('Musculoskeletal'), ('Cardiovascular'),
             ('Respiratory'), ('Gastrointestinal'), ('Renal/Urinary'), ('Reproductive'), ('Endocrine'),
             ('Multisystem Processes'), ('Biostatistics & Epidemiology'), ('Social Sciences')$$,
    'the 16 USMLE systems are seeded, in matrix order');
select results_eq($$select name from coverage.disciplines order by id$$,
    $$values ('Anatomy'), ('Physiology'), ('Biochemistry'), ('Pathology'), ('Pharmacology'), ('Microbiology'), ('Behavioral Science')$$,
    'the 7 disciplines are seeded, in matrix order');
select ok(
    (select count(*) = 1 from pg_indexes where schemaname = 'coverage' and tablename = 'coverage_snapshots'
       and indexdef like '%(institution_id, created_at DESC)%'),
    'snapshots are indexed by (institution_id, created_at desc)');
select ok(
    (select count(*) = 1 from pg_indexes where schemaname = 'coverage' and tablename = 'coverage_job_runs'
       and indexdef like '%(created_at DESC)%'),
    'job runs are indexed by created_at desc');
select col_is_pk('coverage', 'session_teaches', array['session_id', 'concept_id'], 'a session teaches a concept once');

insert into coverage.institutions (id, name) values ('c0000000-0000-4000-8000-0000000000a7', 'Schema');
select throws_ok($$insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
                   values ('c0000000-0000-4000-8000-0000000000a7', '{}', 1.5, now())$$,
    '23514', 'new row for relation "coverage_snapshots" violates check constraint "coverage_snapshots_total_score_is_valid"',
    'a total score lies in 0..1');
select throws_ok($$insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
                   values ('c0000000-0000-4000-8000-0000000000a7', '[]', 0, now())$$,
    '23514', 'new row for relation "coverage_snapshots" violates check constraint "coverage_snapshots_matrix_is_object"',
    'a matrix is a JSON object');
select throws_ok($$insert into coverage.concepts (code, name, system_id, discipline_id) values ('X', 'X', 17, 1)$$,
    '23503', null, 'a concept sits on a seeded system');
insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
values ('c0000000-0000-4000-8000-0000000000a7', '{}', 0, now());
delete from coverage.institutions where id = 'c0000000-0000-4000-8000-0000000000a7';
select is((select count(*)::integer from coverage.coverage_snapshots where institution_id = 'c0000000-0000-4000-8000-0000000000a7'), 0,
    'an institution''s snapshots go with it');

select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'coverage'::regnamespace and p.proname <> '_seed_concept'
      and not coalesce('search_path=""' = any (p.proconfig), false)$$,
    'every coverage function pins search_path to empty (but the inlinable seed helper)');
select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'coverage'::regnamespace
      and p.proname !~ '^_' and p.proname not in ('seed', 'shift_coverage') and not p.prosecdef$$,
    'every public API function runs as its owner (security definer)');
select is_empty(
    $$select p.proname from pg_proc p where p.pronamespace = 'coverage'::regnamespace
      and (p.proname ~ '^_' or p.proname in ('seed', 'shift_coverage')) and p.prosecdef$$,
    'no helper, nor the owner-only seed and shift, is security definer');
select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'coverage'::regnamespace
      and obj_description(p.oid, 'pg_proc') is null$$,
    'every coverage function is documented by a comment');

select * from finish();
rollback;
