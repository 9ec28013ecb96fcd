-- Coverage is read by the people who run an institution: its admins see their institution's
-- snapshots, super admins see all. Recomputing on demand is for super admins and the service.

create function coverage.caller_administers(p_institution_id uuid)
returns boolean
language sql
stable
security definer  -- reads institution_admins past its own policy (a policy calls it)
set search_path = ''
as $$
    select auth.is_service()
        or auth.is_super_admin()
        or exists (
            select from coverage.institution_admins a
            where a.institution_id = p_institution_id and a.user_id = auth.uid())
$$;
comment on function coverage.caller_administers(uuid) is
    'Whether the caller may read an institution''s coverage: one of its admins, a super admin, or the service.';

alter table coverage.institutions enable row level security;
alter table coverage.institution_admins enable row level security;
alter table coverage.coverage_snapshots enable row level security;

create policy service_all on coverage.institutions to nightshift_service using (true) with check (true);
create policy service_all on coverage.institution_admins to nightshift_service using (true) with check (true);
create policy service_all on coverage.coverage_snapshots to nightshift_service using (true) with check (true);

create policy admins_read on coverage.institutions for select to nightshift_authenticated
    using (coverage.caller_administers(id));
create policy admins_read on coverage.institution_admins for select to nightshift_authenticated
    using (coverage.caller_administers(institution_id));
create policy admins_read on coverage.coverage_snapshots for select to nightshift_authenticated
    using (coverage.caller_administers(institution_id));

create function api.request_coverage_recompute(institution_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Fails closed: anything but true (false, or a null from a helper) is refused.
    if (auth.is_service() or auth.is_super_admin()) is not true then
        raise exception 'recomputing coverage on demand takes a super admin (app_metadata.role = super_admin)'
            using errcode = 'insufficient_privilege';
    end if;
    return coverage.request_recompute(request_coverage_recompute.institution_id);
end
$$;
comment on function api.request_coverage_recompute(uuid) is
    'coverage.request_recompute for a super admin or the service; 42501 for anyone else.';

grant usage on schema coverage to nightshift_authenticated;
grant select on coverage.institutions, coverage.institution_admins, coverage.coverage_snapshots to nightshift_authenticated;

revoke all on function coverage.caller_administers(uuid), api.request_coverage_recompute(uuid) from public;
grant execute on function coverage.caller_administers(uuid) to nightshift_authenticated, nightshift_service;
grant execute on function api.request_coverage_recompute(uuid) to nightshift_authenticated, nightshift_service;
