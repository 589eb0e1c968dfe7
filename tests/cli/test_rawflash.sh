#!/usr/bin/env bash
# Flash by address: --read, --write and --erase with ranges (flash, START:END, START+LEN,
# START) on firmware files and on virtual boards: whole-flash backups equal to the chip's flash
# byte for byte, restores that send only the changed 64 KiB pieces, chip erase, a blank board
# restored, and broken data refused before anything is written.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

enter_workdir

# the esp32 firmware: the official release when ../shared is there, else a generated one
fw="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
if [ ! -f "$fw" ]; then
  "$SYNTH" --chip esp32 -o gen-esp32.bin >/dev/null
  fw=$work/gen-esp32.bin
fi
fwsize=$(stat -c %s "$fw")
ff() { head -c "$1" /dev/zero | tr '\0' '\377'; }

test_case file_whole_flash_read_is_a_dump
run "$TOOL" -q "$fw" --read flash=dump.bin
expect_status 0
# a release .bin starts at 0x1000: the dump has erased bytes before it
expect_eq "$(stat -c %s dump.bin)" $((fwsize + 0x1000)) "dump size"
cmp -s <(head -c 4096 dump.bin) <(ff 4096) && pass || fail "dump does not start erased"
cmp -s <(tail -c +4097 dump.bin) "$fw" && pass || fail "dump does not hold the firmware at 0x1000"
# a dump is a firmware file like the release .bin
run "$TOOL" dump.bin --check-app
expect_status 0
expect_out "Partition 'factory': Hash confirmed"
run "$TOOL" -q dump.bin --read flash=again.bin
expect_same_file again.bin dump.bin

test_case file_ranges
run "$TOOL" -q "$fw" --read 0x8000:0x9000=pt1.bin,0x8000+0x1000=pt2.bin,0x8000+4K=pt3.bin
expect_status 0
expect_same_file pt1.bin pt2.bin
expect_same_file pt1.bin pt3.bin
cmp -s pt1.bin <(tail -c +$((0x7000 + 1)) "$fw" | head -c 4096) && pass || fail "table bytes"
# the flash a file does not hold reads erased, up to the flash size of its header
run "$TOOL" -q "$fw" --read 0x3ff000+0x1000=tail.bin
expect_status 0
cmp -s tail.bin <(ff 4096) && pass || fail "flash after the file's end is not erased"
run "$TOOL" -q "$fw" --read 0x3ff000+0x2000=x.bin
expect_status 1
expect_err "ValueError: --read: 0x3ff000-0x401000 is beyond the end of the firmware's flash"
expect_no_file x.bin
run "$TOOL" -q "$fw" --read 0x1000:0x800=x.bin
expect_status 1
expect_err "--read: the end 0x800 is not above the start 0x1000"
# a partition of that name still wins over the words flash and all
run "$TOOL" -q "$fw" --read nvs=nvs.bin
expect_status 0

test_case file_writes_checked_like_partitions
# the release .bin at its bootloader offset turns an erased dump into the firmware
ff $((0x400000)) >blank.bin
run "$TOOL" -q dump.bin --write 0x1000=$fw -o d2.bin
expect_status 0
expect_same_file d2.bin dump.bin
# a file starting at 0x1000 is made equal to a dump (its erased first sector is not in it)
run "$TOOL" -q "$fw" --write flash=dump.bin -o f2.bin
expect_status 0
expect_same_file f2.bin "$fw"
# a broken app inside the data: refused (no output), written with --force
cp dump.bin broken.bin
printf '\x55' | dd of=broken.bin bs=1 seek=$((0x10000 + 0x2000)) conv=notrunc status=none
run "$TOOL" -q dump.bin --write 0=broken.bin -o b.bin
expect_status 1
expect_err "Refusing to write 'broken.bin' at 0x0: Partition 'factory'"
expect_err "Use --force to write it anyway."
expect_no_file b.bin
run "$TOOL" -q dump.bin --write 0=broken.bin --force -o b.bin
expect_status 0
expect_same_file b.bin broken.bin
# an app for another chip at the app partition
"$SYNTH" --chip esp32c3 --app-only -o c3-app.bin >/dev/null
run "$TOOL" -q dump.bin --write 0x10000=c3-app.bin -o b2.bin
expect_status 1
expect_err "Refusing to write 'c3-app.bin' at 0x10000"
expect_no_file b2.bin
# data that does not fit its range, data before a file's start
head -c 5000 /dev/urandom >r5000.bin
run "$TOOL" -q dump.bin --write 0x300000+0x1000=r5000.bin -o b3.bin
expect_status 1
expect_err "--write: 'r5000.bin' (0x1388 bytes) does not fit in 0x300000-0x301000"
head -c 2000 /dev/urandom >r2000.bin
run "$TOOL" -q "$fw" --write 0x0=r2000.bin -o b3.bin
expect_status 1
expect_err "before the start of the firmware file (0x1000)"
expect_no_file b3.bin
# raw data into the filesystem region, the rest of the range erased
run "$TOOL" -q dump.bin --write 0x300000+0x2000=r5000.bin -o w.bin
expect_status 0
cmp -s <(tail -c +$((0x300000 + 1)) w.bin | head -c 5000) r5000.bin && pass || fail "data at 0x300000"
cmp -s <(tail -c +$((0x300000 + 5000 + 1)) w.bin | head -c $((0x2000 - 5000))) <(ff $((0x2000 - 5000))) &&
  pass || fail "rest of the range erased"

