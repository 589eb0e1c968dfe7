#!/usr/bin/env bash
# The whole test suite: a normal build, the same tests under AddressSanitizer + UBSan, a short
# run of every libFuzzer harness (clang), the Windows build under Wine when MinGW-w64 and
# Wine are installed, and the WebAssembly CLI under Node when emscripten is. Prints each pass's
# summary.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# The device, CLI and interop tests mostly wait on virtual serial lines and child programs:
# twice as many at once as there are cores (the fuzzers, which compute, get one per core).
test_jobs=$((jobs * 2))
status=0

run_pass() { # name, build dir, ctest selection (e.g. "-LE fuzz"), cmake args...
  local name=$1 dir=$2 select=$3
  shift 3
  echo "=== $name ==="
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  # shellcheck disable=SC2086 # $select holds several words on purpose
  (cd "$dir" && ctest --output-on-failure -j"$test_jobs" $select) || status=1
}

run_pass "tests" build "-LE fuzz" -DSANITIZE=OFF -DFUZZ=OFF
# The esptool-js interop suite checks the virtual chip against a client we did not write; it
# runs once, in the normal pass. Everything of ours runs again under the sanitizers.
run_pass "tests under ASan+UBSan" build-asan "-LE fuzz|interop" -DSANITIZE=ON -DFUZZ=OFF
if command -v clang >/dev/null 2>&1; then
  CC=clang test_jobs=$jobs run_pass "fuzzers (${FUZZ_SECONDS:-3} s each)" build-fuzz "-L fuzz" \
    -DFUZZ=ON -DFUZZ_SECONDS="${FUZZ_SECONDS:-3}"
else
  echo "=== fuzzers skipped: clang not installed ==="
fi
# The Windows program (MinGW-w64) under Wine against this build: files, --fs, COM ports.
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 && command -v wine >/dev/null 2>&1; then
  echo "=== Windows build under Wine ==="
  WIN_CMAKE_ARGS=-DMP_WERROR=ON bash scripts/test-windows.sh build build-win || status=1
else
  echo "=== Windows tests skipped: needs gcc-mingw-w64-x86-64, libz-mingw-w64-dev and wine" \
    "(scripts/install-deps.sh --all) ==="
fi
# The WebAssembly CLI under Node against this build, when emscripten is installed.
if command -v emcc >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  echo "=== WebAssembly CLI under Node ==="
  bash scripts/test-wasm.sh build build-wasm || status=1
else
  echo "=== WebAssembly tests skipped: needs emscripten and nodejs (scripts/install-deps.sh --all) ==="
fi
exit $status
