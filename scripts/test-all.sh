#!/usr/bin/env bash
# The whole test suite: a normal build, the same tests under AddressSanitizer + UBSan, and a short
# run of every libFuzzer harness (clang). Prints ctest's summary for each pass.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
status=0

run_pass() { # name, build dir, ctest label filter, cmake args...
  local name=$1 dir=$2 labels=$3
  shift 3
  echo "=== $name ==="
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  if [ -n "$labels" ]; then
    (cd "$dir" && ctest --output-on-failure -j"$jobs" -L "$labels") || status=1
  else
    (cd "$dir" && ctest --output-on-failure -j"$jobs" -LE fuzz) || status=1
  fi
}

run_pass "tests" build "" -DSANITIZE=OFF -DFUZZ=OFF
run_pass "tests under ASan+UBSan" build-asan "" -DSANITIZE=ON -DFUZZ=OFF
if command -v clang >/dev/null 2>&1; then
  CC=clang run_pass "fuzzers (${FUZZ_SECONDS:-10} s each)" build-fuzz fuzz -DFUZZ=ON \
    -DFUZZ_SECONDS="${FUZZ_SECONDS:-10}"
else
  echo "=== fuzzers skipped: clang not installed ==="
fi
exit $status
