-- The console's dossier figures (issue 14's overview: "dossier freshness"): the share of
-- dossiers whose health score is fresh, for any console reader (service role, super admin,
-- operator), decided in SQL like the engine's api functions.

create function api.dossier_freshness()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set timezone = 'UTC'
as $$
begin
    perform auth.require_reader('api.dossier_freshness');
    return (
        select pg_catalog.jsonb_build_object(
                   'freshness_rate', dossier.freshness_rate(),
                   'stale_after', s.stale_after::text,
                   'dossiers', (select pg_catalog.count(*) from dossier.dossiers),
                   'last_scored_at', (select pg_catalog.max(h.calculated_at) from dossier.health_scores h))
        from dossier.settings s);
end
$$;
comment on function api.dossier_freshness() is
    'The dossier pack''s freshness: {freshness_rate (0..1, scores newer than stale_after), stale_after, dossiers, '
    'last_scored_at}. Console readers only (service role, super admin, operator); others 42501.';

revoke all on function api.dossier_freshness() from public;
grant execute on function api.dossier_freshness() to nightshift_authenticated, nightshift_service;
