"""Renders bench/soak's samples: RSS, engine table sizes and connections at start, end and peak."""
import json
import re
import statistics
import sys

samples = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
pgbench = open(sys.argv[2]).read()
rate, duration, retention = sys.argv[3], sys.argv[4], sys.argv[5]
if len(samples) < 3:
    sys.exit("bench/soak: too few samples")

def mib(kib):
    return f"{kib / 1024:.1f}"

tps = re.search(r"tps = ([0-9.]+)", pgbench)
first, last = samples[0], samples[-1]
# Warm-up: the first tenth of the run (caches, pool, allocator arenas) is not the steady state.
steady = [s for s in samples if s["elapsed_s"] >= int(duration) / 10] or samples
print(f"\nLoad: `pgbench -R {rate}` for {duration} s triggering nightshift/diagnostics, "
      f"{tps.group(1) if tps else '?'} triggers/s sustained; retention {retention}, pruned every minute.\n")
print(f"Runs at the end: {last['completed']} completed (retained), {last['failed']} failed, "
      f"{last['queued']} queued, {last['running']} running.\n")
print("| figure | start | after warm-up | end | peak |")
print("| --- | --- | --- | --- | --- |")
rss = [s["rss_kib"] for s in samples if s["rss_kib"]]
print(f"| worker RSS (MiB) | {mib(first['rss_kib'])} | {mib(steady[0]['rss_kib'])} | {mib(last['rss_kib'])} | {mib(max(s['peak_rss_kib'] for s in samples))} |")
conns = [s["connections"] for s in samples]
print(f"| connections (nightshift%) | {first['connections']} | {steady[0]['connections']} | {last['connections']} | {max(conns)} |")
for table in sorted(last["tables_kib"]):
    sizes = [s["tables_kib"].get(table, 0) for s in samples]
    print(f"| `nightshift.{table}` (MiB) | {mib(sizes[0])} | {mib(steady[0]['tables_kib'].get(table, 0))} | {mib(sizes[-1])} | {mib(max(sizes))} |")
growth = (steady[-1]["rss_kib"] - steady[0]["rss_kib"]) / 1024
print(f"\nRSS after warm-up: median {mib(statistics.median(s['rss_kib'] for s in steady))} MiB, "
      f"change from warm-up to end {growth:+.1f} MiB over {steady[-1]['elapsed_s'] - steady[0]['elapsed_s']} s.")
