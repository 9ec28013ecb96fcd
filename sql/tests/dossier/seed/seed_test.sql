-- dossier.seed (sql/seed/dossier_seed.sql): exact sizes, the same rows for the same
-- arguments, other rows for another seed, the spreads the demo and the benchmark need
-- (dossiers without engagements or commitments, open commitments past due, scores on both
-- sides of 60), consistent rows although it skips the foreign-key triggers.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
\ir ../../../seed/dossier_seed.sql
select plan(21);

truncate dossier.dossiers cascade;
create temporary table t (as_of) as select timestamptz '2026-03-15 12:00:00+03';
create function pg_temp.digest() returns text language sql
return (select md5(string_agg(x, '|' order by x)) from (
    select d::text as x from dossier.dossiers d
    union all select e::text from dossier.engagements e
    union all select c::text from dossier.commitments c) as rows);

select is(dossier.seed(400, 25, 4, 0.5, (select as_of from t)) - 'durationMs' - 'anchor' - 'openPastDue',
    '{"dossiers": 400, "engagements": 10000, "commitments": 1600, "users": 20, "seed": 0.5}'::jsonb,
    'the seed reports what it made');
select is((select count(*) from dossier.dossiers), 400::bigint, 'exactly 400 dossiers');
select is((select count(*) from dossier.engagements), 10000::bigint, 'exactly 400 * 25 engagements');
select is((select count(*) from dossier.commitments), 1600::bigint, 'exactly 400 * 4 commitments');
select is((select count(distinct owner_id) from dossier.dossiers), 20::bigint, 'owned by 400 / 20 users');

select ok((select count(*) between 20 and 60 from dossier.dossiers d
           where not exists (select from dossier.engagements e where e.dossier_id = d.id)),
    'some dossiers (5 % and a few light ones) have no engagements');
select ok((select count(*) between 40 and 120 from dossier.dossiers d
           where not exists (select from dossier.commitments c where c.dossier_id = d.id)),
    'some dossiers (10 % and the light ones: 4 per dossier is few) have no commitments');
select ok((select count(*) between 10 and 80 from dossier.commitments
           where status in ('pending', 'in_progress') and due_date < date '2026-03-15'),
    'some open commitments are past due (about 2 %): work for the overdue sweep');
select is((select array_agg(distinct status order by status) from dossier.commitments),
    array['cancelled', 'completed', 'in_progress', 'overdue', 'pending'], 'every status occurs');
select ok((select count(*) > 0 from dossier.engagements where occurred_at > (select as_of from t)),
    'some engagements are planned (in the future)');

select dossier.recalculate_stale_scores(as_of => (select as_of from t));
select ok((select min(overall_score) < 60 and max(overall_score) >= 60
                  and count(*) filter (where overall_score < 60) between 40 and 200 from dossier.health_scores),
    'scores land on both sides of 60');
select is((select array_agg(distinct recency_score order by recency_score) from dossier.health_scores),
    array[10, 40, 70, 100]::numeric[], 'every recency tier occurs');
select ok((select count(distinct engagement_frequency) > 5 and count(distinct commitment_fulfillment) > 5 from dossier.health_scores),
    'frequency and fulfilment vary');

select is_empty($$select e.id from dossier.engagements e where not exists (select from dossier.dossiers d where d.id = e.dossier_id)
                  union all
                  select c.id from dossier.commitments c where not exists (select from dossier.dossiers d where d.id = c.dossier_id)$$,
    'every engagement and commitment belongs to a seeded dossier (the skipped foreign-key checks had nothing to find)');
select is(current_setting('session_replication_role'), 'origin', 'triggers are back on afterwards');
select ok((select bool_and(substr(id::text, 15, 1) = '8' and substr(id::text, 20, 1) in ('8', '9', 'a', 'b')) from dossier.dossiers),
    'ids are valid UUIDv8');

-- Determinism.
create temporary table first_run as select pg_temp.digest() as digest;
truncate dossier.dossiers cascade;
select dossier.seed(400, 25, 4, 0.5, (select as_of from t));
select is(pg_temp.digest(), (select digest from first_run), 'the same arguments give the same rows, ids included');
select throws_ok($$select dossier.seed(400, 25, 4, 0.5, (select as_of from t))$$, '23505', null,
    'seeding the same seed twice is refused');
select dossier.seed(400, 25, 4, -0.25, (select as_of from t));
select is((select count(*) from dossier.dossiers), 800::bigint, 'another seed adds other dossiers');

truncate dossier.dossiers cascade;
select is(dossier.seed(7, 3, 2, 0.1) - 'durationMs' - 'anchor' - 'openPastDue' - 'seed',
    '{"dossiers": 7, "engagements": 21, "commitments": 14, "users": 1}'::jsonb, 'small sizes are exact too');
select throws_ok($$select dossier.seed(10, 5, 1, 2.0)$$, '22023', null, 'a seed outside [-1, 1] is refused');

select * from finish();
rollback;
