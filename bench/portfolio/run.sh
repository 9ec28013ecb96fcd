#!/usr/bin/env bash
# bench/portfolio: the portfolio pack at benchmark size (issue 6): 100,000 users × 20 holdings over
# 5,000 assets (markets per user 0: each user's scoring covers their holdings). One full overnight
# run of portfolio/overnight-scoring (scoring, events, recommendations) and the portfolio/cache-warmer
# run its event starts, in an in-process worker against the provider stub on loopback; then
# GET /api/dashboard on the real server in-process under 50 concurrent clients, from the cache and
# with the cache emptied. On a throwaway database (default bench_portfolio) of the running cluster,
# dropped at the end.
#   USERS=100000 ASSETS=5000 HOLDINGS=20 bash bench/portfolio/run.sh
#   CLIENTS=50 READ_SECONDS=20 READ_REQUESTS=20000 MISS_SECONDS=5 MISS_REQUESTS=2000 WORKER_CONCURRENCY=4 SERVER_POOL=8
#   USERS_PER_BATCH=200                                             (default: the config's users_per_batch)
#   DATABASE_URL=postgresql://postgres@127.0.0.1:54329/nightshift   (the server; default: local-db.sh url)
#   BENCH_DB=bench_portfolio BENCH_KEEP_DB=1                        (name / keep the database)
# Prints the machine and the figures; writes bench/results/portfolio-<stamp>.{md,jsonl}.
set -uo pipefail
cd "$(dirname "$0")/../.."
PROJECT=$(pwd)
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
SERVER=${URL%/*}  # the cluster: bench-portfolio creates its own database on it
export BENCH_USERS=${USERS:-100000} BENCH_ASSETS=${ASSETS:-5000} BENCH_HOLDINGS=${HOLDINGS:-20}
export BENCH_CLIENTS=${CLIENTS:-50} BENCH_READ_SECONDS=${READ_SECONDS:-20} BENCH_READ_REQUESTS=${READ_REQUESTS:-20000}
export BENCH_MISS_SECONDS=${MISS_SECONDS:-5} BENCH_MISS_REQUESTS=${MISS_REQUESTS:-2000}
export BENCH_WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-4} BENCH_SERVER_POOL=${SERVER_POOL:-8}
export BENCH_DB=${BENCH_DB:-bench_portfolio}
[ -n "${USERS_PER_BATCH:-}" ] && export BENCH_USERS_PER_BATCH=$USERS_PER_BATCH
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
export BENCH_RESULTS=$PROJECT/bench/results/portfolio-$STAMP.jsonl
export BENCH_REPORT=$(mktemp)
MD=$PROJECT/bench/results/portfolio-$STAMP.md
: >"$BENCH_RESULTS"
trap 'rm -f "$BENCH_REPORT"' EXIT

psql "$SERVER/postgres" -Atc 'select 1' >/dev/null 2>&1 || { echo "bench/portfolio: no server at $SERVER (make db?)"; exit 1; }

echo "== release build"
swift build -c release --product bench-portfolio 2>&1 | grep -E "error:" && exit 1
BIN=$(swift build -c release --show-bin-path)/bench-portfolio

source bench/support/machine.sh
ENV_TEXT=$(machine)
echo "$ENV_TEXT"
echo
echo "== bench-portfolio: $BENCH_USERS users × $BENCH_HOLDINGS holdings over $BENCH_ASSETS assets, database $BENCH_DB"
timeout --kill-after=10 "${BENCH_TIMEOUT:-10800}" "$BIN" "$SERVER" || { echo "bench/portfolio: FAILED"; exit 1; }

{
  echo "# bench/portfolio — $STAMP"
  echo
  echo "The portfolio pack over $BENCH_USERS users × $BENCH_HOLDINGS holdings ($BENCH_ASSETS assets): one overnight run"
  echo "(\`portfolio/overnight-scoring\`), the cache warming its event starts (\`portfolio/cache-warmer\`), and dashboard"
  echo "reads under $BENCH_CLIENTS concurrent clients (\`bash bench/portfolio/run.sh\`). Every figure is a single measurement"
  echo "on a shared, noisy 2-core VM: compare medians and ratios rather than absolute times."
  echo
  echo '```'
  echo "$ENV_TEXT"
  echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
  echo '```'
  echo
  cat "$BENCH_REPORT"
} >"$MD"
echo "== wrote ${MD#$PROJECT/} and ${BENCH_RESULTS#$PROJECT/}"
