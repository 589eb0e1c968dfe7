#!/usr/bin/env bash
# Device operations against a virtual ESP32 with wire-time emulation at 921600 baud: --flash of a
# MicroPython firmware (blank board, then an identical re-flash), --fs put and get of 50 files /
# 200 kB, --read of the 2 MiB vfs partition, a whole-flash backup, its restore after a small
# change, chip erase and a restore onto the erased board. Prints time, bytes on the wire, and
# the line-rate floor (bytes on the wire / 92160 B/s). With --flash-time the chip's flash also
# takes the erase and program times of a NOR flash.
# Usage: bench/device_bench.sh [--flash-time] [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flash_time=""
if [ "${1:-}" = "--flash-time" ]; then
  flash_time=--flash-time
  shift
fi
build=$(cd "${1:-$root/build}" && pwd)
tool=$build/src/tool/mp-image-tool-esp32
vchip=$build/sim/esp-virtual-chip
shared=${MP_SHARED_DIR:-$root/../shared}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

fw=$shared/firmware/ESP32_GENERIC-20240602-v1.23.0.bin
[ -f "$fw" ] || { echo "device_bench: firmware $fw not found (set MP_SHARED_DIR); not run" >&2; exit 2; }
echo "used: firmware $fw ($(wc -c <"$fw") bytes), $tool, $vchip"
mkdir -p tree
perl -e 'srand(3); for my $i (1..50) { open(my $o, ">", sprintf("tree/f%02d.py", $i)) or die;
  print $o join("", map { chr(32 + int(rand(90))) } 1..4096); }'

# shellcheck disable=SC2086 # $flash_time is empty or one word
"$vchip" --chip esp32 --flash board.flash --rfc2217 0 --wire-time $flash_time --quiet >chip.out 2>&1 &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'rfc2217://[0-9.:]*' chip.out 2>/dev/null || true)
  [ -n "$port" ] && break
  sleep 0.05
done

echo "Every command connects first (stub, speed change) and reads the table: the connect row. \"net\""
echo "columns leave it out: (wire bytes - connect's) / 92160 B/s against (time - connect's)."
echo
echo "| operation (esp32, 921600 baud, wire time${flash_time:+, flash time}) | seconds | bytes on the wire | line-rate floor s | floor / time | net floor / net time |"
echo "|---|---:|---:|---:|---:|---:|"
base_t=0
base_w=0
measure() { # label, tool arguments...
  local label=$1
  shift
  local t0 t1 out wire
  t0=$(date +%s.%N)
  out=$("$tool" -d "$@" 2>&1) || { echo "$label: failed"; echo "$out" | tail -3; return 1; }
  t1=$(date +%s.%N)
  wire=$(printf '%s\n' "$out" | sed -n 's/.*; \([0-9]*\) bytes on the wire.*/\1/p' | tail -1)
  last_t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  last_w=${wire:-0}
  last_flash=$(printf '%s\n' "$out" | sed -n 's/.*, wrote \([0-9]*\),.*/\1/p' | tail -1)
  awk -v l="$label" -v t="$last_t" -v w="$last_w" -v bt="$base_t" -v bw="$base_w" 'BEGIN {
    f = w / 92160; net = "";
    if (bt > 0 && t > bt) net = sprintf("%.0f %%", 100 * ((w - bw) / 92160) / (t - bt));
    printf "| %s | %.2f | %d | %.2f | %.0f %% | %s |\n", l, t, w, f, 100 * f / t, net }'
}
measure "--flash 1.7 MB firmware, blank board" "$fw" --flash "$port"
measure "--flash the same firmware again" "$fw" --flash "$port"
"$tool" -q "$port" --fs mkfs >/dev/null
measure "connect and show the table (no operation)" "$port"
base_t=$last_t
base_w=$last_w
measure "--fs put 50 files / 200 kB" "$port" --fs put tree /
first_w=$last_w
first_flash=${last_flash:-0}
payload=$(cat tree/*.py | wc -c)
measure "--fs put the same tree again (unchanged)" "$port" --fs put tree /
again_w=$last_w
printf 'x' >>tree/f07.py
measure "--fs put the tree with one file changed" "$port" --fs put tree /
one_w=$last_w
measure "--fs get the same 50 files" "$port" --fs get tree got
measure "--read vfs (2 MiB)" "$port" --read vfs=vfs.bin
measure "--read flash=backup.bin (4 MB)" "$port" --read flash=backup.bin
head -c 4096 /dev/urandom >block.bin
"$tool" -q "$port" --write 0x20000=block.bin
measure "--write flash=backup.bin, one 4 KiB block changed" "$port" --write flash=backup.bin
measure "--erase flash" "$port" --erase flash
measure "--write flash=backup.bin onto the erased board" "$port" --write flash=backup.bin
cmp -s tree/f01.py got/f01.py || echo "warning: read-back differs"
cmp -s tree/f07.py got/f07.py || echo "warning: read-back of the changed file differs"
awk -v w="$first_flash" -v p="$payload" 'BEGIN {
  printf "\nput: %d bytes written to flash for %d bytes of files (%.2f x)", w, p, w / p }'
awk -v b="$base_w" -v f="$first_w" -v a="$again_w" -v o="$one_w" 'BEGIN {
  printf "\nput again, net of connect: %d of %d bytes (%.1f %%); one file changed: %d bytes (%.1f %%)\n",
    a - b, f - b, 100 * (a - b) / (f - b), o - b, 100 * (o - b) / (f - b) }'
