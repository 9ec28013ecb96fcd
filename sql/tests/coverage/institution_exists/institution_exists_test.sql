-- institution_exists: the HTTP route's 404 check.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(4);

insert into coverage.institutions (id, name, status) values
    ('c0000000-0000-4000-8000-0000000000b1', 'There', 'active'), ('c0000000-0000-4000-8000-0000000000b2', 'Closed', 'inactive');

select ok(coverage.institution_exists('c0000000-0000-4000-8000-0000000000b1'), 'an existing institution exists');
select ok(coverage.institution_exists('c0000000-0000-4000-8000-0000000000b2'), 'so does an inactive one');
select ok(not coverage.institution_exists('c0000000-0000-4000-8000-0000000000ff'), 'an unknown id does not');
select ok(not coverage.institution_exists(null), 'nor does null');

select * from finish();
rollback;
