#!/usr/bin/env bash
# Ports and chips: --info on virtual boards (revision, MAC, crystal and flash chip as each board
# was configured), --list-ports and the device name "auto" over a made-up sysfs tree
# (MP_IMAGE_TOOL_SYSFS) whose one ESP-like port is a virtual board's pty (MP_IMAGE_TOOL_DEV).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "$VCHIP" ] || skip_all "no virtual chip"
enter_workdir

test_case "info on an ESP32 as configured"
vchip_start a --chip esp32 --revision 1.0 --mac 30:ae:a4:01:02:03 --crystal 26 \
  --jedec-id 0x1740c8 --flash-size 8M
run "$TOOL" "$PORT" --info
expect_status 0
expect_out "Chip: ESP32 (revision v1.0)
Features: Wi-Fi, BT, Dual Core + LP Core, 240MHz, Vref calibration in eFuse, Coding Scheme None
Crystal: 26 MHz
MAC: 30:ae:a4:01:02:03
Flash manufacturer: 0xc8, device: 0x4017
Flash size: 8MB"
# nothing else is read: no table, no filesystem (a blank board is fine)
expect_no_out "Partition table"

test_case "features from eFuses"
# word 3: APP CPU disabled (bit 0), package 5 (ESP32-PICO-D4, bits 9-11), rated 160 MHz (bits
# 12-13); word 6: coding scheme 3/4
vchip_start e --chip esp32 --efuse 0x3FF5A00C=0x3a01 --efuse 0x3FF5A018=1
run "$TOOL" "$PORT" --info
expect_status 0
expect_out "Features: Wi-Fi, BT, Single Core + LP Core, 160MHz, Embedded Flash, Vref calibration in eFuse, Coding Scheme 3/4"
vchip_start f --chip esp32s2
run "$TOOL" "$PORT" --info
expect_out "Features: Wi-Fi, Single Core, 240MHz, Embedded Flash 4MB, Embedded PSRAM 2MB, ADC and temperature sensor calibration in BLK2 of eFuse V1"

test_case "EUI-64 MAC of chips with MAC_EXT"
vchip_start g --chip esp32c6 --mac 60:55:f9:f7:2c:a2
run "$TOOL" "$PORT" --info
expect_out "MAC: 60:55:f9:ff:fe:f7:2c:a2
Base MAC: 60:55:f9:f7:2c:a2"

test_case "info on other chips, production defaults"
vchip_start b --chip esp32s3
run "$TOOL" "$PORT" --info
expect_status 0
expect_out "Chip: ESP32-S3 (revision v0.2)
Features: Wi-Fi, BT 5 (LE), Dual Core + LP Core, 240MHz
Crystal: 40 MHz
MAC: 24:0a:c4:00:00:01
Flash manufacturer: 0xef, device: 0x4016
Flash size: 4MB"
vchip_start c --chip esp32c3 --revision 0.4 --mac 58:cf:79:aa:bb:cc
run "$TOOL" -q "$PORT" --info --no-stub
expect_status 0
expect_out "Chip: ESP32-C3 (revision v0.4)"
expect_out "MAC: 58:cf:79:aa:bb:cc"
run "$TOOL" "$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin" --info
expect_status 1
expect_err "--info needs a board"

# A sysfs tree: class/tty/NAME/device -> the USB interface under the USB device's folder.
fake_tty() { # name usbdev vid pid product serial acm
  local dev="sys/devices/usb1/$2" intf
  mkdir -p "$dev" "sys/class/tty/$1"
  printf '%s\n' "$3" >"$dev/idVendor"
  printf '%s\n' "$4" >"$dev/idProduct"
  printf '%s\n' "$5" >"$dev/product"
  [ -z "$6" ] || printf '%s\n' "$6" >"$dev/serial"
  if [ "$7" = acm ]; then intf="$2:1.0"; else intf="$2:1.0/$1"; fi
  mkdir -p "$dev/$intf"
  ln -s "../../../devices/usb1/$2/$intf" "sys/class/tty/$1/device"
}
export MP_IMAGE_TOOL_SYSFS=$PWD/sys MP_IMAGE_TOOL_DEV=$PWD/dev
mkdir -p dev

test_case "list ports"
fake_tty ttyUSB0 1-1 10c4 ea60 "CP2102 USB to UART Bridge Controller" 0001 ""
fake_tty ttyACM0 1-2 303a 1001 "USB JTAG/serial debug unit" "DC:DA:0C:11:22:33" acm
fake_tty ttyACM1 1-3 2341 0043 "Arduino Uno" "75735303" acm
run "$TOOL" --list-ports
expect_status 0
expect_out "$PWD/dev/ttyACM0  303a:1001  serial DC:DA:0C:11:22:33  USB JTAG/serial debug unit  [ESP, USB-Serial/JTAG]
$PWD/dev/ttyACM1  2341:0043  serial 75735303  Arduino Uno
$PWD/dev/ttyUSB0  10c4:ea60  serial 0001  CP2102 USB to UART Bridge Controller  [ESP-like]
'auto' finds several ESP-like ports: name the port."

test_case "auto: several candidates"
run "$TOOL" auto
expect_status 1
expect_err "several ESP serial ports found (/dev/ttyACM0, /dev/ttyUSB0)"

test_case "auto: the only ESP port"
rm sys/class/tty/ttyACM0/device
# a board on a pty, as a USB serial port is one
"$VCHIP" --chip esp32c6 --pty --revision 0.1 >d.out 2>&1 &
VCHIP_PIDS+=($!)
pty=""
for _ in $(seq 100); do
  pty=$(grep -o '/dev/pts/[0-9]*' d.out 2>/dev/null | head -1 || true)
  [ -n "$pty" ] && break
  sleep 0.05
done
ln -s "$pty" dev/ttyUSB0
run "$TOOL" --list-ports
expect_out "'auto' is $PWD/dev/ttyUSB0."
run "$TOOL" auto --info
expect_status 0
expect_out "Using $PWD/dev/ttyUSB0 (10c4:ea60 CP2102 USB to UART Bridge Controller) for 'auto'."
expect_out "Chip: ESP32-C6 (revision v0.1)"

test_case "auto: none"
rm sys/class/tty/ttyUSB0/device
run "$TOOL" auto --info
expect_status 1
expect_err "no ESP serial port found"
expect_err "/dev/ttyACM1"

finish
