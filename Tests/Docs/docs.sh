#!/usr/bin/env bash
# `make docs`: the DocC archives of the library modules, and the check that every public symbol
# has a doc comment (issue 13 §1).
#
# 1. `swift package dump-symbol-graph` builds what is not built yet and writes each module's
#    public symbol graph to .build/<triple>/symbolgraph/ (about 20 s after a build).
# 2. The toolchain's own `docc convert` turns each module's graphs, with its catalog when it has
#    one (Sources/<Module>/<Module>.docc), into .build/docs/<Module>.doccarchive, treating
#    warnings as errors: a broken symbol link, an unknown article or a bad topic fails the build.
#    The toolchain's docc rather than the swift-docc-plugin package: it ships with every Swift
#    toolchain, so the docs need no dependency that every application importing Nightshift
#    would resolve and fetch, and this script controls the flags (--warnings-as-errors).
# 3. Tests/Docs/check_public_docs.py over the same graphs (after its own tests).
#
#   DOCS_MODULES   modules to build archives for (default: the library products' modules)
#   DOCS_EXCLUDE   paths whose undocumented symbols are listed but do not fail the check
#   DOCC           the docc binary (default: the one beside swift)
set -euo pipefail
cd "$(dirname "$0")/../.."

modules=${DOCS_MODULES:-NightshiftKit NightshiftCLI Engine Server Config Postgres HTTPClient}
docc=${DOCC:-$(dirname "$(readlink -f "$(command -v swift)")")/docc}
[ -x "$docc" ] || { echo "docs: no docc beside swift ($docc); set DOCC" >&2; exit 1; }
out=.build/docs
mkdir -p "$out"
started=$(date +%s)

log=$out/symbolgraph.log
marker=$out/.started
touch "$marker"
# It exits non-zero when the package's test modules are not built (`make build` builds no tests):
# their graphs are not needed. What is needed: the build succeeded, and every module this
# script reads got a fresh graph.
# shellcheck disable=SC2086  # SWIFT_FLAGS holds several words on purpose
swift package ${SWIFT_FLAGS:-} dump-symbol-graph --minimum-access-level public >"$log" 2>&1 || true
graphs=$(sed -nE 's/^Files written to (.*)$/\1/p' "$log" | tail -n 1)
checked="$modules $(python3 Tests/Docs/check_public_docs.py --list-modules)"
for module in $checked; do
  if [ -z "$graphs" ] || [ -z "$(find "$graphs/$module.symbols.json" -newer "$marker" 2>/dev/null)" ]; then
    grep -E 'error:' "$log" | grep -v "nightshiftPackage" | head -20 >&2 || true
    tail -n 20 "$log" >&2
    echo "docs: no fresh symbol graph for $module (log: $log)" >&2
    exit 1
  fi
done
echo "docs: symbol graphs in ${graphs#"$PWD"/} ($(( $(date +%s) - started ))s)"

status=0
for module in $modules; do
  # docc takes every graph in the directory as this module's: give it this module's alone.
  dir=$out/graphs/$module
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$graphs/$module.symbols.json" "$dir/"
  cp "$graphs/$module"@*.symbols.json "$dir/" 2>/dev/null || true
  catalog=Sources/$module/$module.docc
  args=(--additional-symbol-graph-dir "$dir" --output-path "$out/$module.doccarchive" --warnings-as-errors
        --fallback-display-name "$module" --fallback-bundle-identifier "nightshift.$module")
  [ -d "$catalog" ] && args=("$catalog" "${args[@]}")
  if "$docc" convert "${args[@]}" >"$out/$module.log" 2>&1; then
    echo "docs: $out/$module.doccarchive${catalog:+$([ -d "$catalog" ] && echo " (with $catalog)")}"
  else
    cat "$out/$module.log" >&2
    echo "docs: docc convert failed for $module" >&2
    status=1
  fi
done

# The check's own rules first, on a made-up module: a check that cannot fail proves nothing.
python3 Tests/Docs/test_check_public_docs.py 2>"$out/check-tests.log" || { cat "$out/check-tests.log" >&2; status=1; }
excludes=()
for path in ${DOCS_EXCLUDE:-}; do excludes+=(--exclude "$path"); done
python3 Tests/Docs/check_public_docs.py --symbol-graph-dir "$graphs" "${excludes[@]}" || status=1
echo "docs: $(( $(date +%s) - started ))s"
exit $status
