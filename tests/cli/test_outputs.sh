#!/usr/bin/env bash
# Nothing broken is written, failures are never hidden, outputs never replace what they must
# not: broken images refused (with --force for experts), --check-app's exit status, -q,
# special output paths, the input protected, temporary files, long names, SIGPIPE, control
# characters from images, damaged filesystems and puts that cannot fit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

enter_workdir
"$SYNTH" --chip esp32 -o fw.bin >/dev/null
"$SYNTH" --chip esp32 --flash-size 2M --app-size 200000 --full-flash -o full.bin >/dev/null
"$SYNTH" --chip esp32 --app-only --seed 3 -o app.bin >/dev/null
orig=$(sha fw.bin)
no_temp_files() {
  expect_eq "$(find . -name '.mp-tmp-*' | wc -l)" 0 "temporary files left behind"
}

test_case truncated_firmware_is_shown_but_never_written
head -c 1048576 fw.bin >trunc.bin
run "$TOOL" trunc.bin
expect_status 0
expect_out "Partition 'factory': the image is cut off or corrupt"
run "$TOOL" trunc.bin --resize vfs=1M
expect_status 1
expect_err "Refusing to write a broken firmware: Partition 'factory': the image is cut off"
expect_err "Use --force to write it anyway."
expect_no_out "Writing to esp32 firmware file"
expect_no_file trunc-resize=vfs=1048576.bin
run "$TOOL" -q trunc.bin --resize vfs=1M --force
expect_status 0
expect_file trunc-resize=vfs=1048576.bin
run "$TOOL" -q trunc.bin --check-app
expect_status 3
expect_out "Partition 'factory':"
expect_err "App check failed"

test_case bad_hash_fails_check_app_even_with_q
cp fw.bin badhash.bin
# a byte inside the app's first segment: checksum and digest no longer match
printf '\x5a' | dd of=badhash.bin bs=1 seek=$((0xf000 + 0x200)) conv=notrunc status=none
run "$TOOL" -q badhash.bin --check-app
expect_status 3
expect_out "Partition 'factory': Checksum mismatch"
expect_err "App check failed: 1 problem"
run "$TOOL" -q fw.bin --check-app
expect_status 0
expect_eq "$OUT" "" "quiet check of a good firmware"
run "$TOOL" -q badhash.bin -x
expect_status 1
expect_err "checksum mismatch"
expect_no_file badhash.app-bin
cp app.bin badapp.bin
printf '\x5a' | dd of=badapp.bin bs=1 seek=$((0x200)) conv=notrunc status=none
run "$TOOL" -q fw.bin --write factory=badapp.bin -o w.bin
expect_status 1
expect_err "Attempt to write invalid app image to 'factory': the image: checksum mismatch"
expect_no_file w.bin
run "$TOOL" -q fw.bin --write factory=fw.bin -o w.bin
expect_status 1
expect_err "Attempt to write invalid app image to 'factory': not an app image"
expect_no_file w.bin
run "$TOOL" -q fw.bin --write factory=app.bin -o w.bin
expect_status 0

test_case broken_app_images_are_refused_by_write_and_ota_update
"$SYNTH" --chip esp32 --ota --full-flash -o ota.bin >/dev/null
head -c $(($(stat -c %s app.bin) - 16)) app.bin >short.bin
run "$TOOL" ota.bin --ota-update short.bin
expect_status 1
expect_err "Refusing to install a broken app: OTA update image: SHA-256 digest missing"
expect_no_file ota-ota-update.bin
run "$TOOL" -q ota.bin --ota-update app.bin
expect_status 0
expect_file ota-ota-update.bin
run "$TOOL" ota-ota-update.bin --check-app
expect_out "Current OTA boot partition: ota_1"
run "$TOOL" -q ota.bin --write ota_0=short.bin -o x.bin
expect_status 1
expect_err "Attempt to write invalid app image to 'ota_0': the image: SHA-256 digest missing"
expect_no_file x.bin

test_case outputs_never_replace_the_input
ln -s fw.bin link-to-input.bin
ln fw.bin hard-link.bin
for out in fw.bin link-to-input.bin hard-link.bin "$work/fw.bin"; do
  run "$TOOL" -q fw.bin --resize vfs=1M -o "$out"
  expect_status 1
  run "$TOOL" -q fw.bin --read nvs="$out"
  expect_status 1
  run "$TOOL" -q fw.bin -x -o "$out"
  expect_status 1
done
expect_eq "$(sha fw.bin)" "$orig" "input unchanged"
printf "tiny" >tiny.bin
run "$TOOL" -q full.bin --fs mkfs --fs put tiny.bin full-copy.bin -o withfile.bin
expect_status 0
cp withfile.bin full-copy.bin
run "$TOOL" -q full-copy.bin --fs get full-copy.bin full-copy.bin
expect_status 1
expect_err "is the input file: refusing to overwrite it"
expect_same_file full-copy.bin withfile.bin
no_temp_files

