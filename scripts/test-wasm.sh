#!/usr/bin/env bash
# Build the WebAssembly programs (scripts/build-wasm.sh) and run the CLI under Node against the
# native build: the same commands on every shared firmware must print the same and write the
# same files; then the whole-output CLI cases (tests/cli/test_expected.sh) under Node; then the
# web page in headless Chromium against the native program (tests/web/test_page.js) and with
# a virtual chip through a Web Serial stand-in (tests/web/test_board.js).
# Usage: scripts/test-wasm.sh [NATIVE_BUILD_DIR [WASM_BUILD_DIR]] (defaults: build, build-wasm).
set -euo pipefail
cd "$(dirname "$0")/.."
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
native=$(abs "${1:-build}")
wasm=$(abs "${2:-build-wasm}")
if ! command -v emcc >/dev/null || ! command -v node >/dev/null; then
  echo "SKIP: emscripten or node not installed (scripts/install-deps.sh --all); no WebAssembly build"
  exit 0
fi
# The flasher stubs the native build fetched, rather than fetching them again.
stubs=""
[ -d "$native/flasher-stubs/package" ] && stubs="-DMP_STUB_PACKAGE_DIR=$native/flasher-stubs/package"
WASM_CMAKE_ARGS="-DMP_WERROR=ON $stubs ${WASM_CMAKE_ARGS:-}" bash scripts/build-wasm.sh "$wasm" \
  >/dev/null
nodetool=$wasm/src/tool/mp-image-tool-esp32.js
shared=${MP_SHARED_DIR:-$(cd .. && pwd)/shared}
status=0
TOOL=$native/src/tool/mp-image-tool-esp32 NODETOOL=$nodetool MP_SHARED_DIR=$shared \
  bash tests/wasm/test_node.sh || status=1
# The same expected outputs the native program is held to, from the program under Node.
wrapper=$wasm/mp-image-tool-esp32-node
printf '#!/bin/sh\nexec node "%s" "$@"\n' "$nodetool" >"$wrapper"
chmod +x "$wrapper"
rc=0
TOOL=$wrapper MP_SHARED_DIR=$shared TESTS_DIR=$PWD/tests/cli bash tests/cli/test_expected.sh || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || status=1
# The page in headless Chromium: playwright-core and ws as tests/web's lock file has them,
# installed into the build tree (nothing is downloaded into the source tree).
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && command -v npm >/dev/null; then
  deps=$wasm/web-test-deps
  if ! cmp -s tests/web/package-lock.json "$deps/package-lock.json" || [ ! -d "$deps/node_modules" ]; then
    mkdir -p "$deps"
    cp tests/web/package.json tests/web/package-lock.json "$deps/"
    (cd "$deps" && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
  for t in test_page test_board; do
    rc=0
    TOOL=$native/src/tool/mp-image-tool-esp32 VCHIP=$native/sim/esp-virtual-chip PAGE=$wasm/web \
      MP_SHARED_DIR=$shared NODE_PATH=$deps/node_modules node "tests/web/$t.js" || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || status=1
  done
else
  echo "SKIP: chromium or npm not installed; the page was not tested in a browser"
fi
exit $status
