#!/usr/bin/env python3
"""Espressif's Python esptool against esp-virtual-chip, over RFC 2217 and over a pty.

For ESP32, ESP32-S3, ESP32-C3 and ESP32-C6: write_flash of the official MicroPython firmware at
921600 baud with esptool's default reset and without --force (its image and chip revision
checks pass), read_flash back byte-identical, verify_flash, erase_region; on the ESP32 the ROM
loader alone (--no-stub) at 921600; --after hard_reset running the application; over RFC 2217
esptool's automatic reconnect when the connection drops in the middle of write_flash, and a
USB-Serial/JTAG port reset through the server.

A pty carries no DTR/RTS: the chip behind it is a board without a reset circuit that sits in
download mode. esptool says so ("Chip was NOT reset") and still connects; runs there end with
--after no_reset (esptool returns the chip to its ROM loader at 115200, as on such a board),
and the hard reset that cannot reach the chip is reported as a skip.

Environment: ESPTOOL (an esptool source tree, its esptool.py, or a command; default: esptool.py
or esptool on PATH), ESP_VIRTUAL_CHIP (the simulator binary), MP_SHARED_DIR (folder with
firmware/). Exit status: 0 all passed, 1 a check failed, 77 esptool or the firmware is missing
(the suite prints SKIP and why). Uses only the Python standard library; esptool needs its own
dependencies (pyserial etc.), see README.md."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77

CHIPS = [
    # chip, firmware file, flash address of the file, USB-Serial/JTAG case
    ("esp32", "ESP32_GENERIC-20240602-v1.23.0.bin", 0x1000),
    ("esp32s3", "ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin", 0x0),
    ("esp32c3", "ESP32_GENERIC_C3-20240602-v1.23.0.bin", 0x0),
    ("esp32c6", "ESP32_GENERIC_C6-20241129-v1.24.1.bin", 0x0),
]
ERASE_AT, ERASE_LEN = 0x10000, 0x10000


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def find_esptool():
    spec = os.environ.get("ESPTOOL", "")
    if spec:
        if os.path.isdir(spec):
            script = os.path.join(spec, "esptool.py")
            if not os.path.isfile(script):
                skip(f"ESPTOOL={spec} holds no esptool.py")
            return [sys.executable, script], spec
        if spec.endswith(".py") and os.path.isfile(spec):
            return [sys.executable, spec], spec
        found = shutil.which(spec)
        if not found:
            skip(f"ESPTOOL={spec} is neither an esptool source tree, esptool.py nor a command")
        return [found], found
    for name in ("esptool.py", "esptool"):
        found = shutil.which(name)
        if found:
            return [found], found
    skip("no Python esptool: set ESPTOOL to an esptool source tree or put esptool.py on PATH "
         "(tests/interop/README.md)")


def find_sim():
    sim = os.environ.get("ESP_VIRTUAL_CHIP", "")
    if sim and os.access(sim, os.X_OK):
        return sim
    for d in sorted(os.listdir(ROOT)):
        cand = os.path.join(ROOT, d, "sim", "esp-virtual-chip")
        if d.startswith("build") and os.access(cand, os.X_OK):
            return cand
    skip("esp-virtual-chip not built (set ESP_VIRTUAL_CHIP)")


class Sim:
    """One esp-virtual-chip process; its log is kept in a file."""

    def __init__(self, prog, tmp, chip, transport, extra=()):
        self.flash = os.path.join(tmp, f"{chip}-{transport}.bin")
        if os.path.exists(self.flash):
            os.unlink(self.flash)
        self.logpath = os.path.join(tmp, f"{chip}-{transport}.log")
        args = [prog, "--chip", chip, "--flash", self.flash]
        args += ["--rfc2217", "0"] if transport == "rfc2217" else ["--pty"]
        args += list(extra)
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.logf, text=True)
        line = self.proc.stdout.readline().strip()
        self.port = line[5:] if line.startswith("pty: ") else line
        if not self.port:
            raise RuntimeError(f"esp-virtual-chip printed no port: {self.log()}")

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        self.proc.stdout.close()

    def flash_bytes(self, addr, n):
        with open(self.flash, "rb") as f:
            f.seek(addr)
            return f.read(n)


class Suite:
    def __init__(self, esptool, sim, firmware_dir, tmp):
        self.esptool, self.sim, self.fw_dir, self.tmp = esptool, sim, firmware_dir, tmp
        self.passed = self.failed = self.skipped = 0
        self.version = "?"

    def run(self, port, *args, timeout=180):
        t0 = time.time()
        p = subprocess.run(self.esptool + ["--port", port] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.time() - t0

    def check(self, label, ok, detail="", seconds=None):
        took = f" ({seconds:.1f} s)" if seconds is not None else ""
        if ok:
            self.passed += 1
            print(f"ok    {label}{took}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {label}{took}\n      {detail.strip()[-1500:]}", flush=True)
        return ok

    def note_skip(self, label, why):
        self.skipped += 1
        print(f"skip  {label}: {why}", flush=True)

    def chip_run(self, transport, chip, fw_name, addr):
        fw_path = os.path.join(self.fw_dir, fw_name)
        with open(fw_path, "rb") as f:
            fw = f.read()
        tag = f"esptool {self.version} {transport:7} {chip:8}"
        after = [] if transport == "rfc2217" else ["--after", "no_reset"]
        sim = Sim(self.sim, self.tmp, chip, transport)
        try:
            mark = len(sim.log())
            rc, out, t = self.run(sim.port, "--baud", "921600", *after, "write_flash",
                                  hex(addr), fw_path)
            self.check(f"{tag} write_flash {fw_name} at 921600, default reset, no --force",
                       rc == 0 and "Hash of data verified" in out, out, t)
            if transport == "rfc2217":
                boots = re.findall(r"boot: (\S+)", sim.log()[mark:])
                self.check(f"{tag} --after hard_reset runs the application",
                           boots[-2:] == ["download", "flash"], f"boots seen: {boots}")
            else:
                self.check(f"{tag} esptool reports the missing reset lines and connects",
                           "was NOT reset" in out or "not supported" in out, out)
            back = os.path.join(self.tmp, "back.bin")
            rc, out, t = self.run(sim.port, "--baud", "921600", *after, "read_flash", hex(addr),
                                  str(len(fw)), back)
            same = rc == 0 and os.path.exists(back) and open(back, "rb").read() == fw
            self.check(f"{tag} read_flash back byte-identical", same, out, t)
            rc, out, t = self.run(sim.port, "--baud", "921600", *after, "verify_flash",
                                  hex(addr), fw_path)
            self.check(f"{tag} verify_flash", rc == 0 and "digest matched" in out, out, t)
            rc, out, t = self.run(sim.port, "--baud", "921600", *after, "erase_region",
                                  hex(ERASE_AT), hex(ERASE_LEN))
            ok = rc == 0
            if ok:
                rc, out2, t2 = self.run(sim.port, "--baud", "921600", *after, "read_flash",
                                        hex(ERASE_AT), hex(ERASE_LEN), back)
                ok = rc == 0 and open(back, "rb").read() == b"\xff" * ERASE_LEN
                out, t = out + out2, t + t2
            self.check(f"{tag} erase_region {ERASE_AT:#x}+{ERASE_LEN:#x} reads back blank",
                       ok, out, t)
            if transport == "pty":
                rc, out, t = self.run(sim.port, "--baud", "921600", "--after", "hard_reset",
                                      "flash_id")
                self.note_skip(f"{tag} --after hard_reset",
                               "a pty has no DTR/RTS to reset the chip (esptool: "
                               f"{'Chip was NOT reset' if 'NOT reset' in out else 'see output'})")
        finally:
            sim.stop()
        expect = bytearray(fw)
        expect[ERASE_AT - addr:ERASE_AT - addr + ERASE_LEN] = b"\xff" * ERASE_LEN
        self.check(f"{tag} flash file holds the firmware, erased region blank",
                   sim.flash_bytes(addr, len(fw)) == bytes(expect))

    def esp32_rom_only(self, transport):
        """--no-stub at 921600: esptool asks the ROM for the baud scaled by its crystal
        estimate (RTC calibration, CK8M_FREQ); the ROM then runs at the speed esptool uses."""
        fw_name, addr = CHIPS[0][1], CHIPS[0][2]
        fw_path = os.path.join(self.fw_dir, fw_name)
        tag = f"esptool {self.version} {transport:7} esp32   "
        after = [] if transport == "rfc2217" else ["--after", "no_reset"]
        sim = Sim(self.sim, self.tmp, "esp32", transport)
        try:
            rc, out, t = self.run(sim.port, "--no-stub", "--baud", "921600", *after,
                                  "write_flash", hex(addr), fw_path)
            log = sim.log()
            m = re.search(r"baud 115200 -> (\d+) \(asked for (\d+)\)", log)
            got = int(m.group(1)) if m else 0
            ok = (rc == 0 and "Hash of data verified" in out and "stub running" not in log
                  and abs(got - 921600) < 921600 * 0.005)
            self.check(f"{tag} --no-stub write_flash at 921600 (ROM runs at {got} baud, asked "
                       f"for {m.group(2) if m else '?'})", ok, out + log, t)
            rc, out, t = self.run(sim.port, "--no-stub", "--baud", "921600", *after,
                                  "verify_flash", hex(addr), fw_path)
            self.check(f"{tag} --no-stub verify_flash", rc == 0 and "digest matched" in out,
                       out, t)
        finally:
            sim.stop()

    def reconnect(self):
        """The connection drops after the 10th data block of write_flash is acknowledged:
        esptool reopens the port, resets the chip (through the server's reset recognition),
        reloads its stub and writes again."""
        fw_name, addr = CHIPS[0][1], CHIPS[0][2]
        fw_path = os.path.join(self.fw_dir, fw_name)
        sim = Sim(self.sim, self.tmp, "esp32", "rfc2217", ["--fault", "disconnect-cmd=0x11@10"])
        try:
            rc, out, t = self.run(sim.port, "--baud", "921600", "write_flash", hex(addr),
                                  fw_path)
            self.check(f"esptool {self.version} rfc2217 esp32    write_flash reconnects after "
                       "the connection drops",
                       rc == 0 and "Lost connection" in out and "Hash of data verified" in out,
                       out + sim.log(), t)
        finally:
            sim.stop()

    def usb_jtag(self):
        """An ESP32-C3 on its USB-Serial/JTAG port behind RFC 2217: esptool cannot see USB ids
        and sends its classic reset; the server turns it into the USB-JTAG sequence."""
        fw_name, addr = CHIPS[2][1], CHIPS[2][2]
        fw_path = os.path.join(self.fw_dir, fw_name)
        sim = Sim(self.sim, self.tmp, "esp32c3", "rfc2217", ["--usb-jtag"])
        try:
            mark = len(sim.log())
            rc, out, t = self.run(sim.port, "--baud", "921600", "write_flash", hex(addr),
                                  fw_path)
            boots = re.findall(r"boot: (\S+)", sim.log()[mark:])
            self.check(f"esptool {self.version} rfc2217 esp32c3  USB-Serial/JTAG port: "
                       "write_flash, hard reset runs the application",
                       rc == 0 and "Hash of data verified" in out
                       and boots[-2:] == ["download", "flash"], out + str(boots), t)
        finally:
            sim.stop()


def main():
    esptool, where = find_esptool()
    sim = find_sim()
    shared = os.environ.get("MP_SHARED_DIR") or os.path.join(os.path.dirname(ROOT), "shared")
    fw_dir = os.path.join(shared, "firmware")
    missing = [c[1] for c in CHIPS if not os.path.isfile(os.path.join(fw_dir, c[1]))]
    if missing:
        skip(f"official firmware not found in {fw_dir}: {', '.join(missing)}")
    try:
        p = subprocess.run(esptool + ["version"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        skip(f"cannot run {where}: {e}")
    m = re.search(r"v?(\d+\.\d+(\.\d+)?\S*)\s*$", p.stdout.strip())
    if p.returncode != 0 or not m:
        missing = re.search(r"No module named '([^']+)'", p.stdout + p.stderr)
        skip(f"{where} does not run"
             + (f": Python module {missing.group(1)} is missing" if missing else "")
             + f" ({(p.stdout + p.stderr).strip().splitlines()[-1:]})")
    with tempfile.TemporaryDirectory(prefix="esptool-py-") as tmp:
        s = Suite(esptool, sim, fw_dir, tmp)
        s.version = m.group(1)
        print(f"esptool {s.version} from {where}; chip: {sim}", flush=True)
        t0 = time.time()
        for transport in ("rfc2217", "pty"):
            for chip, fw_name, addr in CHIPS:
                s.chip_run(transport, chip, fw_name, addr)
            s.esp32_rom_only(transport)
        s.reconnect()
        s.usb_jtag()
        print(f"esptool {s.version}: {s.passed} passed, {s.failed} failed, {s.skipped} "
              f"skipped in {time.time() - t0:.0f} s")
        return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
