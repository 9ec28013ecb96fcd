-- process_institution: the first snapshot is a baseline; later ones report the cells that
-- gained and lost gaps against the previous snapshot, emit coverage.gaps.detected only for
-- new gaps (once per snapshot, fanned out to subscribers), and keep 30 snapshots.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(27);

select nightshift.sync_functions('[{"id": "tests/gap-alerts", "events": ["coverage.gaps.detected"]}]');

insert into coverage.institutions (id, name) values
    ('c0000000-0000-4000-8000-0000000000f1', 'Processed'), ('c0000000-0000-4000-8000-0000000000f2', 'Bystander');
insert into coverage.concepts (code, name, system_id, discipline_id)
select v.code, v.code, sy.id, d.id
from (values ('P1', 'Cardiovascular', 'Physiology'), ('P2', 'Respiratory', 'Anatomy'), ('P3', 'Cardiovascular', 'Anatomy'))
     v (code, system_name, discipline_name)
join coverage.systems sy on sy.name = v.system_name
join coverage.disciplines d on d.name = v.discipline_name;
insert into coverage.courses (institution_id, code, name) values ('c0000000-0000-4000-8000-0000000000f1', 'K1', 'Course');
insert into coverage.course_teaches (course_id, concept_id)
select c.id, k.id from coverage.courses c, coverage.concepts k
where c.institution_id = 'c0000000-0000-4000-8000-0000000000f1' and k.code in ('P1', 'P3');
insert into coverage.assessment_items (institution_id, stem) values ('c0000000-0000-4000-8000-0000000000f1', 'Q1');
insert into coverage.item_assesses (item_id, concept_id)
select i.id, k.id from coverage.assessment_items i, coverage.concepts k
where i.institution_id = 'c0000000-0000-4000-8000-0000000000f1' and k.code = 'P3';
insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
values ('c0000000-0000-4000-8000-0000000000f2', '{}', 0, now());

create temp table results (n integer primary key, r jsonb) on commit drop;

-- 1. Baseline: P1 and P3 taught, P3 assessed.
insert into results values (1, coverage.process_institution('c0000000-0000-4000-8000-0000000000f1'));
select is((select r -> 'baseline' from results where n = 1), 'true', 'the first snapshot is a baseline');
select is((select jsonb_build_array(r -> 'new_gaps', r -> 'resolved_gaps', r -> 'gaps_detected', r -> 'gaps_resolved') from results where n = 1),
    '[[], [], 0, 0]', 'a baseline has no deltas');
select is((select r -> 'event_id' from results where n = 1), 'null', 'a baseline emits nothing');
select is((select r -> 'total_score' from results where n = 1), '0.5000', 'the result carries the total score');
select is(
    (select s.matrix from coverage.coverage_snapshots s join results x on x.n = 1 and s.id = (x.r ->> 'snapshot_id')::uuid),
    coverage.compute_for_institution('c0000000-0000-4000-8000-0000000000f1') -> 'matrix',
    'the stored snapshot holds the computed matrix');
select is(
    (select s.total_score from coverage.coverage_snapshots s join results x on x.n = 1 and s.id = (x.r ->> 'snapshot_id')::uuid),
    0.5000, 'and its total score');

-- 2. P1 gets assessed (Cardiovascular/Physiology 1 → 0), P2 gets taught (Respiratory/Anatomy 0 → 1).
insert into coverage.item_assesses (item_id, concept_id)
select i.id, k.id from coverage.assessment_items i, coverage.concepts k
where i.institution_id = 'c0000000-0000-4000-8000-0000000000f1' and k.code = 'P1';
insert into coverage.course_teaches (course_id, concept_id)
select c.id, k.id from coverage.courses c, coverage.concepts k
where c.institution_id = 'c0000000-0000-4000-8000-0000000000f1' and k.code = 'P2';
insert into results values (2, coverage.process_institution('c0000000-0000-4000-8000-0000000000f1'));
select is((select r -> 'baseline' from results where n = 2), 'false', 'the second snapshot is compared');
select is((select r ->> 'previous_snapshot_id' from results where n = 2), (select r ->> 'snapshot_id' from results where n = 1),
    'with the previous snapshot');
select is((select r -> 'new_gaps' from results where n = 2),
    '[{"system": "Respiratory", "discipline": "Anatomy", "previous_gap_count": 0, "new_gap_count": 1, "delta": 1}]',
    'the cell that gained a gap is a new gap');
select is((select r -> 'resolved_gaps' from results where n = 2),
    '[{"system": "Cardiovascular", "discipline": "Physiology", "previous_gap_count": 1, "new_gap_count": 0, "delta": -1}]',
    'the cell that lost its gap is resolved');
select is((select jsonb_build_array(r -> 'gaps_detected', r -> 'gaps_resolved') from results where n = 2), '[1, 1]',
    'gaps_detected and gaps_resolved sum the deltas');
