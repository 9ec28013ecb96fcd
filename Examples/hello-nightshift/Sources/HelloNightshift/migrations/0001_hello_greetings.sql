-- The example pack's one table. The engine's roles (0040_auth.sql) exist already: the pack
-- requires component "engine", which the migrator applies first.
create schema hello;
create table hello.greetings (
    id bigint generated always as identity primary key,
    name text not null check (length(name) between 1 and 200),
    greeted_at timestamptz not null default now()
);
grant usage on schema hello to nightshift_service, nightshift_authenticated;
grant select on hello.greetings to nightshift_service, nightshift_authenticated;
grant insert (name) on hello.greetings to nightshift_authenticated, nightshift_service;
