-- prune_snapshots: keeps the institution's newest snapshots (30 by default) and never touches
-- another institution's.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(9);

insert into coverage.institutions (id, name) values
    ('c0000000-0000-4000-8000-0000000000e1', 'Pruned'), ('c0000000-0000-4000-8000-0000000000e2', 'Bystander');
-- 31 snapshots a day apart (n = 1 newest … 31 oldest); the bystander's 40 are all older still.
insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at, created_at)
select 'c0000000-0000-4000-8000-0000000000e1', jsonb_build_object('n', n), 0, now() - n * interval '1 day', now() - n * interval '1 day'
from generate_series(1, 31) n;
insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at, created_at)
select 'c0000000-0000-4000-8000-0000000000e2', jsonb_build_object('n', n), 0, now() - n * interval '1 year', now() - n * interval '1 year'
from generate_series(1, 40) n;

select is(coverage.prune_snapshots('c0000000-0000-4000-8000-0000000000e1'), 1, '31 snapshots: one is pruned');
select is((select count(*)::integer from coverage.coverage_snapshots where institution_id = 'c0000000-0000-4000-8000-0000000000e1'), 30,
    '30 remain');
select is((select array_agg((matrix ->> 'n')::integer order by created_at desc) from coverage.coverage_snapshots
           where institution_id = 'c0000000-0000-4000-8000-0000000000e1'),
    (select array_agg(n) from generate_series(1, 30) n),
    'the oldest went; the 30 newest stay');
select is((select count(*)::integer from coverage.coverage_snapshots where institution_id = 'c0000000-0000-4000-8000-0000000000e2'), 40,
    'another institution''s snapshots are untouched, older and more numerous as they are');
select is(coverage.prune_snapshots('c0000000-0000-4000-8000-0000000000e1'), 0, 'pruning again deletes nothing');
select is(coverage.prune_snapshots('c0000000-0000-4000-8000-0000000000e1', 5), 25, 'a smaller keep prunes down to it');
select is(coverage.prune_snapshots('c0000000-0000-4000-8000-0000000000ff'), 0, 'an institution without snapshots prunes nothing');
select throws_ok($$select coverage.prune_snapshots('c0000000-0000-4000-8000-0000000000e1', 0)$$,
    '22023', 'prune_snapshots keeps at least one snapshot, got 0', 'keeping none is refused');
select throws_ok($$select coverage.prune_snapshots('c0000000-0000-4000-8000-0000000000e1', null)$$,
    '22023', 'prune_snapshots keeps at least one snapshot, got null', 'a null keep is refused');

select * from finish();
rollback;
