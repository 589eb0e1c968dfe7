#!/usr/bin/env bash
# --merge against Espressif's Python esptool merge-bin, byte for byte: the pieces of release
# firmware for several chips, with the flash settings kept and changed. Skips (77) without a Python esptool:
# ESPTOOL names an esptool source tree, its esptool.py, or a command (as for the interop
# suite, tests/interop/README.md); else esptool.py or esptool on PATH.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW="$MP_SHARED_DIR/firmware"
[ -d "$FW" ] || skip_all "shared firmware not found"

esptool=()
python=""
for py in ${ESPTOOL_PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import serial' 2>/dev/null; then
    python=$py
    break
  fi
done
spec=${ESPTOOL:-}
if [ -n "$spec" ] && [ -d "$spec" ] && [ -f "$spec/esptool.py" ]; then
  [ -n "$python" ] || skip_all "no Python with pyserial for the esptool source in $spec"
  esptool=("$python" "$spec/esptool.py")
elif [ -n "$spec" ] && [ "${spec%.py}" != "$spec" ] && [ -f "$spec" ]; then
  [ -n "$python" ] || skip_all "no Python with pyserial for $spec"
  esptool=("$python" "$spec")
elif [ -n "$spec" ] && command -v "$spec" >/dev/null 2>&1; then
  esptool=("$spec")
elif command -v esptool.py >/dev/null 2>&1; then
  esptool=(esptool.py)
elif command -v esptool >/dev/null 2>&1; then
  esptool=(esptool)
else
  skip_all "no Python esptool: set ESPTOOL to an esptool source tree or put esptool.py on PATH"
fi
"${esptool[@]}" version >/dev/null 2>&1 || skip_all "${esptool[*]} does not run"
enter_workdir

# esptool 5 spells its command merge-bin and its options with dashes; 4 with underscores
esp_merge() { # chip output [options] pairs...
  local chip=$1 out=$2
  shift 2
  "${esptool[@]}" --chip "$chip" merge-bin -o "$out" "$@" >esptool.log 2>&1 ||
    "${esptool[@]}" --chip "$chip" merge_bin -o "$out" $(printf '%s\n' "$@" | sed 's/^--flash-/--flash_/') >esptool.log 2>&1
}

checked=0
for src in "$FW"/ESP32_GENERIC-20240602-v1.23.0.bin "$FW"/ESP32_GENERIC_S2-20240602-v1.23.0.bin \
  "$FW"/ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin "$FW"/ESP32_GENERIC_C3-20240602-v1.23.0.bin \
  "$FW"/ESP32_GENERIC_C6-20241129-v1.24.1.bin; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .bin)
  chip=$("$TOOL" "$src" | sed -n 's/^Found \([a-z0-9]*\) firmware.*/\1/p')
  case $chip in
  esp32 | esp32s2) off=0x1000 ;;
  *) off=0x0 ;;
  esac
  test_case "$name"
  "$TOOL" -q "$src" --read "bootloader=$name.bl",partition_table="$name.pt" --trim
  "$TOOL" -q "$src" -x -o "$name.app"
  pairs=("$off" "$name.bl" 0x8000 "$name.pt" 0x10000 "$name.app")
  ours="$name.bl@$off,$name.pt@0x8000,$name.app@0x10000"

  esp_merge "$chip" "$name.esp" "${pairs[@]}"
  run "$TOOL" --merge "$ours" -o "$name.ours"
  expect_status 0
  expect_same_file "$name.ours" "$name.esp"

  esp_merge "$chip" "$name.esp2" --flash-mode dout --flash-freq 20m --flash-size 16MB "${pairs[@]}"
  run "$TOOL" --merge "$ours" --flash-mode dout --flash-freq 20m -f 16M -o "$name.ours2"
  expect_status 0
  expect_same_file "$name.ours2" "$name.esp2"
  if cmp -s "$name.ours2" "$name.ours"; then fail "$name: settings not applied"; else pass; fi

  checked=$((checked + 1))
done
test_case "chips compared"
expect_eq "$([ "$checked" -ge 3 ] && echo yes)" yes "chips compared ($checked)"

finish
