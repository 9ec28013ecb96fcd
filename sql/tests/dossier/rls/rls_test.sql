-- Row-level security on dossiers (0042), acting as each request role with forged claims. A
-- dossier and everything in it is visible to its owner and its members only. The owner (owner_id,
-- or a member with role owner) changes the dossier and manages its members; an editor writes
-- engagements and commitments and may force a recalculation, but manages no member; a viewer
-- reads and writes nothing. To anyone else a dossier does not exist: api.dossier_stats says not
-- found and api.calculate_health_score raises NSD01, exactly as for an unknown id. A token
-- without a user sees nothing, anon is refused, the service role sees and scores everything.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(60);

-- D1 is O's, with M (co-owner), E (editor) and V (viewer); D2 is X's.
truncate dossier.dossiers cascade;
create temporary table who (name text primary key, id uuid);
insert into who values
    ('O', '00000000-0000-4000-8000-0000000000a1'), ('M', '00000000-0000-4000-8000-0000000000a2'),
    ('E', '00000000-0000-4000-8000-0000000000e1'), ('V', '00000000-0000-4000-8000-0000000000c1'),
    ('X', '00000000-0000-4000-8000-0000000000b1'), ('N', '00000000-0000-4000-8000-0000000000f1');
insert into dossier.dossiers (id, name, owner_id) values
    ('d0000000-0000-4000-8000-000000000001', 'D1', '00000000-0000-4000-8000-0000000000a1'),
    ('d0000000-0000-4000-8000-000000000002', 'D2', '00000000-0000-4000-8000-0000000000b1');
insert into dossier.members (dossier_id, user_id, role) values
    ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a2', 'owner'),
    ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000e1', 'editor'),
    ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000c1', 'viewer');
insert into dossier.engagements (id, dossier_id, occurred_at, kind) values
    ('e0000000-0000-4000-8000-000000000011', 'd0000000-0000-4000-8000-000000000001', now() - interval '3 days', 'meeting'),
    ('e0000000-0000-4000-8000-000000000012', 'd0000000-0000-4000-8000-000000000001', now() - interval '9 days', 'call'),
    ('e0000000-0000-4000-8000-000000000021', 'd0000000-0000-4000-8000-000000000002', now() - interval '1 day', 'email');
insert into dossier.commitments (id, dossier_id, owner_id, description, due_date) values
    ('c0000000-0000-4000-8000-000000000011', 'd0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a1',
     'Send the figures', current_date + 7),
    ('c0000000-0000-4000-8000-000000000021', 'd0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-0000000000b1',
     'Book the visit', current_date + 7);
select dossier.calculate_health_score('d0000000-0000-4000-8000-000000000001'),
       dossier.calculate_health_score('d0000000-0000-4000-8000-000000000002');
create temporary table owner_counts as
    select (select count(*) from dossier.dossiers) as dossiers, (select count(*) from dossier.members) as members,
           (select count(*) from dossier.engagements) as engagements, (select count(*) from dossier.commitments) as commitments,
           (select count(*) from dossier.health_scores) as health_scores;
create temporary table d2_before as
    select (select to_jsonb(d) from dossier.dossiers d where id = 'd0000000-0000-4000-8000-000000000002') as dossier,
           (select jsonb_agg(e order by e.id) from dossier.engagements e where dossier_id = 'd0000000-0000-4000-8000-000000000002') as engagements,
           (select jsonb_agg(c order by c.id) from dossier.commitments c where dossier_id = 'd0000000-0000-4000-8000-000000000002') as commitments,
           (select to_jsonb(h) from dossier.health_scores h where dossier_id = 'd0000000-0000-4000-8000-000000000002') as score;
grant select on who, owner_counts to public;

create function pg_temp.act_as(p_role text, p_claims jsonb default '{}') returns void language plpgsql as $$
begin
    perform set_config('role', p_role, true), set_config('request.jwt.claims', p_claims::text, true);
end
$$;
create function pg_temp.as_user(p_name text) returns void language sql
return pg_temp.act_as('nightshift_authenticated',
                      jsonb_build_object('sub', (select id from who where name = p_name), 'role', 'authenticated'));
create function pg_temp.affected(p_sql text) returns bigint language plpgsql as $$
declare
    v_rows bigint;
begin
    execute p_sql;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
-- Everything of the dossiers the current role sees, by kind (security_invoker: a view otherwise
-- reads as its owner, past row-level security).
create temporary view visible with (security_invoker = true) as
    select 'dossier' as kind, id from dossier.dossiers
    union all select 'member of ' || (select name from dossier.dossiers d where d.id = m.dossier_id), user_id from dossier.members m
    union all select 'engagement', id from dossier.engagements
    union all select 'commitment', id from dossier.commitments
    union all select 'score', dossier_id from dossier.health_scores;
grant select on visible to public;

