#!/usr/bin/env bash
# Standalone inputs: bare partition tables (binary <-> CSV round trips on every table of the
# shared firmware, the binary as gen_esp32part writes it), app images described as esptool
# image_info does, bare littlefs images read and created (checked against the shared littlefs
# vectors' manifests), and the errors for inputs that are none of these.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW="$MP_SHARED_DIR/firmware"
VEC="$MP_SHARED_DIR/littlefs-vectors"
[ -d "$FW" ] && [ -d "$VEC" ] || skip_all "shared firmware or littlefs vectors not found"
enter_workdir

# Whether a file is all 0xFF bytes.
all_ff() { [ -z "$(tr -d '\377' <"$1" | head -c 1)" ]; }

test_case "table round trips"
tables=0
for src in "$FW"/*.bin "$FW"/*/partition-table.bin; do
  [ -f "$src" ] || continue
  name=$(basename "$(dirname "$src")")-$(basename "$src")
  if [ "$(basename "$src")" = partition-table.bin ]; then
    cp "$src" "$name.pt"
  else
    run "$TOOL" -q "$src" --read "partition_table=$name.pt"
    expect_status 0
  fi
  run "$TOOL" "$name.pt" -o "$name.csv"
  expect_status 0
  expect_out "Found partition table with"
  run "$TOOL" "$name.csv" -o "$name.bin"
  expect_status 0
  # gen_esp32part writes 0xC00 bytes; what follows in the sector is erased (no signature)
  head -c 3072 "$name.pt" >"$name.want"
  expect_same_file "$name.bin" "$name.want"
  tail -c +3073 "$name.pt" >"$name.rest"
  if all_ff "$name.rest"; then pass; else fail "$name: table sector tail not erased"; fi
  # and binary to binary, and CSV to CSV, are fixed points
  run "$TOOL" "$name.pt" -o "$name.bin2"
  expect_same_file "$name.bin2" "$name.want"
  run "$TOOL" "$name.csv" -o "$name.2.csv"
  expect_same_file "$name.2.csv" "$name.csv"
  tables=$((tables + 1))
done
expect_eq "$([ "$tables" -ge 10 ] && echo yes)" yes "tables checked ($tables)"

test_case "a table cut after its last row"
run "$TOOL" -q "$FW/ESP32_GENERIC-20240602-v1.23.0.bin" --read partition_table=trimmed.pt --trim
expect_eq "$(stat -c %s trimmed.pt)" 160 "trimmed table"
run "$TOOL" trimmed.pt -o trimmed.bin
expect_status 0
expect_same_file trimmed.bin firmware-ESP32_GENERIC-20240602-v1.23.0.bin.want

test_case "CSV as ESP-IDF writes it"
cat >idf.csv <<'EOF'
# Name,   Type, SubType, Offset,   Size, Flags
nvs,      data, nvs,     0x9000,  0x6000,
phy_init, data, phy,     0xf000,  0x1000,
factory,  app,  factory, 0x10000, 1M,
storage,  data, spiffs,  ,        0x100000, encrypted
EOF
run "$TOOL" idf.csv -o idf.bin
expect_status 0
expect_eq "$(stat -c %s idf.bin)" 3072 "gen_esp32part's size"
# entries in line order, the MD5 row over them, then 0xFF
expect_eq "$(head -c 2 idf.bin | od -An -tx1 | tr -d ' ')" "aa50" "first entry"
md5=$(head -c 128 idf.bin | md5sum | cut -d' ' -f1)
expect_eq "$(dd if=idf.bin bs=1 skip=128 count=32 2>/dev/null | od -An -tx1 -v | tr -d ' \n')" \
  "ebebffffffffffffffffffffffffffff$md5" "MD5 row"
tail -c +161 idf.bin >idf.rest
if all_ff idf.rest; then pass; else fail "padding after the MD5 row"; fi
# the empty offset of storage follows factory (0x110000); encrypted is flag bit 0
expect_eq "$(dd if=idf.bin bs=1 skip=100 count=4 2>/dev/null | od -An -tx1 | tr -d ' ')" \
  "00001100" "storage offset"
