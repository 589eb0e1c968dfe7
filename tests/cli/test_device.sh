#!/usr/bin/env bash
# The tool on serial-attached boards: virtual chips (esp-virtual-chip on an RFC 2217 port) with
# real firmware, through the same steps as firmware files: table, filesystem, edits, check-app,
# OTA, --flash to a blank board, an identical re-flash that moves almost nothing, and faults.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ ! -x "${VCHIP:-}" ]; then
  skip_all "the virtual chip is not built"
fi
enter_workdir

# start_chip NAME CHIP [sim options...]: sets PORT
start_chip() {
  local name=$1 chip=$2
  shift 2
  vchip_start "$name" --chip "$chip" --flash "$name.flash" --quiet "$@"
}

firmware_for() { # chip -> file
  local f=""
  case $1 in
    esp32) f=ESP32_GENERIC-20240602-v1.23.0.bin ;;
    esp32s2) f=ESP32_GENERIC_S2-20240602-v1.23.0.bin ;;
    esp32s3) f=ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin ;;
    esp32c3) f=ESP32_GENERIC_C3-20240602-v1.23.0.bin ;;
  esac
  if [ -n "$f" ] && [ -f "$MP_SHARED_DIR/firmware/$f" ]; then
    echo "$MP_SHARED_DIR/firmware/$f"
  else
    "$SYNTH" --chip "$1" -o "gen-$1.bin" >/dev/null
    echo "$work/gen-$1.bin"
  fi
}

echo "print('hello from the host')" >main.py
for chip in esp32 esp32s2 esp32s3 esp32c3; do
  test_case "$chip"
  fw=$(firmware_for "$chip")
  start_chip "$chip" "$chip" --image "$fw" || continue
  run "$TOOL" "$PORT"
  expect_status 0
  expect_out "Found $chip device (4MB flash)."
  expect_out "factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)"
  expect_out "LittleFS Filesystems"
  run "$TOOL" -q "$PORT" --fs mkfs --fs put main.py --fs mkdir lib --fs ls
  expect_status 0
  expect_out "boot.py
main.py
lib/"
  rm -f back.py
  run "$TOOL" -q "$PORT" --fs get main.py back.py --fs df
  expect_status 0
  expect_same_file back.py main.py
  expect_out "vfs                 2048"
  run "$TOOL" "$PORT" --check-app
  expect_status 0
  expect_out "Partition 'factory': Hash confirmed"
  # a smaller vfs keeps its files
  run "$TOOL" "$PORT" --resize vfs=1M
  expect_status 0
  expect_out "Moving the files of 'vfs' (2 files, 1 folder"
  run "$TOOL" "$PORT"
  expect_out "vfs              data     fat        0x200000   0x100000   0x300000   0x0   (1.0 MB)"
  rm -f back.py
  run "$TOOL" -q "$PORT" --fs get main.py back.py
  expect_same_file back.py main.py
  rm -f nvs.bin
  run "$TOOL" "$PORT" --read nvs=nvs.bin --erase phy_init
  expect_status 0
  expect_eq "$(stat -c %s nvs.bin)" 24576 "nvs read size"
  run "$TOOL" "$PORT" --read phy_init=phy.bin
  expect_eq "$(tr -d '\377' <phy.bin | wc -c)" 0 "phy_init erased"
  run "$TOOL" "$PORT" -f 8M
  expect_status 1
  expect_err "Selected flash size is larger than device flash size (8MB > 4MB)."
done

test_case flash_blank_board_then_reflash
fw=$(firmware_for esp32)
# the app the board must report after flashing: what the tool finds in the file itself (the
# real firmware or, on a plain checkout, a generated one)
run "$TOOL" "$fw" --check-app
app_line=$(printf '%s\n' "$OUT" | grep -F "Partition 'factory': Hash confirmed (size=" || true)
if [ -n "$app_line" ]; then pass; else fail "no app check line for $fw: $OUT"; fi
start_chip blank esp32 || true
run "$TOOL" "$PORT"
expect_status 1
expect_err "No bootloader found on flash."
run "$TOOL" -d "$fw" --flash "$PORT"
expect_status 0
expect_out "Flashing firmware to device: $PORT..."
expect_out "Erasing remainder of partition 'factory'..."
run "$TOOL" "$PORT" --check-app
expect_out "$app_line"
# the same firmware again: the chip's MD5s match, so (almost) nothing is sent
run "$TOOL" -d "$fw" --flash "$PORT"
expect_status 0
wrote=$(printf '%s\n' "$OUT" | sed -n 's/.*wrote \([0-9]*\), left.*/\1/p' | tail -1)
expect_eq "$wrote" "0" "bytes rewritten by an identical re-flash"
# the flash file holds the firmware at 0x1000
cmp -s -n "$(stat -c %s "$fw")" -i 0:4096 "$fw" blank.flash && pass || fail "flash file differs from the firmware"

