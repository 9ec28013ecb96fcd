#!/usr/bin/env bash
# The first-run test (`make first-run`, part of `make test`; issue 13 §4): fresh clones of this
# repository, each in a 0700 folder under a 0700 parent, run `make db` the way a newcomer would:
#   1. as root: postgres cannot enter the clone (as with a checkout in root's home), so the
#      cluster must live in a folder of postgres, with .nightshift/cluster pointing to it;
#   2. as an ordinary user (FIRST_RUN_USER, created if missing, with a 0700 home; the current
#      user when this runs unprivileged): the cluster is that user's, no runuser;
#   3. on a taken port: a second clone's `make db` on a port the first one holds must refuse,
#      name who holds it and say how to pick another (NIGHTSHIFT_DB_PORT=…).
# Each time psql must connect through the URLs the Makefile derives; then each cluster is
# stopped and `make clean-db` must remove it, the external folder included. No Swift build;
# ports FIRST_RUN_PORT (54412) and the next two (never the shared development cluster's).
# The clones hold HEAD plus the working tree's uncommitted changes to tracked files (git stash
# create), so the test checks what is about to be committed; in CI that is HEAD.
set -euo pipefail

project=$(cd "$(dirname "$0")/../.." && pwd -P)
port=${FIRST_RUN_PORT:-54412}
user_port=$((port + 1))
mismatch_port=$((port + 2))
test_user=${FIRST_RUN_USER:-nightshift-firstrun}
started=$SECONDS
failures=0
clones=()     # "owner:path" of every clone, for the clean-up
parents=()

