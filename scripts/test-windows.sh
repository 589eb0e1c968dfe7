#!/usr/bin/env bash
# Cross-compile the Windows program with MinGW-w64 and run it under Wine against the Linux
# build: file operations, --fs, and the serial back-end on COM ports mapped to virtual chips.
# Usage: scripts/test-windows.sh [LINUX_BUILD_DIR [WINDOWS_BUILD_DIR]] (defaults: build,
# build-win). Extra cmake options for the Windows build: WIN_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
linux=$(abs "${1:-build}")
win=$(abs "${2:-build-win}")
jobs=$(nproc 2>/dev/null || echo 2)
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "SKIP: MinGW-w64 not installed (gcc-mingw-w64-x86-64); no Windows build"
  exit 0
fi
# shellcheck disable=SC2086 # WIN_CMAKE_ARGS holds several words on purpose
cmake -S . -B "$win" -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake -DCMAKE_BUILD_TYPE=Release \
  ${WIN_CMAKE_ARGS:-} >/dev/null
cmake --build "$win" -j"$jobs" >/dev/null
TOOL=$linux/src/tool/mp-image-tool-esp32 WINTOOL=$win/src/tool/mp-image-tool-esp32.exe \
  SYNTH=$linux/tools/mp-synth-firmware VCHIP=$linux/sim/esp-virtual-chip \
  bash tests/windows/test_wine.sh
