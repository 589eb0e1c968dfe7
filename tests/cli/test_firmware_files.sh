#!/usr/bin/env bash
# The tool on every real MicroPython firmware in the shared test data: chip, flash size,
# MicroPython version and table as the manifest records them; then table edits on each, with
# every produced image re-verified (checksums, SHA-256, MD5).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW="$MP_SHARED_DIR/firmware"
if [ ! -d "$FW" ]; then
  skip_all "$FW not found (set MP_SHARED_DIR to the shared test data)"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

STOCK="nvs              data     nvs          0x9000     0x6000     0xf000   0x0  (24.0 kB)
phy_init         data     phy          0xf000     0x1000    0x10000   0x0   (4.0 kB)
factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)"
VFS2M="vfs              data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)"

# file | chip | flash MB | version | expected table rows
EDIT_ARGS=(--table original -f 16M)
EDIT_ROW="vfs              data     fat        0x200000   0xe00000  0x1000000   0x0  (14.0 MB)"
check() {
  local file=$1 chip=$2 mb=$3 version=$4 rows=$5
  test_case "$file"
  run "$TOOL" "$FW/$file"
  expect_status 0
  expect_out "Found $chip firmware file (${mb}MB flash)."
  expect_out "MicroPython $version"
  expect_out "Partition table (flash size: ${mb}MB):"
  expect_out "$rows"
  # a table edit on every file: the output verifies and differs only where it should
  rm -f edited.bin
  run "$TOOL" "$FW/$file" "${EDIT_ARGS[@]}" -o edited.bin
  expect_status 0
  run "$VERIFY" edited.bin
  expect_status 0
  run "$TOOL" edited.bin
  expect_out "$EDIT_ROW"
  run "$TOOL" "$FW/$file" --check-app
  expect_status 0
  expect_out "Partition 'bootloader': Hash confirmed"
}

check ESP32_GENERIC-20240602-v1.23.0.bin esp32 4 v1.23.0 "$STOCK
$VFS2M"
check ESP32_GENERIC_C3-20240602-v1.23.0.bin esp32c3 4 v1.23.0 "$STOCK
$VFS2M"
check ESP32_GENERIC_S2-20240602-v1.23.0.bin esp32s2 4 v1.23.0 "$STOCK
$VFS2M"
check ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin esp32s3 4 v1.23.0 "$STOCK
$VFS2M"
check ESP32_GENERIC_C6-20241129-v1.24.1.bin esp32c6 4 v1.24.1 "$STOCK
$VFS2M"
check ESP32_GENERIC_S3-SPIRAM_OCT-20250809-v1.26.0.bin esp32s3 4 v1.26.0 "$STOCK"
check ESP32_GENERIC-SPIRAM-20250809-v1.26.0.bin esp32 4 v1.26.0 "$STOCK"
check GENERIC_S3-20220618-v1.19.1.bin esp32s3 8 v1.19.1 "$STOCK
vfs              data     fat        0x200000   0x600000   0x800000   0x0   (6.0 MB)"
check esp32spiram-20220117-v1.18.bin esp32 4 v1.18 "factory          app      factory     0x10000   0x180000   0x190000   0x0   (1.5 MB)
vfs              data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)"
check esp32-20230426-v1.20.0.bin esp32 4 v1.20.0 "$STOCK
$VFS2M"
check firmware-esp32-GENERIC_D2WD.bin esp32 2 v1.19.1-espnow-6-g44f65965b "factory          app      factory     0x10000   0x160000   0x170000   0x0   (1.4 MB)
vfs              data     fat        0x170000    0x50000   0x1c0000   0x0 (320.0 kB)"
# its app (2.6 MB) does not fit the standard layouts: grow the filesystem instead
EDIT_ARGS=(-f 16M --resize vfs=0)
EDIT_ROW="vfs              data     spiffs     0x28c000   0xd74000  0x1000000   0x0  (13.5 MB)"
check lvgl_micropy_ESP32_GENERIC.bin esp32 4 1.23.0 "factory          app      factory     0x10000   0x27c000   0x28c000   0x0   (2.5 MB)
vfs              data     spiffs     0x28c000   0x174000   0x400000   0x0   (1.5 MB)"

test_case ota_firmware
run "$TOOL" "$FW/firmware-esp32-GENERIC_OTA.bin" --check-app
expect_status 0
expect_out "otadata          data     ota          0xd000     0x2000     0xf000   0x0   (8.0 kB)
phy_init         data     phy          0xf000     0x1000    0x10000   0x0   (4.0 kB)
ota_0            app      ota_0       0x10000   0x180000   0x190000   0x0   (1.5 MB)
ota_1            app      ota_1      0x190000   0x180000   0x310000   0x0   (1.5 MB)"
# blank otadata: ESP-IDF boots ota_0, so an update goes to ota_1
expect_out "Current OTA boot partition: ota_0
Next OTA boot partition: ota_1"

test_case whole_flash_dump_keeps_its_start
run "$TOOL" "$FW/lvgl_micropy_ESP32_GENERIC.bin" --resize vfs=1M -o lv.bin
expect_status 0
expect_eq "$(head -c 4096 lv.bin | tr -d '\377' | wc -c)" 0 "first 4 KiB still erased"
run "$VERIFY" lv.bin
expect_status 0

finish
