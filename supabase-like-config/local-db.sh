#!/usr/bin/env bash
# The embedded default database: a PostgreSQL 15 cluster under .nightshift/ in the project.
#   local-db.sh start | stop | status | url | app-url
# Everything it writes stays inside the project folder. When run as root, the cluster
# belongs to the 'postgres' OS user (initdb refuses to run as root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
state="$project/.nightshift"
data="$state/data"
sock="$state/run"
log="$state/postgres.log"
pgbin=${PG_BIN:-/usr/lib/postgresql/15/bin}
config="$here/config.toml"

# [db] port from config.toml, overridden by NIGHTSHIFT_DB_PORT.
config_port() {
  awk '/^\[/{section=$0} section=="[db]" && $1=="port" {gsub(/[^0-9]/,"",$3); print $3; exit}' "$config"
}
port=${NIGHTSHIFT_DB_PORT:-$(config_port)}
port=${port:-54329}
database=nightshift

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

die() { echo "local-db: $*" >&2; exit 1; }

[ -x "$pgbin/pg_ctl" ] || die "PostgreSQL 15 not found at $pgbin (apt-get install postgresql-15)"

# The server's pid from its pid file, and whether that process is really alive: after a crash
# the pid may be gone, or linger as a zombie nobody reaped (which pg_ctl status counts as running).
postmaster_pid() { head -n 1 "$data/postmaster.pid" 2>/dev/null || true; }
alive() { [ -n "$1" ] && [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
running() { alive "$(postmaster_pid)" && as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

init_cluster() {
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "user 'postgres' is missing (it comes with the postgresql-15 package)"
    chown postgres:postgres "$state"
  fi
  echo "local-db: creating cluster in $data"
  as_owner "$pgbin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
    || { cat "$state/initdb.log" >&2; die "initdb failed"; }
  local preload=""
  if [ -f /usr/lib/postgresql/15/lib/pg_cron.so ]; then preload="pg_cron"; fi
  as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF

# --- nightshift embedded defaults ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 256MB
shared_preload_libraries = '$preload'
cron.database_name = '$database'
log_min_messages = warning
CONF
}

start() {
  [ -f "$data/PG_VERSION" ] || init_cluster
  mkdir -p "$sock"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$sock"
  if running; then
    echo "local-db: already running on 127.0.0.1:$port (socket $sock)"
  else
    # A pid file left by a crash names a server that is gone: the file is stale.
    if [ -f "$data/postmaster.pid" ]; then
      echo "local-db: removing stale postmaster.pid (server pid $(postmaster_pid) is gone)"
      rm -f "$data/postmaster.pid"
    fi
    # After a crash the old server's children may hold its shared memory for a moment
    # ("pre-existing shared memory block is still in use"): try again briefly.
    started=no
    for attempt in 1 2 3 4 5; do
      if as_owner "$pgbin/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
        started=yes; break
      fi
      rm -f "$data/postmaster.pid"
      sleep 2
    done
    [ "$started" = yes ] || { tail -n 20 "$log" >&2; die "could not start PostgreSQL (log: $log)"; }
    echo "local-db: started on 127.0.0.1:$port (socket $sock)"
  fi
  if ! as_owner "$pgbin/psql" -h "$sock" -p "$port" -U postgres -d postgres -tAc \
      "select 1 from pg_database where datname = '$database'" | grep -q 1; then
    as_owner "$pgbin/createdb" -h "$sock" -p "$port" -U postgres "$database"
    echo "local-db: created database $database"
  fi
}

stop() {
  if running; then
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    echo "local-db: stopped"
  else
    echo "local-db: not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running on 127.0.0.1:$port"; else echo "stopped"; exit 3; fi ;;
  url) echo "postgresql://postgres@127.0.0.1:$port/$database" ;;            # the owner: migrations, tests, psql
  app-url) echo "postgresql://nightshift_app@127.0.0.1:$port/$database" ;;  # the server and workers (0040_auth.sql)
  *) die "usage: local-db.sh start|stop|status|url|app-url" ;;
esac
