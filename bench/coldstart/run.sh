#!/usr/bin/env bash
# bench/coldstart: the first night after migration against the nights after it (issue 16 §3),
# for every pack job's SQL and the notification path (bench/coldstart/jobs.sql runs one night).
# Per job and round: a fresh throwaway database, migrated with the nightshift binary, the job's
# pack seeded (the seeds analyze what they load); then, each in a new session:
#   cold    night 1 on the fresh tables (with COLD_VACUUM=1, the default, after a
#           `vacuum analyze` of the whole database, as bench/dossier does after seeding: the
#           tables the job writes are then empty and analyzed as such)
#   second  night 2, no analyze in between (what the session plan cache alone does)
#   warm    nights 3..2+WARM, each after `analyze` (what autovacuum does after a night's rows)
# and prints, per job, the medians over ROUNDS rounds: cold, second, warm (median of the warm
# nights), cold / warm. BIN (default .build/debug/nightshift, built if missing) only migrates,
# with --migrations-dir $MIGRATIONS (default sql/migrations: this checkout's files; a copy
# without a migration gives the figures before it).
#   ROUNDS=3 N=3000 bash bench/coldstart/run.sh
#   COLD_VACUUM=0 bash bench/coldstart/run.sh      # cold = never analyzed (reltuples -1)
#   JOBS="notify_send detect_overdue" ROUNDS=1 bash bench/coldstart/run.sh
# Job digests (dossier.send_held_back_digests, over notify.held_back and notify.send_digest):
# before each night, untimed and in its own session, N users get 3 notifications each held
# back (a cap of 0 for the seed), and notify.suppressed is analyzed; the night sends N digests.
# Sizes: N notifications per night (notify_send), digests per night (digests) and overdue
# commitments per night;
# DOSSIERS (x20 engagements, x5 commitments), INSTITUTIONS x CONCEPTS, USERS (portfolio, 600
# assets, 10-50 holdings, 1 market each). Database $BENCH_DB (default bench_coldstart), dropped
# at the end. Writes bench/results/coldstart-<stamp>.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
URL=${URL%%\?*}
SERVER=${URL%/*}
DB=${BENCH_DB:-bench_coldstart}
ROUNDS=${ROUNDS:-3}
WARM=${WARM:-3}
N=${N:-2000}
DOSSIERS=${DOSSIERS:-10000}
INSTITUTIONS=${INSTITUTIONS:-50}
CONCEPTS=${CONCEPTS:-2000}
USERS=${USERS:-200}
COLD_VACUUM=${COLD_VACUUM:-1}
MIGRATIONS=${MIGRATIONS:-sql/migrations}
JOBS=${JOBS:-notify_send digests detect_overdue refresh_health coverage_recompute portfolio_scoring}
BIN=${BIN:-.build/debug/nightshift}
if [ ! -x "$BIN" ]; then
  echo "== debug build of nightshift (for migrate)"
  swift build --product nightshift 2>&1 | grep -E "error:" && exit 1
fi
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
OUT=bench/results/coldstart-$STAMP.md

psql "$SERVER/postgres" -Atc 'select 1' >/dev/null || { echo "bench/coldstart: no server at $SERVER (make db)"; exit 1; }
trap 'psql "$SERVER/postgres" -Xqc "drop database if exists $DB with (force)" >/dev/null 2>&1' EXIT
source bench/support/machine.sh

sql() { PGOPTIONS="-c client_min_messages=warning" psql "$SERVER/$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fresh() {  # a migrated database with the job's pack seeded
  psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" || return 1
  DATABASE_URL=$SERVER/$DB "$BIN" migrate --migrations-dir "$MIGRATIONS" >/dev/null 2>&1 || { echo "migrate failed" >&2; return 1; }
  case $1 in
    detect_overdue|refresh_health)
      sql -f sql/seed/dossier_seed.sql && sql -c "select dossier.seed($DOSSIERS, 20, 5, 0.42)" >/dev/null ;;
    coverage_recompute)
      sql -v institutions="$INSTITUTIONS" -v concepts="$CONCEPTS" -f sql/seed/coverage_seed.sql >/dev/null ;;
    portfolio_scoring)
      sql -f sql/seed/portfolio_seed.sql 2>/dev/null && sql -c "select portfolio.seed($USERS, 600, 10, 50, 1)" >/dev/null ;;
  esac || { echo "seed failed" >&2; return 1; }
  # One enabled channel and a cap nobody reaches: every notification gets a delivery.
  sql -c "select notify.configure(1000000, array['bench'])" >/dev/null
  if [ "$COLD_VACUUM" = 1 ]; then sql -c "vacuum analyze" 2>/dev/null; fi
}
night() {
  local out
  if [ "$1" = digests ]; then sql -v job=digests_seed -v night="$2" -v n="$N" -f bench/coldstart/jobs.sql >/dev/null || return 1; fi
  out=$(sql -v job="$1" -v night="$2" -v n="$N" -f bench/coldstart/jobs.sql) || return 1
  echo "${out##*$'\n'}"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
autoanalyzed() { sql -c "select coalesce(sum(autoanalyze_count), 0) from pg_stat_user_tables"; }

{
  echo "# bench/coldstart $STAMP"
  echo
  echo '```'
  machine
  echo "migrations:   $MIGRATIONS ($(git rev-parse --short HEAD)): $(ls "$MIGRATIONS"/*/*.sql | wc -l) files, newest $(ls "$MIGRATIONS"/*/*.sql | xargs -n1 basename | sort | tail -n 1); migrated with $BIN"
  echo "sizes:        N=$N, DOSSIERS=$DOSSIERS, INSTITUTIONS=$INSTITUTIONS x CONCEPTS=$CONCEPTS, USERS=$USERS; ROUNDS=$ROUNDS, WARM=$WARM, COLD_VACUUM=$COLD_VACUUM"
  echo '```'
} | tee "$OUT"

declare -A COLD SECOND WARMS AUTO
for round in $(seq 1 "$ROUNDS"); do
  for job in $JOBS; do
    fresh "$job" || exit 1
    before=$(autoanalyzed)
    cold=$(night "$job" 1) || exit 1
    second=$(night "$job" 2) || exit 1
    auto=$(( $(autoanalyzed) - before ))
    warms=""
    for k in $(seq 3 $((WARM + 2))); do
      sql -c "analyze" || exit 1
      warm=$(night "$job" "$k") || exit 1
      warms="$warms $warm"
    done
    echo "round $round $job: cold $cold ms, second $second ms, warm$warms ms (autoanalyze during cold+second: $auto)" | tee -a "$OUT"
    COLD[$job]="${COLD[$job]:-} $cold"; SECOND[$job]="${SECOND[$job]:-} $second"
    WARMS[$job]="${WARMS[$job]:-} $(echo "$warms" | median)"; AUTO[$job]=$(( ${AUTO[$job]:-0} + auto ))
  done
done

{
  echo
  echo "| job (one night) | cold ms | second ms | warm ms | cold / warm |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for job in $JOBS; do
    c=$(echo "${COLD[$job]}" | median); s=$(echo "${SECOND[$job]}" | median); w=$(echo "${WARMS[$job]}" | median)
    echo "| $job | $c | $s | $w | $(awk -v c="$c" -v w="$w" 'BEGIN {printf "%.2fx", c / w}') |"
  done
  echo
  echo "Medians over $ROUNDS rounds (warm: median of each round's $WARM warm nights, then over rounds)."
  echo "Autoanalyze runs during cold + second nights, summed: $(for job in $JOBS; do printf '%s %s; ' "$job" "${AUTO[$job]}"; done)"
  echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
} | tee -a "$OUT"
