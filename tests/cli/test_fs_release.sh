#!/usr/bin/env bash
# Files into official firmware: a release .bin ends after its app, so its vfs partition (and the
# region MicroPython v1.26+ computes when the table has no vfs row) lies beyond the end of the
# file. --fs commands that change a filesystem extend the output with erased flash to hold it,
# giving a flashable image with the files; commands that only look change nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ ! -d "$MP_SHARED_DIR/firmware" ]; then
  skip_all "../shared/firmware is not there"
fi
enter_workdir
ff() { head -c "$1" /dev/zero | tr '\0' '\377'; }

mkdir -p src/lib
echo "print('main')" >src/main.py
echo "X = 1" >src/lib/util.py

# file, bootloader offset, where the filesystem region ends (the flash size), what holds it
cases=(
  "ESP32_GENERIC-20240602-v1.23.0.bin 0x1000 0x400000 vfs-row"
  "ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin 0x0 0x400000 vfs-row"
  "ESP32_GENERIC-SPIRAM-20250809-v1.26.0.bin 0x1000 0x400000 computed"
  "ESP32_GENERIC_S3-SPIRAM_OCT-20250809-v1.26.0.bin 0x0 0x400000 computed"
)
for c in "${cases[@]}"; do
  read -r name base end kind <<<"$c"
  fw="$MP_SHARED_DIR/firmware/$name"
  [ -f "$fw" ] || continue
  test_case "$name"
  size=$(stat -c %s "$fw")
  # looking changes nothing and writes nothing
  run "$TOOL" "$fw" --fs ls
  expect_status 0
  expect_out "Skipping partition 'vfs': not in the firmware file"
  run "$TOOL" "$fw" --fs mkfs --fs put src/main.py src/lib / -o out.bin
  expect_status 0
  expect_out "Extending the firmware file with erased flash to $end to hold partition 'vfs'..."
  expect_eq "$(stat -c %s out.bin)" $((end - base)) "output size (to the end of the filesystem)"
  # the firmware is untouched, the gap to the filesystem erased
  cmp -s <(head -c "$size" out.bin) "$fw" && pass || fail "the firmware bytes changed"
  run "$VERIFY" out.bin
  expect_status 0
  run "$TOOL" -q out.bin --fs ls --fs cat main.py lib/util.py
  expect_status 0
  expect_out "boot.py
main.py
lib/
lib/util.py
print('main')
X = 1"
  if [ "$kind" = computed ]; then
    # no vfs row: the region after the last partition, to the end of the flash
    run "$TOOL" -q out.bin --fs df
    expect_out "vfs"
  fi
  # the gap between the end of the file and the filesystem reads erased
  run "$TOOL" -q out.bin --read "$((size + base)):$((size + base + 4096))=gap.bin"
  expect_status 0
  cmp -s gap.bin <(ff 4096) && pass || fail "the bytes after the firmware are not erased"
done

test_case put_alone_needs_a_filesystem
fw="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
if [ -f "$fw" ]; then
  # without mkfs the extended region holds no filesystem: refused, nothing written
  run "$TOOL" "$fw" --fs put src/main.py / -o none.bin
  expect_status 1
  expect_no_file none.bin
fi

test_case flashed_image_boots_with_its_files
if [ -x "${VCHIP:-}" ] && [ -f "$fw" ]; then
  run "$TOOL" -q "$fw" --fs mkfs --fs put src/main.py / -o withfiles.bin
  expect_status 0
  vchip_start board --chip esp32 --flash board.flash --quiet
  run "$TOOL" withfiles.bin --flash "$PORT"
  expect_status 0
  run "$TOOL" -q "$PORT" --fs cat main.py
  expect_status 0
  expect_out "print('main')"
fi

finish