expect_eq "$(dd if=idf.bin bs=1 skip=124 count=4 2>/dev/null | od -An -tx1 | tr -d ' ')" \
  "01000000" "storage flags"

test_case "broken tables"
head -c 3072 idf.bin >bad.bin
printf "\x00" | dd of=bad.bin bs=1 seek=12 conv=notrunc 2>/dev/null
run "$TOOL" bad.bin
expect_status 1
expect_err "Checksum"
printf 'nvs, data, nvs, 0x9000, 0x6000\nfactory, app, factory, 0x9000, 1M\n' >overlap.csv
run "$TOOL" overlap.csv -o overlap.bin
expect_status 1
expect_no_file overlap.bin
# what gen_esp32part refuses (esp-image-formats §7.5)
for bad in 'nvs, data, nvs, 0x9000, 0x6000\nfactory, app, factory, 0x18000, 1M' \
  'otadata, data, ota, 0x9000, 0x2000\not2, data, ota, 0xb000, 0x2000' \
  'factory, app, factory, 0x10000, 1M\nnvs, data, nvs, 0x9000, 0x6000' \
  'nvs, data, nvs, 0x9000, 0x2000'; do
  printf "$bad\n" >refused.csv
  run "$TOOL" refused.csv -o refused.bin
  expect_status 1
  expect_err "Refusing to write a broken partition table: Partition '"
  expect_no_file refused.bin
done
printf 'nvs, data, nvs, 0x9000, 0x2000, readonly\n' >readonly.csv
run "$TOOL" readonly.csv -o readonly.bin
expect_status 0
run "$TOOL" idf.csv --resize factory=2M
expect_status 1
expect_err "--resize needs a firmware, but idf.csv is a partition table CSV"

test_case "app image"
app="$FW/keenanjohnson__ota-micropython-esp32-example/micropython.bin"
run "$TOOL" "$app"
expect_status 0
expect_out "App image for esp32s3 (ESP32-S3)"
expect_out "ESP-IDF: v5.3.2"
expect_out "Segments: 7"
expect_out "Checksum: 0x16 (valid)"
expect_out "SHA-256: $(head -c -32 "$app" | sha256sum | cut -d' ' -f1) (valid)"
# an app taken out of a release firmware, then damaged
run "$TOOL" -q "$FW/ESP32_GENERIC-20240602-v1.23.0.bin" -x -o rel.app-bin
run "$TOOL" rel.app-bin
expect_status 0
expect_out "App image for esp32 (ESP32)"
expect_out "MicroPython v1.23.0."
cp rel.app-bin broken.app-bin
printf '\x55' | dd of=broken.app-bin bs=1 seek=4096 conv=notrunc 2>/dev/null
run "$TOOL" broken.app-bin
expect_status 1
expect_out "(invalid: computed"
expect_err "the image is broken (checksum mismatch)"

test_case "bootloader image"
boot="$FW/keenanjohnson__ota-micropython-esp32-example/bootloader.bin"
run "$TOOL" "$boot"
expect_status 0
expect_out "Bootloader image for esp32s3 (ESP32-S3), 19632 bytes in the file, 19632 in the image."
expect_out "Segments: 4"
expect_out "SHA-256: $(head -c -32 "$boot" | sha256sum | cut -d' ' -f1) (valid)"

test_case "unknown input"
head -c 8192 /dev/zero >zeros.bin
run "$TOOL" zeros.bin
expect_status 1
expect_err "zeros.bin"
# erased flash (an initial otadata) is not text, so not a CSV
run "$TOOL" "$FW/keenanjohnson__ota-micropython-esp32-example/ota_data_initial.bin"
expect_status 1
expect_err "magic bytes not found"

