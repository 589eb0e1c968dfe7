#!/usr/bin/env bash
# The Python tool's filesystem tests (its tests/test_fs.py), replayed on the C tool: a mock
# device file (the v1.23.0 ESP32 firmware, erased flash up to 0x200000 and a littlefs vfs made
# by this tool) and the same commands and expected lines. Differences from upstream's numbers
# come from MicroPython's own littlefs settings (see the df case).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW_SRC="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ -f "$FW_SRC" ]; then
  cp "$FW_SRC" base.bin
else
  echo "note: $FW_SRC not found, using a generated esp32 firmware"
  "$SYNTH" --chip esp32 -o base.bin >/dev/null
fi
chmod u+w base.bin

# mock-fs: boot.py (written by mkfs) and ota/ with four files of the upstream sizes
mkdir -p mock-fs/ota
perl -e 'srand(7); for my $f (["blockdev_writer.mpy",2029],["rollback.mpy",375],["status.mpy",2594],["update.mpy",2048]) {
  open(my $o, ">", "mock-fs/ota/$f->[0]") or die; binmode $o; print $o join("", map { chr(int(rand(256))) } 1..$f->[1]); }'

# the mock device: 4 MiB - 4 KiB of flash from 0x1000, the vfs at 0x200000 (file offset 0x1ff000)
perl -e 'print "\xff" x (0x3ff000 - (-s $ARGV[0]))' base.bin >pad.bin
cat base.bin pad.bin >mock.bin
run "$TOOL" -q mock.bin --fs mkfs --fs mkdir ota --fs put mock-fs/ota/blockdev_writer.mpy \
  mock-fs/ota/rollback.mpy mock-fs/ota/status.mpy mock-fs/ota/update.mpy ota -o mock0.bin
expect_status 0
# mkfs wrote MicroPython's boot.py: keep a copy as the reference tree's boot.py
run "$TOOL" -q mock0.bin --fs get boot.py mock-fs/boot.py
expect_status 0

fresh() { cp mock0.bin firmware.bin; }
tool() {
  rm -f _test_output.bin
  run "$TOOL" firmware.bin --output _test_output.bin "$@"
  if [ -f _test_output.bin ]; then mv _test_output.bin firmware.bin; fi
}
LS6="boot.py
ota/
ota/blockdev_writer.mpy
ota/rollback.mpy
ota/status.mpy
ota/update.mpy"

test_case ls
fresh; tool -q --fs ls
expect_status 0
expect_out "$LS6"

test_case cat
fresh; tool -q --fs cat boot.py
expect_status 0
expect_out "# This file is executed on every boot (including wake-boot from deepsleep)
#import esp
#esp.osdebug(None)
#import webrepl
#webrepl.start()"
expect_eq "$(stat -c %s mock-fs/boot.py)" 139 "boot.py size"

test_case rename
fresh; tool -q --fs rename boot.py boot.bak; tool -q --fs ls
expect_out "boot.bak
ota/
ota/blockdev_writer.mpy"

test_case mkdir
fresh; tool -q --fs mkdir data; tool -q --fs ls
expect_out "boot.py
data/
ota/
ota/blockdev_writer.mpy"

test_case rm_file
fresh; tool -q --fs rm ota/blockdev_writer.mpy; tool -q --fs ls
expect_out "boot.py
ota/
ota/rollback.mpy
ota/status.mpy
ota/update.mpy"

test_case rm_dir
fresh; tool -q --fs rm ota; tool -q --fs ls
expect_out "boot.py"
expect_no_out "ota"

test_case mkfs
fresh; tool -q --fs mkfs vfs; tool -q --fs ls
expect_out "boot.py"
expect_no_out "ota"

test_case df
fresh; tool -q --fs df vfs
expect_status 0
# Upstream shows 28 kB used: littlefs-python's 4 KiB cache makes files up to 512 bytes inline.
# MicroPython's own settings (cache 128: files up to 128 bytes inline) give boot.py (139 bytes)
# and rollback.mpy (375 bytes) blocks of their own: root and ota directory pairs (4 blocks) +
# 5 file blocks = 9 blocks = 36 kB.
expect_out "LittleFS Filesystems
# Partition       Total kB  Used kB   Free kB  Used%
vfs                 2048       36      2012     2%"

test_case grow
fresh
perl -e 'print "\xff" x 0x400000' >>firmware.bin
# upstream uses -f 6M; the header cannot say 6MB, so this tool refuses it: 8M instead
tool -q -f 8M --resize vfs=0 --fs grow --fs df
expect_status 0
expect_out "vfs                 6144       36      6108     1%"
tool -q --fs info
expect_out "Blocks Total:     1536"

test_case get
fresh; rm -f boot.py
tool -q --fs get boot.py
expect_status 0
expect_same_file boot.py mock-fs/boot.py

test_case put
fresh
perl -e 'print map { chr } (0..255) x 16' >input.data
tool -q --fs put input.data
expect_status 0
tool -q --fs get input.data output.data
expect_same_file output.data input.data

test_case put_new_name
fresh
tool -q --fs put input.data renamed.data
expect_status 0
tool -q --fs get renamed.data back.data
expect_same_file back.data input.data

test_case get_directory
fresh; rm -rf rootfs
tool -q --fs get . rootfs
expect_status 0
if diff -r rootfs mock-fs >/dev/null; then pass; else fail "get . rootfs differs from mock-fs"; fi

test_case put_directory
fresh; rm -rf rootfs
tool -q --fs mkdir rootfs
tool -q --fs put "$work/mock-fs" rootfs
expect_status 0
tool -q --fs get rootfs rootfs
expect_status 0
if diff -r rootfs/mock-fs mock-fs >/dev/null; then pass; else fail "put/get directory round trip differs"; fi

test_case several_paths_in_one_command
fresh; tool -q --fs mkdir d1 d2/d3 d4; tool -q --fs ls
expect_out "d1/
d2/
d4/
ota/"
expect_out "d2/d3/"

test_case input_never_modified
fresh; before=$(sha firmware.bin)
run "$TOOL" -q firmware.bin --fs put input.data
expect_status 0
expect_eq "$(sha firmware.bin)" "$before" "input after --fs put without -o"
expect_file firmware-fs.bin

test_case missing_local_source
fresh; tool -q --fs put no-such-file
expect_status 1
expect_err "no-such-file"

finish
