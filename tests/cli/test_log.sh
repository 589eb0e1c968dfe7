#!/usr/bin/env bash
# --log NAME=LEVEL: each logger shows what its level says, whatever -q and -d say for the
# rest; `--log list` names them; errors show at every level; -m takes the Python tool's
# three methods and nothing else.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

enter_workdir
"$SYNTH" --chip esp32 --full-flash -o empty.bin >/dev/null
"$TOOL" -q empty.bin --fs mkfs -o fw.bin >/dev/null
cp fw.bin badhash.bin
# a byte inside the app's first segment (the whole-flash image starts at 0x0)
printf '\x5a' | dd of=badhash.bin bs=1 seek=$((0x10000 + 0x200)) conv=notrunc status=none

test_case list
for word in list show help; do
  run "$TOOL" fw.bin --log "$word"
  expect_status 0
  expect_out "Available loggers"
  for name in main loader firmware fs ota; do
    if printf '%s\n' "$OUT" | grep -qE "^  $name +(info|debug|action|warning|error) "; then pass; else
      fail "$name not listed: $OUT"
    fi
  done
  expect_no_out "Opening"
done
# the levels shown are the ones in force
run "$TOOL" fw.bin -q --log fs=debug,list
expect_status 0
printf '%s\n' "$OUT" | grep -qE '^  fs +debug ' && pass || fail "fs level not shown: $OUT"
printf '%s\n' "$OUT" | grep -qE '^  main +error ' && pass || fail "-q level not shown: $OUT"

test_case one_logger_louder_than_quiet
run "$TOOL" -q --log fs=info fw.bin --fs ls
expect_status 0
expect_out "ls 'vfs:"
expect_out "boot.py"
expect_no_out "Opening fw.bin"
run "$TOOL" -q fw.bin --fs ls
expect_no_out "ls 'vfs:"
expect_out "boot.py"

test_case one_logger_quieter
run "$TOOL" --log main=warning fw.bin --check-app
expect_status 0
expect_no_out "Opening fw.bin"
expect_out "Partition 'factory': Hash confirmed"
run "$TOOL" --log firmware=warning fw.bin --check-app
expect_status 0
expect_out "Opening fw.bin"
expect_no_out "Hash confirmed"
run "$TOOL" --log main=error,firmware=error badhash.bin --check-app
expect_status 3
expect_out "Partition 'factory': Checksum mismatch"
expect_err "App check failed: 1 problem"

test_case debug_for_one_logger
run "$TOOL" fw.bin --log main=debug
expect_status 0
run "$TOOL" -d --log main=info fw.bin
expect_status 0
expect_out "Opening fw.bin"

test_case bad_values
run "$TOOL" fw.bin --log nosuch=info
expect_status 2
expect_err "argument --log: unknown logger 'nosuch'"
run "$TOOL" fw.bin --log fs=verbose
expect_status 2
expect_err "argument --log: invalid level 'verbose' for 'fs'"
run "$TOOL" fw.bin -m esptool
expect_status 2
expect_err "argument -m/--method: invalid choice: 'esptool'"

test_case methods_are_one_loader
for m in direct command subprocess; do
  run "$TOOL" -q -m "$m" fw.bin --fs ls
  expect_status 0
  expect_out "boot.py"
done

if [ -x "${VCHIP:-}" ]; then
  test_case loader_logger_on_a_board
  "$SYNTH" --chip esp32 -o board.bin >/dev/null
  vchip_start b --chip esp32 --flash b.flash --image board.bin --quiet
  run "$TOOL" -q --log loader=debug "$PORT"
  expect_status 0
  expect_out "Stub flasher"
  expect_no_out "Opening"
  run "$TOOL" -q "$PORT"
  expect_status 0
  expect_no_out "Stub flasher"
fi

finish
