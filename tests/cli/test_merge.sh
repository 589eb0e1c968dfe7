#!/usr/bin/env bash
# Merged images from split builds: every release firmware of the shared data cut into the
# pieces an ESP-IDF build leaves (bootloader.bin, partition-table.bin, micropython.bin), merged
# back with --merge and from a flasher_args.json: the same bytes as the release (from flash
# address 0, so erased bytes first where the bootloader lies higher), and the flash settings
# rewritten in the bootloader only, with its digest. Errors are checked before anything is
# written.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW="$MP_SHARED_DIR/firmware"
[ -d "$FW" ] || skip_all "shared firmware not found"
enter_workdir

# Whether a file is all 0xFF bytes.
all_ff() { [ -z "$(tr -d '\377' <"$1" | head -c 1)" ]; }

# split SRC DIR: the pieces of a firmware as a build folder holds them
split() {
  mkdir -p "$2/bootloader" "$2/partition_table"
  "$TOOL" -q "$1" --read "bootloader=$2/bootloader/bootloader.bin" --trim
  "$TOOL" -q "$1" --read "partition_table=$2/pt.bin" --trim
  # gen_esp32part's file: 0xC00 bytes
  { cat "$2/pt.bin"; head -c $((3072 - $(stat -c %s "$2/pt.bin"))) /dev/zero | tr '\0' '\377'; } \
    >"$2/partition_table/partition-table.bin"
  "$TOOL" -q "$1" -x -o "$2/micropython.bin"
}

# same_flash MERGED ORIGINAL: MERGED is ORIGINAL placed at its flash address (erased bytes
# before it) and maybe without trailing erased bytes
same_flash() {
  local merged=$1 orig=$2 m o lead
  m=$(stat -c %s "$merged") o=$(stat -c %s "$orig")
  lead=$(cmp -s <(head -c 1 "$orig") <(printf '\351') && echo $((m - o)) || echo 0)
  head -c "$lead" "$merged" >lead.part
  tail -c +$((lead + 1)) "$merged" >body.part
  head -c "$(stat -c %s body.part)" "$orig" >orig.part
  tail -c +$(($(stat -c %s body.part) + 1)) "$orig" >rest.part
  all_ff lead.part && cmp -s body.part orig.part && all_ff rest.part
}

test_case "release firmware split and merged back"
n=0
for src in "$FW"/*.bin; do
  name=$(basename "$src" .bin)
  run "$TOOL" -q "$src"
  [ "$STATUS" -eq 0 ] || continue # not a whole firmware
  split "$src" "$name"
  chip=$("$TOOL" "$src" | sed -n 's/^Found \([a-z0-9]*\) firmware.*/\1/p')
  # the bootloader's flash address (esp-image-formats §6)
  case $chip in
  esp32 | esp32s2) off=0x1000 ;;
  esp32p4 | esp32c5) off=0x2000 ;;
  *) off=0x0 ;;
  esac
  run "$TOOL" --merge "$name/bootloader/bootloader.bin@$off,$name/partition_table/partition-table.bin@0x8000,$name/micropython.bin@0x10000" -o "$name.merged"
  expect_status 0
  expect_out "Merged 3 images"
  if same_flash "$name.merged" "$src"; then pass; else fail "$name: merged bytes differ"; fi
  # the same from the build's flasher_args.json, with the settings the images already have
  mode=$(od -An -tu1 -j $((off + 2)) -N1 "$name.merged" | tr -d ' ')
  modes=(qio qout dio dout)
  cat >"$name/flasher_args.json" <<EOF
{
    "write_flash_args" : [ "--flash_mode", "${modes[$mode]}", "--flash_size", "keep" ],
    "flash_settings" : { "flash_mode": "${modes[$mode]}", "flash_size": "keep", "flash_freq": "keep" },
    "flash_files" : {
        "$off" : "bootloader/bootloader.bin",
        "0x10000" : "micropython.bin",
        "0x8000" : "partition_table/partition-table.bin"
    },
    "bootloader" : { "offset" : "$off", "file" : "bootloader/bootloader.bin", "encrypted" : "false" },
    "extra_esptool_args" : { "after" : "hard_reset", "before" : "default_reset", "stub" : true, "chip" : "$chip" }
}
EOF
  run "$TOOL" "$name/flasher_args.json" -o "$name.json-merged"
  expect_status 0
  expect_same_file "$name.json-merged" "$name.merged"
  n=$((n + 1))
