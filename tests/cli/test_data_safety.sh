#!/usr/bin/env bash
# A user's data survives layout changes and re-flashes, on firmware files and on virtual boards:
# after every change the littlefs tree reads back identical (fs-manifest: folders, file
# contents, every attribute such as mtime, the disk version), NVS reads back page for page, and
# a refused command leaves the file or the board's flash byte-identical. Faults during a
# migration on a board end with the old layout or the new one, all files in place.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

enter_workdir

# A 2 MB esp32 whole-flash image (vfs 0x90000 at 0x170000) holding a tree with mtimes.
"$SYNTH" --chip esp32 --flash-size 2M --app-size 200000 --full-flash -o base.bin >/dev/null
mkdir -p tree/sub/deeper
for i in $(seq 1 12); do head -c $((i * 1500)) /dev/urandom >tree/f$i.bin; done
head -c 70000 /dev/urandom >tree/sub/big.bin
echo "print('hello')" >tree/sub/deeper/main.py
: >tree/empty.txt
touch -d '2021-03-04 05:06:07' tree/f1.bin
run "$TOOL" -q base.bin --fs mkfs --fs put tree -o fs.bin
expect_status 0
manifest() { "$MANIFEST" "$1" "${2:-vfs}" | grep -v '^blocks'; }
manifest fs.bin >want.txt
expect_eq "$(grep -c '^f ' want.txt)" 16 "files in the reference tree"
if grep -q "f /tree/f1.bin 1500 [0-9a-f]* 1=" want.txt; then pass; else fail "no mtime attribute"; fi
same_tree() { # image [partition]
  if manifest "$@" 2>&1 | cmp -s - want.txt; then pass; else
    fail "tree of $1 differs: $(manifest "$@" 2>&1 | diff - want.txt | head -5)"
  fi
}
vfs_row() { "$TOOL" "$1" 2>/dev/null | grep "^ *${2:-vfs} " | awk '{print $4, $5}'; }

test_case file_shrink_in_place_keeps_the_tree
run "$TOOL" fs.bin --resize vfs=0x60000 -o shrunk.bin
expect_status 0
expect_out "Moving the files of 'vfs' (16 files, 3 folders"
expect_eq "$(vfs_row shrunk.bin)" "0x170000 0x60000" "vfs after the shrink"
same_tree shrunk.bin
expect_eq "$("$MANIFEST" shrunk.bin vfs | grep '^blocks')" "blocks 96 of 96" "filesystem size"

test_case file_moved_by_a_new_table_keeps_the_tree
run "$TOOL" fs.bin --table nvs=nvs:24K,phy_init=phy:4K,factory=factory:0x100000,vfs=fat:0 \
  -o moved.bin
expect_status 0
expect_eq "$(vfs_row moved.bin)" "0x110000 0xf0000" "vfs after the new table"
same_tree moved.bin
run "$TOOL" fs.bin --table ota -a 0x60000 -o ota.bin
expect_status 0
expect_eq "$(vfs_row ota.bin)" "0xd0000 0x130000" "vfs of the ota layout"
same_tree ota.bin

test_case file_grown_in_place_keeps_and_grows_the_filesystem
run "$TOOL" fs.bin -f 4M --resize vfs=0 -o grown.bin
expect_status 0
expect_out "Growing the filesystem in 'vfs' with its partition to 2.6 MB"
same_tree grown.bin
expect_eq "$("$MANIFEST" grown.bin vfs | grep '^blocks')" "blocks 656 of 656" "grown size"

test_case file_disk_version_2_0_stays_2_0
"$SYNTH" --chip esp32 --flash-size 2M --app-size 200000 --full-flash --mp-version v1.20.0 \
  -o old.bin >/dev/null
run "$TOOL" -q old.bin --fs mkfs --fs put tree/f3.bin -o old-fs.bin
expect_eq "$("$MANIFEST" old-fs.bin vfs | grep '^version')" "version 2.0" "mkfs for v1.20"
run "$TOOL" -q old-fs.bin --resize vfs=0x40000 -o old-small.bin
expect_status 0
expect_eq "$("$MANIFEST" old-small.bin vfs | grep '^version')" "version 2.0" "after the shrink"

test_case file_files_that_do_not_fit_are_refused_and_nothing_is_written
before=$(sha fs.bin)
run "$TOOL" fs.bin --resize vfs=0x20000 -o small.bin
expect_status 1
expect_err "The files in 'vfs' (16 files, 3 folders, 187154 bytes, using 62 blocks of 4 KiB)"
expect_err "do not fit its new size (0x20000 bytes, 32 blocks)"
expect_no_file small.bin
expect_eq "$(sha fs.bin)" "$before" "input unchanged"

test_case file_erase_fs_drops_the_files_explicitly
run "$TOOL" fs.bin --resize vfs=0x20000 --erase-fs vfs -o dropped.bin
expect_status 0
expect_out "Erasing data partition: vfs..."
run "$TOOL" -q dropped.bin --fs ls
expect_status 0
expect_eq "$OUT" "" "no files left"

