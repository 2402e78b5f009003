#!/usr/bin/env bash
# Regenerates the UI screenshots that the README shows: runs the browser
# tests (each scenario saves its screenshots under
# <build>/tests/browser/artifacts) and copies the chosen ones into
# docs/screenshots/. Nothing is drawn by hand.
#
#   scripts/screenshots.sh [BUILD_DIR]     # default: build (the default preset)
#
# Needs a build of ates and the UI (cmake --build --preset default) and the
# browser tests' dependencies (scripts/install-deps.sh --test).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
artifacts="$build/tests/browser/artifacts"
# The README's pictures, as the scenarios name them (docs/ui.md lists them).
shots=(login role-admin@2x worker manager accounting close-waiting close events account-days)

# Stale pictures from an earlier run must not be copied as new ones.
for shot in "${shots[@]}"; do rm -f "$artifacts/$shot.png"; done
ctest --test-dir "$build" -L browser -j1 --output-on-failure

mkdir -p "$root/docs/screenshots"
for shot in "${shots[@]}"; do
  cp "$artifacts/$shot.png" "$root/docs/screenshots/$shot.png"
done
echo "copied ${#shots[@]} screenshots into docs/screenshots/"
