-- seed: a deterministic data set of the documented shape; the same arguments give the same
-- rows and ids, another seed other ones; it fills only an empty schema.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(18);

create schema coverage_tests;
create function coverage_tests.fingerprint() returns text language sql as $$
    select md5(concat_ws('|',
        (select string_agg(concat_ws(',', i.id, i.name, i.status), ';' order by i.id) from coverage.institutions i),
        (select string_agg(concat_ws(',', a.institution_id, a.user_id, a.email, a.display_name), ';' order by a.institution_id, a.user_id)
         from coverage.institution_admins a),
        (select string_agg(concat_ws(',', k.id, k.code, k.name, k.system_id, k.discipline_id), ';' order by k.id) from coverage.concepts k),
        (select string_agg(concat_ws(',', c.id, c.institution_id, c.code, c.name), ';' order by c.id) from coverage.courses c),
        (select string_agg(concat_ws(',', s.id, s.course_id, s.title), ';' order by s.id) from coverage.sessions s),
        (select string_agg(concat_ws(',', i.id, i.institution_id, i.course_id, i.stem), ';' order by i.id) from coverage.assessment_items i),
        (select string_agg(concat_ws(',', t.course_id, t.concept_id), ';' order by t.course_id, t.concept_id) from coverage.course_teaches t),
        (select string_agg(concat_ws(',', t.session_id, t.concept_id), ';' order by t.session_id, t.concept_id) from coverage.session_teaches t),
        (select string_agg(concat_ws(',', t.item_id, t.concept_id), ';' order by t.item_id, t.concept_id) from coverage.item_assesses t)))
$$;
create temp table prints (n integer primary key, print text) on commit drop;

create temp table foreign_keys on commit drop as
select conrelid::regclass::text as table_name, conname::text as name, pg_get_constraintdef(oid) as definition
from pg_constraint where contype = 'f' and connamespace = 'coverage'::regnamespace;

truncate coverage.institutions, coverage.concepts, coverage.coverage_job_runs cascade;
select is(coverage.seed(4, 2000, 0.5) - array['courses', 'sessions', 'assessment_items', 'course_teaches', 'session_teaches', 'item_assesses', 'institution_admins'],
    '{"institutions": 4, "active_institutions": 4, "concepts": 2000}', 'seed makes the institutions and concepts asked for, and counts them');
insert into prints values (1, coverage_tests.fingerprint());

select set_eq($$select conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
                 from pg_constraint where contype = 'f' and connamespace = 'coverage'::regnamespace$$,
    $$select * from foreign_keys$$,
    'the foreign keys the seed drops for the load are back as they were');
select is_empty($$select id from coverage.concepts where system_id <> (id - 1) % 16 + 1$$,
    'concepts go round the 16 systems');
select is((select count(distinct discipline_id)::integer from coverage.concepts), 7, 'and use all 7 disciplines');
select is_empty($$select i.id from coverage.institutions i
                  where (select count(*) from coverage.courses c where c.institution_id = i.id) not between 18 and 30$$,
    'every institution has 18 to 30 courses');
select is_empty($$select c.id from coverage.courses c
                  where (select count(*) from coverage.sessions s where s.course_id = c.id) <> 8
                     or not exists (select 1 from coverage.course_teaches t where t.course_id = c.id)$$,
    'every course has 8 sessions and teaches concepts itself');
select is_empty($$select s.id from coverage.sessions s where not exists (select 1 from coverage.session_teaches t where t.session_id = s.id)$$,
    'every session teaches');
select is_empty($$select i.id from coverage.institutions i
                  where (select count(*) from coverage.assessment_items a where a.institution_id = i.id)
                        not between 1.5 * (select count(*) from coverage.sessions s join coverage.courses c on c.id = s.course_id where c.institution_id = i.id) - 1
                            and 4 * (select count(*) from coverage.sessions s join coverage.courses c on c.id = s.course_id where c.institution_id = i.id)
                     or (select count(*) from coverage.institution_admins a where a.institution_id = i.id) not between 1 and 3$$,
    'every institution has 1.5 to 4 items per session and 1 to 3 admins');
select is_empty($$select a.id from coverage.assessment_items a
                  where (select count(*) from coverage.item_assesses t where t.item_id = a.id) not between 1 and 3$$,
    'every item assesses 1 to 3 concepts');
select is_empty($$select i.id from coverage.institutions i, coverage.compute_for_institution(i.id) r
                  where (r ->> 'total_count')::integer = 0 or (r ->> 'total_score')::numeric not between 0.05 and 0.95$$,
    'every seeded institution teaches, with partial coverage');
select lives_ok($$insert into coverage.courses (institution_id, code, name) select id, 'NEW', 'New' from coverage.institutions limit 1;
                  insert into coverage.sessions (course_id, title) select id, 'New' from coverage.courses where code = 'NEW';
                  insert into coverage.assessment_items (institution_id, stem) select id, 'New' from coverage.institutions limit 1;
                  insert into coverage.concepts (code, name, system_id, discipline_id) values ('NEW', 'New', 1, 1)$$,
    'the identity sequences were moved past the generated ids');

select throws_ok($$select coverage.seed(1, 2000, 0.5)$$, '55000', 'seed fills an empty coverage schema, and it has data',
    'seed refuses a schema with data');

truncate coverage.institutions, coverage.concepts cascade;
select lives_ok($$select coverage.seed(4, 2000, 0.5)$$, 'seeding again after emptying');
insert into prints values (2, coverage_tests.fingerprint());
select is((select print from prints where n = 2), (select print from prints where n = 1),
    'the same arguments give the same rows and ids');

truncate coverage.institutions, coverage.concepts cascade;
select lives_ok($$select coverage.seed(4, 2000, 0.25)$$, 'seeding with another seed');
insert into prints values (3, coverage_tests.fingerprint());
select isnt((select print from prints where n = 3), (select print from prints where n = 1), 'another seed gives other data');

truncate coverage.institutions, coverage.concepts cascade;
select throws_ok($$select coverage.seed(0, 224, 0.5)$$, '22023', 'seed needs 1 to 1000000 institutions, got 0',
    'at least one institution');
select throws_ok($$select coverage.seed(1, 100, 0.5)$$, '22023', 'seed needs 112 (one per cell) to 10000000 concepts, got 100',
    'at least one concept per cell');

select * from finish();
rollback;