test_case put_again_sends_only_what_changed
# A tree put again: every file already on the board is compared there (by the chip's MD5) and
# left alone; a file changed in place is the only one written; the board then holds the tree.
fw=$(firmware_for esp32)
start_chip sync esp32 --image "$fw" || true
mkdir -p sync
head -c 20000 /dev/urandom >sync/big.bin
head -c 5000 /dev/urandom >sync/mid.bin
echo "x = 1" >sync/small.py
run "$TOOL" -q "$PORT" --fs mkfs
run "$TOOL" -d "$PORT" --fs put sync /
expect_status 0
first=$(printf '%s\n' "$OUT" | sed -n 's/.*, wrote \([0-9]*\),.*/\1/p' | tail -1)
if [ "${first:-0}" -ge 25000 ]; then pass; else fail "first put wrote ${first:-?} bytes"; fi
run "$TOOL" -d "$PORT" --fs put sync /
expect_status 0
expect_out "3 files already held the same bytes: not written again"
wrote=$(printf '%s\n' "$OUT" | sed -n 's/.*, wrote \([0-9]*\),.*/\1/p' | tail -1)
expect_eq "$wrote" "0" "bytes written by a put of an unchanged tree"
printf 'changed' | dd of=sync/big.bin bs=1 seek=7000 conv=notrunc status=none
run "$TOOL" -d "$PORT" --fs put sync /
expect_status 0
expect_out "2 files already held the same bytes: not written again"
wrote=$(printf '%s\n' "$OUT" | sed -n 's/.*, wrote \([0-9]*\),.*/\1/p' | tail -1)
if [ "${wrote:-0}" -gt 0 ] && [ "${wrote:-0}" -le 40960 ]; then pass; else
  fail "a put with one file changed wrote ${wrote:-?} bytes"; fi
rm -rf back
run "$TOOL" -q "$PORT" --fs get sync back
expect_status 0
for f in big.bin mid.bin small.py; do expect_same_file "back/$f" "sync/$f"; done
# a put that cannot fit is refused before anything reaches the board; the files stay
head -c 3000000 /dev/urandom >sync/huge.bin
run "$TOOL" -d "$PORT" --fs put sync /
expect_status 1
expect_err "The files do not fit in 'vfs' ("
wrote=$(printf '%s\n%s\n' "$OUT" "$ERR" | sed -n 's/.*, wrote \([0-9]*\),.*/\1/p' | tail -1)
expect_eq "$wrote" "0" "bytes written by a put that does not fit"
rm -rf back sync/huge.bin
run "$TOOL" -q "$PORT" --fs get sync back
for f in big.bin mid.bin small.py; do expect_same_file "back/$f" "sync/$f"; done

test_case ota_update_on_device
"$SYNTH" --chip esp32s3 --ota -o ota-fw.bin >/dev/null
"$SYNTH" --chip esp32s3 --app-only --seed 9 -o app.bin >/dev/null
start_chip ota esp32s3 --image ota-fw.bin || true
run "$TOOL" "$PORT" --ota-update app.bin
expect_status 0
expect_out "Writing firmware to OTA partition ota_1..."
run "$TOOL" "$PORT" --check-app
expect_out "Partition 'ota_1': Hash confirmed"
expect_out "Current OTA boot partition: ota_1
Next OTA boot partition: ota_0"
run "$TOOL" "$PORT" --ota-update app.bin --no-rollback
expect_status 0
run "$TOOL" "$PORT" --check-app
expect_out "Current OTA boot partition: ota_0"

test_case faults_end_in_retry_or_clear_error
fw=$(firmware_for esp32c3)
for fault in drop-byte@3000 corrupt-byte@5000 disconnect@20000 stall@8000 reset@30000; do
  cp "$fw" fault-src.bin
  start_chip "f-${fault%%@*}" esp32c3 --image fault-src.bin --fault "$fault" || continue
  run "$TOOL" "$PORT" --table ota -a 0x1f0B --fs mkfs
  if [ "$STATUS" -eq 0 ]; then
    run "$TOOL" "$PORT" --check-app
    expect_out "ota_0            app      ota_0"
    pass
  else
    expect_status 1
    if [ -n "$ERR" ]; then pass; else fail "$fault: failure without a message"; fi
    # never a half-written table: it is the old one or the new one
    run "$TOOL" "$PORT"
    expect_status 0
  fi
done

test_case faults_during_ota_and_fs_put
# The chip drops or garbles a byte, stalls, disconnects or resets in the middle of an OTA
# update and of a --fs put: each run ends in a retry that succeeds or a clear error, and the
# board afterwards holds a valid table and either the old or the new state.
"$SYNTH" --chip esp32s3 --ota -o ota-src.bin >/dev/null
head -c 150000 /dev/urandom >big.dat
for fault in drop-rx-byte@400000 drop-rx-byte@900000 fail-cmd=0x11@20 noreply-cmd=0x11@30 \
    drop-byte@40000 corrupt-byte@90000 disconnect@60000 reset@120000 stall@70000; do
  start_chip "o-${fault//[=@]/-}" esp32s3 --image ota-src.bin --fault "$fault" || continue
  run "$TOOL" "$PORT" --ota-update app.bin
  ota_status=$STATUS
  if [ "$ota_status" -ne 0 ] && [ -z "$ERR" ]; then fail "$fault: OTA failed without a message"; fi
  run "$TOOL" "$PORT" --check-app
  expect_status 0
  if [ "$ota_status" -eq 0 ]; then
    expect_out "Partition 'ota_1': Hash confirmed"
    expect_out "Current OTA boot partition: ota_1"
  else
    expect_out "Current OTA boot partition: ota_0"
  fi
  run "$TOOL" -q "$PORT" --fs mkfs --fs put big.dat
  put_status=$STATUS
  if [ "$put_status" -ne 0 ] && [ -z "$ERR" ]; then fail "$fault: put failed without a message"; fi
  rm -f got.dat
  run "$TOOL" -q "$PORT" --fs ls
  expect_status 0
  if [ "$put_status" -eq 0 ] || printf '%s\n' "$OUT" | grep -qx 'big.dat'; then
    # put, or cut off after its commit: the whole file, never a part
    run "$TOOL" -q "$PORT" --fs get big.dat got.dat
    expect_same_file got.dat big.dat
  fi
done

finish
