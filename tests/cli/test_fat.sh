#!/usr/bin/env bash
# FAT partitions through the --fs commands: every vector of shared/fat-vectors, written into the
# vfs partition of a real firmware, lists and copies out exactly as its manifest says (paths,
# sizes, SHA-256, modification times); every writing command leaves a volume that fsck.fat -n
# accepts and that mtools lists the same way; mkfs makes what vfs.VfsFat.mkfs makes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

VEC="$MP_SHARED_DIR/fat-vectors"
FW_SRC="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
[ -d "$VEC" ] || skip_all "no $VEC"
[ -f "$FW_SRC" ] || skip_all "no $FW_SRC"
command -v python3 >/dev/null || skip_all "python3 (reads the vector manifests) is missing"
command -v fsck.fat >/dev/null || skip_all "fsck.fat missing (scripts/install-deps.sh installs dosfstools)"
command -v mdir >/dev/null || skip_all "mdir missing (scripts/install-deps.sh installs mtools)"
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
enter_workdir

# The mock: the firmware with an 8 MB flash and a 3 MB vfs (room for the largest vector),
# padded so that the whole vfs is in the file.
cp "$FW_SRC" base.bin
chmod u+w base.bin
run "$TOOL" -q base.bin -f 8M --resize vfs=3M -o big.bin
expect_status 0
perl -e 'print "\xff" x (0x4ff000 - (-s $ARGV[0]))' big.bin >pad.bin
cat big.bin pad.bin >mock.bin

# manifest.py MANIFEST ls: the listing --fs ls must give (sorted); manifest.py MANIFEST get DIR:
# check a `--fs get / DIR` copy against it.
cat >manifest.py <<'EOF'
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
mode = sys.argv[2]
bad = 0
lines = []
for e in m["entries"]:
    rel = bytes.fromhex(e["mp_path_hex"])[1:]
    if mode == "ls":
        # the tool prints bytes that are not UTF-8 as \xNN
        shown = rel.decode("utf-8", "backslashreplace").encode()
        lines.append(shown + (b"/" if e["type"] == "dir" else b""))
        continue
    p = os.path.join(sys.argv[3].encode(), rel)
    if e["type"] == "dir":
        if not os.path.isdir(p):
            print("missing directory", rel); bad += 1
        continue
    if not os.path.isfile(p):
        print("missing file", rel); bad += 1; continue
    data = open(p, "rb").read()
    st = os.stat(p)
    if len(data) != e["size"] or hashlib.sha256(data).hexdigest() != e["sha256"]:
        print("contents differ", rel); bad += 1
    if int(st.st_mtime) != e["mtime_epoch"]:
        print("mtime", rel, int(st.st_mtime), "expected", e["mtime_epoch"]); bad += 1
if mode == "ls":
    sys.stdout.buffer.write(b"".join(l + b"\n" for l in sorted(lines)))
sys.exit(1 if bad else 0)
EOF

