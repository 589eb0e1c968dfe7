#!/usr/bin/env bash
# Install dependencies, build, and run the tool on a firmware it generates itself (no download).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
tool=$PWD/build/src/tool/mp-image-tool-esp32
synth=$PWD/build/tools/mp-synth-firmware
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
cd "$demo"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

"$synth" --chip esp32s3 --flash-size 4M -o ESP32_GENERIC_S3-demo.bin
step "$tool" ESP32_GENERIC_S3-demo.bin
step "$tool" ESP32_GENERIC_S3-demo.bin -f 8M --table ota -a 0x1f0B
step "$tool" ESP32_GENERIC_S3-demo-8MB-OTA-appsize=496B.bin --check-app
step "$tool" ESP32_GENERIC_S3-demo.bin --extract-app
ls -l "$demo"
