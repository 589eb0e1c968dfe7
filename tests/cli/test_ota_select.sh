#!/usr/bin/env bash
# otadata as otatool users know it: --ota-show prints both records, --ota-select switches the
# boot slot without an upload (a new record in the other sector), --ota-erase erases otadata;
# on whole-flash images and on a virtual board.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

enter_workdir
"$SYNTH" --chip esp32s3 --ota --full-flash -o flash.bin >/dev/null
"$SYNTH" --chip esp32s3 --app-only --seed 5 -o app.bin >/dev/null
"$SYNTH" --chip esp32s3 -o factory.bin >/dev/null
record() { od -v -An -tx1 -j $(($2)) -N 32 "$1" | tr -d ' \n'; }

test_case show_blank_otadata
run "$TOOL" -q flash.bin --ota-show --plain
expect_status 0
expect_out "otadata (partition 'otadata' at 0xd000)
# Sector        Seq  State           CRC           Boot
0          erased  UNDEFINED       -             ignored
1          erased  UNDEFINED       -             ignored
Current OTA boot partition: ota_0
Next OTA boot partition: ota_1"

test_case show_after_update
run "$TOOL" -q flash.bin --ota-update app.bin -o u1.bin
expect_status 0
run "$TOOL" -q u1.bin --ota-show --plain
expect_status 0
expect_out "0               2  NEW             ok            active
1          erased  UNDEFINED       -             ignored
Current OTA boot partition: ota_1"

test_case select_writes_the_other_sector
run "$TOOL" u1.bin --ota-select ota_0 --no-rollback -o s0.bin
expect_status 0
expect_out "Partition 'ota_0': Hash confirmed"
expect_out "Selecting OTA partition ota_0 (otadata sector 1, seq 3)..."
rec=$(record s0.bin 0xe000)
expect_eq "${rec:0:8}" "03000000" "new record's seq"
expect_eq "${rec:48:8}" "ffffffff" "new record's state (UNDEFINED: --no-rollback)"
expect_eq "$(record s0.bin 0xd000)" "$(record u1.bin 0xd000)" "the old record, untouched"
run "$TOOL" s0.bin --check-app
expect_out "Current OTA boot partition: ota_0
Next OTA boot partition: ota_1"
# by number, back to ota_1, with rollback armed (NEW)
run "$TOOL" -q s0.bin --ota-select 1 -o s1.bin
expect_status 0
rec=$(record s1.bin 0xd000)
expect_eq "${rec:0:8}" "04000000" "seq of the switch back"
expect_eq "${rec:48:8}" "00000000" "state NEW"
run "$TOOL" -q s1.bin --ota-show --plain
expect_out "Current OTA boot partition: ota_1"
# the app booting now, confirmed: nothing changes
run "$TOOL" -q s0.bin --ota-select ota_0 -o same.bin
expect_status 0
expect_same_file same.bin s0.bin

test_case select_refusals
# ota_1 of the generated image is empty: it would not boot
run "$TOOL" -q flash.bin --ota-select ota_1 -o x.bin
expect_status 1
expect_err "ValueError: Partition 'ota_1' holds no app image: the board would not boot it."
expect_no_file x.bin
run "$TOOL" -q u1.bin --ota-select factory -o x.bin
expect_status 1
expect_err "'factory' is neither an OTA app partition (ota_0..ota_1, or its number) nor the factory app."
run "$TOOL" -q u1.bin --ota-select ota_0 --ota-erase -o x.bin
expect_status 1
expect_err "--ota-select and --ota-erase both choose the app that boots: give one of them."
run "$TOOL" -q u1.bin --ota-update app.bin --ota-select ota_0 -o x.bin
expect_status 1
expect_err "--ota-update and --ota-select both choose"
expect_no_file x.bin
run "$TOOL" -q factory.bin --ota-show
expect_status 1
expect_err "No otadata partition"
# a file with a broken app is not written anywhere (the selection included)
cp u1.bin broken.bin
printf '\x55' | dd of=broken.bin bs=1 seek=$((0x10000 + 0x3000)) conv=notrunc status=none
run "$TOOL" -q broken.bin --ota-select ota_0 -o x.bin
expect_status 1
expect_err "Refusing to write a broken firmware: Partition 'ota_0'"
expect_no_file x.bin

test_case erase
run "$TOOL" u1.bin --ota-erase -o e.bin
expect_status 0
expect_out "Erasing otadata partition 'otadata'..."
empty=$(printf 'ff%.0s' $(seq 32))
expect_eq "$(record e.bin 0xd000)" "$empty" "sector 0 erased"
expect_eq "$(record e.bin 0xe000)" "$empty" "sector 1 erased"
run "$TOOL" e.bin --check-app
expect_out "Current OTA boot partition: ota_0"
# --erase otadata by name does the same
run "$TOOL" -q u1.bin --erase otadata -o e2.bin
expect_same_file e2.bin e.bin

if [ ! -x "${VCHIP:-}" ]; then
  finish
  exit $?
fi

test_case on_a_board
vchip_start board --chip esp32s3 --flash board.flash --quiet --image flash.bin
run "$TOOL" -q "$PORT" --ota-update app.bin
expect_status 0
run "$TOOL" -q "$PORT" --ota-show --plain
expect_out "0               2  NEW             ok            active"
expect_out "Current OTA boot partition: ota_1"
run "$TOOL" "$PORT" --ota-select ota_0
expect_status 0
expect_out "Selecting OTA partition ota_0 (otadata sector 1, seq 3)..."
run "$TOOL" -q "$PORT" --ota-show --plain
expect_out "0               2  NEW             ok            valid
1               3  NEW             ok            active
Current OTA boot partition: ota_0"
# a broken app on a board: refused, nothing written
run "$TOOL" "$PORT"
ota1=$(printf '%s\n' "$OUT" | awk '$1 == "ota_1" { print $4 }')
head -c 4096 /dev/urandom >junk.bin
run "$TOOL" -q "$PORT" --write $((ota1 + 0x3000))=junk.bin
expect_status 0
run "$TOOL" -q "$PORT" --ota-select ota_1
expect_status 1
expect_err "Partition 'ota_1' holds a broken app image"
run "$TOOL" -q "$PORT" --ota-show --plain
expect_out "Current OTA boot partition: ota_0"
run "$TOOL" "$PORT" --ota-erase
expect_status 0
run "$TOOL" "$PORT" --check-app
expect_out "Current OTA boot partition: ota_0"
run "$TOOL" -q "$PORT" --read 0xd000+0x2000=od.bin
cmp -s od.bin <(head -c 8192 /dev/zero | tr '\0' '\377') && pass || fail "otadata not erased"

finish
