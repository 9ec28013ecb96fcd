#!/usr/bin/env bash
# bench/engine/failed_alert.sh: what the on_failure trigger on nightshift.runs (0047) costs.
#  * claim + complete: N runs claimed in batches of 500 and completed; the trigger's WHEN is
#    evaluated on every status change and must cost next to nothing.
#  * fail for good: N runs of a function with on_failure, each claimed and failed
#    (non-retriable); with the trigger each failure writes one alert and one delivery.
# Each measured with the trigger enabled and disabled, ROUNDS times alternating; medians.
#   SERVER=postgresql://postgres@127.0.0.1:54329 DB=ns_bench_alert N=5000 ROUNDS=5 bash bench/engine/failed_alert.sh
# Needs the nightshift binary built (migrates the database with the migrations built into it).
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVER=${SERVER:-postgresql://postgres@127.0.0.1:54329}
DB=${DB:-ns_bench_alert}
N=${N:-5000}
ROUNDS=${ROUNDS:-5}
BIN=${NIGHTSHIFT_BIN:-.build/debug/nightshift}
source bench/support/machine.sh
machine
echo "N=$N per measurement, $ROUNDS rounds each, medians"

psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" -c "create database $DB" 2>&1 | grep -v NOTICE || true
DATABASE_URL=$SERVER/$DB NIGHTSHIFT_LOG_LEVEL=error "$BIN" migrate >/dev/null
psql "$SERVER/$DB" -Xq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
select notify.configure(10, array['ops']);
select nightshift.sync_functions('[{"id": "bench/ok"}, {"id": "bench/fails", "max_attempts": 1, "on_failure": "ops"}]');
SQL

# ms for one measurement: $1 = trigger on|off, $2 = ok|fails
measure() {
  psql "$SERVER/$DB" -XqAt -v ON_ERROR_STOP=1 <<SQL
\set QUIET on
alter table nightshift.runs $( [ "$1" = on ] && echo enable || echo disable ) trigger runs_alert_on_failure;
truncate nightshift.runs cascade;
truncate notify.notifications cascade;
select nightshift.enqueue_many('bench/$2', (select jsonb_agg('{}'::jsonb) from generate_series(1, $N)));
do \$\$
declare
    v_start timestamptz := clock_timestamp();
    v_claimed record;
    v_ids uuid[];
    v_tokens bigint[];
    v_count integer;
begin
    loop
        select array_agg(c.id), array_agg(c.lease_token) into v_ids, v_tokens
        from nightshift.claim_runs('bench', 500, '5 minutes', array['bench/$2']) c;
        exit when v_ids is null;
        if '$2' = 'ok' then
            perform nightshift.complete_runs(v_ids, v_tokens, array_fill('{}'::jsonb, array[cardinality(v_ids)]));
        else
            for v_count in 1 .. cardinality(v_ids) loop
                perform nightshift.fail_run(v_ids[v_count], v_tokens[v_count], '{"message": "boom", "sqlstate": "22012"}', false);
            end loop;
        end if;
    end loop;
    raise notice 'ms=%', round(extract(epoch from clock_timestamp() - v_start) * 1000);
end
\$\$;
SQL
}

declare -A results
for round in $(seq 1 "$ROUNDS"); do
  for kind in ok fails; do
    for state in $( ((round % 2)) && echo "on off" || echo "off on"); do
      ms=$(measure "$state" "$kind" 2>&1 | sed -n 's/.*ms=\([0-9]*\).*/\1/p')
      results[$kind-$state]="${results[$kind-$state]:-} $ms"
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf '%-34s %12s %12s\n' "measurement ($N runs)" "trigger on" "trigger off"
for kind in ok fails; do
  label=$([ "$kind" = ok ] && echo "claim + complete (500 a batch)" || echo "claim + fail for good, on_failure")
  printf '%-34s %9s ms %9s ms\n' "$label" "$(echo "${results[$kind-on]}" | median)" "$(echo "${results[$kind-off]}" | median)"
done
echo "all rounds (ms): $(for k in "${!results[@]}"; do echo -n "$k:${results[$k]}; "; done)"
echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
psql "$SERVER/postgres" -Xq -c "drop database if exists $DB with (force)" 2>&1 | grep -v NOTICE || true