-- The owner O
select pg_temp.as_user('O');
select set_eq($$select * from visible$$,
    $$values ('dossier', 'd0000000-0000-4000-8000-000000000001'::uuid), ('member of D1', '00000000-0000-4000-8000-0000000000a2'),
             ('member of D1', '00000000-0000-4000-8000-0000000000e1'), ('member of D1', '00000000-0000-4000-8000-0000000000c1'),
             ('engagement', 'e0000000-0000-4000-8000-000000000011'), ('engagement', 'e0000000-0000-4000-8000-000000000012'),
             ('commitment', 'c0000000-0000-4000-8000-000000000011'), ('score', 'd0000000-0000-4000-8000-000000000001')$$,
    'the owner sees D1, its members, engagements, commitments and score, and nothing of D2');
select is(pg_temp.affected($$update dossier.dossiers set name = 'mine now' where id = 'd0000000-0000-4000-8000-000000000002'$$), 0::bigint,
    'O cannot rename X''s dossier');
select is(pg_temp.affected($$delete from dossier.dossiers where id = 'd0000000-0000-4000-8000-000000000002'$$), 0::bigint,
    'nor delete it');
select is(pg_temp.affected($$update dossier.engagements set kind = 'other' where dossier_id = 'd0000000-0000-4000-8000-000000000002'$$),
    0::bigint, 'nor change its engagements');
select is(pg_temp.affected($$delete from dossier.commitments where dossier_id = 'd0000000-0000-4000-8000-000000000002'$$), 0::bigint,
    'nor delete its commitments');
select throws_ok($$insert into dossier.engagements (dossier_id, occurred_at, kind) values ('d0000000-0000-4000-8000-000000000002', now(), 'call')$$,
    '42501', 'new row violates row-level security policy for table "engagements"', 'nor add an engagement to it');
select throws_ok($$insert into dossier.members (dossier_id, user_id, role)
                   values ('d0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-0000000000a1', 'owner')$$,
    '42501', null, 'nor make itself a member of it');
select throws_ok($$insert into dossier.dossiers (name, owner_id) values ('for X', '00000000-0000-4000-8000-0000000000b1')$$,
    '42501', null, 'O cannot create a dossier owned by someone else');
select lives_ok($$insert into dossier.dossiers (id, name, owner_id)
                  values ('d0000000-0000-4000-8000-000000000003', 'D3', '00000000-0000-4000-8000-0000000000a1') returning id, owner_id$$,
    'O creates a dossier of its own and gets it back (INSERT … RETURNING)');
