-- Coverage pack seed: replaces the coverage data with a deterministic data set.
--
--   psql "$DATABASE_URL" -f sql/seed/coverage_seed.sql                          20 institutions, 5,000 concepts
--   psql "$DATABASE_URL" -v institutions=1000 -f sql/seed/coverage_seed.sql     the benchmark's size
--   psql … -v institutions=N -v concepts=M -v seed=0.42 -f sql/seed/coverage_seed.sql
--
-- Same arguments, same rows and ids (coverage.seed, migration 0023). Snapshots and job-run
-- telemetry go too. Run as the migration owner. The demo then changes one institution
-- between two recomputes with: select coverage.shift_coverage('<institution id>');

\set ON_ERROR_STOP on
set client_min_messages = warning;
\if :{?institutions}
\else
    \set institutions 20
\endif
\if :{?concepts}
\else
    \set concepts 5000
\endif
\if :{?seed}
\else
    \set seed 0.42
\endif

begin;
truncate coverage.institutions, coverage.concepts, coverage.coverage_job_runs cascade;
select coverage.seed(:institutions, :concepts, :seed) as seeded;
commit;

select i.id as first_active_institution, i.name
from coverage.institutions i where i.status = 'active'
order by i.name limit 1;
