-- Nightshift's own schema and the roles its SQL grants are written for.
-- Roles are cluster-wide, so they are created only when missing.

create schema if not exists nightshift;
comment on schema nightshift is 'Nightshift platform: engine, notifications, and the migration history.';

do $$
begin
    -- No LOGIN: these are the roles a request or worker assumes (set role), never log in as.
    if not exists (select 1 from pg_roles where rolname = 'nightshift_anon') then
        create role nightshift_anon nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'nightshift_authenticated') then
        create role nightshift_authenticated nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'nightshift_service') then
        create role nightshift_service nologin;
    end if;
end
$$;

comment on table nightshift.schema_migrations is 'One row per applied file of sql/migrations: name, sha256 of its text, when.';

revoke all on schema nightshift from public;
grant usage on schema nightshift to nightshift_service;
grant select on nightshift.schema_migrations to nightshift_service;