select is(pg_temp.affected($$insert into dossier.members (dossier_id, user_id, role)
                             values ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000f1', 'viewer')$$),
    1::bigint, 'the owner adds a member');
select is(pg_temp.affected($$update dossier.members set role = 'editor' where user_id = '00000000-0000-4000-8000-0000000000f1'$$),
    1::bigint, 'changes its role');
select is(pg_temp.affected($$delete from dossier.members where user_id = '00000000-0000-4000-8000-0000000000f1'$$), 1::bigint,
    'and removes it');
select is(pg_temp.affected($$update dossier.dossiers set name = 'D1 renamed' where id = 'd0000000-0000-4000-8000-000000000001'$$),
    1::bigint, 'the owner renames the dossier');

-- The co-owner M (a member with role owner)
select pg_temp.as_user('M');
select is(pg_temp.affected($$insert into dossier.members (dossier_id, user_id, role)
                             values ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000f1', 'viewer')$$),
    1::bigint, 'a member with role owner manages members too');
select is(pg_temp.affected($$update dossier.dossiers set name = 'D1' where id = 'd0000000-0000-4000-8000-000000000001'$$), 1::bigint,
    'and changes the dossier');
select is_empty($$select from dossier.dossiers where id <> 'd0000000-0000-4000-8000-000000000001'$$, 'and sees no other dossier');

-- The viewer V
select pg_temp.as_user('V');
select set_eq($$select * from visible where kind !~ '^member'$$,
    $$values ('dossier', 'd0000000-0000-4000-8000-000000000001'::uuid),
             ('engagement', 'e0000000-0000-4000-8000-000000000011'), ('engagement', 'e0000000-0000-4000-8000-000000000012'),
             ('commitment', 'c0000000-0000-4000-8000-000000000011'), ('score', 'd0000000-0000-4000-8000-000000000001')$$,
    'a viewer reads D1, its engagements, commitments and score, nothing of D2');
select set_eq($$select user_id from dossier.members$$,
    $$values ('00000000-0000-4000-8000-0000000000a2'::uuid), ('00000000-0000-4000-8000-0000000000e1'),
             ('00000000-0000-4000-8000-0000000000c1'), ('00000000-0000-4000-8000-0000000000f1')$$,
    'and who else is a member');
select throws_ok($$insert into dossier.engagements (dossier_id, occurred_at, kind) values ('d0000000-0000-4000-8000-000000000001', now(), 'call')$$,
    '42501', 'new row violates row-level security policy for table "engagements"', 'a viewer cannot add an engagement');
select is(pg_temp.affected($$update dossier.engagements set kind = 'other'$$), 0::bigint, 'nor change one');
select is(pg_temp.affected($$delete from dossier.engagements$$), 0::bigint, 'nor delete one');
select throws_ok($$insert into dossier.commitments (dossier_id, owner_id, description, due_date)
                   values ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000c1', 'x', current_date)$$,
    '42501', null, 'nor add a commitment');
select is(pg_temp.affected($$update dossier.commitments set status = 'cancelled'$$), 0::bigint, 'nor change one');
select is(pg_temp.affected($$update dossier.members set role = 'owner' where user_id = '00000000-0000-4000-8000-0000000000c1'$$), 0::bigint,
    'nor promote itself');
select is(pg_temp.affected($$update dossier.dossiers set name = 'viewed'$$), 0::bigint, 'nor rename the dossier');
select throws_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-000000000001', force => true)$$, '42501', null,
    'a viewer cannot force a recalculation');
select is((api.calculate_health_score('d0000000-0000-4000-8000-000000000001')).dossier_id, 'd0000000-0000-4000-8000-000000000001'::uuid,
    'but reads the score through api.calculate_health_score');
select results_eq($$select dossier_id, found, stats ->> 'name' from api.dossier_stats(array['d0000000-0000-4000-8000-000000000001',
                                                                                            'd0000000-0000-4000-8000-000000000002']::uuid[])$$,
    $$values ('d0000000-0000-4000-8000-000000000001'::uuid, true, 'D1'), ('d0000000-0000-4000-8000-000000000002', false, null)$$,
    'api.dossier_stats: D1''s statistics, D2 not found');

-- The editor E
select pg_temp.as_user('E');
select lives_ok($$insert into dossier.engagements (id, dossier_id, occurred_at, kind)
                  values ('e0000000-0000-4000-8000-000000000013', 'd0000000-0000-4000-8000-000000000001', now(), 'visit') returning id$$,
    'an editor adds an engagement');
select is(pg_temp.affected($$update dossier.engagements set kind = 'event' where id = 'e0000000-0000-4000-8000-000000000011'$$), 1::bigint,
    'changes one');
select is(pg_temp.affected($$delete from dossier.engagements where id = 'e0000000-0000-4000-8000-000000000012'$$), 1::bigint,
    'deletes one');
select lives_ok($$insert into dossier.commitments (dossier_id, owner_id, description, due_date)
                  values ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000e1', 'Draft the memo', current_date + 3)$$,
    'adds a commitment');
select is(pg_temp.affected($$update dossier.commitments set status = 'in_progress' where id = 'c0000000-0000-4000-8000-000000000011'$$),
    1::bigint, 'and changes one');
select throws_ok($$update dossier.engagements set dossier_id = 'd0000000-0000-4000-8000-000000000002'
                   where id = 'e0000000-0000-4000-8000-000000000011'$$,
    '42501', null, 'but cannot move an engagement into a dossier it may not edit');
select throws_ok($$insert into dossier.members (dossier_id, user_id, role)
                   values ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000b1', 'viewer')$$,
    '42501', 'new row violates row-level security policy for table "members"', 'an editor cannot add a member');
select is(pg_temp.affected($$update dossier.members set role = 'owner' where user_id = '00000000-0000-4000-8000-0000000000e1'$$), 0::bigint,
    'nor promote itself');
select is(pg_temp.affected($$delete from dossier.members where user_id = '00000000-0000-4000-8000-0000000000c1'$$), 0::bigint,
    'nor remove a member');
select is(pg_temp.affected($$update dossier.dossiers set name = 'edited'$$) + pg_temp.affected($$delete from dossier.dossiers$$), 0::bigint,
    'nor rename or delete the dossier');
select throws_ok($$update dossier.health_scores set overall_score = 100$$, '42501', null, 'nobody writes a score by hand');
select is((api.calculate_health_score('d0000000-0000-4000-8000-000000000001', force => true)).calculated_at, now(),
    'an editor forces a recalculation');

-- X, who is not a member of D1: D1 does not exist.
select pg_temp.as_user('X');
select results_eq($$select dossier_id, found, stats from api.dossier_stats(array['d0000000-0000-4000-8000-000000000001',
                                                                                 'd0000000-0000-4000-8000-0000000000ff']::uuid[])$$,
    $$values ('d0000000-0000-4000-8000-000000000001'::uuid, false, null::jsonb), ('d0000000-0000-4000-8000-0000000000ff', false, null)$$,
    'to a non-member, api.dossier_stats answers D1 exactly as an unknown id: not found, no statistics');
select throws_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-000000000001')$$,
    'NSD01', 'unknown dossier d0000000-0000-4000-8000-000000000001', 'api.calculate_health_score raises NSD01 for D1');
