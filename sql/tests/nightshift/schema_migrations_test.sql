begin;
select plan(6);

select has_schema('nightshift', 'the nightshift schema exists');
select has_table('nightshift', 'schema_migrations', 'the migration history table exists');
select col_is_pk('nightshift', 'schema_migrations', 'name', 'a migration is recorded once, by file name');
select ok(
    (select count(*) from nightshift.schema_migrations where name = '0001_nightshift_schema.sql') = 1,
    'the first migration is recorded as applied');
select ok(
    (select bool_and(checksum ~ '^[0-9a-f]{64}$') from nightshift.schema_migrations),
    'every recorded checksum is a sha256 hex digest');
select has_role('nightshift_service', 'the service role the grants are written for exists');

select * from finish();
rollback;