test_case file_files_leaving_the_table_are_refused
run "$TOOL" fs.bin --table nvs=nvs:24K,phy_init=phy:4K,factory=factory:0x1f0000 -o gone.bin
expect_status 1
expect_err "Partition 'vfs' holds a littlefs filesystem with 16 files and is not in the new table"
expect_no_file gone.bin
run "$TOOL" fs.bin --delete vfs -o deleted.bin
expect_status 0

test_case file_nvs_moves_page_by_page
nvs_src="$MP_SHARED_DIR/nvs-vectors/idf-types-0x6000.bin"
if [ -f "$nvs_src" ]; then cp "$nvs_src" nvs.bin; else
  # four pages in use and two free, like the vector
  { head -c $((4 * 4096)) /dev/urandom; perl -e 'print "\xff" x 8192'; } >nvs.bin
fi
run "$TOOL" -q fs.bin --write nvs=nvs.bin -o nvsfs.bin
expect_status 0
run "$TOOL" nvsfs.bin --table phy_init=phy:4K,nvs=nvs:24K,factory=factory:0x160000,vfs=fat:0 \
  -o nvsmoved.bin
expect_status 0
expect_out "Moving NVS 'nvs' (4 pages in use) to 0xa000"
rm -f back.bin
"$TOOL" -q nvsmoved.bin --read nvs=back.bin
expect_same_file back.bin nvs.bin
same_tree nvsmoved.bin
# smaller: the four pages and the free page NVS needs fit in five, not in four
run "$TOOL" nvsfs.bin --delete phy_init --resize nvs=0x5000 -o nvs5.bin
expect_status 0
rm -f back5.bin
"$TOOL" -q nvs5.bin --read nvs=back5.bin
cmp -s back5.bin <(head -c $((5 * 4096)) nvs.bin) && pass || fail "nvs of 5 pages"
run "$TOOL" nvsfs.bin --resize nvs=0x4000 -o nvs4.bin
expect_status 1
expect_err "Partition 'nvs' holds 4 NVS pages of data"
expect_no_file nvs4.bin

test_case file_flash_size_smaller_than_the_layout_is_refused
run "$TOOL" fs.bin -f 1M -o one.bin
expect_status 1
expect_err "The partition table ends at 0x200000, past the end of a 1MB flash."
expect_no_file one.bin

# ---------------------------------------------------------------- boards
if [ ! -x "${VCHIP:-}" ]; then
  echo "SKIP: the virtual chip is not built"
  finish
  exit $?
fi

# start_board NAME IMAGE [sim options...]: a 2 MB esp32 whose flash file is a copy of IMAGE;
# sets PORT and FLASHFILE
start_board() {
  local name=$1 image=$2
  shift 2
  FLASHFILE=$name.flash
  cp "$image" "$FLASHFILE"
  local quiet=(--quiet)
  [[ " $* " == *" --verbose "* ]] && quiet=()
  vchip_start "$name" --chip esp32 --flash "$FLASHFILE" --flash-size 2M "${quiet[@]}" "$@"
}
# the board's flash as it is now (the simulator writes its file when idle)
board_image() { "$TOOL" -q "$PORT" -o "$1" >/dev/null; }

test_case board_shrink_in_place_keeps_the_tree
start_board shrink fs.bin
run "$TOOL" "$PORT" --resize vfs=0x60000
expect_status 0
expect_out "Moving the files of 'vfs' (16 files, 3 folders"
expect_out "The board's data is kept in 'mp-backup-"
expect_eq "$(ls mp-backup-* 2>/dev/null)" "" "backup removed after the board verified"
board_image shrink-now.bin
expect_eq "$(vfs_row shrink-now.bin)" "0x170000 0x60000" "vfs on the board"
same_tree shrink-now.bin

test_case board_refused_change_leaves_the_flash_identical
start_board refuse fs.bin
board_image refuse-before.bin
run "$TOOL" "$PORT" --resize vfs=0x20000
expect_status 1
expect_err "do not fit its new size"
board_image refuse-after.bin
expect_same_file refuse-after.bin refuse-before.bin
run "$TOOL" "$PORT" -f 4M
expect_status 1
expect_err "Selected flash size is larger than device flash size (4MB > 2MB)."
board_image refuse-after2.bin
expect_same_file refuse-after2.bin refuse-before.bin

test_case board_o_saves_the_whole_flash
start_board whole fs.bin
run "$TOOL" "$PORT" -o whole.bin
expect_status 0
expect_out "Saving the whole flash of the device (2MB) into 'whole.bin'..."
expect_eq "$(stat -c %s whole.bin)" 2097152 "size of the saved flash"
same_tree whole.bin

