#!/usr/bin/env bash
# Building a littlefs image from a tree of files: this tool against mklittlefs, side by side
# (A B A B ..., medians of the kernel's accounting per process: bench/side_bench.c), for
#   - 5,000 files in one directory, and
#   - 20,000 files in 200 directories of 100,
# all of them small (8..120 bytes: inline files, so the work is directory metadata).
#
# The tool:  mp-image-tool-esp32 FIRMWARE --fs mkfs --fs put TREE/DIR / -o out.bin
#   on MicroPython v1.23.0 for ESP32 (from ../shared) set to 16 MB flash with vfs filling it
#   (a 14 MiB littlefs) and padded to a whole-flash image;
# mklittlefs: mklittlefs -c TREE -s 14MiB with MicroPython's geometry (block 4096, read/prog 32,
#   cache 128, lookahead 32, block cycles 100), the same filesystem the tool writes.
# Both end with /DIR/... holding the same files; each image is checked for all of them.
#
# Inputs, never substituted (the benchmark refuses to run without them):
#   MKLITTLEFS  path of a mklittlefs binary (github.com/earlephilhower/mklittlefs, built with its
#               littlefs submodule), default: mklittlefs on PATH
#   the firmware ESP32_GENERIC-20240602-v1.23.0.bin in ../shared/firmware (or MP_SHARED_DIR)
# Usage: MKLITTLEFS=/path/to/mklittlefs bench/lfs_scale_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${2:-3}
tool=$build/src/tool/mp-image-tool-esp32
side=$build/bench/side-bench
shared=${MP_SHARED_DIR:-$root/../shared}
fw=$shared/firmware/ESP32_GENERIC-20240602-v1.23.0.bin
mk=${MKLITTLEFS:-$(command -v mklittlefs || true)}

refuse() {
  echo "lfs_scale_bench: $*; nothing is substituted, not run" >&2
  exit 2
}
[ -x "$tool" ] || refuse "$tool not built"
[ -x "$side" ] || refuse "$side not built"
[ -n "$mk" ] && [ -x "$mk" ] ||
  refuse "mklittlefs not found (set MKLITTLEFS=/path/to/mklittlefs; build it from github.com/earlephilhower/mklittlefs with its littlefs submodule)"
[ -f "$fw" ] || refuse "firmware $fw not found (set MP_SHARED_DIR to the shared test data)"
command -v perl >/dev/null || refuse "perl not found (it generates the trees)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# a whole-flash image of 16 MiB from the bootloader on (esp32: the file starts at 0x1000)
"$tool" -q "$fw" -f 16M --resize vfs=0 -o fw16.bin >/dev/null
"$tool" fw16.bin 2>/dev/null | grep -Eq 'vfs +data +fat +0x200000 +0xe00000' ||
  refuse "unexpected partition table after -f 16M --resize vfs=0 (vfs should be 0x200000+0xe00000)"
perl -e 'print "\xff" x (0xfff000 - (-s $ARGV[0]))' fw16.bin >pad.bin
cat fw16.bin pad.bin >flash16.bin
rm -f pad.bin fw16.bin
vfs_size=$((0xe00000))

# the trees: same names, sizes and contents on every run (printable bytes, fixed seeds)
perl -e 'srand(7); mkdir "tree1"; mkdir "tree1/one";
  for my $i (0..4999) { open(my $o, ">", sprintf("tree1/one/f%05d.py", $i)) or die;
    print $o join("", map { chr(32 + int(rand(90))) } 1..(8 + int(rand(113)))); }
  srand(8); mkdir "tree2"; mkdir "tree2/many";
  for my $d (0..199) { mkdir sprintf("tree2/many/d%03d", $d);
    for my $i (0..99) { open(my $o, ">", sprintf("tree2/many/d%03d/f%03d.py", $d, $i)) or die;
      print $o join("", map { chr(32 + int(rand(90))) } 1..(8 + int(rand(113)))); } }'
find tree1 tree2 -exec touch -h -d @1700000000 {} +

echo "used:"
echo "  tool:       $tool ($("$tool" --version 2>&1 | head -1); $(git -C "$root" describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "  mklittlefs: $mk ($("$mk" --version 2>&1 | grep -E '^(mklittlefs|LittleFS) ver' | tr '\n' ' ' | sed 's/ $//'))"
echo "  firmware:   $fw (sha256 $(sha256sum "$fw" | cut -c1-16)...), 16 MB flash, vfs 14 MiB"
for t in tree1/one tree2/many; do
  echo "  tree:       $t: $(find "$t" -type f | wc -l) files, $(find "$t" -mindepth 1 -type d | wc -l) subdirectories, $(find "$t" -type f -printf '%s\n' | awk '{s += $1} END {print s}') bytes"
done
echo "  machine:    $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "  runs:       $runs counted after one warm-up, alternating tool and mklittlefs"
echo

mkargs="-b 4096 -r 32 -p 32 -m 128 -t 32 -e 100 -s $vfs_size"
echo "| workload / command | CPU s | wall s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for w in "tree1 one 5000 5,000 files in one directory" "tree2 many 20000 20,000 files in 200 directories"; do
  set -- $w
  echo "| **${*:4}** | | | |"
  "$side" "$runs" \
    "mp-image-tool-esp32 --fs mkfs --fs put" \
    "'$tool' -q flash16.bin --fs mkfs --fs put $1/$2 / -o tool-$2.bin" \
    "mklittlefs -c" \
    "'$mk' -c $1 $mkargs mk-$2.bin"
  # both images hold every file
  got=$("$tool" -q "tool-$2.bin" --fs ls "$2" 2>/dev/null | grep -c '\.py$' || true)
  [ "$got" = "$3" ] || { echo "lfs_scale_bench: the tool's image holds $got of $3 files" >&2; exit 1; }
  got=$("$mk" -l -b 4096 -r 32 -p 32 "mk-$2.bin" 2>/dev/null | grep -c '\.py' || true)
  [ "$got" = "$3" ] || { echo "lfs_scale_bench: mklittlefs's image holds $got of $3 files" >&2; exit 1; }
done
