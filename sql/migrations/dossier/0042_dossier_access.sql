-- A dossier is visible to its owner and its members only: membership with roles, row-level
-- security on the dossier and everything in it, and the API's dossier functions for members.
--   owner  (dossiers.owner_id, or a member with role owner): reads, edits, manages members
--   editor: reads, edits engagements and commitments, forces a health recalculation
--   viewer: reads

create table dossier.members (
    dossier_id uuid not null references dossier.dossiers (id) on delete cascade,
    user_id uuid not null,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    added_at timestamptz not null default now(),
    primary key (dossier_id, user_id)
);
comment on table dossier.members is
    'Who besides dossiers.owner_id may see a dossier, and what they may do: owner, editor or viewer.';
-- "The dossiers I am a member of", and the foreign key's cascade is served by the primary key.
create index members_user_id_idx on dossier.members (user_id);

create function dossier.caller_access(p_dossier_id uuid)
returns text
language sql
stable
security definer  -- reads dossiers and members past their own policies (a policy calls it)
set search_path = ''
as $$
    select case
        when auth.is_service() then 'service'
        else (
            select case
                when d.owner_id = auth.uid() then 'owner'
                else (select m.role from dossier.members m where m.dossier_id = d.id and m.user_id = auth.uid())
            end
            from dossier.dossiers d
            where d.id = p_dossier_id)
    end
$$;
comment on function dossier.caller_access(uuid) is
    'What the caller may do with a dossier: service, owner, editor, viewer, or null (not theirs, or no such dossier).';

create function dossier.caller_may_edit(p_dossier_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
    select coalesce(dossier.caller_access(p_dossier_id) in ('service', 'owner', 'editor'), false)
$$;
comment on function dossier.caller_may_edit(uuid) is 'Whether the caller is the dossier''s owner or an editor (or the service).';

alter table dossier.dossiers enable row level security;
alter table dossier.members enable row level security;
alter table dossier.engagements enable row level security;
alter table dossier.commitments enable row level security;
alter table dossier.health_scores enable row level security;

create policy service_all on dossier.dossiers to nightshift_service using (true) with check (true);
create policy service_all on dossier.members to nightshift_service using (true) with check (true);
create policy service_all on dossier.engagements to nightshift_service using (true) with check (true);
create policy service_all on dossier.commitments to nightshift_service using (true) with check (true);
create policy service_all on dossier.health_scores to nightshift_service using (true) with check (true);

-- owner_id = auth.uid() first: INSERT … RETURNING checks the new row against this policy
-- before the row is in the table, where caller_access (which looks the dossier up) cannot see
-- it yet, so without it an owner could not create a dossier and get it back.
create policy members_read on dossier.dossiers for select to nightshift_authenticated
    using (owner_id = auth.uid() or dossier.caller_access(id) is not null);
create policy owner_creates on dossier.dossiers for insert to nightshift_authenticated
    with check (owner_id = auth.uid());
create policy owners_change on dossier.dossiers for update to nightshift_authenticated
    using (dossier.caller_access(id) = 'owner') with check (dossier.caller_access(id) = 'owner');
create policy owners_delete on dossier.dossiers for delete to nightshift_authenticated
    using (dossier.caller_access(id) = 'owner');

create policy members_read on dossier.members for select to nightshift_authenticated
    using (dossier.caller_access(dossier_id) is not null);
create policy owners_manage on dossier.members for all to nightshift_authenticated
    using (dossier.caller_access(dossier_id) = 'owner') with check (dossier.caller_access(dossier_id) = 'owner');

create policy members_read on dossier.engagements for select to nightshift_authenticated
    using (dossier.caller_access(dossier_id) is not null);
create policy editors_write on dossier.engagements for all to nightshift_authenticated
    using (dossier.caller_may_edit(dossier_id)) with check (dossier.caller_may_edit(dossier_id));

create policy members_read on dossier.commitments for select to nightshift_authenticated
    using (dossier.caller_access(dossier_id) is not null);
create policy editors_write on dossier.commitments for all to nightshift_authenticated
    using (dossier.caller_may_edit(dossier_id)) with check (dossier.caller_may_edit(dossier_id));

create policy members_read on dossier.health_scores for select to nightshift_authenticated
    using (dossier.caller_access(dossier_id) is not null);

create function api.dossier_stats(dossier_ids uuid[])
returns table (dossier_id uuid, found boolean, stats jsonb)
language sql
stable
security definer
set search_path = ''
set jit = off
as $$
    -- A dossier the caller may not see is answered exactly like one that does not exist.
    select s.dossier_id, s.found and a.visible, case when a.visible then s.stats end
    from dossier.stats(dossier_ids) s
    cross join lateral (select dossier.caller_access(s.dossier_id) is not null) a(visible)
$$;
comment on function api.dossier_stats(uuid[]) is
    'dossier.stats for the dossiers the caller may see; any other id is reported as not found.';

create function api.calculate_health_score(dossier_id uuid, force boolean default false)
returns dossier.health_scores
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_access constant text := dossier.caller_access(calculate_health_score.dossier_id);
begin
    if calculate_health_score.dossier_id is not null and v_access is null then
        -- Not a member: the same answer as for a dossier that does not exist.
        raise exception 'unknown dossier %', calculate_health_score.dossier_id using errcode = 'NSD01';
    end if;
    if force and v_access not in ('service', 'owner', 'editor') then
        raise exception 'only the dossier''s owner and editors may force a recalculation; this caller is a %', v_access
            using errcode = 'insufficient_privilege';
    end if;
    return dossier.calculate_health_score(calculate_health_score.dossier_id, force);
end
$$;
comment on function api.calculate_health_score(uuid, boolean) is
    'dossier.calculate_health_score for a member of the dossier (NSD01 for anyone else, as for an unknown dossier); '
    'forcing a recalculation takes an owner or editor (42501 for a viewer).';

grant usage on schema dossier to nightshift_authenticated;
grant select on dossier.members to nightshift_service;
grant select on dossier.dossiers, dossier.members, dossier.engagements, dossier.commitments, dossier.health_scores
    to nightshift_authenticated;
grant insert, update, delete on dossier.members, dossier.engagements, dossier.commitments to nightshift_authenticated;
-- A dossier's owner_id is never changed by a request: a co-owner could otherwise take the
-- dossier from its owner (who would lose sight of it).
grant insert, delete on dossier.dossiers to nightshift_authenticated;
grant update (name, updated_at) on dossier.dossiers to nightshift_authenticated;

revoke all on function dossier.caller_access(uuid), dossier.caller_may_edit(uuid) from public;
grant execute on function dossier.caller_access(uuid), dossier.caller_may_edit(uuid)
    to nightshift_authenticated, nightshift_service;
revoke all on function api.dossier_stats(uuid[]), api.calculate_health_score(uuid, boolean) from public;
grant execute on function api.dossier_stats(uuid[]), api.calculate_health_score(uuid, boolean)
    to nightshift_authenticated, nightshift_service;
