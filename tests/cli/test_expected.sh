#!/usr/bin/env bash
# Whole outputs where the output is the contract (seed-spec §2, §5.4, §6, §7): each case runs the
# tool on the real v1.23.0 ESP32 firmware and compares stdout, stderr and the names of the files
# it wrote with the files in expected/ (NAME.out, NAME.err, NAME.files; absent = empty) line by
# line (diff -u), and the exit status. The version in the first line is
# replaced by VERSION. UPDATE=1 rewrites the files from the current output instead (review the
# diff before committing it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW_SRC="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
if [ ! -f "$FW_SRC" ]; then
  skip_all "$FW_SRC not found (set MP_SHARED_DIR to the shared test data)"
fi
EXPECTED_DIR="$TESTS_DIR/expected"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

normalise_version() {
  sed -E 's/^Running mp-image-tool-esp32 v[^ ]+ \(native\)\.$/Running mp-image-tool-esp32 vVERSION (native)./'
}

# compare NAME STREAM TEXT: TEXT against expected/NAME.STREAM (absent file = empty stream)
compare() {
  local file="$EXPECTED_DIR/$1.$2"
  printf '%s' "$3" >"$1.$2.got"
  [ -z "$3" ] || echo >>"$1.$2.got"
  if [ "${UPDATE:-0}" = 1 ]; then
    if [ -s "$1.$2.got" ]; then cp "$1.$2.got" "$file"; else rm -f "$file"; fi
    pass
    return
  fi
  if [ -f "$file" ]; then cp "$file" "$1.$2.want"; else : >"$1.$2.want"; fi
  if diff -u --label "expected/$1.$2" --label "output" "$1.$2.want" "$1.$2.got"; then
    pass
  else
    fail "$2 differs from expected/$1.$2 (diff above)"
  fi
}

# case NAME STATUS ARGS...: run on a fresh copy of the firmware named fw.bin
case_() {
  local name=$1 status=$2
  shift 2
  test_case "$name"
  rm -f fw*.bin fw.app-bin
  cp "$FW_SRC" fw.bin
  run "$TOOL" fw.bin "$@"
  expect_status "$status"
  compare "$name" out "$(printf '%s\n' "$OUT" | normalise_version)"
  compare "$name" err "$ERR"
  compare "$name" files "$(ls -1 | grep -v -E '^fw\.bin$|\.(got|want)$' || true)"
}

case_ show 0
case_ show-box 0 --box
case_ check-app 0 --check-app
case_ extract-app 0 -x
case_ flash-size-8M-resize-vfs 0 -f 8M --resize vfs=0
case_ table-ota-app-size 0 --table ota -a 0x1f0B
case_ table-ota-app-too-big 1 --table ota
case_ table-default 0 --table default
case_ table-custom 0 --table nvs=7B,factory=2M,vfs=1M,vfs2=fat:0
case_ delete-resize 0 --delete phy_init --resize nvs=0
case_ resize-add 0 --resize vfs=1M --add data=fat:50B
case_ rename 0 --rename vfs=vfs2,factory=app
case_ flash-size-not-a-power-of-two 1 -f 3M
case_ quiet 0 -q

finish
