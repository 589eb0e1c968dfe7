#!/usr/bin/env bash
# Exit statuses a script can rely on: 0 success, 1 error, 2 command-line error, 3 a failed
# verification (--check-app on a file and on a board, a board write that does not read back),
# each with its message on stderr also under -q.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

enter_workdir
"$SYNTH" --chip esp32 -o fw.bin >/dev/null
cp fw.bin badhash.bin
# a byte inside the app's first segment: its checksum and digest no longer match
printf '\x5a' | dd of=badhash.bin bs=1 seek=$((0xf000 + 0x200)) conv=notrunc status=none

status_is() { # expected-status stderr-text args...
  local st=$1 text=$2
  shift 2
  run "$TOOL" "$@"
  expect_status "$st"
  if [ -n "$text" ]; then expect_err "$text"; fi
}

test_case success
status_is 0 "" fw.bin
status_is 0 "" -q fw.bin --check-app
expect_eq "$ERR" "" "no error text on success"

test_case error
status_is 1 "No such file" missing.bin
status_is 1 "Partition 'nope' not found." -q fw.bin --read nope=x.bin
status_is 1 "Refusing to write a broken firmware" -q badhash.bin --resize vfs=1M

test_case usage
status_is 2 "unrecognized arguments: --no-such-option" fw.bin --no-such-option
status_is 2 "the following arguments are required: filename"
status_is 2 "invalid IntArg value" fw.bin -f xyz
status_is 2 "COM port names are not supported" -q COM3

test_case check_app_failure_on_a_file
for q in "" -q; do
  status_is 3 "App check failed: 1 problem" $q badhash.bin --check-app
  expect_out "Partition 'factory': Checksum mismatch"
done

if [ ! -x "${VCHIP:-}" ]; then
  echo "virtual chip not built: board cases skipped"
  finish
  exit
fi

test_case check_app_failure_on_a_board
vchip_start bad --chip esp32 --flash bad.flash --image badhash.bin --quiet
status_is 3 "App check failed: 1 problem" -q "$PORT" --check-app
expect_out "Partition 'factory': Checksum mismatch"

test_case board_write_that_does_not_read_back
# bit 0 of the first nvs byte is worn: zeros written there read back as 0x01
vchip_start worn --chip esp32 --flash worn.flash --image fw.bin --quiet --fault stuck-bit@0x9000
head -c 4096 /dev/zero >zeros.bin
status_is 3 "MD5 mismatch after the write" -q "$PORT" --write nvs=zeros.bin
# the same board with data the worn bit can hold: verified, success
printf '\001' >one.bin
status_is 0 "" -q "$PORT" --write nvs=one.bin

finish
