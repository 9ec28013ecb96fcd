#!/usr/bin/env bash
# bench/coverage: one full nightly run of the coverage pack's real job coverage/nightly-recompute
# at benchmark size (1,000 institutions × 5,000 concepts), in an in-process worker, on a throwaway
# database (default bench_coverage) of the running cluster, dropped at the end.
#   INSTITUTIONS=1000 CONCEPTS=5000 SHIFT=100 bash bench/coverage/run.sh
#   DATABASE_URL=postgresql://postgres@127.0.0.1:54329/nightshift   (the server; default: local-db.sh url)
#   BENCH_DB=bench_coverage BENCH_KEEP_DB=1                          (name / keep the database)
# Prints the machine and the figures; writes bench/results/coverage-<stamp>.{md,jsonl}.
set -uo pipefail
cd "$(dirname "$0")/../.."
PROJECT=$(pwd)
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
SERVER=${URL%/*}  # the cluster: bench-coverage creates its own database on it
export BENCH_INSTITUTIONS=${INSTITUTIONS:-1000} BENCH_CONCEPTS=${CONCEPTS:-5000} BENCH_SHIFT=${SHIFT:-100}
export BENCH_DB=${BENCH_DB:-bench_coverage}
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
export BENCH_RESULTS=$PROJECT/bench/results/coverage-$STAMP.jsonl
export BENCH_REPORT=$(mktemp)
MD=$PROJECT/bench/results/coverage-$STAMP.md
: >"$BENCH_RESULTS"
trap 'rm -f "$BENCH_REPORT"' EXIT

psql "$SERVER/postgres" -Atc 'select 1' >/dev/null 2>&1 || { echo "bench/coverage: no server at $SERVER (make db?)"; exit 1; }

echo "== release build"
swift build -c release --product bench-coverage 2>&1 | grep -E "error:" && exit 1
BIN=$(swift build -c release --show-bin-path)/bench-coverage

PG_SETTINGS_NOTE="track_functions=all on the bench database"
source bench/support/machine.sh
ENV_TEXT=$(machine)
echo "$ENV_TEXT"
echo
echo "== bench-coverage: $BENCH_INSTITUTIONS institutions × $BENCH_CONCEPTS concepts, shift $BENCH_SHIFT, database $BENCH_DB"
timeout --kill-after=10 3600 "$BIN" "$SERVER" || { echo "bench/coverage: FAILED"; exit 1; }

{
  echo "# bench/coverage — $STAMP"
  echo
  echo "One full nightly run of \`coverage/nightly-recompute\` over $BENCH_INSTITUTIONS institutions × $BENCH_CONCEPTS concepts"
  echo "(\`bash bench/coverage/run.sh\`). Every figure is a single measurement on a shared, noisy 2-core VM:"
  echo "compare shares and ratios within the run rather than absolute times."
  echo
  echo '```'
  echo "$ENV_TEXT"
  echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
  echo '```'
  echo
  cat "$BENCH_REPORT"
} >"$MD"
echo "== wrote ${MD#$PROJECT/} and ${BENCH_RESULTS#$PROJECT/}"
