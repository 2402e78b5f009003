#!/usr/bin/env bash
# Checks the C++ formatting (scripts/check-format.sh) and that no plugin's
# headers are included from outside it (scripts/check-includes.py), that the
# plugin API's version was decided on (scripts/check-plugin-api.py), runs clang-tidy
# (scripts/check-tidy.py), builds ates with warnings as errors and runs
# every test: unit, integration, system, security and browser in the default
# build, then the fuzz targets' smoke run in the clang build. Installs
# whatever it needs first.
#
#   scripts/test.sh             everything above
#   scripts/test.sh --sanitize  unit and integration tests under ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test
[[ "${1:-}" == "--sanitize" ]] || scripts/check-format.sh
# Nothing outside plugins/<name>/ includes that plugin's headers.
[[ "${1:-}" == "--sanitize" ]] || scripts/check-includes.py
# A change to the plugin API's headers comes with a decision on its version.
[[ "${1:-}" == "--sanitize" ]] || scripts/check-plugin-api.py
# clang-tidy over the product's sources; each is checked again only when
# what it compiles changed (the cache is outside the clone).
[[ "${1:-}" == "--sanitize" ]] || scripts/check-tidy.py
# ccache keeps its cache outside the clone, so fresh clones build fast.
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ates-ccache}"
# Paths relative to the clone, so a clone elsewhere hits the same entries.
export CCACHE_BASEDIR="$PWD"

if [[ "${1:-}" == "--sanitize" ]]; then
  cmake --preset asan
  cmake --build --preset asan
  ctest --preset asan -j2
  exit 0
fi

cmake --preset default
cmake --build --preset default
ctest --preset default -j2

cmake --preset fuzz
cmake --build --preset fuzz
ctest --preset fuzz
