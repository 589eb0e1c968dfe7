#!/usr/bin/env bash
# Partition tables against ESP-IDF's own gen_esp32part.py, byte for byte: every partition CSV in
# an ESP-IDF tree (and some this script writes) gives the binary the generator gives, and what
# the generator refuses is refused. Skips (77) without it: GEN_ESP32PART names gen_esp32part.py
# (else $IDF_PATH/components/partition_table/gen_esp32part.py); IDF_PATH, when set, adds its
# CSV files. GEN_ESP32PART_PYTHON picks the Python (python3 by default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

gen=${GEN_ESP32PART:-${IDF_PATH:+$IDF_PATH/components/partition_table/gen_esp32part.py}}
[ -n "$gen" ] && [ -f "$gen" ] || skip_all "no gen_esp32part.py: set GEN_ESP32PART or IDF_PATH"
py=${GEN_ESP32PART_PYTHON:-python3}
"$py" "$gen" --help >/dev/null 2>&1 || skip_all "$gen does not run with $py"
enter_workdir

# tables that exercise the CSV rules: empty offsets after apps and data, K/M sizes, flags,
# numbers for types and subtypes, trailing commas, out-of-line-order numbering
mkdir csv
cat >csv/mixed.csv <<'T'
# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     ,        0x6000,
otadata,  data, ota,     ,        0x2000,
phy_init, data, phy,     ,        0x1000,
ota_0,    app,  ota_0,   ,        1536K,
ota_1,    app,  ota_1,   ,        1536K,
vfs,      data, 0x83,    ,        512K, encrypted
custom,   0x40, 7,       ,        4K,
keys,     data, nvs_keys, ,       4K, encrypted:readonly,
T
cat >csv/micropython.csv <<'T'
nvs,      data, nvs,     0x9000,  0x6000,
phy_init, data, phy,     0xf000,  0x1000,
factory,  app,  factory, 0x10000, 0x1F0000,
vfs,      data, fat,     0x200000, 0x200000,
T
printf 'nvs, data, nvs, 0x9000, 0x6000\nfactory, app, factory, 0x18000, 1M\n' >csv/bad-align.csv
printf 'otadata, data, ota, 0x9000, 0x2000\not2, data, ota, 0xb000, 0x2000\n' >csv/bad-twoota.csv
printf 'factory, app, factory, 0x10000, 1M\nnvs, data, nvs, 0x9000, 0x6000\n' >csv/bad-order.csv
printf 'nvs, data, nvs, 0x9000, 0x2000\n' >csv/bad-smallnvs.csv
printf 'nvs, data, nvs, 0x9000, 0x2000, readonly\n' >csv/smallnvs-readonly.csv
if [ -n "${IDF_PATH:-}" ] && [ -d "$IDF_PATH" ]; then
  n=0
  while IFS= read -r f; do
    n=$((n + 1))
    cp "$f" "csv/idf-$n-$(basename "$f")"
  done < <(find "$IDF_PATH" -name '*.csv' -path '*part*' | sort)
fi

same=0
for f in csv/*.csv; do
  test_case "$(basename "$f")"
  set +e
  "$py" "$gen" -q "$f" "$f.idf" >/dev/null 2>&1
  idf=$?
  set -e
  rm -f "$f.bin"
  run "$TOOL" -q "$f" -o "$f.bin"
  if [ "$idf" -ne 0 ]; then
    # refused by both, or by the generator only for what it needs options for
    if grep -q 'bootloader\|extra' "$f" || [ "$STATUS" -ne 0 ]; then pass; else
      fail "gen_esp32part refuses $f, this tool wrote it"
    fi
    continue
  fi
  expect_status 0
  expect_same_file "$f.bin" "$f.idf"
  same=$((same + 1))
done
test_case "tables compared"
expect_eq "$([ "$same" -ge 3 ] && echo yes)" yes "identical binaries ($same)"

finish
