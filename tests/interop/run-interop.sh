#!/bin/sh
# Runs the esptool-js interoperability suite; exit 77 (ctest SKIP) when Node.js or the pinned
# packages are unavailable, saying why.
cd "$(dirname "$0")" || exit 1
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node/npm not found; the esptool-js interop suite needs Node.js >= 20"
    exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "SKIP: Node.js $(node --version) is too old (esptool-js 0.7.0 needs >= 20)"
    exit 77
fi
if [ ! -d node_modules/esptool-js ]; then
    if ! npm ci --no-audit --no-fund; then
        echo "SKIP: npm ci failed (offline?); cannot install esptool-js 0.7.0"
        exit 77
    fi
fi
exec node --test
