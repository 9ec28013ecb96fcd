#!/usr/bin/env bash
# `make build` and `make build-tests`: swift build with the compiler's output in a log and only
# progress on the screen, so a newcomer's `make run` shows what it is doing and how far it got
# rather than hundreds of compiler lines; on failure the errors and the log's tail are shown.
#   build.sh PRODUCT...     one `swift build --product PRODUCT` each, in order
#   build.sh --tests        `swift build --build-tests` (the binary and the tests in one build)
# SWIFT_FLAGS is passed to swift build. The log: .nightshift/build.log (BUILD_LOG), rewritten
# by each call. On a terminal one progress line is rewritten in place; otherwise (piped, make
# -s > file) a line every 30 s. With CI=true or VERBOSE=1 the compiler's output streams as it
# always did (and is logged too): a CI job's console is the only record its reader gets, and
# warnings belong there.
set -euo pipefail
cd "$(dirname "$0")/.."

log=${BUILD_LOG:-.nightshift/build.log}
flags=${SWIFT_FLAGS:-}
mkdir -p "$(dirname "$log")"
: >"$log"

say() { echo "build: $*"; }
verbose() { [ "${VERBOSE:-0}" = 1 ] || [ "${CI:-}" = true ]; }
duration() { if [ "$1" -ge 60 ]; then printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); else printf '%ds' "$1"; fi; }

command -v swift >/dev/null 2>&1 || { echo "build: swift not found on PATH (Swift 6 toolchain: https://www.swift.org/install/)" >&2; exit 1; }

# What the build is doing now, from the log's last lines: "[412/961] Compiling Engine", or the
# phase before the first step.
progress() {
  local last
  last=$(tail -c 4000 "$log" | grep -E '^\[[0-9]+/[0-9]+\]' | tail -n 1 || true)
  if [ -n "$last" ]; then
    awk '{ printf "%s %s %s", $1, $2, $3 }' <<<"$last"
  elif grep -q 'Another instance of SwiftPM' "$log"; then
    printf 'waiting for another swift build using .build to finish'
  else
    printf 'resolving packages'
  fi
}

# Runs one swift build; returns its exit status.
build_one() {
  local label=$1; shift
  # shellcheck disable=SC2086  # SWIFT_FLAGS holds several words on purpose
  set -- $flags "$@"
  echo "== swift build $* ($(date -u +%Y-%m-%dT%H:%M:%SZ))" >>"$log"
  if verbose; then
    local status=0
    swift build "$@" 2>&1 | tee -a "$log" || status=$?   # pipefail: swift's status, not tee's
    return "$status"
  fi
  local started=$SECONDS shown=$SECONDS rc=0 pid
  swift build "$@" >>"$log" 2>&1 &
  pid=$!
  trap 'kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; echo; say "interrupted (log: $log)"; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ -t 1 ]; then
      printf '\r\033[Kbuild %s: %s  %s' "$label" "$(progress)" "$(duration $((SECONDS - started)))"
    elif [ $((SECONDS - shown)) -ge 30 ]; then
      echo "build $label: $(progress)  $(duration $((SECONDS - started)))"
      shown=$SECONDS
    fi
  done
  wait "$pid" || rc=$?
  trap - INT TERM
  [ -t 1 ] && printf '\r\033[K'
  local took; took=$(duration $((SECONDS - started)))
  if [ "$rc" = 0 ]; then
    echo "build $label: done in $took"
    return 0
  fi
  {
    echo "build $label: FAILED after $took (swift build exit $rc). Errors:"
    # The compiler prints each diagnostic twice (plain, then under the source excerpt): the
    # plain ones, once each.
    grep -E '^(error: |[^ |].*: error: )' "$log" | awk '!seen[$0]++' | head -n 40 | sed 's/^/  /' || true
    echo "--- the log's last 30 lines ($log) ---"
    tail -n 30 "$log"
    echo "---"
    echo "build: the whole output is in $log"
  } >&2
  return "$rc"
}

if [ ! -d .build ] && ! verbose; then
  say "first build in this checkout: Swift compiles the package and all its dependencies,"
  say "about 8 minutes on 2 cores (README). Progress below; the compiler's output goes to $log."
fi

if [ "${1:-}" = --tests ]; then
  build_one tests --build-tests
else
  [ $# -gt 0 ] || { echo "usage: build.sh PRODUCT... | --tests" >&2; exit 2; }
  for product in "$@"; do build_one "$product" --product "$product"; done
fi
