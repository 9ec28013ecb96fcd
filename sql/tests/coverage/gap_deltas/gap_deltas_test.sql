-- gap_deltas: one row per cell whose gap_count changed, in matrix order; a cell missing on one
-- side (or a null matrix) counts as 0 gaps there.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);

select results_eq(
    $$select system, discipline, previous_gap_count, new_gap_count, delta from coverage.gap_deltas(
        '{"Cardiovascular": {"Anatomy": {"assessed_count": 3, "total_count": 5, "gap_count": 2}},
          "Respiratory": {"Anatomy": {"assessed_count": 1, "total_count": 6, "gap_count": 5}}}',
        '{"Cardiovascular": {"Anatomy": {"assessed_count": 5, "total_count": 5, "gap_count": 0}},
          "Respiratory": {"Anatomy": {"assessed_count": 1, "total_count": 7, "gap_count": 6}}}')$$,
    $$values ('Cardiovascular', 'Anatomy', 2, 0, -2), ('Respiratory', 'Anatomy', 5, 6, 1)$$,
    'the seed''s example: Cardiovascular/Anatomy 2 → 0 is resolved (−2), Respiratory/Anatomy 5 → 6 is new (+1)');
select is_empty(
    $$select * from coverage.gap_deltas(
        '{"Cardiovascular": {"Anatomy": {"gap_count": 2}, "Physiology": {"gap_count": 0}}}',
        '{"Cardiovascular": {"Anatomy": {"gap_count": 2}, "Physiology": {"gap_count": 0}}}')$$,
    'unchanged cells give no row');
select results_eq(
    $$select system, discipline, previous_gap_count, new_gap_count, delta from coverage.gap_deltas(
        '{"Renal/Urinary": {"Anatomy": {"gap_count": 4}, "Physiology": {"gap_count": 0}}}',
        '{"Renal/Urinary": {"Pathology": {"gap_count": 3}}, "Endocrine": {"Anatomy": {"gap_count": 0}}}')$$,
    $$values ('Renal/Urinary', 'Anatomy', 4, 0, -4), ('Renal/Urinary', 'Pathology', 0, 3, 3)$$,
    'a cell missing on either side counts as 0 gaps there; missing against 0 is no change');
select results_eq(
    $$select system, discipline, delta from coverage.gap_deltas(
        null, '{"Respiratory": {"Anatomy": {"gap_count": 1}}, "Cardiovascular": {"Pharmacology": {"gap_count": 2}, "Anatomy": {"gap_count": 1}}}')$$,
    $$values ('Cardiovascular', 'Anatomy', 1), ('Cardiovascular', 'Pharmacology', 2), ('Respiratory', 'Anatomy', 1)$$,
    'a null previous matrix is all zeros; rows come in matrix order (system, then discipline, as on the axes)');
select results_eq(
    $$select system, discipline, delta from coverage.gap_deltas('{"Cardiovascular": {"Anatomy": {"gap_count": 3}}}', null)$$,
    $$values ('Cardiovascular', 'Anatomy', -3)$$,
    'a null current matrix resolves every gap');
select results_eq(
    $$select system, delta from coverage.gap_deltas('{}', '{"Zeta": {"Anatomy": {"gap_count": 1}}, "Alpha": {"Anatomy": {"gap_count": 1}}, "Cardiovascular": {"Anatomy": {"gap_count": 1}}}')$$,
    $$values ('Cardiovascular', 1), ('Alpha', 1), ('Zeta', 1)$$,
    'names no longer on an axis sort after the axis, by name');

insert into coverage.institutions (id, name) values ('c0000000-0000-4000-8000-0000000000d1', 'Deltas');
select is_empty(
    $$select * from coverage.gap_deltas(
        coverage.compute_for_institution('c0000000-0000-4000-8000-0000000000d1') -> 'matrix',
        coverage.compute_for_institution('c0000000-0000-4000-8000-0000000000d1') -> 'matrix')$$,
    'a computed matrix against itself has no deltas');
select is(
    (select pg_get_function_result('coverage.gap_deltas(jsonb, jsonb)'::regprocedure)),
    'TABLE(system text, discipline text, previous_gap_count integer, new_gap_count integer, delta integer)',
    'gap_deltas returns system, discipline, previous_gap_count, new_gap_count, delta');

select * from finish();
rollback;
