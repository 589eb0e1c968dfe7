#!/usr/bin/env bash
# Several boards in one run against one: --flash of the MicroPython v1.23.0 firmware to blank
# virtual ESP32s with wire-time emulation at 921600 baud, first one board alone, then four
# boards in one run; every board is checked afterwards (the tool verifies its writes by MD5, and
# each board's flash file must hold the firmware). Each measurement starts from blank boards; the figures are the
# median of RUNS runs. With --flash-time the chips' flash also takes NOR erase/program time.
# Usage: bench/fleet_bench.sh [--flash-time] [--runs N] [--boards N] [BUILD_DIR]
# --once N: start N blank boards, flash them in one run, check them, and exit (for an outside
# timer: farm-bench -n 5 --timeout 400 --vs 'bash bench/fleet_bench.sh --once 1' --
# bash bench/fleet_bench.sh --once 4).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flash_time=""
runs=3
boards=4
once=
while [ $# -gt 0 ]; do
  case $1 in
    --flash-time) flash_time=--flash-time ;;
    --runs) runs=$2; shift ;;
    --boards) boards=$2; shift ;;
    --once) once=$2; shift ;;
    *) break ;;
  esac
  shift
done
build=$(cd "${1:-$root/build}" && pwd)
tool=$build/src/tool/mp-image-tool-esp32
vchip=$build/sim/esp-virtual-chip
shared=${MP_SHARED_DIR:-$root/../shared}
fw=$shared/firmware/ESP32_GENERIC-20240602-v1.23.0.bin
[ -f "$fw" ] || { echo "fleet_bench: firmware $fw not found (set MP_SHARED_DIR); not run" >&2; exit 2; }
work=$(mktemp -d)
pids=()
stop_boards() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
trap 'stop_boards; rm -rf "$work"' EXIT
cd "$work"
[ -n "$once" ] || echo "used: firmware $fw ($(wc -c <"$fw") bytes), $tool, $vchip"

# start_boards N: N blank boards; their ports in PORTS
start_boards() {
  PORTS=()
  rm -f board*.flash chip*.out
  for i in $(seq "$1"); do
    # shellcheck disable=SC2086 # $flash_time is empty or one word
    "$vchip" --chip esp32 --flash "board$i.flash" --rfc2217 0 --wire-time $flash_time \
      --mac "24:0a:c4:00:01:$(printf %02x "$i")" --quiet >"chip$i.out" 2>&1 &
    pids+=($!)
  done
  for i in $(seq "$1"); do
    local port=""
    for _ in $(seq 100); do
      port=$(grep -o 'rfc2217://[0-9.:]*' "chip$i.out" 2>/dev/null || true)
      [ -n "$port" ] && break
      sleep 0.05
    done
    [ -n "$port" ] || { echo "fleet_bench: virtual board $i did not start" >&2; exit 1; }
    PORTS+=("$port")
  done
}

# verify_boards: every board holds the firmware at 0x1000
verify_boards() {
  local i
  for i in $(seq ${#PORTS[@]}); do
    cmp -s -n "$(wc -c <"$fw")" -i 0:4096 "$fw" "board$i.flash" ||
      { echo "fleet_bench: board $i flash differs from the firmware" >&2; exit 1; }
  done
}

# measure N: SECONDS_TAKEN for one --flash run to N blank boards, verified after (run in this
# shell, not a subshell, so that the exit trap sees every board started)
measure() {
  start_boards "$1"
  local t0 t1
  t0=$(date +%s.%N)
  "$tool" -q "$fw" --flash "${PORTS[@]}" >run.out 2>&1 ||
    { echo "fleet_bench: flashing $1 board(s) failed:" >&2; tail -5 run.out >&2; exit 1; }
  t1=$(date +%s.%N)
  stop_boards # a stopped chip has written all of its flash to its file
  verify_boards
  SECONDS_TAKEN=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }')
}

if [ -n "$once" ]; then
  measure "$once"
  exit 0
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

one=()
many=()
for _ in $(seq "$runs"); do
  measure 1
  one+=("$SECONDS_TAKEN")
  measure "$boards"
  many+=("$SECONDS_TAKEN")
done
t1=$(printf '%s\n' "${one[@]}" | median)
tn=$(printf '%s\n' "${many[@]}" | median)
echo "one board: ${one[*]} s; $boards boards: ${many[*]} s"
echo "| --flash 1.7 MB firmware (esp32, 921600 baud, wire time${flash_time:+, flash time}) | seconds (median of $runs) | ratio to one board |"
echo "|---|---:|---:|"
awk -v a="$t1" -v b="$tn" -v n="$boards" 'BEGIN {
  printf "| one board | %.2f | 1.00 |\n", a
  printf "| %d boards in one run, each verified | %.2f | %.2f |\n", n, b, b / a }'
