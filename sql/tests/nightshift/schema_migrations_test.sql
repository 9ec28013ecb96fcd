begin;
select plan(8);

select has_schema('nightshift', 'the nightshift schema exists');
select has_table('nightshift', 'schema_migrations', 'the migration history table exists');
select col_is_pk('nightshift', 'schema_migrations', array['component', 'name'],
    'a migration is recorded once per component, by file name');
select ok(
    (select count(*) from nightshift.schema_migrations
     where component = 'engine' and name = '0001_nightshift_schema.sql') = 1,
    'the first migration is recorded as applied, as the engine''s');
select ok(
    (select bool_and(checksum ~ '^[0-9a-f]{64}$') from nightshift.schema_migrations),
    'every recorded checksum is a sha256 hex digest');
select is(
    (select count(*) from nightshift.schema_migrations where component = ''), 0::bigint,
    'every row has its component (rows of a migrator before components get theirs on upgrade)');
select is(
    (select array_agg(distinct component order by component) from nightshift.schema_migrations),
    array['coverage', 'dossier', 'engine', 'portfolio'],
    'the engine and the three packs are recorded');
select has_role('nightshift_service', 'the service role the grants are written for exists');

select * from finish();
rollback;