test_case special_output_paths
mkfifo pipe
(cat pipe >from-pipe.bin) &
run "$TOOL" -q fw.bin --read nvs=pipe
expect_status 0
wait $!
expect_eq "$(stat -c %s from-pipe.bin)" 24576 "bytes through the FIFO"
if [ -p pipe ]; then pass; else fail "the FIFO was replaced"; fi
run "$TOOL" -q fw.bin --read nvs=/dev/null
expect_status 0
mkdir adir
run "$TOOL" -q fw.bin --read nvs=adir
expect_status 1
expect_err "adir: is a folder, not a file"
ln -s target.bin out-link.bin
run "$TOOL" -q fw.bin --read nvs=out-link.bin
expect_status 1
expect_err "a symbolic link to a missing file"
: >target.bin
run "$TOOL" -q fw.bin --read nvs=out-link.bin
expect_status 0
if [ -L out-link.bin ] && [ "$(stat -c %s target.bin)" -eq 24576 ]; then pass; else
  fail "the link was not followed"
fi
chmod 600 target.bin
run "$TOOL" -q fw.bin --read phy_init=target.bin
expect_eq "$(stat -c %a target.bin)" 600 "permissions of a replaced file"
no_temp_files

test_case long_output_names_work
long=$(printf 'n%.0s' $(seq 251)).bin
run "$TOOL" -q fw.bin --resize vfs=1M -o "$long"
expect_status 0
expect_file "$long"
run "$TOOL" -q fw.bin --read nvs="$long"
expect_status 0
no_temp_files

test_case sigpipe_is_an_error_message_not_a_silent_death
head -c 400000 /dev/urandom >big.dat
run "$TOOL" -q full.bin --fs mkfs --fs put big.dat -o big.bin
expect_status 0
set +e
"$TOOL" -q big.bin --fs cat big.dat 2>pipe-err.txt | head -c 10 >/dev/null
status=${PIPESTATUS[0]}
set -e
expect_eq "$status" 1 "exit status after the reader went away"
if grep -q "writing to standard output" pipe-err.txt; then pass; else
  fail "no message about the closed pipe: $(cat pipe-err.txt)"
fi

test_case control_characters_from_images_are_escaped
run "$TOOL" -q fw.bin --rename vfs=$'v\e[2Jx' -o esc.bin
expect_status 0
run "$TOOL" esc.bin
expect_out 'v\x1b[2Jx'
if [[ "$OUT" == *$'\e'* ]]; then fail "an escape character reached the output"; else pass; fi
mkdir -p weird
printf 'x' >weird/$'line\nbreak'
printf 'y' >weird/$'bell\a'
run "$TOOL" -q full.bin --fs mkfs --fs put weird -o weird.bin
expect_status 0
run "$TOOL" -q weird.bin --fs ls
expect_out 'weird/line\x0abreak'
expect_out 'weird/bell\x07'
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 4 "one line per name"

test_case damaged_filesystem_is_an_error_empty_partition_is_skipped
run "$TOOL" -q full.bin --fs mkfs -o ok.bin
cp ok.bin damaged.bin
# break the commit checksums of both superblock blocks (the magic stays)
printf '\xff\xff' | dd of=damaged.bin bs=1 seek=$((0x170000 + 20)) conv=notrunc status=none
printf '\xff\xff' | dd of=damaged.bin bs=1 seek=$((0x171000 + 20)) conv=notrunc status=none
for cmd in ls "get boot.py b.py" "cat boot.py" df info; do
  # shellcheck disable=SC2086 # the command's words
  run "$TOOL" -q damaged.bin --fs $cmd
  expect_status 1
  expect_err "holds a littlefs filesystem that does not mount"
done
run "$TOOL" -q full.bin --fs ls
expect_status 0
run "$TOOL" full.bin --fs ls
expect_out "Skipping partition 'vfs'"

test_case put_that_cannot_fit_writes_nothing
head -c 700000 /dev/urandom >huge.dat
run "$TOOL" -q ok.bin --fs put huge.dat -o put.bin
expect_status 1
expect_err "The files do not fit in 'vfs' ("
expect_err "nothing was written"
expect_no_file put.bin

if [ ! -x "${VCHIP:-}" ]; then
  echo "SKIP: the virtual chip is not built"
  finish
  exit $?
fi
test_case on_a_board_refusals_leave_the_flash_identical
cp ok.bin board.flash
vchip_start board --chip esp32 --flash board.flash --flash-size 2M --quiet
"$TOOL" -q "$PORT" -o before.bin
run "$TOOL" -q "$PORT" --fs put huge.dat
expect_status 1
expect_err "nothing was written"
run "$TOOL" trunc.bin --flash "$PORT"
expect_status 1
expect_err "Refusing to write a broken firmware"
"$SYNTH" --chip esp32 --flash-size 2M --app-size 200000 --ota -o ota2.bin >/dev/null
run "$TOOL" "$PORT" --ota-update short.bin
expect_status 1
"$TOOL" -q "$PORT" -o after.bin
expect_same_file after.bin before.bin

finish
