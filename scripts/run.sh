#!/usr/bin/env bash
# Builds ates and starts `ates serve` with its embedded defaults (data in
# ./ates-data, HTTP on 127.0.0.1:8080). Extra arguments go to `ates serve`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

"$root/scripts/install-deps.sh"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ates-ccache}"
export CCACHE_BASEDIR="$root"
# Only what `ates serve` runs: the binary, the four plugins and the UI; the
# tests, benchmarks and the lab build with scripts/test.sh.
(cd "$root" && cmake --preset default >/dev/null &&
  cmake --build --preset default --target ates ates_plugin_auth ates_plugin_tracker ates_plugin_accounting \
    ates_plugin_analytics ates_ui)
# The first start creates `admin` with a random password: shown below when
# stdout is a terminal, else written to <data>/initial-admin-password (0600;
# the log says where). It is never logged.
if [ -t 1 ]; then
  echo "run.sh: on a first start the admin's password is shown once below" >&2
else
  echo "run.sh: on a first start the admin's password is in <data>/initial-admin-password (default ./ates-data); read it, then delete it" >&2
fi
exec "$root/build/server/ates" serve "$@"
