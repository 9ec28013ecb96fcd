-- active_institutions: what the nightly run processes, by id.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(4);

insert into coverage.institutions (id, name, status) values
    ('c0000000-0000-4000-8000-0000000000a2', 'Active two', 'active'),
    ('c0000000-0000-4000-8000-0000000000a1', 'Active one', 'active'),
    ('c0000000-0000-4000-8000-0000000000a3', 'Closed', 'inactive');

select bag_has($$select id, name from coverage.active_institutions()$$,
    $$values ('c0000000-0000-4000-8000-0000000000a1'::uuid, 'Active one'), ('c0000000-0000-4000-8000-0000000000a2'::uuid, 'Active two')$$,
    'active institutions are listed with their names');
select bag_hasnt($$select id from coverage.active_institutions()$$, $$values ('c0000000-0000-4000-8000-0000000000a3'::uuid)$$,
    'inactive ones are not');
select is((select array_agg(id) from coverage.active_institutions()), (select array_agg(id order by id) from coverage.institutions where status = 'active'),
    'every active institution comes once, in id order');
select throws_ok($$update coverage.institutions set status = 'paused' where id = 'c0000000-0000-4000-8000-0000000000a1'$$,
    '23514', 'new row for relation "institutions" violates check constraint "institutions_status_is_valid"',
    'a status is active or inactive');

select * from finish();
rollback;
