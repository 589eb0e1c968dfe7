#!/usr/bin/env bash
# The build matrix beyond scripts/test-all.sh (whose main pass is gcc RelWithDebInfo):
# Debug and Release with gcc and clang, warnings as errors, each running the unit tests (the
# CLI, device and interop suites run in test-all.sh's passes); then the programs alone as a
# user builds them (Release, warnings not errors, no tests) with gcc and clang.
# Usage: scripts/build-matrix.sh [STUB_PACKAGE_DIR] (an unpacked esptool-js package, so that
# each configuration does not fetch the flasher stubs again).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
stubs=()
[ -n "${1:-}" ] && stubs=(-DMP_STUB_PACKAGE_DIR="$1")
# the unit tests: what differs between compilers and optimisation levels shows there first
fast=(-L unit -E '^test_sim_program$')
status=0
mkdir -p build-matrix
for cc in gcc clang; do
  for type in Debug Release; do
    dir=build-matrix/$cc-$type
    start=$(date +%s)
    if CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DMP_WERROR=ON "${stubs[@]}" \
         >"$dir.log" 2>&1 && cmake --build "$dir" -j"$jobs" >>"$dir.log" 2>&1; then
      if (cd "$dir" && ctest -j"$jobs" "${fast[@]}" --output-on-failure >>"../$cc-$type.log" 2>&1); then
        echo "=== $cc $type (-Werror): built, $(grep -o '[0-9]*% tests passed.*' "$dir.log" | tail -1) ($(($(date +%s) - start)) s)"
      else
        echo "=== $cc $type (-Werror): TESTS FAILED"
        grep -E "Failed|FAIL" "$dir.log" | head -20
        status=1
      fi
    else
      echo "=== $cc $type (-Werror): BUILD FAILED"
      grep -E "error|warning" "$dir.log" | head -20
      status=1
    fi
  done
  # As a user builds it: no -Werror, no tests, Release.
  dir=build-matrix/$cc-user
  if CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "${stubs[@]}" \
       >"$dir.log" 2>&1 && cmake --build "$dir" -j"$jobs" >>"$dir.log" 2>&1 &&
     "$dir/src/tool/mp-image-tool-esp32" --version >>"$dir.log"; then
    echo "=== $cc Release, user build (programs only, warnings not errors): built and runs"
  else
    echo "=== $cc Release, user build: FAILED"
    tail -20 "$dir.log"
    status=1
  fi
done
exit $status
