#!/usr/bin/env bash
# The embedded default database: a PostgreSQL 15 cluster of this checkout.
#   local-db.sh start | stop | status | url | app-url | clean | dir NAME
#
# Who runs it, and where it lives:
# - An ordinary user: the cluster is theirs (initdb and pg_ctl run as them, no runuser), in
#   .nightshift/data, with its socket in .nightshift/run and its log in .nightshift/postgres.log.
# - root: initdb and postgres refuse to run as root, so the cluster belongs to the `postgres`
#   OS user, who must reach its data directory, its socket directory and its log. When postgres
#   can enter the project folder, all three stay in .nightshift/ as above (existing setups keep
#   their .nightshift/data). When it cannot (a clone in root's 0700 home: initdb's "could not
#   access directory … Permission denied"), the cluster lives in a 0700 folder of postgres,
#   <postgres's home>/nightshift/<project folder name>-<hash of its path>/ (Debian:
#   /var/lib/postgresql/nightshift/…), and .nightshift/cluster is a symlink to it. We never
#   loosen the permissions of the user's home to let postgres in; the hash gives each checkout
#   its own cluster and finds it again; `make clean-db` (local-db.sh clean) removes it too.
# - A cluster that exists keeps its owner: root runs pg_ctl as whoever owns the data directory,
#   and an ordinary user is told when the cluster belongs to someone else.
# Before starting, the port is checked: a port another process holds is named, with the process,
# and with how to pick another (NIGHTSHIFT_DB_PORT, honoured by url, app-url and the Makefile).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
project=$(cd "$here/.." && pwd -P)
state="$project/.nightshift"
pointer="$state/cluster"     # the symlink to an external cluster folder, when there is one
pgbin=${PG_BIN:-/usr/lib/postgresql/15/bin}
config="$here/config.toml"
database=nightshift

# [db] port from config.toml, overridden by NIGHTSHIFT_DB_PORT.
config_port() {
  awk '/^\[/{section=$0} section=="[db]" && $1=="port" {gsub(/[^0-9]/,"",$3); print $3; exit}' "$config"
}
port=${NIGHTSHIFT_DB_PORT:-$(config_port)}
port=${port:-54329}

die() { echo "local-db: $*" >&2; exit 1; }
say() { echo "local-db: $*"; }

case "$port" in
  ''|*[!0-9]*) die "port '$port' is not a number (NIGHTSHIFT_DB_PORT or [db] port in $config)" ;;
esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "port $port is out of range (1-65535)"

is_root() { [ "$(id -u)" = 0 ]; }
need_pg() { [ -x "$pgbin/pg_ctl" ] || die "PostgreSQL 15 not found at $pgbin (make setup, or apt-get install postgresql-15)"; }

# --- where the cluster lives -----------------------------------------------------------------

# The first folder on the way to $2 that user $1 cannot enter; nothing when it can enter them
# all. Asked of the user itself (runuser), so ACLs and group membership count.
blocked_for() {
  local user=$1 path="" part
  local IFS=/
  for part in $2; do
    [ -n "$part" ] || continue
    path="$path/$part"
    runuser -u "$user" -- test -x "$path" 2>/dev/null || { echo "$path"; return 0; }
  done
}

external_home() {
  local base pg_home
  pg_home=$(getent passwd postgres | cut -d: -f6)
  if [ -n "$pg_home" ] && [ -d "$pg_home" ]; then base="$pg_home/nightshift"; else base=/var/tmp/nightshift-postgres; fi
  echo "$base/$(basename "$project" | cut -c1-24)-$(printf %s "$project" | sha256sum | cut -c1-12)"
}

