#!/usr/bin/env bash
# Generated firmware for every chip and several flash sizes: show, resize, change layouts; every
# produced image is re-verified independently (checksums, SHA-256 digests, table MD5).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

for chip in esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c5 esp32c6 esp32c61 esp32h2 esp32p4; do
  test_case "$chip"
  "$SYNTH" --chip "$chip" --flash-size 4M -o fw.bin >/dev/null
  run "$TOOL" fw.bin
  expect_status 0
  expect_out "Found $chip firmware file (4MB flash)."
  expect_out "MicroPython v1.99.0"
  run "$VERIFY" fw.bin
  expect_status 0

  run "$TOOL" fw.bin -f 16M --table ota -o ota.bin
  expect_status 0
  run "$VERIFY" ota.bin
  expect_status 0
  run "$TOOL" ota.bin
  expect_out "Found $chip firmware file (16MB flash)."
  expect_out "ota_1            app      ota_1      0x280000   0x270000   0x4f0000   0x0   (2.4 MB)"

  run "$TOOL" fw.bin -f 8M --resize vfs=0 -o big.bin
  expect_status 0
  run "$VERIFY" big.bin
  expect_status 0
  run "$TOOL" big.bin -f 4M --resize vfs=0 -o back.bin
  expect_status 0
  expect_same_file back.bin fw.bin

  "$SYNTH" --chip "$chip" --flash-size 8M --full-flash -o full.bin >/dev/null
  run "$TOOL" full.bin
  expect_status 0
  expect_out "Found $chip firmware file (8MB flash)."
  run "$TOOL" full.bin --check-app
  expect_status 0
  expect_out "Partition 'factory': Hash confirmed"
done

finish
