-- compute_for_institution: the full 16 × 7 matrix of a hand-built institution, with known
-- counts: taught by a course or a session (once), assessed only when also taught, zeros
-- everywhere else; the score over the whole matrix; another institution's rows never leak in.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(18);

insert into coverage.institutions (id, name) values
    ('c0000000-0000-4000-8000-00000000000a', 'Test A'),
    ('c0000000-0000-4000-8000-00000000000b', 'Test B'),
    ('c0000000-0000-4000-8000-00000000000c', 'Test C teaches nothing');
insert into coverage.concepts (code, name, system_id, discipline_id)
select v.code, v.code, sy.id, d.id
from (values ('T1', 'Cardiovascular', 'Anatomy'), ('T2', 'Cardiovascular', 'Anatomy'),
             ('T3', 'Cardiovascular', 'Physiology'), ('T4', 'Respiratory', 'Pathology'),
             ('T5', 'Respiratory', 'Pathology'), ('T6', 'Renal/Urinary', 'Pharmacology'),
             ('T7', 'Endocrine', 'Biochemistry')) v (code, system_name, discipline_name)
join coverage.systems sy on sy.name = v.system_name
join coverage.disciplines d on d.name = v.discipline_name;
insert into coverage.courses (institution_id, code, name) values
    ('c0000000-0000-4000-8000-00000000000a', 'K1', 'Cardio'),
    ('c0000000-0000-4000-8000-00000000000a', 'K2', 'Resp'),
    ('c0000000-0000-4000-8000-00000000000b', 'K1', 'Other');
insert into coverage.sessions (course_id, title)
select c.id, c.code || ' s1' from coverage.courses c
where c.institution_id in ('c0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-00000000000b');

-- A: course K1 teaches T1; its session teaches T1 again, T2, T3; course K2 teaches T7 and its
-- session T4. B: its session teaches T5.
insert into coverage.course_teaches (course_id, concept_id)
select c.id, k.id from coverage.courses c, coverage.concepts k
where (c.institution_id, c.code, k.code) in (('c0000000-0000-4000-8000-00000000000a', 'K1', 'T1'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'K2', 'T7'));
insert into coverage.session_teaches (session_id, concept_id)
select s.id, k.id from coverage.sessions s join coverage.courses c on c.id = s.course_id, coverage.concepts k
where (c.institution_id, c.code, k.code) in (('c0000000-0000-4000-8000-00000000000a', 'K1', 'T1'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'K1', 'T2'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'K1', 'T3'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'K2', 'T4'),
                                             ('c0000000-0000-4000-8000-00000000000b', 'K1', 'T5'));
-- A's items assess T1 twice, T4, and T6 (which A does not teach); B's item assesses T2.
insert into coverage.assessment_items (institution_id, stem) values
    ('c0000000-0000-4000-8000-00000000000a', 'I1'), ('c0000000-0000-4000-8000-00000000000a', 'I2'),
    ('c0000000-0000-4000-8000-00000000000b', 'I3');
insert into coverage.item_assesses (item_id, concept_id)
select i.id, k.id from coverage.assessment_items i, coverage.concepts k
where (i.institution_id, i.stem, k.code) in (('c0000000-0000-4000-8000-00000000000a', 'I1', 'T1'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'I1', 'T4'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'I2', 'T1'),
                                             ('c0000000-0000-4000-8000-00000000000a', 'I2', 'T6'),
                                             ('c0000000-0000-4000-8000-00000000000b', 'I3', 'T2'));

create temp table result on commit drop as
select coverage.compute_for_institution('c0000000-0000-4000-8000-00000000000a') as a,
       coverage.compute_for_institution('c0000000-0000-4000-8000-00000000000b') as b,
       coverage.compute_for_institution('c0000000-0000-4000-8000-00000000000c') as c;

select set_eq($$select jsonb_object_keys(a -> 'matrix') from result$$,
    $$select name from coverage.systems$$,
    'the matrix has one entry per USMLE system, named as on the axis');
select is((select count(*)::integer from result, jsonb_each(a -> 'matrix') s, jsonb_each(s.value) d), 112,
    'every one of the 16 × 7 cells is present');