test_case file_erase
run "$TOOL" -q w.bin --erase 0x300000+8K -o e.bin
expect_status 0
# the file grew to hold the write: erased again, it is the dump followed by erased flash
expect_eq "$(stat -c %s e.bin)" $((0x302000)) "size of a file written up to 0x302000"
cmp -s e.bin <(cat dump.bin; ff $((0x302000 - fwsize - 0x1000))) && pass ||
  fail "erasing the written range does not give the dump back"
run "$TOOL" -q dump.bin --erase 0x9800+0x800
expect_status 1
expect_err "--erase: 0x9800 is not a multiple of 4096"
run "$TOOL" -q dump.bin --erase 0x9000
expect_status 1
expect_err "--erase: 0x9000 needs an end or a length"
run "$TOOL" -q dump.bin --erase flash
expect_status 1
expect_err "--erase: the whole flash is erased on a board only; a firmware file has none to erase"

if [ ! -x "${VCHIP:-}" ]; then
  finish
  exit $?
fi

# stop the board started last, so its flash file holds everything it was sent
stop_last_chip() {
  local pid=${VCHIP_PIDS[-1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stat_of() { # the device statistics line of a -d run: field (read, wrote, left, erased, wire)
  local line
  line=$(printf '%s\n' "$OUT" | grep -E 'bytes on the wire$' | tail -1)
  case $1 in
    read) sed -n 's/.*: read \([0-9]*\) bytes.*/\1/p' <<<"$line" ;;
    wrote) sed -n 's/.*wrote \([0-9]*\),.*/\1/p' <<<"$line" ;;
    left) sed -n 's/.*left \([0-9]*\) unchanged.*/\1/p' <<<"$line" ;;
    erased) sed -n 's/.*erased \([0-9]*\);.*/\1/p' <<<"$line" ;;
    wire) sed -n 's/.*; \([0-9]*\) bytes on the wire/\1/p' <<<"$line" ;;
  esac
}

test_case board_backup_equals_chip_flash
vchip_start board --chip esp32 --flash board.flash --quiet --image "$fw"
run "$TOOL" -d "$PORT" --read flash=backup.bin
expect_status 0
expect_out "Saving the whole flash (0x400000 bytes) into 'backup.bin'..."
expect_same_file backup.bin board.flash
expect_eq "$(stat -c %s backup.bin)" $((0x400000)) "backup size"
# the erased 64 KiB pieces after the firmware were not sent: only what holds data was read
found=$(printf '%s\n' "$OUT" | sed -n 's/.*(\([0-9]*\) more found erased).*/\1/p' | tail -1)
erased_pieces=0
for ((a = 0; a < 0x400000; a += 0x10000)); do
  cmp -s <(tail -c +$((a + 1)) board.flash | head -c 65536) <(ff 65536) && erased_pieces=$((erased_pieces + 1))
done
# (a piece the opening run had partly read already, the filesystem's first one, is read)
if [ "$found" -le $((erased_pieces * 65536)) ] && [ "$found" -ge $(((erased_pieces - 2) * 65536)) ]
then pass; else fail "found $found bytes erased by MD5 of $((erased_pieces * 65536))"; fi
if [ "$(stat_of read)" -lt $((0x400000 - erased_pieces * 65536 + 0x20000)) ]; then pass; else
  fail "the backup read $(stat_of read) bytes"
