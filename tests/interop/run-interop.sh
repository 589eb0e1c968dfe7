#!/bin/sh
# Runs the esptool-js interoperability suite; exit 77 (ctest SKIP) when Node.js or the pinned
# packages are unavailable, saying why. With INTEROP_WORK set (ctest does), the suite is copied
# there and its packages are installed there, never beside the sources.
here=$(cd "$(dirname "$0")" && pwd) || exit 1
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node/npm not found; the esptool-js interop suite needs Node.js >= 20"
    exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "SKIP: Node.js $(node --version) is too old (esptool-js 0.7.0 needs >= 20)"
    exit 77
fi
work=${INTEROP_WORK:-$here}
if [ "$work" != "$here" ]; then
    mkdir -p "$work" || exit 1
    cp "$here"/*.mjs "$here"/package.json "$here"/package-lock.json "$work"/ || exit 1
fi
cd "$work" || exit 1
if [ ! -d node_modules/esptool-js ]; then
    if [ "${INTEROP_FETCH:-1}" = 0 ]; then
        echo "SKIP: downloads disabled (MP_FETCH_TEST_PACKAGES=OFF); esptool-js is not installed"
        exit 77
    fi
    echo "Installing esptool-js 0.7.0 (package-lock.json) from the npm registry into $work"
    if ! npm ci --no-audit --no-fund; then
        echo "SKIP: npm ci failed (offline?); cannot install esptool-js 0.7.0"
        exit 77
    fi
fi
exec node --test
