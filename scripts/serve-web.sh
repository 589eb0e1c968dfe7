#!/usr/bin/env bash
# Build the web page (scripts/build-wasm.sh) and serve it on this computer only:
# http://127.0.0.1:PORT/ (default 8000). The page is static files (BUILD/web): any web server
# can host them. Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh "${BUILD:-build-wasm}" >/dev/null
exec node tests/web/serve.js "${BUILD:-build-wasm}/web" "${1:-8000}"
