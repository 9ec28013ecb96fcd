#!/usr/bin/env bash
# bench/portfolio/score_batch.sh: the overnight run's write path alone (issue 16 §4's figure),
# portfolio.score_users over batches of 50 users, each batch its own transaction (as each
# score-batch step commits), on a freshly migrated and seeded throwaway database. No Swift build:
# the run's rates and prices are stored by SQL (store_rates, store_prices), then the batches are
# timed inside the database (clock_timestamp around each call), so what is measured is the SQL the
# job's step runs. Compare migration sets (e.g. before/after a change) side by side, alternating:
#   MIGRATIONS=sql/migrations,/tmp/before ROUNDS=3 USERS=5000 bash bench/portfolio/score_batch.sh
#   BENCH_DB=pf_bench (dropped and recreated per run)  NIGHTSHIFT_BIN=.build/debug/nightshift
# Prints the machine, then per migration set and round: batches, median and p99 batch ms, ms per user,
# and the cache warm-up of the scored users (warm_cache pages of 1,000) in ms per user.
set -uo pipefail
export PGOPTIONS="-c client_min_messages=warning"
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
SERVER=${URL%/*}
DB=${BENCH_DB:-pf_bench}
USERS=${USERS:-5000} ASSETS=${ASSETS:-5000} HOLDINGS=${HOLDINGS:-20} BATCH=${BATCH:-50} ROUNDS=${ROUNDS:-3}
MIGRATIONS=${MIGRATIONS:-sql/migrations}
BIN=${NIGHTSHIFT_BIN:-.build/debug/nightshift}
source bench/support/machine.sh
machine
echo "== score_users: $USERS users x $HOLDINGS holdings over $ASSETS assets, batches of $BATCH, $ROUNDS rounds per migration set"

one_run() {  # $1 migrations dir
  psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" || exit 1
  DATABASE_URL=$SERVER/$DB "$BIN" migrate --migrations-dir "$1" --log-level error >/dev/null || { echo "migrate failed"; exit 1; }
  psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 -f sql/seed/portfolio_seed.sql >/dev/null
  psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 <<SQL >/dev/null
select portfolio.seed($USERS, $ASSETS, $HOLDINGS, $HOLDINGS, 0);
create table public.bench_run as select job_run_id from portfolio.start_overnight_run(null);
select portfolio.store_rates((select job_run_id from public.bench_run),
    jsonb_build_object('amount', 1, 'base', 'USD', 'date', '2026-11-23',
                       'rates', (select jsonb_object_agg(c, 1.5) from (select distinct currency c from portfolio.assets where currency <> 'USD'
                                 union select distinct base_currency from portfolio.users where base_currency <> 'USD') x)), 'bench');
select portfolio.store_prices((select job_run_id from public.bench_run),
    jsonb_build_object('prices', jsonb_agg(jsonb_build_object('symbol', market_code || ':' || symbol, 'price', '10.5', 'currency', currency,
                                                              'asOf', '2026-11-23T21:00:00Z'))), 'bench')
from portfolio.assets;
create table public.bench_batches (n integer, ms numeric);
create table public.bench_users as select u.id, (row_number() over (order by u.id) - 1) / $BATCH as batch from portfolio.users u
    where u.id in (select portfolio.active_users());
vacuum analyze;
SQL
  local batches
  batches=$(psql "$SERVER/$DB" -Atc "select max(batch) + 1 from public.bench_users")
  # One statement per batch, autocommit: each batch commits on its own, as a step does.
  for ((i = 0; i < batches; i++)); do
    echo "select pg_temp.b($i);"
  done | psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 -c "
    create function pg_temp.b(p integer) returns void language plpgsql as \$\$
    declare t timestamptz := clock_timestamp(); f integer;
    begin
        select count(*) filter (where failed) into f from portfolio.score_users((select job_run_id from public.bench_run),
            array(select id from public.bench_users where batch = p order by id));
        if f > 0 then raise exception 'batch %: % users failed', p, f; end if;
        insert into public.bench_batches values (p, extract(epoch from clock_timestamp() - t) * 1000);
    end \$\$;" -f - >/dev/null || { echo "scoring failed"; exit 1; }
  # Then the cache warmer's pages (1,000 users each), timed the same way.
  local warm
  warm=$(psql "$SERVER/$DB" -XAtq -v ON_ERROR_STOP=1 -c "
    create function pg_temp.w() returns text language plpgsql as \$\$
    declare t timestamptz := clock_timestamp(); c uuid; n integer; total integer := 0;
    begin
        loop
            select users, last_user_id into n, c from portfolio.warm_cache((select job_run_id from public.bench_run), '24 hours', c, 1000);
            total := total + n;
            exit when n < 1000;
        end loop;
        return format('warm %s users %s ms, %s ms per user', total, round(extract(epoch from clock_timestamp() - t)::numeric * 1000),
                      round(extract(epoch from clock_timestamp() - t)::numeric * 1000 / greatest(total, 1), 3));
    end \$\$;" -c "select pg_temp.w()") || { echo "warming failed"; exit 1; }
  psql "$SERVER/$DB" -Atc "
    select format('batches %s  median %s ms  p99 %s ms  per user %s ms  (events %s)  $warm', count(*),
                  round((percentile_cont(0.5) within group (order by ms))::numeric, 1),
                  round((percentile_cont(0.99) within group (order by ms))::numeric, 1),
                  round((percentile_cont(0.5) within group (order by ms))::numeric / $BATCH, 3),
                  (select count(*) from portfolio.calculation_events))
    from public.bench_batches"
}

IFS=',' read -ra SETS <<<"$MIGRATIONS"
for ((r = 1; r <= ROUNDS; r++)); do
  for set in "${SETS[@]}"; do
    echo "round $r  $set: $(one_run "$set")"
  done
done
psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)"
echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
