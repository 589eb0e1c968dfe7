#!/usr/bin/env bash
# --nvs on firmware files and boards: show, get, set and erase on the shared NVS vectors inside a
# MicroPython firmware; the changes read back by the tool, by the raw bytes of the partition and,
# when ESP-IDF's nvs_tool.py is at hand (NVS_TOOL_DIR = ESP-IDF's
# components/nvs_flash/nvs_partition_tool), by ESP-IDF's own parser, and when NVS_HOST_READER
# names the vectors' idf_host_reader build (ESP-IDF's NVS runtime compiled for the host), by
# ESP-IDF's own nvs_get_* code; the same commands on a
# virtual board give the same partition bytes as on the file; bad commands change nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

VEC="$MP_SHARED_DIR/nvs-vectors"
[ -f "$VEC/idf-types-0x6000.bin" ] || skip_all "NVS vectors not found in $VEC (set MP_SHARED_DIR)"
enter_workdir

FW_SRC="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
if [ -f "$FW_SRC" ]; then cp "$FW_SRC" plain.bin; else "$SYNTH" --chip esp32 -o plain.bin >/dev/null; fi
chmod u+w plain.bin
run "$TOOL" -q plain.bin --write "nvs=$VEC/idf-types-0x6000.bin" -o fw.bin
test_case "setup"
expect_status 0
fw_sha=$(sha fw.bin)

test_case "show"
run "$TOOL" -q fw.bin --nvs show
expect_status 0
expect_out "ints.i64_min          i64   -9223372036854775808"
expect_out "ints.u64_max          u64   18446744073709551615"
expect_out "mixed.u8_max          str   \"same key name as ints:u8_max but a string\""
expect_out "blobs.hex_small       blob  8 bytes  0123456789abcdef"
expect_out "strings.utf8          str   \"Grüße aus Köln – 日本語\""
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 35 "keys listed"
run "$TOOL" fw.bin --nvs show nvs
expect_status 0
expect_out "NVS partition 'nvs' (0x6000 bytes): 6 pages, 4 in use, 2 free; 4 namespaces, 35 keys"

test_case "get"
run "$TOOL" -q fw.bin --nvs get ints.i8_min --nvs get strings.short --nvs get nvs:blobs.hex_small
expect_status 0
expect_eq "$OUT" "-128
hi
0123456789abcdef" "values"
run "$TOOL" -q fw.bin --nvs get blobs.bin_5000 blob.bin --nvs get ints.u32_val n.txt
expect_status 0
expect_eq "$(stat -c %s blob.bin)" 5000 "blob size"
expect_eq "$(cat n.txt)" 305419896 "integer as text"
if command -v python3 >/dev/null; then
  want=$(python3 -c 'import json,sys; print([k["sha256"] for k in json.load(open(sys.argv[1]))["keys"] if k["key"] == "bin_5000"][0])' "$VEC/idf-types-0x6000.json")
  expect_eq "$(sha blob.bin)" "$want" "blob bytes (manifest sha256)"
fi

test_case "set and erase write a new file, the input stays"
printf 'certificate bytes\001\002' >cert.der
run "$TOOL" fw.bin --nvs set ints.u8_max=u8:7 --nvs set wifi.ssid=str:home \
  --nvs set wifi.cert=blob:@cert.der --nvs set ints.i64_min=i64:0x7fffffffffffffff \
  --nvs set blobs.bin_5000=blob:00ff --nvs erase strings.short --nvs erase mixed
expect_status 0
expect_out "Setting ints.u8_max (u8) in NVS partition 'nvs'..."
expect_file fw-nvs.bin
expect_eq "$(sha fw.bin)" "$fw_sha" "input unchanged"
run "$TOOL" -q fw-nvs.bin --nvs get ints.u8_max --nvs get wifi.ssid --nvs get wifi.cert \
  --nvs get ints.i64_min --nvs get blobs.bin_5000
expect_status 0
expect_eq "$OUT" "7
home
63657274696669636174652062797465730102
9223372036854775807
00ff" "read back"
run "$TOOL" -q fw-nvs.bin --nvs show
expect_no_out "strings.short"
expect_no_out "mixed."
expect_out "ints.u8_zero          u8    0"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 34 "35 keys + 2 new - 1 - 2"
# the same value again changes nothing and writes no file
run "$TOOL" fw-nvs.bin --nvs set wifi.ssid=str:home
expect_status 0
expect_out "wifi.ssid already holds that value."
run "$TOOL" fw-nvs.bin --nvs set wifi.ssid=str:home -o same.bin
expect_status 0
expect_same_file same.bin fw-nvs.bin

test_case "quotes in a string shown unambiguously"
run "$TOOL" -q fw.bin --nvs set 'a.q=str:say "hi" \ back' -o quoted.bin
expect_status 0
run "$TOOL" -q quoted.bin --nvs show --nvs get a.q
expect_out 'a.q                   str   "say \"hi\" \\ back"'
expect_out 'say "hi" \ back'

test_case "raw bytes of the new entry"
run "$TOOL" -q fw-nvs.bin --read nvs=part.bin
expect_status 0
# the string "home" is the namespace index of wifi, type 0x21, span 2, key "ssid", size 5
od -An -v -tx1 -w32 part.bin | tr -d ' ' >entries.txt
grep -q '^..2102ff........73736964000000000000000000000000 *0500ffff' entries.txt && pass ||
  fail "no string entry for wifi.ssid with size 5 in the raw partition"
