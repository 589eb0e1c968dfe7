#!/usr/bin/env bash
# The Python tool's own firmware tests, replayed on the C tool with the same firmware, the same
# arguments and the same expected lines (compared like upstream: substring match with
# whitespace stripped at both ends of each line).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FW_SRC="$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin"
if [ ! -f "$FW_SRC" ]; then
  skip_all "$FW_SRC not found (set MP_SHARED_DIR to the shared test data)"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fresh() { cp "$FW_SRC" firmware.bin; chmod u+w firmware.bin; }
# Like the upstream harness: run with --output, then the output replaces the firmware.
tool() {
  rm -f _test_output.bin
  run "$TOOL" firmware.bin --output _test_output.bin "$@"
  if [ -f _test_output.bin ]; then mv _test_output.bin firmware.bin; fi
}
show() { run "$TOOL" firmware.bin; }
check_output() { # args... ; expected text in $EXPECTED
  tool "$@"
  expect_status 0
  show
  expect_status 0
  expect_out "$EXPECTED"
}

test_case firmware_file_valid
fresh
show
expect_status 0
expect_out "Found esp32 firmware file (4MB flash)."
expect_out "Partition table (flash size: 4MB):
# Name             Type     SubType      Offset       Size        End Flags
  nvs              data     nvs          0x9000     0x6000     0xf000   0x0  (24.0 kB)
  phy_init         data     phy          0xf000     0x1000    0x10000   0x0   (4.0 kB)
  factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)
  vfs              data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)
Micropython app fills 82.3% of factory partition (350 kB free)"
expect_out "MicroPython v1.23.0"

test_case table_ota
fresh
EXPECTED="nvs              data     nvs          0x9000     0x5000     0xe000   0x0  (20.0 kB)
otadata          data     ota          0xe000     0x2000    0x10000   0x0   (8.0 kB)
ota_0            app      ota_0       0x10000   0x1f0000   0x200000   0x0   (1.9 MB)
ota_1            app      ota_1      0x200000   0x1f0000   0x3f0000   0x0   (1.9 MB)
vfs              data     fat        0x3f0000    0x10000   0x400000   0x0  (64.0 kB)"
check_output --table ota --app-size 0x1f0B

test_case table_default
fresh
EXPECTED="nvs              data     nvs          0x9000     0x7000    0x10000   0x0  (28.0 kB)
factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)
vfs              data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)"
check_output --table default

test_case table_custom
fresh
EXPECTED="nvs              data     nvs          0x9000     0x7000    0x10000   0x0  (28.0 kB)
factory          app      factory     0x10000   0x200000   0x210000   0x0   (2.0 MB)
vfs              data     fat        0x210000   0x100000   0x310000   0x0   (1.0 MB)
vfs2             data     fat        0x310000    0xf0000   0x400000   0x0   (0.9 MB)"
check_output --table nvs=7B,factory=2M,vfs=1M,vfs2=fat:0

test_case delete
fresh
EXPECTED="nvs              data     nvs          0x9000     0x6000     0xf000   0x0  (24.0 kB)
factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)
vfs              data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)"
check_output --delete phy_init
expect_no_out "phy_init"

test_case resize
fresh
EXPECTED="vfs              data     fat        0x200000   0x100000   0x300000   0x0   (1.0 MB)"
check_output --resize vfs=1M

test_case rename
fresh
EXPECTED="app              app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)
vfs2             data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)"
check_output --rename vfs=vfs2,factory=app

test_case add
fresh
EXPECTED="data             data     fat        0x300000    0x32000   0x332000   0x0 (200.0 kB)"
check_output --resize vfs=1M --add data=fat:50B

test_case flash_size
fresh
EXPECTED="Partition table (flash size: 8MB):"
check_output --flash-size 8M

test_case flash_size_vfs
fresh
EXPECTED="Partition table (flash size: 8MB):
# Name             Type     SubType      Offset       Size        End Flags
  nvs              data     nvs          0x9000     0x6000     0xf000   0x0  (24.0 kB)
  phy_init         data     phy          0xf000     0x1000    0x10000   0x0   (4.0 kB)
  factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)
  vfs              data     fat        0x200000   0x600000   0x800000   0x0   (6.0 MB)"
check_output --flash-size 8M --resize vfs=0

strip_ff() { # file -> copy with trailing 0xFF bytes removed
  perl -e 'local $/; open(F, "<", $ARGV[0]) or die; binmode F; my $d = <F>; $d = "" unless defined $d;
           $d =~ s/\xff+\z//; open(O, ">", $ARGV[1]) or die; binmode O; print O $d' "$1" "$2"
}

test_case read
fresh
tool --read bootloader=out.bin
expect_status 0
expect_eq "$(stat -c %s out.bin)" 28672 "bootloader read size"
head -c 28672 "$FW_SRC" >orig.bin
strip_ff out.bin a.bin; strip_ff orig.bin b.bin
expect_same_file a.bin b.bin
fresh
tool --trim --read bootloader=out.bin
expect_eq "$(stat -c %s out.bin)" 23072 "trimmed bootloader size"
expect_same_file out.bin a.bin

test_case write
fresh
perl -e 'print pack("C*", map { $_ % 32 } 0..255)' >data.bin
tool --write phy_init=data.bin
expect_status 0
tool --read phy_init=back.bin
expect_eq "$(stat -c %s back.bin)" 4096 "phy_init read size"
strip_ff back.bin c.bin
expect_same_file c.bin data.bin

test_case erase
tool --erase phy_init
expect_status 0
tool --read phy_init=erased.bin
perl -e 'print "\xff" x 4096' >ff.bin
expect_same_file erased.bin ff.bin

test_case extract_app
fresh
tool --extract-app --output app.bin
expect_status 0
tail -c +$((0xF000 + 1)) "$FW_SRC" >app_expected.bin
expect_same_file app.bin app_expected.bin

test_case check_app
fresh
run "$TOOL" firmware.bin --check-app
expect_status 0
expect_out "Partition 'bootloader': App image signature found.
Partition 'bootloader': Hash confirmed (size=23072).
Partition 'factory': App image signature found.
Partition 'factory': Hash confirmed (size=1672800)."

test_case file_integrity
fresh
before=$(sha firmware.bin)
tool --flash-size 8M --resize vfs=0
expect_status 0
mid=$(sha firmware.bin)
tool --flash-size 4M --resize vfs=0
expect_status 0
after=$(sha firmware.bin)
if [ "$before" != "$mid" ]; then pass; else fail "8M file should differ"; fi
expect_eq "$after" "$before" "sha256 after 8M and back to 4M"

test_case read_write_leave_file_unchanged
fresh
before=$(sha firmware.bin)
tool --read bootloader=bootloader.bin
expect_eq "$(sha firmware.bin)" "$before" "after --read"
tool --write bootloader=bootloader.bin
expect_status 0
expect_eq "$(sha firmware.bin)" "$before" "after --write of the same bootloader"

finish
