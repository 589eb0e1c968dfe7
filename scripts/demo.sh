#!/usr/bin/env bash
# Install dependencies, build, and run the tool on a firmware it generates itself (no download),
# then on a virtual board: show its table and filesystem, put a file, read it back.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
tool=$PWD/build/src/tool/mp-image-tool-esp32
synth=$PWD/build/tools/mp-synth-firmware
vchip=$PWD/build/sim/esp-virtual-chip
demo=$(mktemp -d)
chip_pid=""
cleanup() {
  [ -n "$chip_pid" ] && kill "$chip_pid" 2>/dev/null
  rm -rf "$demo"
}
trap cleanup EXIT
cd "$demo"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

"$synth" --chip esp32s3 --flash-size 4M -o ESP32_GENERIC_S3-demo.bin
step "$tool" ESP32_GENERIC_S3-demo.bin
step "$tool" ESP32_GENERIC_S3-demo.bin -f 8M --table ota -a 0x1f0B
step "$tool" ESP32_GENERIC_S3-demo-8MB-OTA-appsize=496B.bin --check-app
step "$tool" ESP32_GENERIC_S3-demo.bin --extract-app

# A virtual ESP32-S3 on an RFC 2217 port, holding the generated firmware.
"$vchip" --chip esp32s3 --flash board.flash --image ESP32_GENERIC_S3-demo.bin --rfc2217 0 \
  --quiet >chip.out 2>&1 &
chip_pid=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'rfc2217://[0-9.:]*' chip.out 2>/dev/null || true)
  [ -n "$port" ] && break
  sleep 0.05
done
echo "print('Hello from the host')" >main.py
step "$tool" "$port"
step "$tool" "$port" --fs mkfs --fs put main.py --fs ls --fs df
step "$tool" "$port" --fs cat main.py --fs get main.py main-back.py
cmp main.py main-back.py && echo "main.py read back from the board: identical"
