#!/usr/bin/env bash
# What a user installs: `cmake --install` into a temporary prefix (lists the files and checks
# the ones that must be there), then the Debian package (scripts/package.sh): its control
# fields, its files, and the programs run from the unpacked package.
# Usage: scripts/check-package.sh [BUILD_DIR] (a configured and built tree; default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
status=0
check() { # description, command...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "ok: $what"; else echo "FAIL: $what"; status=1; fi
}

echo "=== cmake --install $build --prefix <tmp>"
cmake --install "$build" --prefix "$prefix/usr" >/dev/null
(cd "$prefix" && find . -type f | sort | sed 's|^\./|  |')
for f in usr/bin/mp-image-tool-esp32 usr/bin/esp-virtual-chip \
  usr/share/man/man1/mp-image-tool-esp32.1.gz usr/share/man/man1/esp-virtual-chip.1.gz \
  usr/share/bash-completion/completions/mp-image-tool-esp32 \
  usr/share/zsh/site-functions/_mp-image-tool-esp32 \
  usr/share/fish/vendor_completions.d/mp-image-tool-esp32.fish \
  usr/share/doc/mp-image-tool-esp32/LICENSE.esptool-js; do
  check "installed $f" test -s "$prefix/$f"
done
check "the installed program runs" "$prefix/usr/bin/mp-image-tool-esp32" --version
if command -v man >/dev/null && man --version >/dev/null 2>&1; then
  check "man finds the installed page" env MANPATH="$prefix/usr/share/man" man -w mp-image-tool-esp32
fi

echo "=== Debian package"
if ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: dpkg-deb not installed"
  exit $status
fi
deb=$(bash scripts/package.sh "$build-package" 2>/dev/null | tail -1)
echo "$deb"
dpkg-deb -f "$deb" Package Version Architecture Depends | sed 's/^/  /'
check "Depends names only the C library" sh -c "dpkg-deb -f '$deb' Depends | grep -qx 'libc6 (>= [0-9.]*)'"
dpkg-deb -x "$deb" "$prefix/deb"
check "the packaged program runs" "$prefix/deb/usr/bin/mp-image-tool-esp32" --version
check "the packaged zsh completion is where Debian's zsh looks" \
  test -f "$prefix/deb/usr/share/zsh/vendor-completions/_mp-image-tool-esp32"
check "the packaged virtual chip runs" "$prefix/deb/usr/bin/esp-virtual-chip" --help
exit $status
