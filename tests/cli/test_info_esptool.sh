#!/usr/bin/env bash
# --info against Espressif's Python esptool flash-id on the same virtual boards: revision,
# features, crystal, MAC, flash manufacturer, device and size say the same. Skips (77) without a
# Python esptool (ESPTOOL as for test_merge_esptool.sh and the interop suite).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "${VCHIP:-}" ] || skip_all "no virtual chip"
esptool=()
python=""
for py in ${ESPTOOL_PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import serial' 2>/dev/null; then
    python=$py
    break
  fi
done
spec=${ESPTOOL:-}
if [ -n "$spec" ] && [ -d "$spec" ] && [ -f "$spec/esptool.py" ] && [ -n "$python" ]; then
  esptool=("$python" "$spec/esptool.py")
elif [ -n "$spec" ] && [ "${spec%.py}" != "$spec" ] && [ -f "$spec" ] && [ -n "$python" ]; then
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

# field NAME FILE: the text after "NAME:" on its line, blanks squeezed
field() { sed -n "s/^$1: *//p" "$2" | head -1 | tr -s ' '; }

n=0
while IFS='|' read -r label args; do
  test_case "$label"
  # shellcheck disable=SC2086
  vchip_start "b$n" $args
  "${esptool[@]}" --port "$PORT" --baud 115200 flash-id 2>&1 | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"esp$n.txt" ||
    "${esptool[@]}" --port "$PORT" --baud 115200 flash_id 2>&1 | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"esp$n.txt"
  run "$TOOL" "$PORT" --info --baud 115200
  expect_status 0
  printf '%s\n' "$OUT" >"ours$n.txt"
  expect_eq "$(field Features "ours$n.txt")" "$(field Features "esp$n.txt")" "features"
  expect_eq "$(field Crystal "ours$n.txt" | tr -d ' ')" "$(field 'Crystal frequency' "esp$n.txt")" "crystal"
  expect_eq "$(field MAC "ours$n.txt")" "$(field MAC "esp$n.txt")" "MAC"
  expect_eq "$(field Chip "ours$n.txt" | grep -o '(revision v[0-9.]*)')" \
    "$(field 'Chip type' "esp$n.txt" | grep -o '(revision v[0-9.]*)')" "revision"
  expect_eq "$(field 'Flash manufacturer' "ours$n.txt" | sed 's/^0x//; s/, device: 0x/ /')" \
    "$(field Manufacturer "esp$n.txt") $(field Device "esp$n.txt")" "flash id"
  expect_eq "$(field 'Flash size' "ours$n.txt")" "$(field 'Detected flash size' "esp$n.txt")" "flash size"
  vchip_stop_all
  VCHIP_PIDS=()
  n=$((n + 1))
done <<'CASES'
esp32 as produced|--chip esp32
esp32 single core, 26 MHz, 3/4 coding, GigaDevice 8MB|--chip esp32 --crystal 26 --efuse 0x3FF5A00C=0x3a01 --efuse 0x3FF5A018=1 --jedec-id 0x1740c8 --flash-size 8M --mac 30:ae:a4:01:02:03 --revision 1.0
esp32s2|--chip esp32s2
esp32s3|--chip esp32s3 --mac 58:cf:79:aa:bb:cc
esp32c3 v0.4|--chip esp32c3 --revision 0.4
esp32c6|--chip esp32c6
CASES

finish
