-- list_admins: whom coverage/gap-alerts notifies.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(4);

insert into coverage.institutions (id, name) values
    ('c0000000-0000-4000-8000-0000000000c1', 'With admins'), ('c0000000-0000-4000-8000-0000000000c2', 'Without');
insert into coverage.institution_admins (institution_id, user_id, email, display_name) values
    ('c0000000-0000-4000-8000-0000000000c1', 'c0000000-0000-4000-8000-00000000c0b2', 'zoe@example.edu', 'Zoe'),
    ('c0000000-0000-4000-8000-0000000000c1', 'c0000000-0000-4000-8000-00000000c0b1', 'ana@example.edu', null),
    ('c0000000-0000-4000-8000-0000000000c2', 'c0000000-0000-4000-8000-00000000c0b1', 'ana@example.edu', null);
delete from coverage.institution_admins where institution_id = 'c0000000-0000-4000-8000-0000000000c2';

select results_eq($$select user_id, email, display_name from coverage.list_admins('c0000000-0000-4000-8000-0000000000c1')$$,
    $$values ('c0000000-0000-4000-8000-00000000c0b1'::uuid, 'ana@example.edu', null::text),
             ('c0000000-0000-4000-8000-00000000c0b2'::uuid, 'zoe@example.edu', 'Zoe')$$,
    'the institution''s admins, by email');
select is_empty($$select * from coverage.list_admins('c0000000-0000-4000-8000-0000000000c2')$$, 'no admins is an empty list');
select throws_ok($$select * from coverage.list_admins('c0000000-0000-4000-8000-0000000000ff')$$,
    'NSC01', 'unknown institution c0000000-0000-4000-8000-0000000000ff', 'an unknown institution is refused with NSC01');
select throws_ok($$insert into coverage.institution_admins (institution_id, user_id, email) values
        ('c0000000-0000-4000-8000-0000000000c2', 'c0000000-0000-4000-8000-00000000c0b3', 'not an address')$$,
    '23514', 'new row for relation "institution_admins" violates check constraint "institution_admins_email_is_valid"',
    'an admin needs an email address');

select * from finish();
rollback;
