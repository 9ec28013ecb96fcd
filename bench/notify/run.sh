#!/usr/bin/env bash
# bench/notify: the notification path alone — the real DeliveryDispatcher (default options, a
# pool of 8) sending signed webhooks to a receiver on loopback, on a throwaway database (default
# bench_notify) of the running cluster, migrated fresh and dropped at the end.
#   ROUNDS=3 BENCH_NOTIFICATIONS=10000 BENCH_RATE=1000 BENCH_STEADY_SECONDS=10 bash bench/notify/run.sh
# Burst: deliveries/s from the dispatcher's start to the last delivered_at (median of ROUNDS).
# Steady: BENCH_RATE notifications/s arriving while a dispatcher runs; p50/p99 from notify.send's
# transaction to delivered_at. Prints the machine, the figures and the process's peak RSS; writes
# bench/results/notify-<stamp>.{jsonl,md}. (bench-dossier in BENCH_ONLY=dispatch mode.)
set -uo pipefail
cd "$(dirname "$0")/../.."
URL=${DATABASE_URL:-$(bash supabase-like-config/local-db.sh url)}
URL=${URL%%\?*}
SERVER=${URL%/*}
DB=${BENCH_DB:-bench_notify}
STAMP=$(date -u +%Y-%m-%d_%H%MZ)
mkdir -p bench/results
OUT=$(pwd)/bench/results/notify-$STAMP
export BENCH_RESULTS=$OUT.jsonl BENCH_ONLY=dispatch ROUNDS=${ROUNDS:-3}
: >"$BENCH_RESULTS"

psql "$SERVER/postgres" -Atc 'select 1' >/dev/null 2>&1 || { echo "bench/notify: no server at $SERVER (make db?)"; exit 1; }

echo "== release build"
swift build -c release --product bench-dossier 2>&1 | grep -E "error:" && exit 1
BIN=$(swift build -c release --show-bin-path)/bench-dossier

source bench/support/machine.sh
ENV_TEXT=$(machine)
echo "$ENV_TEXT"
trap 'psql "$SERVER/postgres" -qc "drop database if exists $DB with (force)" >/dev/null 2>&1' EXIT

echo "== bench-dossier (dispatch only) on $DB"
timeout --kill-after=10 1800 "$BIN" "$SERVER" "$DB" >/dev/null || { echo "bench/notify: FAILED (figures so far in $BENCH_RESULTS)"; exit 1; }

ENV_TEXT="$ENV_TEXT
loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)" STAMP=$STAMP python3 - "$BENCH_RESULTS" >"$OUT.md" <<'PY'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"# bench/notify — {os.environ['STAMP']}\n\n```\n{os.environ['ENV_TEXT']}\n```\n")
print("| figure | value | detail |\n| --- | ---: | --- |")
for r in recs:
    if r["kind"] == "round":
        print(f"| burst round {r['round']} | {r['rate_per_second']:,.0f} deliveries/s | {r['detail']} |")
    elif r["kind"] == "summary" and r["operation"] == "dispatch":
        print(f"| **burst, median** | **{r['rate_per_second']:,.0f} deliveries/s** | {r['detail']} |")
    elif r["kind"] == "summary" and r["operation"] == "steady":
        print(f"| **steady p50 / p99** | **{r['p50_seconds'] * 1e3:.1f} / {r['p99_seconds'] * 1e3:.1f} ms** (max {r['max_seconds'] * 1e3:.0f} ms) | {r['detail']} |")
    elif r["kind"] == "process":
        print(f"| peak RSS | {r['peak_rss_mib']:.0f} MiB | {r['detail']} |")
PY
echo
cat "$OUT.md"
