#!/usr/bin/env bash
# Install what building and testing need on Debian 12 (run as root, or with sudo available).
#   scripts/install-deps.sh          the build, the tests and the fuzzers
#   scripts/install-deps.sh --all    also what CI checks beyond them: the Windows build and
#                                    its tests under Wine, the WebAssembly build, man page
#                                    lint, shell completions
# Only the programs themselves need no more than: build-essential cmake zlib1g-dev libssl-dev.
set -euo pipefail
# python3-jsonschema: the --json documents of the tests are validated against docs/json-schema.json
# dosfstools and mtools: the FAT tests check written volumes with fsck.fat -n and mdir.
pkgs=(build-essential cmake pkg-config zlib1g-dev libssl-dev libcmocka-dev clang libclang-rt-14-dev
      clang-format git python3 python3-jsonschema dosfstools mtools)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ "${1:-}" = --all ]; then
  # Windows cross build (MinGW-w64, its zlib) and Wine to run it; man, mandoc and groff for
  # the man page checks; the shells whose completions are tested; dpkg-dev for the .deb.
  # emscripten for the WebAssembly build (dpkg-dev unpacks the zlib and OpenSSL sources it
  # compiles), chromium to test the web page in.
  pkgs+=(gcc-mingw-w64-x86-64 libz-mingw-w64-dev wine wine64 man-db mandoc groff-base
         bash-completion zsh fish dpkg-dev emscripten chromium)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
