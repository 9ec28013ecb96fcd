#!/usr/bin/env bash
# The platform must not know its packs (issue 13 §1): no module an application imports names a
# pack of this repository, in code or in comments, and none depends on a pack's target. A pack
# that needs something from the platform gets it through the public API (Pack, ConfigSection,
# APIRoutes, EdgeFunction, NightshiftFunction), never by being named in it.
set -euo pipefail
cd "$(dirname "$0")/../.."

platform=(Config Engine Server Migrations Notifications Observability Postgres HTTPClient ServiceTokens NightshiftKit NightshiftCLI)
packs=$(ls Sources/Packs)
pattern=$(echo "$packs" | tr '\n' '|' | sed 's/|$//')
status=0

for module in "${platform[@]}"; do
  if hits=$(grep -rniE "\\b($pattern)\\b" "Sources/$module"); then
    echo "Sources/$module names a pack:" >&2
    echo "$hits" | sed 's/^/  /' >&2
    status=1
  fi
done

# Each platform target's dependencies in Package.swift, read from `swift package describe`'s
# JSON would need a build; the manifest's own text is enough: a platform target's block must not
# list a pack's target.
python3 - "$pattern" "${platform[@]}" <<'PY' || status=1
import re, sys
pattern, platform = sys.argv[1], sys.argv[2:]
manifest = open("Package.swift", encoding="utf-8").read()
failed = False
for block in re.findall(r"\.(?:target|executableTarget)\(\s*name:\s*\"([^\"]+)\"(.*?)\n        \)", manifest, re.S):
    name, body = block
    if name in platform and re.search(r"\"(%s)Pack\"" % "|".join(p.capitalize() for p in pattern.split("|")), body):
        print(f"Package.swift: platform target {name} depends on a pack", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
PY

[ $status -eq 0 ] && echo "boundaries: the platform modules (${platform[*]}) name no pack ($(echo $packs | tr '\n' ' '))"
exit $status