fi

test_case board_restore_sends_only_changed_pieces
head -c 4096 /dev/urandom >junk4k.bin
head -c 12288 /dev/urandom >junk12k.bin
# one piece inside the app, one in the erased filesystem region
run "$TOOL" -q "$PORT" --write 0x20000=junk4k.bin,0x300000+0x3000=junk12k.bin
expect_status 0
run "$TOOL" -q "$PORT" --read flash=changed.bin
cmp -s changed.bin backup.bin && fail "the board did not change" || pass
run "$TOOL" -d "$PORT" --write flash=backup.bin
expect_status 0
# 64 KiB pieces: the app's is sent again, the filesystem's erased, the other 62 left alone
expect_eq "$(stat_of wrote)" 65536 "bytes written by the restore"
expect_eq "$(stat_of erased)" 65536 "bytes erased by the restore"
expect_eq "$(stat_of left)" $((0x400000 - 2 * 65536)) "bytes left unchanged"
wire=$(stat_of wire)
if [ -n "$wire" ] && [ "$wire" -lt $((0x400000 / 16)) ]; then pass; else
  fail "the restore put $wire bytes on the wire (a whole flash is $((0x400000)))"
fi
run "$TOOL" -q "$PORT" --read flash=restored.bin
expect_same_file restored.bin backup.bin

test_case board_broken_restore_refused
cp backup.bin bad-backup.bin
printf '\x55' | dd of=bad-backup.bin bs=1 seek=$((0x10000 + 0x3000)) conv=notrunc status=none
run "$TOOL" -q "$PORT" --write flash=bad-backup.bin
expect_status 1
expect_err "Refusing to write 'bad-backup.bin' at 0x0: Partition 'factory'"
head -c $((0x400000 + 4096)) /dev/zero >too-big.bin
run "$TOOL" -q "$PORT" --write flash=too-big.bin
expect_status 1
expect_err "does not fit in 0x0-0x400000"

test_case board_chip_erase_and_blank_restore
run "$TOOL" -d "$PORT" --erase flash
expect_status 0
expect_out "Erasing the whole flash (4MB)..."
expect_eq "$(stat_of wrote)" 0 "bytes written by a chip erase"
run "$TOOL" "$PORT"
expect_status 1
expect_err "No bootloader found on flash."
# a blank board: flash addresses still work
run "$TOOL" -q "$PORT" --read 0+0x10000=start.bin
expect_status 0
cmp -s start.bin <(ff 65536) && pass || fail "erased board does not read erased"
run "$TOOL" "$PORT" --write flash=backup.bin
expect_status 0
expect_out "without a firmware"
run "$TOOL" "$PORT" --check-app
expect_status 0
stop_last_chip
expect_same_file board.flash backup.bin

test_case board_flash_of_a_dump
vchip_start dumpboard --chip esp32 --flash dumpboard.flash --quiet
run "$TOOL" dump.bin --flash "$PORT"
expect_status 0
run "$TOOL" "$PORT" --check-app
expect_status 0
expect_out "Partition 'factory': Hash confirmed"
# the board's filesystem: kept by --flash, gone after writing the image as the whole flash
run "$TOOL" -q "$PORT" --fs mkfs
expect_status 0
run "$TOOL" -q "$PORT" --read flash=with-fs.bin
stop_last_chip
# the dump's firmware is on the board where it was in the dump (from 0x1000)
cmp -s <(head -c "$fwsize" <(tail -c +4097 dumpboard.flash)) "$fw" && pass ||
  fail "the board does not hold the dump's firmware at 0x1000"

test_case board_whole_flash_from_a_shorter_image
vchip_start shortboard --chip esp32 --flash shortboard.flash --quiet --image "$fw"
run "$TOOL" -q "$PORT" --write flash=with-fs.bin
expect_status 0
run "$TOOL" -q "$PORT" --fs ls
expect_out "boot.py"
run "$TOOL" "$PORT" --write flash=dump.bin
expect_status 0
expect_out "Warning: 'dump.bin' (0x$(printf %x $((fwsize + 0x1000))) bytes) is smaller than the flash (0x400000 bytes): the flash after it is erased."
stop_last_chip
cmp -s shortboard.flash <(cat dump.bin; ff $((0x400000 - fwsize - 0x1000))) && pass ||
  fail "the board is not the image followed by erased flash"

finish
