#!/usr/bin/env bash
# Installs every Debian package ates needs to build, run and test, and only
# those that are missing, so a fresh Debian 12 machine needs nothing by hand.
#
#   scripts/install-deps.sh          build + run (compilers, libraries)
#   scripts/install-deps.sh --test   also what the tests need (clang for the
#                                    fuzzers, clang-format and clang-tidy for
#                                    the checks, chromium + playwright-core
#                                    for the browser tests, the contracts'
#                                    npm validators)
#
# It also fetches Dear ImGui's sources for the WebAssembly UI into
# ${ATES_IMGUI_SRC:-/var/cache/ates/imgui-1.86} (see the end of this file).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

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
  libtomlplusplus-dev libcurl4-openssl-dev libssl-dev libhowardhinnant-date-dev tzdata
  libimgui-dev emscripten binaryen dpkg-dev
)
test_packages=(
  clang clang-format clang-tidy libclang-rt-14-dev mold openssl python3-prometheus-client python3-jwt python3-cryptography
  python3-aiosmtpd
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

# Dear ImGui's core sources (imgui.cpp, the GLFW and OpenGL3 backends) for
# web-wasm/: libimgui-dev ships no core .cpp, so take Debian's source package.
# A private apt configuration with its own deb-src line and lists keeps the
# machine's sources and package lists as they are; the result lives outside
# the clone so fresh clones and every build directory share it.
imgui_src="${ATES_IMGUI_SRC:-/var/cache/ates/imgui-1.86}"
imgui_version="1.86+ds-1"
debian_mirror="${ATES_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ ! -f "$imgui_src/imgui.cpp" ]]; then
  echo "install-deps: fetching the imgui $imgui_version source package into $imgui_src"
  mkdir -p "$(dirname "$imgui_src")"
  # Unpack beside the destination so the final rename is atomic: an
  # interrupted fetch never leaves a half-filled $imgui_src behind.
  work="$(mktemp -d "$(dirname "$imgui_src")/.imgui-fetch.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $debian_mirror bookworm main" \
    >"$work/sources.list"
  apt_private=(
    -o Dir::Etc::SourceList="$work/sources.list"
    -o Dir::Etc::SourceParts=/nonexistent
    -o Dir::State::Lists="$work/lists"
    -o Dir::Cache="$work/cache"
    # The private directories belong to the caller, whom apt's _apt sandbox
    # user could not write to.
    -o APT::Sandbox::User="$(id -un)"
  )
  apt-get "${apt_private[@]}" -qq update
  # apt checks the files against the signed Sources index it just fetched.
  (cd "$work" && apt-get "${apt_private[@]}" -qq source --download-only "imgui=$imgui_version")
  dpkg-source --no-check -x "$work/imgui_$imgui_version.dsc" "$work/imgui" >/dev/null
  rm -rf "$imgui_src"
  mv "$work/imgui" "$imgui_src"
  rm -rf "$work"
  trap - EXIT
fi

# The tests' npm packages, each folder pinned by its package-lock.json:
# playwright-core for the browser tests (tests/browser/), and the contracts'
# third-party validators (tests/contracts/). node_modules/ stays in the
# clone but out of git; it is installed again whenever the lock changed
# (its hash is kept in node_modules/.ates-lock), not only when missing.
if (( want_test )); then
  for folder in tests/browser tests/contracts; do
    dir="$root/$folder"
    lock_hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [[ "$(cat "$dir/node_modules/.ates-lock" 2>/dev/null)" != "$lock_hash" ]]; then
      echo "install-deps: installing the npm packages of $folder"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      echo "$lock_hash" >"$dir/node_modules/.ates-lock"
    fi
  done
fi
