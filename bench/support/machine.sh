# Sourced by the pack benchmarks' run.sh: `machine` prints the machine a run ran on, for the
# top of its results. Needs SERVER (the cluster's URL without a database); PG_SETTINGS_NOTE,
# if set, is appended to the settings line.
machine() {
  echo "date (UTC):   $(date -u '+%Y-%m-%d %H:%M:%S')"
  echo "host:         $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory:       $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "postgres:     $(psql "$SERVER/postgres" -Atc 'select version()' | cut -d, -f1) at ${SERVER#*@}"
  echo "pg settings:  $(psql "$SERVER/postgres" -Atc "select string_agg(name || '=' || current_setting(name), ', ' order by name) from pg_settings where name in ('shared_buffers', 'work_mem', 'effective_cache_size', 'max_connections', 'fsync', 'synchronous_commit', 'wal_level', 'jit', 'max_parallel_workers_per_gather', 'random_page_cost', 'autovacuum')")${PG_SETTINGS_NOTE:+, $PG_SETTINGS_NOTE}"
  echo "swift:        $(swift --version 2>&1 | head -n 1)"
  echo "loadavg:      $(cut -d' ' -f1-3 /proc/loadavg) (start)"
}