select throws_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-0000000000ff')$$,
    'NSD01', 'unknown dossier d0000000-0000-4000-8000-0000000000ff', 'as for an unknown id');
select throws_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-000000000001', force => true)$$,
    'NSD01', null, 'forcing too: not 42501, which would tell that D1 exists');
select ok(dossier.caller_access('d0000000-0000-4000-8000-000000000001') is null
          and dossier.caller_access('d0000000-0000-4000-8000-0000000000ff') is null
          and dossier.caller_access('d0000000-0000-4000-8000-000000000002') = 'owner',
    'caller_access: nothing for D1 or an unknown id, owner of D2');
select set_eq($$select id from visible$$,
    $$values ('d0000000-0000-4000-8000-000000000002'::uuid), ('e0000000-0000-4000-8000-000000000021'),
             ('c0000000-0000-4000-8000-000000000021'), ('d0000000-0000-4000-8000-000000000002')$$,
    'X sees D2 and its rows only');
select throws_ok($$select * from dossier.stats(array['d0000000-0000-4000-8000-000000000001'::uuid])$$, '42501', null,
    'X cannot call dossier.stats directly');
select throws_ok($$select dossier.calculate_health_score('d0000000-0000-4000-8000-000000000001')$$, '42501', null,
    'nor dossier.calculate_health_score');

-- A token without a user under the authenticated role.
select pg_temp.act_as('nightshift_authenticated', '{"role": "anon"}');
select is_empty($$select * from visible$$, 'without a sub the authenticated role sees no dossier');
select throws_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-000000000001')$$, 'NSD01', null,
    'and api.calculate_health_score knows none');
select throws_ok($$insert into dossier.dossiers (name, owner_id) values ('nobody''s', '00000000-0000-4000-8000-0000000000a1')$$,
    '42501', null, 'nor may it create one');

-- The anon role
select pg_temp.act_as('nightshift_anon', '{"sub": "00000000-0000-4000-8000-0000000000a1", "role": "anon"}');
select throws_ok($$select * from dossier.dossiers$$, '42501', null, 'anon may not read dossiers at all, even with a sub');
select throws_ok($$select * from api.dossier_stats(array['d0000000-0000-4000-8000-000000000001'::uuid])$$, '42501', null,
    'nor call api.dossier_stats');
select throws_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-000000000001')$$, '42501', null,
    'nor api.calculate_health_score');

-- The service role
select pg_temp.act_as('nightshift_service');
select results_eq(
    $$select (select count(*) from dossier.dossiers), (select count(*) from dossier.members), (select count(*) from dossier.engagements),
             (select count(*) from dossier.commitments), (select count(*) from dossier.health_scores)$$,
    $$select dossiers + 1, members + 1, engagements, commitments + 1, health_scores from owner_counts$$,
    'the service role sees every row (with what O, M and E added and deleted)');
select results_eq($$select dossier_id, found from api.dossier_stats(array['d0000000-0000-4000-8000-000000000001',
                                                                          'd0000000-0000-4000-8000-000000000002']::uuid[])$$,
    $$values ('d0000000-0000-4000-8000-000000000001'::uuid, true), ('d0000000-0000-4000-8000-000000000002', true)$$,
    'api.dossier_stats finds every dossier for the service role');
select is(dossier.caller_access('d0000000-0000-4000-8000-000000000002'), 'service', 'to which caller_access says service');
select lives_ok($$select api.calculate_health_score('d0000000-0000-4000-8000-000000000002', force => true)$$,
    'and which forces any recalculation');
reset role;

-- Back as the owner: D2 as it was, the members as they were.
select results_eq(
    $$select (select to_jsonb(d) from dossier.dossiers d where id = 'd0000000-0000-4000-8000-000000000002'),
             (select jsonb_agg(e order by e.id) from dossier.engagements e where dossier_id = 'd0000000-0000-4000-8000-000000000002'),
             (select jsonb_agg(c order by c.id) from dossier.commitments c where dossier_id = 'd0000000-0000-4000-8000-000000000002')$$,
    $$select dossier, engagements, commitments from d2_before$$,
    'X''s dossier, engagements and commitments are unchanged by everyone else''s attempts');
select results_eq($$select user_id, role from dossier.members order by user_id$$,
    $$values ('00000000-0000-4000-8000-0000000000a2'::uuid, 'owner'), ('00000000-0000-4000-8000-0000000000c1', 'viewer'),
             ('00000000-0000-4000-8000-0000000000e1', 'editor'), ('00000000-0000-4000-8000-0000000000f1', 'viewer')$$,
    'and the members of D1 have the roles their owners gave them');

select * from finish();
rollback;
