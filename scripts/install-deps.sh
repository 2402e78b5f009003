#!/usr/bin/env bash
# Installs every Debian package ates needs to build, run and test, and only
# those that are missing, so a fresh Debian 12 machine needs nothing by hand.
#
#   scripts/install-deps.sh          build + run (compilers, libraries)
#   scripts/install-deps.sh --test   also what the tests need (clang for the
#                                    fuzzers, chromium + playwright-core for
#                                    the browser tests)
set -euo pipefail

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

build_packages=(
  build-essential cmake ninja-build pkg-config ccache git
  librestinio-dev libasio-dev libfmt-dev
  libzmq3-dev cppzmq-dev
  liblmdb-dev liblmdb++-dev
  libmsgpack-cxx-dev
  libboost-test-dev
  libsodium-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libtomlplusplus-dev libcurl4-openssl-dev
  libimgui-dev emscripten binaryen
)
test_packages=(
  clang libclang-rt-14-dev mold python3-prometheus-client
  chromium
)

packages=("${build_packages[@]}")
(( want_test )) && packages+=("${test_packages[@]}")
# Node.js (the emscripten toolchain runs on it; npm fetches playwright-core):
# a machine that already has node and npm, from any source, keeps them,
# because Debian's npm conflicts with other builds of nodejs.
command -v node >/dev/null || packages+=(nodejs)
(( want_test )) && ! command -v npm >/dev/null && packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if (( ${#missing[@]} )); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
