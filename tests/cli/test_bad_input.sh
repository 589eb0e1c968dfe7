#!/usr/bin/env bash
# Bad input: every case ends in one clear error line naming what and where, exit status 1
# (2 for command-line errors), the input untouched and no output file left behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$SYNTH" --chip esp32 -o fw.bin >/dev/null
"$SYNTH" --chip esp32s3 -o s3.bin >/dev/null
orig=$(sha fw.bin)

no_outputs() { # nothing but the inputs (and files the case made) may remain
  local extra
  extra=$(ls -A | grep -v -E '^(fw\.bin|s3\.bin|bad.*|t\.csv|ro)$' || true)
  expect_eq "$extra" "" "files left behind"
}

fails() { # expected-status expected-text args...
  local st=$1 text=$2
  shift 2
  run "$TOOL" "$@"
  expect_status "$st"
  expect_err "$text"
  expect_eq "$(sha fw.bin)" "$orig" "input firmware unchanged"
  no_outputs
}

test_case truncated_files
for n in 0 10 23 24 100 4096 0x6000 0x7010 0x7c00; do
  head -c $((n)) fw.bin >bad.bin
  run "$TOOL" bad.bin
  expect_status 1
  if [ -n "$ERR" ]; then pass; else fail "no error text for a file of $n bytes"; fi
  expect_eq "$(echo "$ERR" | wc -l)" 1 "one error line for $n bytes"
done

test_case no_magic
printf 'hello world, this is not a firmware image at all' >bad.bin
fails 1 "magic bytes not found" bad.bin

test_case unknown_chip
cp fw.bin bad.bin; printf '\x77\x77' | dd of=bad.bin bs=1 seek=12 conv=notrunc status=none
fails 1 "Invalid chip id" bad.bin

test_case corrupt_md5
cp fw.bin bad.bin; printf '\x00' | dd of=bad.bin bs=1 seek=$((0x7000 + 4 * 32 + 20)) conv=notrunc status=none
fails 1 "Checksum" bad.bin

test_case corrupt_entry
cp fw.bin bad.bin; printf '\x12\x34' | dd of=bad.bin bs=1 seek=$((0x7000 + 5 * 32)) conv=notrunc status=none
fails 1 "" bad.bin

test_case overlapping_add
fails 1 "overlaps" fw.bin --add foo=fat:0x100000:0x1000
test_case misaligned_table
fails 1 "not multiple of 0x10000" fw.bin --table nvs=6B,factory=2M,vfs=0
test_case past_flash_end
fails 1 "No room on flash" fw.bin --add big=fat:0x300000:0x200000
test_case resize_past_end
fails 1 "" fw.bin --resize factory=5M
test_case unknown_names
fails 1 "Partition 'nope' not found." fw.bin --resize nope=1M
fails 1 "Partition 'nope' not found." fw.bin --delete nope
fails 1 "Partition 'nope' not found." fw.bin --read nope=x.bin
fails 1 "vfs2" fw.bin --add vfs2:0:1M
test_case bad_sizes
fails 2 "invalid IntArg value: 'xyz'" fw.bin -f xyz
fails 2 "invalid PartList value" fw.bin --resize vfs=abc
fails 1 "Invalid flash size" fw.bin -f 6M
test_case malformed_csv
printf 'nvs, data, nvs, 0x9000, zz, \n' >t.csv
fails 1 "t.csv:1" fw.bin --from-csv t.csv
test_case output_equals_input
fails 1 "same file" fw.bin --resize vfs=1M -o fw.bin
test_case unwritable_output
mkdir -p ro && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
  fails 1 "ro/out.bin" fw.bin --resize vfs=1M -o ro/out.bin
fi
fails 1 "nodir/out.bin" fw.bin --resize vfs=1M -o nodir/out.bin
test_case missing_file
fails 1 "nonexistent.bin" nonexistent.bin
test_case command_line
fails 2 "the following arguments are required: filename"
fails 2 "unrecognized arguments: --bogus" fw.bin --bogus

test_case write_wrong_chip_app
fails 1 "Attempt to write invalid app image to 'factory'." fw.bin --write factory=s3.bin

finish
