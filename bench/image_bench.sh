#!/usr/bin/env bash
# Image engine benchmark: median wall time of showing the table, an OTA re-layout to 8MB, and
# extracting the app, on three real firmware files; without them it refuses to run.
# Usage: bench/image_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${2:-50}
tool=$build/src/tool/mp-image-tool-esp32
bench=$build/bench/cmd-bench
shared=${MP_SHARED_DIR:-$root/../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

files=()
for f in ESP32_GENERIC-20240602-v1.23.0.bin ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin \
         ESP32_GENERIC_C6-20241129-v1.24.1.bin; do
  if [ ! -f "$shared/firmware/$f" ]; then
    echo "image_bench: $shared/firmware/$f is missing: the benchmark measures the real firmware" \
      "files only (set MP_SHARED_DIR to the folder holding firmware/)" >&2
    exit 1
  fi
  files+=("$shared/firmware/$f")
done
echo "inputs:"
for f in "${files[@]}"; do
  echo "  $(sha256sum "$f" | cut -c1-16)  $(stat -c %s "$f") bytes  $f"
done

echo "| command (runs: $runs)                          | median ms |   min ms |   max ms | runs |"
echo "|----------------------------------------------|----------|----------|----------|------|"
for f in "${files[@]}"; do
  b=$(basename "$f" .bin)
  "$bench" "$runs" "$b: show table" -- "$tool" "$f"
  "$bench" "$runs" "$b: -f 8M --table ota -a 0x1f0B -o out.bin" -- \
    "$tool" "$f" -f 8M --table ota -a 0x1f0B -o out.bin
  "$bench" "$runs" "$b: --extract-app" -- "$tool" "$f" --extract-app -o app.bin
done