select is((select e.data from nightshift.events e join results x on x.n = 2 and e.id = (x.r ->> 'event_id')::uuid),
    (select jsonb_build_object('institution_id', 'c0000000-0000-4000-8000-0000000000f1', 'new_gaps', r -> 'new_gaps',
                               'resolved_gaps', r -> 'resolved_gaps', 'snapshot_id', r -> 'snapshot_id', 'timestamp', r -> 'computed_at')
     from results where n = 2),
    'new gaps emit coverage.gaps.detected {institution_id, new_gaps, resolved_gaps, snapshot_id, timestamp}');
select is((select e.name || ' ' || e.idempotency_key from nightshift.events e join results x on x.n = 2 and e.id = (x.r ->> 'event_id')::uuid),
    (select 'coverage.gaps.detected coverage.gaps.detected/' || (r ->> 'snapshot_id') from results where n = 2),
    'the event is keyed by its snapshot');
select is(
    (select r.payload from nightshift.runs r join results x on x.n = 2 and r.trigger_event_id = (x.r ->> 'event_id')::uuid
     where r.function_id = 'tests/gap-alerts'),
    (select e.data from nightshift.events e join results x on x.n = 2 and e.id = (x.r ->> 'event_id')::uuid),
    'a subscriber of the event gets a run with the event''s data');
select is(
    nightshift.send_event('coverage.gaps.detected', '{}', (select 'coverage.gaps.detected/' || (r ->> 'snapshot_id') from results where n = 2)),
    (select (r ->> 'event_id')::uuid from results where n = 2),
    'sending the snapshot''s event again returns the first: one event per snapshot');

-- 3. Only a resolution: P2 gets assessed.
insert into coverage.item_assesses (item_id, concept_id)
select i.id, k.id from coverage.assessment_items i, coverage.concepts k
where i.institution_id = 'c0000000-0000-4000-8000-0000000000f1' and k.code = 'P2';
insert into results values (3, coverage.process_institution('c0000000-0000-4000-8000-0000000000f1'));
select is((select jsonb_build_array(r -> 'new_gaps', jsonb_array_length(r -> 'resolved_gaps'), r -> 'event_id') from results where n = 3),
    '[[], 1, null]', 'resolved gaps alone emit nothing');

-- 4. No change.
insert into results values (4, coverage.process_institution('c0000000-0000-4000-8000-0000000000f1'));
select is((select jsonb_build_array(r -> 'baseline', r -> 'new_gaps', r -> 'resolved_gaps', r -> 'event_id') from results where n = 4),
    '[false, [], [], null]', 'an unchanged matrix has no deltas and no event');
select is((select count(*)::integer from nightshift.events where name = 'coverage.gaps.detected'
             and data ->> 'institution_id' = 'c0000000-0000-4000-8000-0000000000f1'), 1,
    'one event in all: only the snapshot with new gaps');

-- 5. New gaps with emit_event false: reported, not sent.
delete from coverage.item_assesses ia using coverage.assessment_items i
where ia.item_id = i.id and i.institution_id = 'c0000000-0000-4000-8000-0000000000f1';
insert into results values (5, coverage.process_institution('c0000000-0000-4000-8000-0000000000f1', emit_event => false));
select is((select jsonb_build_array(jsonb_array_length(r -> 'new_gaps'), r -> 'event_id') from results where n = 5),
    '[3, null]', 'with emit_event false the new gaps are returned but no event is sent');

-- 6. Retention: with 40 older snapshots in place, processing keeps the 30 newest.
insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at, created_at)
select 'c0000000-0000-4000-8000-0000000000f1', '{}', 0, now() - n * interval '1 day', now() - n * interval '1 day'
from generate_series(1, 40) n;
insert into results values (6, coverage.process_institution('c0000000-0000-4000-8000-0000000000f1'));
select is((select r -> 'snapshots_pruned' from results where n = 6), '16', '5 + 40 + 1 snapshots: 16 are pruned');
select is((select count(*)::integer from coverage.coverage_snapshots where institution_id = 'c0000000-0000-4000-8000-0000000000f1'), 30,
    'the institution keeps 30 snapshots');
select ok((select bool_and(exists (select 1 from coverage.coverage_snapshots s where s.id = (x.r ->> 'snapshot_id')::uuid))
           from results x),
    'the snapshots of this test''s six runs are the newest and all kept');
select is((select r ->> 'previous_snapshot_id' from results where n = 6), (select r ->> 'snapshot_id' from results where n = 5),
    'the previous snapshot is the newest, not a backdated one');
select is((select count(*)::integer from coverage.coverage_snapshots where institution_id = 'c0000000-0000-4000-8000-0000000000f2'), 1,
    'another institution''s snapshot is untouched');

select throws_ok($$select coverage.process_institution('c0000000-0000-4000-8000-0000000000ff')$$,
    'NSC01', 'unknown institution c0000000-0000-4000-8000-0000000000ff', 'an unknown institution is refused with NSC01');
select is((select count(*)::integer from coverage.coverage_snapshots where institution_id = 'c0000000-0000-4000-8000-0000000000ff'), 0,
    'and nothing is stored for it');
update coverage.institutions set status = 'inactive' where id = 'c0000000-0000-4000-8000-0000000000f2';
select is(coverage.process_institution('c0000000-0000-4000-8000-0000000000f2') -> 'baseline', 'false',
    'an inactive institution can still be processed on request');

select * from finish();
rollback;
