#!/usr/bin/env bash
# Builds ates and starts `ates serve` with its embedded defaults (data in
# ./ates-data, HTTP on 127.0.0.1:8080). Extra arguments go to `ates serve`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

"$root/scripts/install-deps.sh"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ates-ccache}"
export CCACHE_BASEDIR="$root"
(cd "$root" && cmake --preset default >/dev/null && cmake --build --preset default)
exec "$root/build/server/ates" serve "$@"