select is_empty(
    $$select s.key from result, jsonb_each(a -> 'matrix') s
      where (select array_agg(k order by k) from jsonb_object_keys(s.value) k)
            is distinct from (select array_agg(d.name order by d.name) from coverage.disciplines d)$$,
    'every system has exactly the 7 disciplines');
select is_empty(
    $$select s.key, d.key from result, jsonb_each(a -> 'matrix') s, jsonb_each(s.value) d
      where (select array_agg(k order by k) from jsonb_object_keys(d.value) k) <> array['assessed_count', 'gap_count', 'total_count']
         or (d.value ->> 'gap_count')::integer <> (d.value ->> 'total_count')::integer - (d.value ->> 'assessed_count')::integer$$,
    'every cell has assessed_count, total_count and gap_count = total - assessed');
select is((select a -> 'matrix' -> 'Cardiovascular' -> 'Anatomy' from result),
    '{"assessed_count": 1, "total_count": 2, "gap_count": 1}',
    'a concept taught by a course and one of its sessions counts once; one of two assessed leaves one gap');
select is((select a -> 'matrix' -> 'Cardiovascular' -> 'Physiology' from result),
    '{"assessed_count": 0, "total_count": 1, "gap_count": 1}', 'a taught, unassessed concept is a gap');
select is((select a -> 'matrix' -> 'Respiratory' -> 'Pathology' from result),
    '{"assessed_count": 1, "total_count": 1, "gap_count": 0}',
    'taught and assessed is covered; another institution teaching the same cell adds nothing');
select is((select a -> 'matrix' -> 'Endocrine' -> 'Biochemistry' from result),
    '{"assessed_count": 0, "total_count": 1, "gap_count": 1}', 'a concept taught by a course alone counts');
select is((select a -> 'matrix' -> 'Renal/Urinary' -> 'Pharmacology' from result),
    '{"assessed_count": 0, "total_count": 0, "gap_count": 0}', 'assessing a concept that is not taught counts nowhere');
select is((select count(*)::integer from result, jsonb_each(a -> 'matrix') s, jsonb_each(s.value) d
           where d.value = '{"assessed_count": 0, "total_count": 0, "gap_count": 0}'), 108,
    'the 108 other cells are present with zeros');
select is((select a - 'matrix' from result),
    '{"institution_id": "c0000000-0000-4000-8000-00000000000a", "total_count": 5, "assessed_count": 2, "gap_count": 3, "total_score": 0.4000}',
    'the totals over the matrix and total_score = 2 assessed / 5 taught');
select is((select b -> 'matrix' -> 'Respiratory' -> 'Pathology' from result),
    '{"assessed_count": 0, "total_count": 1, "gap_count": 1}',
    'the other institution sees only its own teaching and items');
select is((select b -> 'matrix' -> 'Cardiovascular' -> 'Anatomy' from result),
    '{"assessed_count": 0, "total_count": 0, "gap_count": 0}', 'and its item on a concept it does not teach counts nowhere');
select is((select c - 'matrix' from result),
    '{"institution_id": "c0000000-0000-4000-8000-00000000000c", "total_count": 0, "assessed_count": 0, "gap_count": 0, "total_score": 0}',
    'an institution that teaches nothing scores 0');
select is((select count(*)::integer from result, jsonb_each(c -> 'matrix') s, jsonb_each(s.value) d
           where d.value = '{"assessed_count": 0, "total_count": 0, "gap_count": 0}'), 112,
    'and still has every cell, all zeros');
select throws_ok($$select coverage.compute_for_institution('c0000000-0000-4000-8000-0000000000ff')$$,
    'NSC01', 'unknown institution c0000000-0000-4000-8000-0000000000ff',
    'an unknown institution is refused with NSC01, naming the id');
select throws_ok($$select coverage.compute_for_institution(null)$$,
    '22023', 'an institution id is required, got null', 'a null institution id is refused');
select ok(obj_description('coverage.compute_for_institution(uuid)'::regprocedure, 'pg_proc')
          ~ 'total_score = sum\(assessed_count\) / sum\(total_count\).*0 when nothing is taught',
    'the function''s comment defines total_score, 0 when nothing is taught');

select * from finish();
rollback;