done
expect_eq "$([ "$n" -ge 8 ] && echo yes)" yes "firmware merged ($n)"

test_case "flash settings in the bootloader only"
src="$FW/ESP32_GENERIC-20240602-v1.23.0.bin"
d=ESP32_GENERIC-20240602-v1.23.0
run "$TOOL" --merge "$d/bootloader/bootloader.bin@0x1000,$d/partition_table/partition-table.bin@0x8000,$d/micropython.bin@0x10000" --flash-mode qio --flash-freq 80m -f 8M -o set.bin
expect_status 0
expect_out "Flash parameters set to 0x003f."
# byte 2 mode 0 (qio), byte 3 size 3 (8MB) << 4 | 0xf (80m)
expect_eq "$(od -An -tx1 -j $((0x1002)) -N2 set.bin | tr -d ' ')" "003f" "bootloader header"
# the app's header keeps its own settings
expect_eq "$(od -An -tx1 -j $((0x10002)) -N2 set.bin)" "$(od -An -tx1 -j $((0x10002)) -N2 "$d.merged")" "app header"
run "$TOOL" set.bin --check-app
expect_status 0
expect_out "Found esp32 firmware file (8MB flash)."
# a flasher_args.json's own settings apply, the command line's first
sed 's/"flash_size": "keep", "flash_freq": "keep"/"flash_size": "8MB", "flash_freq": "80m"/; s/"flash_mode": "dio"/"flash_mode": "qio"/' \
  "$d/flasher_args.json" >"$d/set_args.json"
run "$TOOL" "$d/set_args.json" -o set2.bin
expect_status 0
expect_same_file set2.bin set.bin

test_case "merged and written to a board"
if [ -x "${VCHIP:-}" ]; then
  vchip_start board --chip esp32 --flash board.bin
  run "$TOOL" -q --merge "$d/bootloader/bootloader.bin@0x1000,$d/partition_table/partition-table.bin@0x8000,$d/micropython.bin@0x10000" --flash "$PORT"
  expect_status 0
  run "$TOOL" "$PORT" --check-app
  expect_status 0
  expect_out "Partition 'factory': Hash confirmed"
  vchip_stop_all
  head -c "$(stat -c %s "$d.merged")" board.bin >board.head
  expect_same_file board.head "$d.merged"
fi

test_case "merge errors"
run "$TOOL" --merge "$d/bootloader/bootloader.bin@0x1000,$d/micropython.bin@0x1800" -o bad.bin
expect_status 1
expect_err "Detected overlap at address: 0x1800 for file: $d/micropython.bin."
expect_no_file bad.bin
run "$TOOL" --merge "missing.bin@0x1000" -o bad.bin
expect_status 1
expect_err "missing.bin"
run "$TOOL" --merge "$d/micropython.bin" -o bad.bin
expect_status 1
expect_err "must be FILE@ADDRESS"
run "$TOOL" --merge "$d/micropython.bin@0x10000" --flash-freq 99m -o bad.bin
expect_status 1
expect_no_file bad.bin
run "$TOOL" "$src" --flash-mode qio
expect_status 1
expect_err "--flash-mode needs --merge or a flasher_args.json"
printf '{ "flash_files": { "0x1000": 5 } }' >bad.json
run "$TOOL" bad.json
expect_status 1
expect_err "is not a file name"
printf '{ "flash_files": { "0x1000": "a.bin" }' >bad.json
run "$TOOL" bad.json
expect_status 1
expect_err "JSON error at byte"

finish
