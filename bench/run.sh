#!/usr/bin/env bash
# Runs every benchmark under bench/ and prints its figures with the machine they ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in bench/*/run.sh; do
  echo "== $script"
  bash "$script"
done