for img in "$VEC"/*.img; do
  name=$(basename "$img" .img)
  test_case "read $name"
  run "$TOOL" -q mock.bin --write "vfs=$img" -o "$name.bin"
  expect_status 0
  "$TOOL" -q "$name.bin" --fs ls | sort >ls.txt
  python3 manifest.py "$VEC/$name.json" ls >want.txt
  expect_same_file ls.txt want.txt
  rm -rf out && mkdir out
  run "$TOOL" -q "$name.bin" --fs get / out
  expect_status 0
  run python3 manifest.py "$VEC/$name.json" get out
  expect_status 0
  run "$TOOL" -q "$name.bin" --fs info
  expect_out "Filesystem 'vfs': $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['geometry']['fat_type'])" "$VEC/$name.json")"
  free=$(python3 -c "import json,sys; g=json.load(open(sys.argv[1]))['geometry']; print(g['free_clusters'])" "$VEC/$name.json")
  expect_out "Clusters Free: $(printf '%7s' "$free")"
  run "$TOOL" -q "$name.bin" --fs df
  expect_out "FAT Filesystems"
done

# --json: df and info name the FAT and its numbers; the document follows the published schema
test_case json
run "$TOOL" --json -q mp-tree-1m.bin --fs df
expect_status 0
printf '%s\n' "$OUT" >df.json
run python3 - df.json "$TESTS_DIR/../../docs/json-schema.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
fs = doc["fs"][0]["filesystems"][0]
assert fs["filesystem"] == "FAT12" and fs["sector_size"] == 4096, fs
assert fs["block_count"] == 250 and fs["blocks_used"] == 126, fs
try:
    import jsonschema
except ImportError:
    sys.exit(0)
jsonschema.validate(doc, json.load(open(sys.argv[2])))
EOF
expect_status 0

# The vfs partition of a firmware as a bare FAT image.
extract() { rm -f "$2"; "$TOOL" -q "$1" --read "vfs=$2" >/dev/null; }
# fsck.fat -n finds nothing, and mdir lists what --fs ls lists. Names with bytes outside ASCII
# are left out: mtools shows them in its own code page, MicroPython as UTF-8 (see the vectors'
# README).
ascii_only() { grep -v '[^ -~]' || true; }
check_volume() {
  extract "$1" vol.img
  run fsck.fat -n vol.img
  expect_status 0
  "$TOOL" -q "$1" --fs ls | ascii_only | sort >ours.txt
  { LC_ALL=C.UTF-8 mdir -/ -b -i vol.img ::/ 2>/dev/null || true; } | sed -e 's|^::/||' |
    ascii_only | sort >theirs.txt
  expect_same_file ours.txt theirs.txt
}

mkdir -p local/sub/deeper
printf 'print("hello")\n' >local/main.py
head -c 10000 /dev/urandom >local/sub/data.bin
head -c 5000 /dev/urandom >"local/sub/deeper/A long name.txt"
touch -d '2024-03-04 05:06:08' local/main.py

for base in mp-tree-1m dos-fat12-s512-1m dos-fat16-s512-2112k mp-sec512-256k; do
  test_case "write $base"
  cp "$base.bin" w.bin
  run "$TOOL" -q w.bin --fs mkdir new/dir/here -o w1.bin
  expect_status 0
  run "$TOOL" -q w1.bin --fs put local /new -o w2.bin
  expect_status 0
  run "$TOOL" -q w2.bin --fs rename /new/local/main.py /new/dir/renamed.py -o w3.bin
  expect_status 0
  run "$TOOL" -q w3.bin --fs rm /new/local/sub/deeper -o w4.bin
  expect_status 0
  run "$TOOL" -q w4.bin --fs put local/main.py /new/dir/renamed.py -o w5.bin
  expect_status 0
  for f in w1 w2 w3 w4 w5; do check_volume "$f.bin"; done
  run "$TOOL" -q w5.bin --fs cat /new/dir/renamed.py
  expect_eq "$OUT" 'print("hello")' "renamed file's contents"
  rm -rf got && mkdir got
  run "$TOOL" -q w5.bin --fs get /new/local/sub/data.bin got
  expect_same_file got/data.bin local/sub/data.bin
  expect_eq "$(stat -c %Y got/data.bin)" "$(($(stat -c %Y local/sub/data.bin) / 2 * 2))" \
    "mtime kept (FAT's 2-second steps)"
  # the files that were there before are untouched
  rm -rf out && mkdir out
  "$TOOL" -q w5.bin --fs get / out >/dev/null
  rm -rf out/new
  run python3 manifest.py "$VEC/$base.json" get out
  expect_status 0
done

test_case "rm everything, refusals"
cp mp-tree-1m.bin w.bin
run "$TOOL" -q w.bin --fs rm / -o e.bin
expect_status 0
check_volume e.bin
run "$TOOL" -q e.bin --fs ls
expect_eq "$OUT" "" "empty after rm /"
run "$TOOL" -q mp-full-enospc-128k.bin --fs put local/sub/data.bin / -o full.bin
expect_status 1
expect_err "nothing was written"
# grow: the FAT of a 1 MB volume has room for the 3 MB partition
run "$TOOL" -q mp-tree-1m.bin --fs grow -o grown.bin
expect_status 0
check_volume grown.bin
run "$TOOL" -q grown.bin --fs info
expect_out "Clusters Total:    762"
rm -rf out && mkdir out
"$TOOL" -q grown.bin --fs get / out >/dev/null
run python3 manifest.py "$VEC/mp-tree-1m.json" get out
expect_status 0
run "$TOOL" -q mp-tree-1m.bin --fs grow vfs 1000
expect_status 1
expect_err "Cannot grow 'vfs' to 1000 sectors: the partition holds 768 sectors"
# no room for the old and the new fill.bin at once: the old one goes first
head -c 150000 /dev/urandom >fill.bin
run "$TOOL" -q mp-nearly-full-256k.bin --fs put fill.bin / -o refilled.bin
expect_status 0
check_volume refilled.bin
rm -rf got && mkdir got
run "$TOOL" -q refilled.bin --fs get fill.bin a.bin got
expect_same_file got/fill.bin fill.bin
run "$TOOL" -q mp-tree-1m.bin --fs rm /no/such
expect_status 1
expect_err "No such file or directory"

# mkfs on a FAT partition: what vfs.VfsFat.mkfs makes on an ESP32 (the 1 MB vector) plus
# MicroPython's boot.py. The partition is made 1 MB like the vector.
test_case mkfs
run "$TOOL" -q mock.bin --resize vfs=1M -o small0.bin
expect_status 0
run "$TOOL" -q small0.bin --write "vfs=$VEC/mp-empty-1m.img" -o small.bin
expect_status 0
# SOURCE_DATE_EPOCH: the clock of the vector's mkfs (its volume serial is 2024-01-01 00:00:00)
SOURCE_DATE_EPOCH=1704067200 run "$TOOL" -q small.bin --fs mkfs -o made.bin
expect_status 0
SOURCE_DATE_EPOCH=1704067200 run "$TOOL" -q small.bin --fs mkfs -o made2.bin
expect_same_file made.bin made2.bin
check_volume made.bin
extract made.bin made.img
run python3 - "$VEC/mp-empty-1m.img" made.img <<'EOF'
import sys
ref = open(sys.argv[1], "rb").read()
img = open(sys.argv[2], "rb").read()
assert len(ref) == len(img), (len(ref), len(img))
# boot.py adds its entry, its FAT entry and its data; everything else is the vector's
same = [(0, 0x1003), (0x1005, 0x2000), (0x2020, 0x6000), (0x7000, len(ref))]
for a, b in same:
    if ref[a:b] != img[a:b]:
        print("differs in", hex(a), hex(b)); sys.exit(1)
if img[0x1003:0x1005] != b"\xff\x0f" or img[0x2000:0x200B] != b"BOOT    PY ":
    print("no boot.py"); sys.exit(1)
EOF
expect_status 0
run "$TOOL" -q made.bin --fs cat boot.py
expect_out "# This file is executed on every boot (including wake-boot from deepsleep)"

# a partition labelled ffat is formatted as FAT whatever it held (MicroPython's inisetup.py)
test_case "mkfs ffat"
run "$TOOL" -q mock.bin --rename vfs=ffat -o ffat.bin
expect_status 0
run "$TOOL" -q ffat.bin --fs mkfs ffat -o ffat2.bin
expect_status 0
run "$TOOL" -q ffat2.bin --fs info ffat
expect_out "Filesystem 'ffat': FAT12"
# and the vfs of a firmware whose vfs is littlefs stays littlefs
run "$TOOL" -q mock.bin --fs mkfs -o lfs.bin
expect_status 0
run "$TOOL" -q lfs.bin --fs info
expect_out "Filesystem 'vfs': LittleFS"

# the same on a board (a virtual chip holding the firmware): a FAT written into its vfs lists as
# its manifest says, and a put leaves a volume fsck.fat and mdir accept
if [ -x "${VCHIP:-}" ]; then
  test_case board
  vchip_start board --chip esp32 --flash board.flash --quiet --image "$FW_SRC"
  run "$TOOL" -q "$PORT" --write "vfs=$VEC/mp-tree-1m.img"
  expect_status 0
  run "$TOOL" -q "$PORT" --fs ls
  expect_status 0
  printf '%s\n' "$OUT" | sort >ls.txt
  python3 manifest.py "$VEC/mp-tree-1m.json" ls >want.txt
  expect_same_file ls.txt want.txt
  run "$TOOL" -q "$PORT" --fs put local/main.py /lib --fs df
  expect_status 0
  expect_out "FAT Filesystems"
  rm -rf got && mkdir got
  run "$TOOL" -q "$PORT" --fs get /lib/main.py s100000.bin got
  expect_same_file got/main.py local/main.py
  rm -f board.img
  run "$TOOL" -q "$PORT" --read vfs=board.img
  expect_status 0
  head -c 1048576 board.img >vol.img
  run fsck.fat -n vol.img
  expect_status 0
  expect_eq "$(LC_ALL=C.UTF-8 mdir -/ -b -i vol.img ::/lib | grep -c main.py)" 1 "mdir sees the put"
else
  echo "note: the virtual chip is not built: no board case"
fi

finish