test_case board_flash_carries_files_and_nvs_into_the_new_layout
start_board reflash nvsfs.bin
run "$TOOL" -q nvsfs.bin --table ota -a 0x60000 --erase-fs vfs --erase nvs -o ota-empty.bin
expect_status 0
run "$TOOL" ota-empty.bin --flash "$PORT"
expect_status 0
expect_out "Moving the files of 'vfs' (16 files, 3 folders"
expect_out "Moving NVS 'nvs' (4 pages in use)"
board_image reflash-now.bin
expect_eq "$(vfs_row reflash-now.bin)" "0xd0000 0x130000" "vfs of the flashed layout"
same_tree reflash-now.bin
rm -f back-nvs.bin
"$TOOL" -q reflash-now.bin --read nvs=back-nvs.bin
cmp -s back-nvs.bin <(head -c $((5 * 4096)) nvs.bin) && pass || fail "nvs after --flash"
run "$TOOL" "$PORT" --check-app
expect_status 0
expect_out "Current OTA boot partition: ota_0"

test_case board_flash_of_a_larger_layout_is_refused
start_board big fs.bin
board_image big-before.bin
"$SYNTH" --chip esp32 --flash-size 4M --app-size 200000 -o fw4.bin >/dev/null
run "$TOOL" fw4.bin --flash "$PORT"
expect_status 1
expect_err "past the end of the device's 2MB flash"
expect_err "Use the '-f' option"
board_image big-after.bin
expect_same_file big-after.bin big-before.bin
run "$TOOL" fw4.bin -f 2M --resize vfs=0 --flash "$PORT"
expect_status 0
same_tree big-after.bin || true

test_case board_faults_during_a_migration_end_old_or_new_with_all_files
# Faults on the line (drop, corrupt, disconnect, reset, stall, a lost host byte, failed
# writes) while a shrink moves the files (old and new fit side by side, so only the
# new superblock pair lands on old blocks): a retry that succeeds (new layout) or a clear error
# (old layout); either way every file is there, byte for byte, with its attributes.
for fault in "drop-byte@20000" "corrupt-byte@120000" "disconnect@200000" "reset@230000" \
    "drop-rx-byte@150000" "stall@160000:500" \
    "fail-cmd=0x10@1 fail-cmd=0x10@2 fail-cmd=0x10@3 fail-cmd=0x10@4 fail-cmd=0x10@5"; do
  args=()
  for f in $fault; do args+=(--fault "$f"); done
  name=f$RANDOM
  rm -f mp-backup-*
  start_board "$name" fs.bin "${args[@]}" || continue
  run "$TOOL" "$PORT" --resize vfs=0x80000
  status=$STATUS
  expect_no_out "sectors of new data lie where the old layout keeps files"
  board_image "$name-after.bin"
  layout=$(vfs_row "$name-after.bin")
  if [ "$status" -eq 0 ]; then
    expect_eq "$layout" "0x170000 0x80000" "$fault: new layout"
  else
    expect_eq "$layout" "0x170000 0x90000" "$fault: old layout"
    expect_err "kept in 'mp-backup-"
    same_tree "$(ls mp-backup-*.bin | head -1)"
  fi
  same_tree "$name-after.bin"
done

test_case board_when_old_and_new_overlap_a_failed_write_is_rolled_back_or_recoverable
# Shrunk to 0x60000 the copy needs blocks the old files use: those are written last, then the
# new superblock pair, then the table. Fail the first superblock write for good (4 attempts):
# the old data is written back and the board keeps its old layout and files.
start_board count fs.bin --verbose
run "$TOOL" "$PORT" --resize vfs=0x60000
expect_status 0
expect_out "sectors of new data lie where the old layout keeps files"
# the first write of a superblock block (0x170000 or 0x171000: the pair is written last)
k=$(grep -o "deflate begin: offset 0x[0-9a-f]*" count.out | grep -n "0x17[01]000$" | head -1 |
  cut -d: -f1 || true)
if [ -n "$k" ]; then pass; else fail "no write of the new superblock seen"; k=1; fi
fails() { for i in $(seq "$k" $((k + $1 - 1))); do printf -- "--fault fail-cmd=0x10@%d " "$i"; done; }
rm -f mp-backup-*
# shellcheck disable=SC2046 # one word per option
start_board rollback fs.bin $(fails 4)
run "$TOOL" "$PORT" --resize vfs=0x60000
expect_status 1
expect_err "The board's old data was written back: it has its old layout and data."
board_image rollback-after.bin
expect_eq "$(vfs_row rollback-after.bin)" "0x170000 0x90000" "old layout after the rollback"
same_tree rollback-after.bin
# The write back fails too: the backup holds every file, and the printed commands put the
# partition back as it was.
rm -f mp-backup-*
# shellcheck disable=SC2046
start_board lost fs.bin $(fails 8)
run "$TOOL" "$PORT" --resize vfs=0x60000
expect_status 1
expect_err "Could not write the old data back"
expect_err "kept in 'mp-backup-"
backup=$(ls mp-backup-*.bin | head -1)
same_tree "$backup"
board_image lost-after.bin
expect_eq "$(vfs_row lost-after.bin)" "0x170000 0x90000" "old table after the failure"
rm -f vfs-back.bin
run "$TOOL" -q "$backup" --read vfs=vfs-back.bin
expect_status 0
run "$TOOL" -q "$PORT" --write vfs=vfs-back.bin
expect_status 0
board_image lost-restored.bin
same_tree lost-restored.bin

finish