# Sets home (data, socket and log folder), data, sock, log, owner (who runs initdb/pg_ctl), and
# external (yes when home is outside the project). Decides nothing twice: an existing pointer or
# .nightshift/data wins; only a new cluster is placed.
locate() {
  external=no blocked=""
  if [ -L "$pointer" ]; then
    home=$(readlink "$pointer"); external=yes
  elif [ -e "$state/data/PG_VERSION" ] || ! is_root; then
    home=$state
  else
    blocked=$(blocked_for postgres "$project")
    if [ -n "$blocked" ]; then home=$(external_home); external=yes; else home=$state; fi
  fi
  data="$home/data"
  sock="$home/run"
  log="$home/postgres.log"
  # A Unix socket's path may not exceed 107 bytes: a deep project folder gets a short socket
  # folder of its own in /tmp (named by the same hash, so it is found again).
  if [ $(( ${#sock} + 20 )) -gt 107 ]; then
    sock="/tmp/nightshift-$(id -u)-$(printf %s "$project" | sha256sum | cut -c1-12)"
  fi
  if [ -e "$data/PG_VERSION" ]; then
    owner=$(stat -c %U "$data" 2>/dev/null || echo unknown)
  elif is_root; then
    owner=postgres
  else
    owner=$(id -un)
  fi
}

# Runs initdb, pg_ctl and psql as the cluster's owner. As root, from / : the caller's working
# directory (the project) may be one postgres cannot enter.
as_owner() {
  if is_root; then (cd / && runuser -u "$owner" -- "$@"); else "$@"; fi
}

# Creates the folders of a new cluster (and the pointer to an external one).
prepare_home() {
  mkdir -p "$state"
  if [ "$external" = yes ]; then
    id postgres >/dev/null 2>&1 || die "user 'postgres' is missing (it comes with the postgresql-15 package)"
    local base; base=$(dirname "$home")
    mkdir -p "$base" "$home"
    chown postgres:postgres "$base" "$home"
    chmod 0700 "$base" "$home"
    echo "$project" >"$home/project"      # whose cluster this is, for anyone looking at the folder
    ln -sfn "$home" "$pointer"
  elif is_root; then
    id postgres >/dev/null 2>&1 || die "user 'postgres' is missing (it comes with the postgresql-15 package)"
    chown postgres:postgres "$state"
  fi
}

# --- the running server ------------------------------------------------------------------------

# The server's pid from its pid file, and whether that process is really alive: after a crash
# the pid may be gone, or linger as a zombie nobody reaped (which pg_ctl status counts as running).
postmaster_pid() { head -n 1 "$data/postmaster.pid" 2>/dev/null || true; }
postmaster_port() { sed -n 4p "$data/postmaster.pid" 2>/dev/null || true; }
alive() { [ -n "$1" ] && [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
running() { alive "$(postmaster_pid)" && as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

# Whether something listens on TCP port $1 (any address); sets holder to a description of it.
port_taken() {
  holder=""
  if command -v ss >/dev/null 2>&1; then
    local line pid address cmd datadir checkout
    line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1)
    [ -n "$line" ] || return 1
    address=$(awk '{print $4}' <<<"$line")
    pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line")
    if [ -z "$pid" ] || [ ! -r "/proc/$pid/cmdline" ]; then
      holder="a process of another user on $address (sudo ss -ltnp 'sport = :$1' names it)"
      return 0
    fi
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed 's/ *$//' | cut -c1-200)
    holder="$(cat "/proc/$pid/comm") (pid $pid, user $(stat -c %U "/proc/$pid")) on $address: $cmd"
    # Another checkout's embedded cluster: say which, since 'make stop' there frees the port.
    datadir=$(sed -n 's/.* -D \([^ ]*\).*/\1/p' <<<"$cmd")
    checkout=""
    if [ -n "$datadir" ] && [ -r "$(dirname "$datadir")/project" ]; then checkout=$(cat "$(dirname "$datadir")/project")
    elif [ "${datadir%/.nightshift/data}" != "$datadir" ]; then checkout=${datadir%/.nightshift/data}; fi
    [ -z "$checkout" ] || holder="$holder"$'\n'"local-db: that is the embedded cluster of the checkout in $checkout ('make stop' there frees the port)"
    return 0
  fi
  # Without ss (iproute2): a connection attempt tells whether 127.0.0.1:$1 is taken.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 1
  holder="a process listening on 127.0.0.1:$1"
}

# A free port to suggest, above the ones the project itself uses (54321 API, 54329 database,
# 54330-54331 demo, 54337-54349 chaos suite).
free_port() {
  local p
  for p in $(seq 54350 54399); do port_taken "$p" || { echo "$p"; return 0; }; done
  echo 54399
}

refuse_taken_port() {
  local taken_by=$holder suggestion
  suggestion=$(free_port)
  {
    echo "local-db: port $port is taken by $taken_by"
    echo "local-db: give this checkout's cluster another port, e.g. $suggestion (free now):"
    echo "local-db:     export NIGHTSHIFT_DB_PORT=$suggestion   # make db, run, test and serve all follow it"
    echo "local-db:     make db"
    echo "local-db: or once:  NIGHTSHIFT_DB_PORT=$suggestion make db   (or set [db] port in supabase-like-config/config.toml)"
  } >&2
  exit 1
}

init_cluster() {
  prepare_home
  say "creating cluster in $data (owner: $owner)"
  if [ "$external" = yes ]; then
    say "postgres cannot enter ${blocked:-the project folder}, so the cluster lives outside the project (.nightshift/cluster points to it)"
  fi
  as_owner "$pgbin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
    || { cat "$state/initdb.log" >&2; die "initdb failed (log: $state/initdb.log)"; }
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
  need_pg
  locate
  # The cluster is found by the hash even when .nightshift/ was deleted by hand: point to it again.
  if [ "$external" = yes ] && is_root && [ ! -L "$pointer" ] && [ -e "$data/PG_VERSION" ]; then
    mkdir -p "$state"; ln -sfn "$home" "$pointer"
  fi
  if [ "$external" = yes ] && ! is_root; then
    die "this checkout's cluster was created by root in $home (.nightshift/cluster): run make as root, or 'make clean-db' as root to start over"
  fi
  if [ -e "$data/PG_VERSION" ] && ! is_root && [ "$owner" != "$(id -un)" ]; then
    die "the cluster in $data belongs to $owner, not to you ($(id -un)): run make as $owner, or as root 'make clean-db' to start over"
  fi
  # A cluster in .nightshift/ whose owner cannot enter the project (moved since, or a user's
  # cluster in a folder that user cannot reach): pg_ctl would fail with a bare permission error.
  if is_root && [ "$external" = no ] && [ "$owner" != root ] && [ -e "$data/PG_VERSION" ]; then
    blocked=$(blocked_for "$owner" "$project")
    [ -z "$blocked" ] || die "the cluster in $data belongs to $owner, who cannot enter $blocked: move the checkout where $owner can, or 'make clean-db' (deletes its data) so that make db recreates it outside the project"
  fi
  if running; then
    local actual; actual=$(postmaster_port)
    if [ -n "$actual" ] && [ "$actual" != "$port" ]; then
      die "this checkout's cluster already runs on port $actual, not $port: 'make stop' first, or use NIGHTSHIFT_DB_PORT=$actual"
    fi
    say "already running on 127.0.0.1:$port (socket $sock)"
  else
    # Checked before initdb and pg_ctl: a taken port is named with its process, not left to a
    # "could not bind" in the server's log after a minute of retries.
    if port_taken "$port"; then refuse_taken_port; fi
    [ -f "$data/PG_VERSION" ] || init_cluster
    mkdir -p "$sock"
    is_root && chown "$owner" "$sock"
    # A pid file left by a crash names a server that is gone: the file is stale.
    if [ -f "$data/postmaster.pid" ]; then
      say "removing stale postmaster.pid (server pid $(postmaster_pid) is gone)"
      rm -f "$data/postmaster.pid"
    fi
    # After a crash the old server's children may hold its shared memory for a moment
    # ("pre-existing shared memory block is still in use"): try again briefly.
    local started=no
    for _ in 1 2 3 4 5; do
      if as_owner "$pgbin/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
        started=yes; break
      fi
      rm -f "$data/postmaster.pid"
      # Someone took the port meanwhile: say so rather than retrying.
      if port_taken "$port"; then refuse_taken_port; fi
      sleep 2
    done
    [ "$started" = yes ] || { tail -n 20 "$log" >&2; die "could not start PostgreSQL (log: $log)"; }
    say "started on 127.0.0.1:$port (socket $sock, log $log)"
  fi
  if ! as_owner "$pgbin/psql" -X -h "$sock" -p "$port" -U postgres -d postgres -tAc \
      "select 1 from pg_database where datname = '$database'" | grep -q 1; then
    as_owner "$pgbin/createdb" -h "$sock" -p "$port" -U postgres "$database"
    say "created database $database"
  fi
}

stop() {
  locate
  if [ -e "$data/PG_VERSION" ] && running; then
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    say "stopped"
  else
    say "not running"
  fi
}

# Deletes the cluster and .nightshift/ (all local data), the external folder included. The
# external folder is removed only when it carries this project's marker: a pointer edited by
# hand never makes this delete someone else's folder.
clean() {
  locate
  if [ -e "$data/PG_VERSION" ]; then need_pg; stop; fi
  if [ "$external" = yes ] && [ -e "$home" ]; then
    if [ "$(cat "$home/project" 2>/dev/null)" = "$project" ]; then
      rm -rf "$home"
      say "removed $home"
    else
      echo "local-db: left $home in place: it does not name $project in its 'project' file" >&2
    fi
  fi
  rm -rf "$state"
  say "removed $state"
}

case "${1:-}" in
  start) start ;;
  stop) need_pg; stop ;;
  status)
    need_pg; locate
    if [ -e "$data/PG_VERSION" ] && running; then echo "running on 127.0.0.1:$(postmaster_port) (data $data, log $log)"
    else echo "stopped (data $data)"; exit 3; fi ;;
  clean) clean ;;
  # A folder for another cluster of this checkout (the chaos suite's) where its owner can work:
  # .nightshift/NAME, or NAME inside the external folder when postgres cannot enter the project.
  dir)
    [ -n "${2:-}" ] || die "usage: local-db.sh dir NAME"
    locate
    [ "$external" = yes ] && prepare_home
    echo "$home/$2" ;;
  url) echo "postgresql://postgres@127.0.0.1:$port/$database" ;;            # the owner: migrations, tests, psql
  app-url) echo "postgresql://nightshift_app@127.0.0.1:$port/$database" ;;  # the server and workers (0040_auth.sql)
  *) die "usage: local-db.sh start|stop|status|clean|url|app-url|dir NAME" ;;
esac
