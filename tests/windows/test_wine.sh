#!/usr/bin/env bash
# The Windows program under Wine against the Linux program: the same commands on the same
# files must print the same bytes, exit with the same status and write the same files. Then
# the Win32 serial back-end: a virtual chip's pty is mapped to a COM port (Wine's
# dosdevices/comN links), and the same device commands through COMn under Wine and through
# the pty on Linux must print the same and leave the same flash contents. rfc2217:// is
# checked the same way (Winsock).
# Environment: TOOL (Linux build), WINTOOL (.exe), SYNTH, VCHIP (Linux builds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../cli/lib.sh"
for v in TOOL WINTOOL SYNTH VCHIP; do
  [ -x "${!v:-}" ] || [ -f "${!v:-}" ] || { echo "$v is not set to a program"; exit 2; }
done
if ! command -v wine >/dev/null; then
  echo "SKIP: wine not installed; the Windows program was not run"
  exit 0
fi
work=$(mktemp -d)
export WINEPREFIX=$work/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
chips=()
cleanup() {
  for p in "${chips[@]}"; do kill "$p" 2>/dev/null || true; done
  wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# A prefix of our own, and one wineserver for the whole run.
wineboot -i >/dev/null 2>&1 || true
wineserver -p 2>/dev/null || true

# ---- inputs (mtime on a whole second: Windows stores seconds, and put records it)
mkdir "$work/in" && cd "$work/in"
"$SYNTH" --chip esp32s3 --flash-size 4M -o fw.bin >/dev/null
"$SYNTH" --chip esp32 --flash-size 4M --full-flash -o full.bin >/dev/null
"$SYNTH" --chip esp32s3 --flash-size 4M --seed 2 -o fw2.bin >/dev/null
printf 'print("hello from main.py")\n' >main.py
mkdir -p lib/sub
printf 'x = 1\n' >lib/a.py
head -c 5000 /dev/urandom >lib/sub/blob.bin
find . -exec touch -d @1700000000 {} +

# both NAME ARGS...: run the command in two copies of the inputs, L (Linux) and W (Wine).
both() {
  local name=$1
  shift
  rm -rf "$work/L" "$work/W"
  cp -a "$work/in" "$work/L"
  cp -a "$work/in" "$work/W"
  set +e
  (cd "$work/L" && "$TOOL" "$@" >../L.out 2>../L.err)
  L_STATUS=$?
  (cd "$work/W" && wine "$WINTOOL" "$@" >../W.out 2>../W.err)
  W_STATUS=$?
  set -e
  test_case "$name"
  expect_eq "$W_STATUS" "$L_STATUS" "exit status"
  if cmp -s "$work/L.out" "$work/W.out"; then pass; else
    fail "stdout differs: $(diff "$work/L.out" "$work/W.out" | head -8)"
  fi
  if cmp -s "$work/L.err" "$work/W.err"; then pass; else
    fail "stderr differs: $(diff "$work/L.err" "$work/W.err" | head -8)"
  fi
  if diff -r "$work/L" "$work/W" >/dev/null; then pass; else
    fail "files differ: $(diff -rq "$work/L" "$work/W" | head -5)"
  fi
}

both "table" fw.bin
both "flash size and resize" fw.bin -f 8M --resize vfs=0
both "OTA table" fw.bin --table ota -a 0x1f0B
both "custom table" fw.bin --table nvs=7B,factory=2M,vfs=1M,vfs2=fat:0
both "read and trim" fw.bin --read bootloader=bl.bin,nvs=nvs.bin --trim
both "extract app" fw.bin -x
both "check app" fw.bin --check-app
both "output file" fw.bin -o copy.bin --delete phy_init --resize nvs=0
both "missing file" missing.bin
both "usage error" fw.bin --bogus
both "fs: mkfs, put, ls" full.bin --fs mkfs --fs put main.py lib / --fs ls -o fs.bin

# the filesystem image written by both is the same; read it back on each side
cp "$work/L/fs.bin" "$work/in/fs.bin"
both "fs: ls" fs.bin --fs ls
both "fs: get" fs.bin --fs get / got
test_case "fs: get brings back what put wrote"
if diff -r "$work/in/lib" "$work/W/got/lib" >/dev/null && cmp -s "$work/in/main.py" "$work/W/got/main.py"; then
  pass
else
  fail "files read back under Wine differ from the originals"
fi
both "fs: cat and df" fs.bin --fs cat main.py --fs df
both "fs: get one file" fs.bin --fs get /lib/a.py a-copy.py
# put again after main.py changed in place (same size): it alone is written again, whole
printf 'P' | dd of="$work/in/main.py" bs=1 count=1 conv=notrunc status=none
touch -d @1700000000 "$work/in/main.py"
both "fs: put again, one file changed" fs.bin --fs put main.py lib / --fs cat main.py -o fs2.bin
test_case "fs: the changed file reached the filesystem under Wine"
if grep -q 'Print("hello from main.py")' "$work/W.out"; then pass; else
  fail "main.py as read back: $(head -c 200 "$work/W.out")"
fi

# ---- the serial back-end: a virtual chip per step, its flash kept in a file
start_chip() { # FLASH CHIP [options...]: sets PTY and URL
  local flash=$1 chip=$2
  shift 2
  "$VCHIP" --chip "$chip" --flash "$flash" --pty --rfc2217 0 --quiet "$@" >"$flash.out" 2>&1 &
  chips+=($!)
  CHIP_PID=$!
  PTY="" URL=""
  for _ in $(seq 200); do
    # the chip may not have created its output file yet
    PTY=$(sed -n 's/^pty: //p' "$flash.out" 2>/dev/null || true)
    URL=$(grep -o 'rfc2217://[0-9.:]*' "$flash.out" 2>/dev/null || true)
    [ -n "$PTY" ] && [ -n "$URL" ] && break
    sleep 0.05
  done
}
stop_chip() {
  kill "$CHIP_PID" 2>/dev/null || true
  wait "$CHIP_PID" 2>/dev/null || true
}

# device NAME FIRST_IMAGE ARGS...: the command on a Linux board (pty) and on a Windows one
# (COM7, the same kind of pty); ARGS may name the port as @PORT.
device_both() {
  local name=$1 image=$2
  shift 2
  local side port out
  for side in L W; do
    local opts=()
    [ "$image" != - ] && opts=(--image "$work/in/$image")
    start_chip "$work/$side.flash" esp32s3 "${opts[@]}"
    if [ -z "$PTY" ]; then
      fail "the virtual chip did not start"
      return
    fi
    local args=()
    if [ "$side" = L ]; then port=$PTY; else
      ln -sfn "$PTY" "$WINEPREFIX/dosdevices/com7"
      port=COM7
    fi
    for a in "$@"; do args+=("${a//@PORT/$port}"); done
    set +e
    if [ "$side" = L ]; then
      (cd "$work/in" && "$TOOL" "${args[@]}" >"$work/L.out" 2>"$work/L.err")
    else
      (cd "$work/in" && wine "$WINTOOL" "${args[@]}" >"$work/W.out" 2>"$work/W.err")
    fi
    eval "${side}_STATUS=$?"
    set -e
    # the port's name and the transfer speeds are the differences
    sed -i -E -e "s|$port|PORT|g" -e 's/in [0-9.]+ s \([0-9.]+ kB\/s\)/in T s (R kB\/s)/' \
      "$work/$side.out" "$work/$side.err"
    stop_chip
  done
  test_case "COM port: $name"
  expect_eq "$W_STATUS" "$L_STATUS" "exit status"
  expect_eq "$W_STATUS" 0 "exit status under Wine"
  if cmp -s "$work/L.out" "$work/W.out"; then pass; else
    fail "stdout differs: $(diff "$work/L.out" "$work/W.out" | head -8)"
  fi
  if cmp -s "$work/L.flash" "$work/W.flash"; then pass; else
    fail "the boards' flash differs"
  fi
}

rm -f "$work/L.flash" "$work/W.flash"
device_both "show the board" fw.bin @PORT
device_both "mkfs, put, ls" - @PORT --fs mkfs --fs put main.py lib / --fs ls
device_both "flash a firmware (with a changed table)" - fw2.bin -a 0x1f0B --flash @PORT
device_both "read partitions" - @PORT --read nvs=nvs-back.bin

# rfc2217:// over Winsock: the same board read through the network port on both sides
start_chip "$work/net.flash" esp32c3 --image "$work/in/fw.bin"
set +e
(cd "$work/in" && "$TOOL" "$URL" --read factory=app-l.bin >"$work/L.out" 2>&1)
L_STATUS=$?
(cd "$work/in" && wine "$WINTOOL" "$URL" --read factory=app-w.bin >"$work/W.out" 2>&1)
W_STATUS=$?
set -e
stop_chip
test_case "rfc2217 port under Wine"
expect_eq "$W_STATUS" 0 "exit status under Wine"
expect_eq "$L_STATUS" 0 "exit status on Linux"
if cmp -s "$work/in/app-l.bin" "$work/in/app-w.bin"; then pass; else fail "partitions read differ"; fi

# Several boards in one run: each board's run is a process of the Windows program (two
# boards flashed and verified, a third whose server is gone fails alone)
start_chip "$work/fleet1.flash" esp32s3 --mac 7c:df:a1:00:00:01
url1=$URL pid1=$CHIP_PID
start_chip "$work/fleet2.flash" esp32s3 --mac 7c:df:a1:00:00:02
url2=$URL pid2=$CHIP_PID
start_chip "$work/fleet3.flash" esp32s3
url3=$URL
stop_chip
set +e
(cd "$work/in" && wine "$WINTOOL" fw.bin --flash "$url1" "$url2" "$url3" >"$work/W.out" 2>"$work/W.err")
W_STATUS=$?
set -e
CHIP_PID=$pid1 stop_chip
CHIP_PID=$pid2 stop_chip
test_case "several boards under Wine"
expect_eq "$W_STATUS" 1 "exit status under Wine (one board failed)"
OUT=$(cat "$work/W.out") ERR=$(cat "$work/W.err")
expect_out "$url1: Flashing firmware to device: $url1..."
expect_out "2 of 3 boards succeeded."
expect_eq "$(grep -F "$url2 " "$work/W.out" | tr -s ' ' | cut -d' ' -f2-4)" \
  "esp32s3 7c:df:a1:00:00:02 ok" "summary row of the second board"
expect_err "$url3: failed: "
for f in fleet1 fleet2; do
  if cmp -s -n "$(stat -c %s "$work/in/fw.bin")" "$work/in/fw.bin" "$work/$f.flash"; then pass; else
    fail "$f: the board does not hold the firmware"
  fi
done

finish