grep -q '^686f6d6500ffffff' entries.txt && pass || fail "no data entry 'home\\0'"

test_case "ESP-IDF's nvs_tool.py reads the changes"
if [ -n "${NVS_TOOL_DIR:-}" ] && [ -f "$NVS_TOOL_DIR/nvs_tool.py" ] && command -v python3 >/dev/null; then
  python3 "$NVS_TOOL_DIR/nvs_tool.py" --format json -d minimal part.bin >idf.json
  python3 - idf.json <<'EOF' && pass || fail "nvs_tool.py disagrees (see above)"
import json, sys
entries = [e for e in json.load(open(sys.argv[1])) if e["state"] == "Written"]
def values(ns, key):
    return [e["data"] for e in entries if e["namespace"] == ns and e["key"] == key]
problems = []
def want(ns, key, value):
    got = values(ns, key)
    if got != [value]:
        problems.append(f"{ns}.{key}: {got!r}, wanted [{value!r}]")
want("ints", "u8_max", 7)
want("wifi", "ssid", "home")
want("ints", "i64_min", 9223372036854775807)
for ns, key in [("strings", "short"), ("mixed", "u8_max"), ("mixed", "i32_neg1")]:
    if values(ns, key):
        problems.append(f"{ns}.{key} still written")
print("\n".join(problems))
sys.exit(1 if problems else 0)
EOF
  python3 "$NVS_TOOL_DIR/nvs_tool.py" -i -d none part.bin >check.txt 2>&1 || true
  if grep -qiE "wrong CRC32|Inconsistent data state|duplicate entries|has no blob index|missing a chunk|out of bounds|unrecognized|is reported as" check.txt; then
    fail "nvs_tool.py -i finds problems: $(cat check.txt)"
  else
    pass
  fi
else
  echo "SKIP: ESP-IDF's nvs_tool.py not found (set NVS_TOOL_DIR to components/nvs_flash/nvs_partition_tool)"
fi

test_case "ESP-IDF's NVS runtime reads the changes"
if [ -n "${NVS_HOST_READER:-}" ] && [ -x "$NVS_HOST_READER" ] && command -v python3 >/dev/null; then
  "$NVS_HOST_READER" part.bin >runtime.json
  # every key the runtime lists, as `--nvs get` prints it (nvs_get_* through ESP-IDF's iterator)
  python3 - runtime.json runtime.names >runtime.txt <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["init"] == 0, d["init"]
with open(sys.argv[2], "w") as names:
    for e in d["list"]:
        assert e["err"] == 0, e
        names.write(f'{e["namespace"]}.{e["key"]}\n')
        v = str(e["hex"] if "hex" in e else e["value"])
        # the tool shows control characters escaped (the bytes themselves go to a FILE)
        print("".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7f else c for c in v))
EOF
  args=()
  while read -r name; do args+=(--nvs get "$name"); done <runtime.names
  run "$TOOL" -q fw-nvs.bin "${args[@]}"
  expect_status 0
  expect_eq "$OUT" "$(cat runtime.txt)" "values by ESP-IDF's runtime"
  run "$TOOL" -q fw-nvs.bin --nvs show
  expect_eq "$(printf '%s\n' "$OUT" | wc -l)" "$(wc -l <runtime.names)" "as many keys as the runtime lists"
else
  echo "SKIP: ESP-IDF's NVS runtime not built (set NVS_HOST_READER, see nvs-vectors/idf_host_reader)"
fi

test_case "bad commands: one error line, nothing written"
# command-line errors (exit status 2), then what the firmware does not hold (1)
for cmd in "2 frobnicate" "2 set ints.x" "2 set ints.x=u9:1" "2 set ints.x=u8:256" \
  "2 set ints.x=i8:-129" "2 set ints.x=u16:-1" "2 set x.y=blob:0g" "2 get nokey" \
  "2 set sixteen_chars_16.k=u8:1" "2 show extra words" "1 get ints.missing" "1 erase nons" \
  "1 show vfs" "1 show nvs2"; do
  rm -f out.bin
  # shellcheck disable=SC2086
  run "$TOOL" -q fw.bin --nvs ${cmd#* } -o out.bin
  expect_status "${cmd%% *}"
  expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "one error line for '${cmd#* }'"
  expect_no_file out.bin
done

test_case "a partition ESP-IDF refuses"
run "$TOOL" -q plain.bin --write "nvs=$VEC/edit-new-version-0x6000.bin" -o newer.bin
run "$TOOL" -q newer.bin --nvs show
expect_status 1
expect_err "newer than this tool knows"

test_case "a board gives the same bytes as the file"
if [ -x "${VCHIP:-}" ]; then
  vchip_start board --chip esp32 --flash board.flash --quiet --image fw.bin
  run "$TOOL" -q "$PORT" --nvs show
  expect_status 0
  expect_out "ints.i64_min          i64   -9223372036854775808"
  run "$TOOL" -q "$PORT" --nvs set ints.u8_max=u8:7 --nvs set wifi.ssid=str:home \
    --nvs set wifi.cert=blob:@cert.der --nvs set ints.i64_min=i64:0x7fffffffffffffff \
    --nvs set blobs.bin_5000=blob:00ff --nvs erase strings.short --nvs erase mixed
  expect_status 0
  run "$TOOL" -q "$PORT" --read nvs=board-part.bin
  expect_status 0
  expect_same_file board-part.bin part.bin
else
  echo "SKIP: the virtual chip is not built"
fi

finish
