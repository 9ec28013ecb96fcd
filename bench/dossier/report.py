#!/usr/bin/env python3
"""bench/dossier/report.py RESULTS.jsonl ENV.txt: the markdown report of one bench/dossier run
(run.sh writes it to bench/results/dossier-<stamp>.md)."""
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
env = open(sys.argv[2]).read().rstrip()

def dur(s):
    if s is None: return "—"
    if s >= 100: return f"{s:,.0f} s"
    if s >= 1: return f"{s:.2f} s"
    if s >= 1e-3: return f"{s * 1e3:.2f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s * 1e6:.1f} µs"

data = next((r for r in recs if r["kind"] == "data"), {})
setup = [r for r in recs if r["kind"] == "setup"]
summary = [r for r in recs if r["kind"] == "summary"]
rss = next((r["peak_rss_mib"] for r in recs if r["kind"] == "process"), None)
rounds = max((len(r["rounds"]) for r in summary), default=0)

print(f"# bench/dossier ({sys.argv[1].rsplit('/', 1)[-1][:-6]})\n")
print("## Machine\n\n```\n" + env + "\n```\n")
print("## Data\n")
print(f"{data.get('dossiers', 0):,} dossiers, {data.get('engagements', 0):,} engagements, {data.get('commitments', 0):,} commitments "
      f"(`select {data.get('seed_call', 'dossier.seed(…)')}`, then `vacuum analyze`).\n")
print(f"Overdue sweep as of {data.get('overdue_as_of')}: {data.get('overdue_due', 0):,} pending/in-progress commitments past due.\n")
for r in setup:
    print(f"- {r['operation']}: {dur(r['seconds'])} ({dur(r['seconds'] / r['items'])} per {r['item']}) — `{r['detail']}`")
print()
print(f"## Figures (median of {rounds} round{'s' if rounds != 1 else ''}; ratio = the seed's floor per item ÷ ours per item)\n")
print("| operation | items | per operation | per item | seed's floor (issue 4) | floor per item | floor scaled to these items | ratio |")
print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
for r in summary:
    ratio = f"{r['ratio']:,.0f}×" if r.get("ratio") else "—"
    print(f"| {r['label']} | {r['items']:,} {r['item']}{'s' if r['items'] != 1 else ''} | {dur(r['seconds'])} | {dur(r['per_item_seconds'])} "
          f"| {r['floor']} | {dur(r.get('floor_per_item_seconds'))} | {dur(r.get('floor_scaled_seconds'))} | {ratio} |")
print()
for r in summary:
    extra = ""
    if "rate_per_second" in r: extra = f"; {r['rate_per_second']:,.0f} deliveries/s"
    if "per_engagement_seconds" in r: extra = f"; {dur(r['per_engagement_seconds'])} per engagement (seed floor 400 µs)"
    if "per_commitment_seconds" in r: extra = f"; {dur(r['per_commitment_seconds'])} per commitment"
    print(f"- **{r['operation']}** rounds: {', '.join(dur(s) for s in r['rounds'])}{extra}. {r['detail']}")
print()
print("""## Method

- Rounds interleave the operations (refresh engagement stats, refresh commitment stats, recompute every score with a
  zero stale threshold so all are stale, 50 forced single scores, the overdue sweep, a notification round), so a slow
  phase of the machine spreads over all of them; the table shows medians. Times are taken in bench-dossier around each
  call (round trip included), the dispatcher's on the database clock.
- The overdue sweep runs for real (`detect_overdue_commitments(false, as_of)`, as_of chosen so that about the wanted
  number of open commitments are past due), one channel enabled and the daily cap at 100,000 so every notification it
  sends gets a delivery and none is suppressed, then is rolled back so each round finds the same commitments.
- Notifications: `notify.send` to as many distinct users in one statement, then a fresh `DeliveryDispatcher` (default
  options, its own pool of 8) against a Hummingbird receiver in the same process on 127.0.0.1 that answers 200; timed
  from the dispatcher's start until the last of them is `delivered`.
- Cold rows: the first overdue sweep and the first notification round run once each with the notify tables empty and
  just vacuumed and analyzed as empty (a young deployment whose statistics say "no notifications"); statements planned
  then keep their plans for the whole statement (the per-function times show where the time goes). Then the notify
  tables are analyzed (what autovacuum does within a minute of those commits) and the rounds follow.
""")
if rss is not None:
    print(f"Peak RSS of bench-dossier (timing connection, dispatcher and its pool, webhook receiver): {rss:.1f} MiB.")
