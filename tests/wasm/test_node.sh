#!/usr/bin/env bash
# The WebAssembly CLI under Node against the native program: the same commands on the same
# files must print the same bytes, exit with the same status and write the same files
# (compared by SHA-256). Every firmware in the shared test data gets the table, a new flash size
# and OTA layout, and files put into a fresh littlefs; a few more cases cover the other file
# operations and refusals.
# Environment: TOOL (native program), NODETOOL (the .js of the WebAssembly CLI),
# MP_SHARED_DIR (default: ../shared beside the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../cli/lib.sh"
MP_SHARED_DIR=${MP_SHARED_DIR:-$here/../../../shared}
for v in TOOL NODETOOL; do
  [ -f "${!v:-}" ] || { echo "$v is not set to a program"; exit 2; }
done
command -v node >/dev/null || skip_all "node not installed"
[ -d "$MP_SHARED_DIR/firmware" ] || skip_all "$MP_SHARED_DIR/firmware not found"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/in"
printf 'print("hello from main.py")\n' >"$work/in/main.py"
mkdir -p "$work/in/lib/sub"
printf 'x = 1\n' >"$work/in/lib/a.py"
head -c 5000 /dev/urandom >"$work/in/lib/sub/blob.bin"
# an existing output keeps its mode when it is replaced (modes are compared below)
printf 'old\n' >"$work/in/keep.bin"
chmod 640 "$work/in/keep.bin"
# put records modification times: whole seconds, the same in both copies
find "$work/in" -exec touch -d @1700000000 {} +

# listing DIR: every file below DIR with its SHA-256 and mode (new files get 0666 less the
# umask from both programs)
listing() { (cd "$1" && find . -type f -printf '%m ' -exec sha256sum {} + | sort -k3); }

# both NAME FIRMWARE ARGS...: run the command in two copies of the inputs plus FIRMWARE (as
# fw.bin), N (native) and W (WebAssembly under Node).
both() {
  local name=$1 firmware=$2
  shift 2
  rm -rf "$work/N" "$work/W"
  cp -a "$work/in" "$work/N"
  cp "$firmware" "$work/N/fw.bin"
  chmod u+w "$work/N/fw.bin"
  cp -a "$work/N" "$work/W"
  set +e
  (cd "$work/N" && "$TOOL" "$@" >../N.out 2>../N.err)
  N_STATUS=$?
  (cd "$work/W" && node "$NODETOOL" "$@" >../W.out 2>../W.err)
  W_STATUS=$?
  set -e
  test_case "$name"
  expect_eq "$W_STATUS" "$N_STATUS" "exit status"
  if cmp -s "$work/N.out" "$work/W.out"; then pass; else
    fail "stdout differs: $(diff "$work/N.out" "$work/W.out" | head -8)"
  fi
  if cmp -s "$work/N.err" "$work/W.err"; then pass; else
    fail "stderr differs: $(diff "$work/N.err" "$work/W.err" | head -8)"
  fi
  if [ "$(listing "$work/N")" = "$(listing "$work/W")" ]; then pass; else
    fail "files differ: $(diff <(listing "$work/N") <(listing "$work/W") | head -6)"
  fi
  ((++CASES))
  [ -z "${VERBOSE:-}" ] || echo "$name: status $N_STATUS, files: $(cd "$work/N" && find . -newer fw.bin -type f | tr "\n" " ")"
}
CASES=0

# full FIRMWARE: the firmware padded with erased flash to the size its header gives, so that
# its data partitions lie inside the file (a whole-flash image); prints its path.
full() {
  local mb out=$work/full-$(basename "$1")
  mb=$("$TOOL" "$1" 2>/dev/null | sed -n 's/.*firmware file (\([0-9]*\)MB flash).*/\1/p')
  cp "$1" "$out"
  chmod u+w "$out"
  perl -e 'my ($f, $n) = @ARGV; print "\xff" x ($n - -s $f) if $n > -s $f' "$out" \
    $((${mb:-4} * 1048576 - 4096)) >>"$out"
  echo "$out"
}

while IFS= read -r fw; do
  n=${fw#"$MP_SHARED_DIR/firmware/"}
  both "$n: table" "$fw" fw.bin
  both "$n: 8MB OTA layout" "$fw" fw.bin -f 8M --table ota --resize vfs=0
  both "$n: put into a new littlefs" "$(full "$fw")" fw.bin --fs mkfs --fs put main.py lib / \
    --fs ls --fs df -o out.bin
done < <(find "$MP_SHARED_DIR/firmware" -name '*.bin' -size +500k | sort)

fw=$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin
both "boxed table" "$fw" fw.bin --box
both "extract and check app" "$fw" fw.bin -x --check-app
both "read partitions" "$fw" fw.bin --read bootloader=bl.bin,nvs=nvs.bin,phy_init=phy.bin
both "custom table" "$fw" fw.bin --table nvs=7B,factory=2M,vfs=1M,vfs2=fat:0
both "delete, add and rename" "$fw" fw.bin -o copy.bin -f 8M --delete phy_init --resize nvs=0 \
  --add data:fat:0x400000:0x100000 --rename vfs=fs
both "fs round trip" "$(full "$fw")" fw.bin --fs mkfs --fs put main.py / --fs mkdir d \
  --fs rename main.py d/m.py --fs get d/m.py got.py --fs rm d -o out.bin
both "output replacing a file" "$fw" fw.bin -o keep.bin --resize nvs=0
both "table too big" "$fw" fw.bin --table nvs=7B,factory=4M
both "missing file" "$fw" missing.bin
both "usage error" "$fw" fw.bin --bogus

# A serial port cannot be opened from Node: one clear line and a non-zero exit.
test_case "serial port refused"
run node "$NODETOOL" /dev/ttyUSB9
expect_status 1
expect_err "cannot be opened by the WebAssembly build"
# Nor a network port: WebAssembly has no TCP sockets.
test_case "network port refused"
run node "$NODETOOL" rfc2217://127.0.0.1:9
expect_status 1
expect_err "rfc2217://127.0.0.1:9: network ports are not available in the WebAssembly build"
echo "$CASES cases compared"
finish
