#!/usr/bin/env bash
# A first look: install the build dependencies, build, and use the tool on a firmware file it
# generates itself (nothing is downloaded but Debian packages and the flasher stubs), then on a
# virtual ESP32-S3 board: its table, a filesystem, a file put on it and read back.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
[ -t 1 ] || bold='' dim='' off=''
say() { printf '\n%s%s%s\n' "$dim" "$*" "$off"; }
step() { printf '%s$ %s%s\n' "$bold" "${*/#$root\//}" "$off"; "$@"; }

say "Installing what the build needs (Debian packages; asks for sudo when not root)..."
bash scripts/install-deps.sh

say "Building the tool, the firmware generator and the virtual chip into build/ (under a minute)..."
log=$(mktemp)
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
  cmake --build build -j"$(nproc 2>/dev/null || echo 2)" \
    --target mp-image-tool-esp32 mp-synth-firmware esp-virtual-chip; } >"$log" 2>&1; then
  tail -30 "$log"
  echo "The build failed; the whole log is in $log"
  exit 1
fi
grep -h "Flasher stubs" "$log" | sed 's/^-- /  /' || true
rm -f "$log"
tool=$root/build/src/tool/mp-image-tool-esp32
synth=$root/build/tools/mp-synth-firmware
vchip=$root/build/sim/esp-virtual-chip
demo=$(mktemp -d)
chip_pid=""
cleanup() {
  [ -n "$chip_pid" ] && kill "$chip_pid" 2>/dev/null
  rm -rf "$demo"
}
trap cleanup EXIT
cd "$demo"
export PATH=$root/build/src/tool:$PATH
tool=mp-image-tool-esp32

say "A firmware file to work on: mp-synth-firmware writes one shaped like MicroPython's ESP32-S3
build (bootloader, partition table, app), so no download is needed. Working in $demo."
step "$synth" --chip esp32s3 --flash-size 4M -o ESP32_GENERIC_S3-demo.bin

say "What is in it: the chip, the flash size, the MicroPython version and the partition table."
step $tool ESP32_GENERIC_S3-demo.bin

say "Make it an 8 MB OTA firmware with 0x1f0000-byte app slots. The input is never changed:
the result goes to a new file named after the changes."
step $tool ESP32_GENERIC_S3-demo.bin -f 8M --table ota -a 0x1f0B

say "Check the new file: the bootloader's and the app's hashes, and which OTA slot boots."
step $tool ESP32_GENERIC_S3-demo-8MB-OTA-appsize=496B.bin --check-app

say "Save the app alone (for --ota-update later)."
step $tool ESP32_GENERIC_S3-demo.bin --extract-app

say "Now a board. esp-virtual-chip plays an ESP32-S3 holding the firmware, on a network serial
port (RFC 2217); a real board would be /dev/ttyUSB0 (u0) or COM3 (c3), and everything below
works the same there."
"$vchip" --chip esp32s3 --flash board.flash --image ESP32_GENERIC_S3-demo.bin --rfc2217 0 \
  --quiet >chip.out 2>&1 &
chip_pid=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'rfc2217://[0-9.:]*' chip.out 2>/dev/null || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "The virtual chip did not start:"; cat chip.out; exit 1; }
echo "virtual board on $port"

say "Its vfs partition is still blank: MicroPython formats it at its first boot, and the virtual
chip runs no MicroPython. So make the filesystem as MicroPython would (with its boot.py)."
step $tool "$port" --fs mkfs

say "The board: its table, and how full its filesystem is."
step $tool "$port"

say "Put a file on the board, list the filesystem, then read the file back two ways."
echo "print('Hello from the host')" >main.py
step $tool -q "$port" --fs put main.py --fs ls
step $tool -q "$port" --fs cat main.py --fs get main.py main-back.py
cmp main.py main-back.py && echo "main.py read back from the board: identical"

say "Done. Next: 'man build/man/mp-image-tool-esp32.1' (or 'man mp-image-tool-esp32' once
installed), the README's Use section, and 'bash scripts/test-all.sh' for the whole test suite."