test_case "littlefs vectors read"
# every vector with the filesystem at offset 0 and nothing pending: get everything, compare
# each file with the manifest's SHA-256
vectors=0
for json in "$VEC"/*.json; do
  grep -q '"fs_offset": 0,' "$json" || continue
  grep -q '"pending"' "$json" && continue
  img="$VEC/$(sed -n 's/^ *"image": "\(.*\)",$/\1/p' "$json")"
  base=$(basename "$img")
  awk '/"path":/ {p=$0; sub(/^ *"path": "/, "", p); sub(/",$/, "", p)}
       /"type": "file"/ {f=1} /"type": "dir"/ {f=0}
       /"sha256":/ && f {s=$2; gsub(/[",]/, "", s); print p, s}' "$json" | sort >"$base.want"
  rm -rf "out-$base" && mkdir "out-$base"
  run "$TOOL" -q "$img" --fs get / "out-$base"
  expect_status 0
  (cd "out-$base" && find . -type f | sed 's|^\.||' | sort | while read -r f; do
    echo "$f $(sha256sum ".$f" | cut -d' ' -f1)"
  done) >"$base.have"
  expect_same_file "$base.have" "$base.want"
  vectors=$((vectors + 1))
done
expect_eq "$([ "$vectors" -ge 8 ] && echo yes)" yes "vectors read ($vectors)"
run "$TOOL" "$VEC/mp-bootlib-1m.img"
expect_status 0
expect_out "Found littlefs image (1048576 bytes)."

test_case "littlefs image created from a folder"
# the tree of a MicroPython-written vector, put into a new image, reads back identically
run "$TOOL" new.img --new-littlefs 1M --fs put out-mp-bootlib-1m.img/boot.py \
  out-mp-bootlib-1m.img/main.py out-mp-bootlib-1m.img/lib out-mp-bootlib-1m.img/data out-mp-bootlib-1m.img/emptydir /
expect_status 0
expect_eq "$(stat -c %s new.img)" 1048576 "image size"
rm -rf back && mkdir back
run "$TOOL" -q new.img --fs get / back
expect_status 0
run diff -r back out-mp-bootlib-1m.img
expect_status 0
run "$TOOL" new.img --fs info
expect_out "Block Size:       4096  /  0x1000"
expect_out "Blocks Total:      256"
# the created image is the kind the firmware mounts: MicroPython's superblock record (its
# version aside) as in a vector written by MicroPython itself
run "$TOOL" blocks.img --new-littlefs 512B
expect_status 0
expect_eq "$(od -An -tx1 -j 8 -N 8 blocks.img | tr -d ' ')" "$(od -An -tx1 -j 8 -N 8 "$VEC/mp-empty-2m.img" | tr -d ' ')" "magic"
expect_eq "$(od -An -tx1 -j 24 -N 20 blocks.img | tr -d ' ')" "$(od -An -tx1 -j 24 -N 20 "$VEC/mp-empty-2m.img" | tr -d ' ')" "block size, count and limits"
# another block size (an image for another system), read back with the size its superblock
# records
run "$TOOL" small.img --new-littlefs 64K --fs-block-size 512 --fs put out-mp-bootlib-1m.img/lib /
expect_status 0
expect_out "Creating littlefs image small.img (128 blocks of 512 bytes)..."
run "$TOOL" small.img --fs info
expect_out "Found littlefs image (65536 bytes, 512-byte blocks)."
expect_out "Block Size:        512  /  0x200"
expect_out "Blocks Total:      128"
rm -rf back512 && mkdir back512
run "$TOOL" -q small.img --fs get /lib back512
expect_status 0
run diff -r back512 out-mp-bootlib-1m.img/lib
expect_status 0
run "$TOOL" bad.img --new-littlefs 64K --fs-block-size 1000
expect_status 1
expect_err "--fs-block-size: 1000 is not a power of two"
run "$TOOL" small.img --fs-block-size 512 --fs ls
expect_status 1
expect_err "--fs-block-size needs --new-littlefs"
# an existing file is never replaced; sizes must be whole blocks
run "$TOOL" new.img --new-littlefs 1M
expect_status 1
expect_err "new.img exists"
run "$TOOL" odd.img --new-littlefs 5000
expect_status 1
expect_no_file odd.img
# a change to an existing image goes to a new file; the input stays as it was
before=$(sha new.img)
run "$TOOL" new.img --fs rm /lib
expect_status 0
expect_file new-fs.img
expect_eq "$(sha new.img)" "$before" "input unchanged"

finish
