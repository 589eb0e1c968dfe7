#!/usr/bin/env bash
# OTA updates on a whole-flash image (the same code a device uses): the app goes to the next
# slot, otadata selects it the way ESP-IDF's bootloader reads it, with and without rollback.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$SYNTH" --chip esp32s3 --ota --full-flash -o flash.bin >/dev/null
"$SYNTH" --chip esp32s3 --app-only --seed 5 -o app.bin >/dev/null
"$SYNTH" --chip esp32c3 --app-only -o c3-app.bin >/dev/null
"$SYNTH" --chip esp32s3 -o whole.bin >/dev/null

test_case blank_otadata_boots_ota_0
run "$TOOL" flash.bin --check-app
expect_status 0
expect_out "Current OTA boot partition: ota_0
Next OTA boot partition: ota_1"

test_case update_with_rollback
run "$TOOL" flash.bin --ota-update app.bin -o u1.bin
expect_status 0
expect_out "Writing firmware to OTA partition ota_1..."
expect_out "Updating otadata partition..."
run "$TOOL" u1.bin --check-app
expect_out "Partition 'ota_1': Hash confirmed (size=1500000)."
expect_out "Current OTA boot partition: ota_1
Next OTA boot partition: ota_0"
# no valid record yet: ESP-IDF writes seq 2 (slot 1) into sector 0 (0xd000), state NEW (0)
rec=$(od -An -tx1 -j $((0xd000)) -N 32 u1.bin | tr -d ' \n')
expect_eq "${rec:0:8}" "02000000" "otadata seq"
expect_eq "${rec:48:8}" "00000000" "otadata state NEW"
expect_eq "${rec:56:8}" "7437f655" "otadata crc of seq 2 (0x55F63774)"
run "$VERIFY" u1.bin
expect_status 0

test_case update_without_rollback
run "$TOOL" u1.bin --ota-update app.bin --no-rollback -o u2.bin
expect_status 0
expect_out "Writing firmware to OTA partition ota_0..."
run "$TOOL" u2.bin --check-app
expect_out "Current OTA boot partition: ota_0
Next OTA boot partition: ota_1"
# the next record goes to the other sector (0xe000): seq 3 = slot 0, state UNDEFINED
rec=$(od -An -tx1 -j $((0xe000)) -N 32 u2.bin | tr -d ' \n')
expect_eq "${rec:0:8}" "03000000" "otadata seq"
expect_eq "${rec:48:8}" "ffffffff" "otadata state UNDEFINED"

test_case refused_images
before=$(sha flash.bin)
run "$TOOL" flash.bin --ota-update c3-app.bin -o bad.bin
expect_status 1
expect_err "is for esp32c3"
run "$TOOL" flash.bin --ota-update whole.bin -o bad.bin
expect_status 1
expect_err "not an app image"
head -c 100000 app.bin >cut.bin
run "$TOOL" flash.bin --ota-update cut.bin -o bad.bin
expect_status 1
expect_no_file bad.bin
expect_eq "$(sha flash.bin)" "$before" "input unchanged"

finish
