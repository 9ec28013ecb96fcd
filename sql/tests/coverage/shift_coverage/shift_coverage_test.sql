-- shift_coverage: the demo's change between two recomputes resolves the most-gapped cell and
-- opens new gaps in another, which the next process_institution reports and announces.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

truncate coverage.institutions, coverage.concepts, coverage.coverage_job_runs cascade;
select coverage.seed(2, 2000, 0.5);
create temp table steps (n integer primary key, r jsonb) on commit drop;
insert into steps values (1, coverage.process_institution((select id from coverage.institutions order by id limit 1)));
insert into steps values (2, coverage.shift_coverage((select id from coverage.institutions order by id limit 1)));
insert into steps values (3, coverage.process_institution((select id from coverage.institutions order by id limit 1)));

select is((select r -> 'baseline' from steps where n = 1), 'true', 'the first recompute is a baseline');
select ok((select (r -> 'resolved' ->> 'gaps_closed')::integer > 0 from steps where n = 2), 'the shift closes gaps in one cell');
select is((select r -> 'opened' ->> 'gaps_opened' from steps where n = 2), '3', 'and opens three in another');
select is((select r -> 'resolved_gaps' from steps where n = 3),
    (select jsonb_build_array(jsonb_build_object(
        'system', r -> 'resolved' -> 'system', 'discipline', r -> 'resolved' -> 'discipline',
        'previous_gap_count', r -> 'resolved' -> 'gaps_closed', 'new_gap_count', 0,
        'delta', -(r -> 'resolved' ->> 'gaps_closed')::integer)) from steps where n = 2),
    'the next recompute reports the closed cell as resolved, down to 0');
select is((select jsonb_build_array(x -> 'system', x -> 'discipline', x -> 'delta') from steps, jsonb_array_elements(r -> 'new_gaps') x where n = 3),
    (select jsonb_build_array(r -> 'opened' -> 'system', r -> 'opened' -> 'discipline', 3) from steps where n = 2),
    'and the opened cell as the one new gap, delta 3');
select isnt((select r ->> 'event_id' from steps where n = 3), null, 'which raises coverage.gaps.detected');

insert into coverage.institutions (id, name) values ('c0000000-0000-4000-8000-0000000000e9', 'Empty');
select is(coverage.shift_coverage('c0000000-0000-4000-8000-0000000000e9') -> 'resolved', 'null',
    'an institution without gaps has nothing to resolve');
select is((coverage.compute_for_institution('c0000000-0000-4000-8000-0000000000e9') ->> 'gap_count')::integer, 3,
    'but gets new gaps, through a demo course');
select throws_ok($$select coverage.shift_coverage('c0000000-0000-4000-8000-0000000000ff')$$, 'NSC01', null,
    'an unknown institution is refused with NSC01');

select * from finish();
rollback;