say() { printf '\n\033[1mfirst-run: %s\033[0m\n' "$*"; }
ok() { echo "  ok: $*"; }
fail() { echo "  FAILED: $*" >&2; failures=$((failures + 1)); }
die() { echo "first-run: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as USER (directly when that is us), from /, with a clean environment: none of
# the calling make's variables (MAKEFLAGS, DATABASE_URL…) may leak into the clone's make.
as() {
  local user=$1; shift
  local home; home=$(getent passwd "$user" | cut -d: -f6)
  local env=(env -i "PATH=$PATH" "HOME=$home" "USER=$user" "LANG=C.UTF-8" ${PG_BIN:+"PG_BIN=$PG_BIN"})
  if [ "$user" = "$(id -un)" ]; then (cd / && "${env[@]}" "$@"); else (cd / && runuser -u "$user" -- "${env[@]}" "$@"); fi
}

# make TARGET in a clone as its owner, with NIGHTSHIFT_DB_PORT; output in $out, status in $rc.
make_in() {
  local user=$1 dir=$2 db_port=$3; shift 3
  rc=0
  out=$(as "$user" make -C "$dir" --no-print-directory NIGHTSHIFT_DB_PORT="$db_port" "$@" 2>&1) || rc=$?
  sed 's/^/    | /' <<<"$out"
}

# The URL the clone's Makefile derives (DATABASE_URL or APP_DATABASE_URL) when the port is given
# in the environment (NIGHTSHIFT_DB_PORT=N make …) or on make's command line (make … NIGHTSHIFT_DB_PORT=N).
derived_url() {
  local user=$1 dir=$2 db_port=$3 variable=$4 how=$5
  local rule="print-url: ; @echo \$($variable)"
  if [ "$how" = env ]; then
    as "$user" env NIGHTSHIFT_DB_PORT="$db_port" make -s -C "$dir" --no-print-directory --eval "$rule" print-url
  else
    as "$user" make -s -C "$dir" --no-print-directory NIGHTSHIFT_DB_PORT="$db_port" --eval "$rule" print-url
  fi
}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# A clone in PARENT/home/nightshift: PARENT and home 0700 (as root's home is), the clone 0700,
# owned by USER; its path in $clone. Cloned by us and handed over: the user need not be able to
# read this checkout.
revision=$(git -c safe.directory='*' -C "$project" stash create 2>/dev/null || true)
head=$(git -c safe.directory='*' -C "$project" rev-parse HEAD)
new_clone() {
  local user=$1 parent=$2 name=$3
  mkdir -p "$parent/home"; chmod 0700 "$parent/home"
  clone="$parent/home/$name"
  git -c safe.directory='*' clone -q --no-checkout "$project" "$clone"
  git -c safe.directory='*' -C "$clone" checkout -q --detach "${revision:-$head}"
  chmod 0700 "$clone"
  [ "$user" = "$(id -un)" ] || chown -R "$user:" "$parent"
  clones+=("$user:$clone")
}

cleanup() {
  local entry user dir
  for entry in "${clones[@]}"; do
    user=${entry%%:*}; dir=${entry#*:}
    [ -f "$dir/supabase-like-config/local-db.sh" ] || continue
    as "$user" bash "$dir/supabase-like-config/local-db.sh" clean >/dev/null 2>&1 || true
  done
  for dir in "${parents[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT

command -v ss >/dev/null || die "ss (iproute2) is needed to check the ports"
[ -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl" ] || die "PostgreSQL 15 is not installed (make setup)"
for p in "$port" "$user_port" "$mismatch_port"; do
  port_free "$p" || die "port $p is taken; FIRST_RUN_PORT=N uses N, N+1 and N+2 instead"
done
echo "first-run: testing $head${revision:+ plus uncommitted changes to tracked files} from $project"

# Checks a running cluster of a clone: the URLs follow the port, psql connects through them,
# and the server belongs to the expected OS user.
check_cluster() {
  local user=$1 dir=$2 db_port=$3 server_owner=$4 url app_url pid
  local how
  for how in env argument; do
    url=$(derived_url "$user" "$dir" "$db_port" DATABASE_URL "$how")
    app_url=$(derived_url "$user" "$dir" "$db_port" APP_DATABASE_URL "$how")
    if [ "$url" = "postgresql://postgres@127.0.0.1:$db_port/nightshift" ] \
        && [ "$app_url" = "postgresql://nightshift_app@127.0.0.1:$db_port/nightshift" ]; then
      ok "the Makefile's URLs follow NIGHTSHIFT_DB_PORT=$db_port given as $how ($url, $app_url)"
    else
      fail "the Makefile's URLs do not follow NIGHTSHIFT_DB_PORT=$db_port given as $how: '$url' '$app_url'"
    fi
  done
  # Which server answered, not just that one did: the shared development cluster would too.
  if [ "$(as "$user" psql "$url" -XAtc 'select current_database() || inet_server_port()' 2>&1)" = "nightshift$db_port" ]; then
    ok "psql connects as $user through DATABASE_URL, to the server on port $db_port"
  else
    fail "psql cannot connect to this clone's server through $url"
  fi
  pid=$(ss -Hltnp "sport = :$db_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
  if [ -n "$pid" ] && [ "$(stat -c %U "/proc/$pid")" = "$server_owner" ]; then
    ok "the server (pid $pid) runs as $server_owner"
  else
    fail "the server on port $db_port does not run as $server_owner (pid '${pid}')"
  fi
}

# Stops a clone's cluster and cleans it; the external folder (if any) must be gone with it.
stop_and_clean() {
  local user=$1 dir=$2 db_port=$3 external=$4
  make_in "$user" "$dir" "$db_port" stop
  [ "$rc" = 0 ] && grep -q "local-db: stopped" <<<"$out" && port_free "$db_port" \
    && ok "make stop stopped it; port $db_port is free" || fail "make stop (rc $rc)"
  make_in "$user" "$dir" "$db_port" clean-db
  if [ "$rc" = 0 ] && [ ! -e "$dir/.nightshift" ] && { [ -z "$external" ] || [ ! -e "$external" ]; }; then
    ok "make clean-db removed .nightshift/${external:+ and $external}"
  else
    fail "make clean-db (rc $rc) left $dir/.nightshift or ${external:-nothing}"
  fi
}

if is_root; then
  # ---- 1. root, a clone postgres cannot enter --------------------------------------------------
  parent=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-first-run.XXXXXX"); parents+=("$parent")
  new_clone root "$parent" nightshift; root_clone=$clone
  say "1. as root in $root_clone (0700, under 0700 folders): make db on port $port"
  runuser -u postgres -- test -x "$root_clone" 2>/dev/null && fail "postgres can enter $root_clone: the test proves nothing"
  make_in root "$root_clone" "$port" db
  if [ "$rc" = 0 ] && [ -L "$root_clone/.nightshift/cluster" ]; then
    external=$(readlink "$root_clone/.nightshift/cluster")
    ok "make db started it; the cluster lives in $external"
    [ "$(stat -c %U:%a "$external")" = postgres:700 ] && [ "$(stat -c %U "$external/data")" = postgres ] \
      && ok "$external is postgres's, 0700" || fail "$external: $(stat -c %U:%a "$external")"
    check_cluster root "$root_clone" "$port" postgres
    make_in root "$root_clone" "$port" db
    [ "$rc" = 0 ] && grep -q "already running on 127.0.0.1:$port" <<<"$out" && ok "a second make db finds it running" \
      || fail "a second make db (rc $rc)"
    make_in root "$root_clone" "$mismatch_port" db
    [ "$rc" != 0 ] && grep -q "already runs on port $port, not $mismatch_port" <<<"$out" \
      && ok "make db with another NIGHTSHIFT_DB_PORT while it runs says which port it runs on" \
      || fail "make db on port $mismatch_port while running on $port (rc $rc)"

    # ---- 3a. a second clone (root) on the port the first one holds -----------------------------
    new_clone root "$parent" other; other=$clone
    say "3a. as root, a second clone's make db on port $port, which the first one holds"
    make_in root "$other" "$port" db
    if [ "$rc" != 0 ] && grep -q "port $port is taken by postgres (pid [0-9]*, user postgres)" <<<"$out" \
        && grep -q "checkout in $root_clone" <<<"$out" && grep -q "NIGHTSHIFT_DB_PORT=[0-9]* make db" <<<"$out"; then
      ok "refused, naming the process, the checkout and NIGHTSHIFT_DB_PORT"
    else
      fail "make db on a taken port (rc $rc) did not say who holds it and how to pick another"
    fi
    [ ! -e "$other/.nightshift/data" ] && [ ! -L "$other/.nightshift/cluster" ] && ok "and created no cluster" \
      || fail "a cluster was created for the refused clone"
  else
    fail "make db as root (rc $rc), or no .nightshift/cluster pointer"
    external=""
  fi
  root_external=$external
fi

# ---- 2. an ordinary user in a 0700 home -------------------------------------------------------
if is_root; then
  user=$test_user
  if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --home-dir "/home/$user" --shell /bin/bash "$user"
    echo "first-run: created the user $user"
  fi
  user_home=$(getent passwd "$user" | cut -d: -f6)
  mkdir -p "$user_home"; chown "$user:" "$user_home"; chmod 0700 "$user_home"
  parent=$(mktemp -d "$user_home/first-run.XXXXXX"); parents+=("$parent")
else
  user=$(id -un)
  parent=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-first-run.XXXXXX"); parents+=("$parent")
fi
new_clone "$user" "$parent" nightshift; user_clone=$clone

if is_root && [ -n "${root_external:-}" ]; then
  say "3b. as $user, make db on port $port, which root's cluster holds"
  make_in "$user" "$user_clone" "$port" db
  [ "$rc" != 0 ] && grep -q "port $port is taken by" <<<"$out" && grep -q "NIGHTSHIFT_DB_PORT=" <<<"$out" \
    && ok "refused, saying how to pick another port" || fail "make db as $user on a taken port (rc $rc)"
fi

say "2. as $user in $user_clone: make db on port $user_port"
make_in "$user" "$user_clone" "$user_port" db
if [ "$rc" = 0 ] && [ "$(stat -c %U "$user_clone/.nightshift/data")" = "$user" ] && [ ! -e "$user_clone/.nightshift/cluster" ]; then
  ok "make db started it in .nightshift/data, owned by $user"
  check_cluster "$user" "$user_clone" "$user_port" "$user"
  if [ "$(as "$user" psql -X -h "$user_clone/.nightshift/run" -p "$user_port" -U postgres -d nightshift -Atc 'select 1' 2>&1)" = 1 ]; then
    ok "its Unix socket in .nightshift/run works"
  else
    fail "no connection through the socket in $user_clone/.nightshift/run"
  fi
  if ! is_root; then
    # Unprivileged, the port-taken check runs between two clusters of this user.
    new_clone "$user" "$parent" other; other=$clone
    say "3. as $user, a second clone's make db on port $user_port, which the first one holds"
    make_in "$user" "$other" "$user_port" db
    [ "$rc" != 0 ] && grep -q "port $user_port is taken by postgres (pid" <<<"$out" && grep -q "NIGHTSHIFT_DB_PORT=" <<<"$out" \
      && ok "refused, naming the process and NIGHTSHIFT_DB_PORT" || fail "make db on a taken port (rc $rc)"
  fi
  stop_and_clean "$user" "$user_clone" "$user_port" ""
else
  fail "make db as $user (rc $rc)"
fi

if is_root && [ -n "${root_external:-}" ]; then
  say "1. (end) as root: stop and clean"
  stop_and_clean root "$root_clone" "$port" "$root_external"
fi

echo
if [ "$failures" = 0 ]; then
  echo "first-run: passed in $((SECONDS - started)) s"
else
  echo "first-run: $failures check(s) FAILED ($((SECONDS - started)) s)" >&2
  exit 1
fi
