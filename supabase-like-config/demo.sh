#!/usr/bin/env bash
# The demo behind `make run` / `make demo`: seeds the packs' data on the embedded database
# (once), starts the server (API, edge functions, worker, ticker, notification dispatcher)
# and a webhook receiver for the `ops` channel, runs each pack's main jobs by hand and shows
# what they did. Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug/nightshift}
DB=${DATABASE_URL:?DATABASE_URL is set by the Makefile}
# The server and the CLI log in as nightshift_app, as in production; seeding uses the owner ($DB).
APP_DB=${APP_DATABASE_URL:-$(bash supabase-like-config/local-db.sh app-url)}
API_PORT=${NIGHTSHIFT_API_PORT:-$(grep -m1 -E '^port *= *[0-9]+' <(sed -n '/^\[api\]/,/^\[/p' supabase-like-config/config.toml) | tr -dc 0-9)}
RECEIVER_PORT=54330   # config.toml's ops channel webhook_url
PROVIDER_PORT=54331   # config.toml's portfolio rates_url and prices_url
LOGS=.nightshift/demo
mkdir -p "$LOGS"
sql() { psql "$DB" -X -q -v ON_ERROR_STOP=1 "$@"; }
nightshift() { DATABASE_URL="$APP_DB" "$BIN" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The demo's servers need their ports free: a server still there (often one an interrupted run
# left behind) would answer in their place, from another database.
for entry in "$API_PORT:the API (NIGHTSHIFT_API_PORT=<port> make run moves it)" \
             "$RECEIVER_PORT:the demo's webhook receiver" "$PROVIDER_PORT:the demo's market-data stub"; do
  port=${entry%%:*}
  if command -v ss >/dev/null && [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1, pid \2/p' | head -n 1)
    echo "demo: port $port, for ${entry#*:}, is taken${holder:+ by $holder}; stop that process first" >&2
    exit 1
  fi
done

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

say "seed data (deterministic; only into an empty pack)"
sql -f sql/seed/dossier_seed.sql
if [ "$(sql -Atc 'select count(*) from dossier.dossiers')" = 0 ]; then
  sql -Atc "select 'dossier: ' || dossier.seed(2000, 20, 5, 0.42)::text"
else
  echo "dossier: already seeded ($(sql -Atc 'select count(*) from dossier.dossiers') dossiers)"
fi

if [ "$(sql -Atc 'select count(*) from coverage.institutions')" = 0 ]; then
  sql -At -v institutions=20 -f sql/seed/coverage_seed.sql | sed 's/^/coverage: /'
else
  echo "coverage: already seeded ($(sql -Atc 'select count(*) from coverage.institutions') institutions)"
fi

if [ "$(sql -Atc 'select count(*) from portfolio.users')" = 0 ]; then
  sql -f sql/seed/portfolio_seed.sql
  # 200 investors, 600 assets over six markets, 10–50 holdings each; each user's scoring
  # covers one market (about 100 assets) plus what they hold.
  sql -Atc "select 'portfolio: ' || portfolio.seed(200, 600, 10, 50, 1)::text"
else
  echo "portfolio: already seeded ($(sql -Atc 'select count(*) from portfolio.users') users)"
fi

say "market-data provider stub (deterministic rates and prices) on 127.0.0.1:$PROVIDER_PORT"
"${PROVIDER_BIN:-.build/debug/portfolio-provider}" --port "$PROVIDER_PORT" >"$LOGS/provider.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PROVIDER_PORT/latest?base=USD" >/dev/null && break; sleep 0.1; done

say "webhook receiver for the ops channel on 127.0.0.1:$RECEIVER_PORT"
if command -v python3 >/dev/null; then
  python3 - "$RECEIVER_PORT" >"$LOGS/webhooks.log" 2>&1 <<'PY' &
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        print(self.headers.get("Idempotency-Key"), body.decode()[:160], flush=True)
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY
  pids+=($!)
else
  echo "python3 not found: deliveries will wait and retry (see notify.delivery_status)"
fi

say "nightshift serve (API on :$API_PORT, worker, ticker, dispatcher); log in $LOGS/serve.log"
# The binary itself in the background, not the nightshift function: $! must be the server's pid,
# or the clean-up kills a subshell and leaves the server running, its port taken for the next run.
DATABASE_URL="$APP_DB" "$BIN" serve >"$LOGS/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$API_PORT/health" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$API_PORT/health" >/dev/null || { echo "the server did not come up:"; tail -20 "$LOGS/serve.log"; exit 1; }

say "dossier/refresh-health-scores: refresh both views, recompute stale scores, record freshness"
nightshift run dossier/refresh-health-scores --wait
sql -c "select case when overall_score >= 80 then '80-100' when overall_score >= 60 then '60-79' when overall_score >= 40 then '40-59' else '0-39' end as score,
               count(*) as dossiers, round(avg(engagement_frequency)) as avg_frequency, round(avg(commitment_fulfillment)) as avg_fulfilment,
               round(avg(recency_score)) as avg_recency
        from dossier.health_scores group by 1 order by 1 desc"

say "dossier/detect-overdue-commitments: through the edge function over HTTP, with the service-role key"
nightshift run dossier/detect-overdue-commitments --wait

say "notifications: the inbox, and the ops channel's deliveries"
sleep 2
sql -c "select split_part(title, ' in ', 1) as notification, count(*) from notify.notifications group by 1 order by 2 desc"
sql -c "select * from notify.delivery_status"
sql -c "select * from notify.suppressed_today where suppressed > 0 limit 5"
[ -s "$LOGS/webhooks.log" ] && { echo "webhooks received: $(wc -l <"$LOGS/webhooks.log") (first: $(head -c 200 "$LOGS/webhooks.log"))"; }

say "held back by the cap today: nothing is dropped, each user gets one digest on their next day"
# What dossier/send-held-back-digests (00:05 in the pack's zone) will send tomorrow, run now with
# tomorrow's as_of; its dedupe key (user and day) keeps tomorrow's real run from sending it twice.
sql -c "select day, time_zone, count(distinct user_id) as users_held_back, count(*) as notifications_held_back
        from notify.suppressed where digest_id is null group by 1, 2 order by 1"
sql -Atc "select 'send_held_back_digests (as of tomorrow): ' || dossier.send_held_back_digests(now() + interval '1 day')::text"
sql -c "select title, metadata->>'heldBack' as held_back, jsonb_array_length(metadata->'items') as items, metadata->>'timeZone' as time_zone
        from notify.notifications where metadata->>'type' = 'dossier.held_back_digest' order by created_at desc limit 3"

say "coverage/nightly-recompute: a snapshot per institution (the first run of an institution is its baseline)"
nightshift run coverage/nightly-recompute --wait
FIRST=$(sql -Atc "select id from coverage.institutions where status = 'active' order by id limit 1")
say "coverage changes at one institution, then the super-admin trigger over HTTP recomputes just that one"
sql -Atc "select 'shift_coverage: ' || coverage.shift_coverage('$FIRST')::text"
SECRET=$(awk -F'"' '/^jwt_secret/{print $2}' supabase-like-config/config.toml)
ADMIN=$("$BIN" token --role authenticated --sub 00000000-0000-4000-8000-00000000a0a0 --app-role super_admin 2>/dev/null || true)
if [ -n "$ADMIN" ]; then
  curl -s -X POST "http://127.0.0.1:$API_PORT/api/v1/admin/coverage/recompute" -H "Authorization: Bearer $ADMIN" -d "{\"institution_id\": \"$FIRST\"}"; echo
else
  sql -Atc "select 'request_recompute: ' || coverage.request_recompute('$FIRST')::text"
fi
for _ in $(seq 1 100); do
  [ "$(sql -Atc "select count(*) from nightshift.runs where function_id = 'coverage/gap-alerts' and status = 'completed'")" != 0 ] && break; sleep 0.2
done
sql -c "select i.name, s.total_score, s.created_at from coverage.coverage_snapshots s join coverage.institutions i on i.id = s.institution_id
        where s.institution_id = '$FIRST' order by s.created_at"
sql -c "select name, data->'new_gaps' as new_gaps from nightshift.events where name = 'coverage.gaps.detected' order by created_at desc limit 1"
sql -c "select title, message from notify.notifications where title like 'Coverage gaps detected%' order by created_at desc limit 3"
sql -c "select started_at, duration_ms, institutions_processed, institutions_failed, total_gaps_detected, total_gaps_resolved from coverage.coverage_job_runs order by created_at"

say "portfolio/overnight-scoring: rates once, prices once, users scored 50 per checkpointed step"
nightshift run portfolio/overnight-scoring --wait
sql -c "select status, users_processed, users_failed, metrics->>'assets_scored' as assets_scored, metrics->>'fetch_rates_ms' as fetch_rates_ms,
               metrics->>'total_duration_ms' as total_ms, metrics->>'ratesStale' as rates_stale, metrics->>'ratesAsOf' as rates_as_of
        from portfolio.overnight_job_runs order by started_at desc limit 1"
sql -c "select event_type, count(*), count(distinct user_id) as users, count(distinct correlation_id) as runs
        from portfolio.calculation_events where correlation_id = (select correlation_id from portfolio.overnight_job_runs order by started_at desc limit 1)
        group by 1 order by 1"
for _ in $(seq 1 150); do
  [ "$(sql -Atc "select count(*) from nightshift.runs where function_id = 'portfolio/cache-warmer' and status = 'completed'")" != 0 ] && break; sleep 0.2
done
sql -c "select split_part(key, ':', 1) as cache_key, count(*), min(expires_at - now()) as ttl_left from cache.entries group by 1"
INVESTOR=$(sql -Atc "select user_id from portfolio.recommendations order by user_id limit 1")
TOKEN=$("$BIN" token --role authenticated --sub "$INVESTOR")
say "GET /api/dashboard as investor $INVESTOR (from the cache the warmer filled)"
curl -s "http://127.0.0.1:$API_PORT/api/dashboard" -H "Authorization: Bearer $TOKEN" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print("fromCache:", d["fromCache"], " baseCurrency:", d["baseCurrency"], " totalInvestable:", d["totalInvestable"])
print("dataFreshness:", d["dataFreshness"], " stale:", d["stale"], " freshness:", json.dumps(d["freshness"]))
for r in d["recommendations"][:6]:
    print("  %-6s %-10s %12s %s  gap %s pts" % (r["assetClass"], r["symbol"], r["amount"], r["currency"], r["allocationGap"]))'

say "portfolio, ready before each market opens: one run per market, 2 h before its local open, on its trading days"
sql -c "select market_code, time_zone, local_open_time, next_run_at, opens_at from portfolio.next_market_runs() order by next_run_at, market_code"
TSE_RUN=$(sql -Atc "select to_char(next_run_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from portfolio.next_market_runs() where market_code = 'TSE'")
say "the TSE run (as portfolio/market-scheduler sends it at $TSE_RUN): TSE's users, those with an earlier market left out"
nightshift run portfolio/overnight-scoring --payload "{\"market\": \"TSE\", \"runAt\": \"$TSE_RUN\"}" --wait
sql -c "select status, users_processed, users_failed, metrics->>'assets_scored' as assets_scored from portfolio.overnight_job_runs order by started_at desc limit 1"

say "portfolio, the price provider down: retried with backoff, then the last stored prices (stale), the run partial with its reason"
curl -fs -X POST "http://127.0.0.1:$PROVIDER_PORT/_stub/down?endpoint=prices&on=true" >/dev/null
nightshift run portfolio/overnight-scoring --wait
curl -fs -X POST "http://127.0.0.1:$PROVIDER_PORT/_stub/down?endpoint=prices&on=false" >/dev/null
sql -c "select status, users_processed, users_failed, metrics->>'stalePrices' as stale_prices, metrics->>'stalePricesAsOf' as stale_prices_as_of, reason
        from portfolio.overnight_job_runs order by started_at desc limit 1"
for _ in $(seq 1 150); do
  [ "$(sql -Atc "select count(*) from nightshift.runs where function_id = 'portfolio/cache-warmer' and status <> 'completed'")" = 0 ] && break; sleep 0.2
done
say "GET /api/dashboard as investor $INVESTOR again: the badge says stale (prices stale at scoring)"
curl -s "http://127.0.0.1:$API_PORT/api/dashboard" -H "Authorization: Bearer $TOKEN" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print("dataFreshness:", d["dataFreshness"], " stale:", d["stale"], " reasons:", d["freshness"]["staleReasons"])'

say "runs"
nightshift runs --limit 5
echo
echo "Serve it yourself with: make serve   (the API on http://127.0.0.1:$API_PORT, GET /health, POST /functions/v1/<name>)"
