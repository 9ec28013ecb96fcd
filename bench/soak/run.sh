#!/usr/bin/env bash
# bench/soak: one `nightshift worker` under a steady load for a long time, with the ticker and
# retention running, to show that nothing grows per run: the worker's RSS (start, end, peak),
# the size of every engine table (start, end, peak) and the connections it holds.
#   DURATION=1800 RATE=100 bash bench/soak/run.sh
# Load: pgbench triggers nightshift/diagnostics (STEPS checkpointed transactional steps each) at
# RATE runs/s, plus a cron schedule every minute and a '5 seconds' schedule of nightshift/noop.
# Retention is shortened to RETENTION (default 5 minutes, pruned every minute) so the tables
# reach their steady size within the run. Database: $DATABASE_URL's server (default the
# embedded cluster), database $SOAK_DB (default bench_soak), dropped at the end unless KEEP_DB=1.
# Writes bench/results/soak-<stamp>.{jsonl,md}; prints the markdown.
set -uo pipefail
cd "$(dirname "$0")/../.."
PROJECT=$(pwd)
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
URL=${URL%%\?*}
SERVER=${URL%/*}
DB=${SOAK_DB:-bench_soak}
DURATION=${DURATION:-1800}
RATE=${RATE:-100}
STEPS=${STEPS:-3}
RETENTION=${RETENTION:-5 minutes}
SAMPLE=${SAMPLE:-10}
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
OUT=$PROJECT/bench/results/soak-$STAMP
: >"$OUT.jsonl"
source bench/support/machine.sh

psql "$SERVER/postgres" -Atc 'select 1' >/dev/null || { echo "bench/soak: no server at $SERVER (make db)"; exit 1; }
if [ -z "${BIN:-}" ]; then
  echo "== release build"
  swift build -c release --product nightshift 2>&1 | grep -E "error:" && exit 1
  BIN=$(swift build -c release --show-bin-path)/nightshift
fi

psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" || exit 1
export DATABASE_URL=$SERVER/$DB
"$BIN" migrate >/dev/null 2>&1 || { echo "bench/soak: migrate failed"; exit 1; }

CONFIG=$(mktemp --suffix=.toml)
WORKLOG=$(mktemp --suffix=.log)
TRIGGER=$(mktemp --suffix=.sql)
cleanup() {
  [ -n "${LOAD:-}" ] && kill "$LOAD" 2>/dev/null
  [ -n "${WORKER:-}" ] && kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null
  rm -f "$CONFIG" "$TRIGGER"
  [ "${KEEP_DB:-0}" = 1 ] || psql "$SERVER/postgres" -Xqc "drop database if exists $DB with (force)" >/dev/null
}
trap cleanup EXIT
cp supabase-like-config/config.toml "$CONFIG"
cat >>"$CONFIG" <<TOML

[jobs."nightshift/noop"]
cron = "${SOAK_FAST_CRON:-5 seconds}"
TOML
echo "select nightshift.trigger('nightshift/diagnostics', '{\"steps\": $STEPS}');" >"$TRIGGER"

{ echo "# Soak: $(date -u '+%Y-%m-%d %H:%MZ')"; echo; echo '```'; machine; echo '```'; } >"$OUT.md"
cat "$OUT.md"

NIGHTSHIFT_CONFIG=$CONFIG NIGHTSHIFT_LOG_LEVEL=warning "$BIN" worker --concurrency 20 >"$WORKLOG" 2>&1 &
WORKER=$!
# Retention short enough for the tables to reach their steady size within the run.
for _ in $(seq 50); do
  psql "$DATABASE_URL" -Atc "select count(*) from nightshift.functions where id = 'nightshift/diagnostics'" 2>/dev/null | grep -q 1 && break
  sleep 0.2
done
psql "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 -v keep="$RETENTION" >/dev/null \
  <<<"select nightshift.configure(retention => :'keep', prune_every => '1 minute')" \
  || { echo "bench/soak: could not shorten retention"; exit 1; }
echo "== $DURATION s at $RATE runs/s ($STEPS steps each), retention $RETENTION, worker pid $WORKER"

pgbench -n -c 2 -j 1 -R "$RATE" -T "$DURATION" -f "$TRIGGER" "$DATABASE_URL" >"$OUT.pgbench.txt" 2>&1 &
LOAD=$!
START=$(date +%s)
sample() {
  local now rss hwm
  now=$(( $(date +%s) - START ))
  rss=$(awk '/VmRSS/{print $2}' /proc/$WORKER/status 2>/dev/null)
  hwm=$(awk '/VmHWM/{print $2}' /proc/$WORKER/status 2>/dev/null)
  psql "$DATABASE_URL" -AtX -v t="$now" -v rss="${rss:-0}" -v hwm="${hwm:-0}" <<'SQL' >>"$OUT.jsonl"
select json_build_object(
  'elapsed_s', :t, 'rss_kib', :rss, 'peak_rss_kib', :hwm,
  'connections', (select count(*) from pg_stat_activity where datname = current_database() and application_name like 'nightshift%'),
  'queued', (select count(*) from nightshift.runs where status = 'queued'),
  'running', (select count(*) from nightshift.runs where status = 'running'),
  'completed', (select count(*) from nightshift.runs where status = 'completed'),
  'failed', (select count(*) from nightshift.runs where status = 'failed'),
  'tables_kib', (select json_object_agg(c.relname, pg_total_relation_size(c.oid) / 1024 order by c.relname)
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'nightshift' and c.relkind in ('r', 'p')))
SQL
}
while kill -0 "$LOAD" 2>/dev/null; do
  sample
  sleep "$SAMPLE"
done
sample
echo "== load done; draining"
for _ in $(seq 120); do
  [ "$(psql "$DATABASE_URL" -Atc "select count(*) from nightshift.runs where status in ('queued', 'running') and function_id = 'nightshift/diagnostics' and run_at <= now()")" = 0 ] && break
  sleep 1
done
sample
kill -TERM "$WORKER"; wait "$WORKER"; WORKER=
python3 bench/soak/report.py "$OUT.jsonl" "$OUT.pgbench.txt" "$RATE" "$DURATION" "$RETENTION" >>"$OUT.md"
cat "$OUT.md" | tail -n +8
