// esptool-js 0.7.0, unmodified, against the virtual chip for every simulated chip: reset into
// download mode through its own reset sequences, detection, its bundled stub, baud change,
// flash id, compressed write with MD5 verify, streamed read-back, erase, hard reset.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startSim, simBinary } from "./sim.mjs";
import { makeLoader, testImage, md5hex, u32le } from "./helpers.mjs";

const CHIPS = [
  { chip: "esp32", name: "ESP32", description: /^ESP32-D0WD-V3 \(revision 3\)$/ },
  { chip: "esp32s2", name: "ESP32-S2", description: /^ESP32-S2/ },
  { chip: "esp32s3", name: "ESP32-S3", description: /^ESP32-S3/ },
  // ESP32-C3 on its USB-Serial/JTAG port: esptool-js sees VID 303a PID 1001 and uses its
  // USB reset sequence instead of the classic bridge one.
  { chip: "esp32c3", name: "ESP32-C3", description: /^ESP32-C3/, usbJtag: true },
  { chip: "esp32c6", name: "ESP32-C6", description: /^ESP32-C6/ },
];

const FLASH_SIZE = 4 * 1024 * 1024;
const IMAGE_ADDR = 0x10000;
const IMAGE = testImage(1536 * 1024 - 4324, 7); // ~1.5 MB, not a multiple of any block size
const MAC = "24:0a:c4:12:34:56";

const skip = simBinary() ? false : "esp-virtual-chip is not built";

/** Wait (at most 3 s) until what esptool-js has buffered satisfies `done`. */
async function waitForInput(transport, done) {
  for (let i = 0; i < 60 && !done(Buffer.from(transport.peek()).toString("latin1")); i++)
    await new Promise((r) => setTimeout(r, 50));
}

for (const c of CHIPS) {
  describe(`esptool-js with a virtual ${c.name}`, { skip, timeout: 180000 }, () => {
    let sim, session, dir, flashFile;

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "vchip-"));
      flashFile = path.join(dir, "flash.bin");
      const args = ["--chip", c.chip, "--flash", flashFile, "--flash-size", "4M", "--mac", MAC];
      if (c.usbJtag) args.push("--usb-jtag");
      sim = await startSim(args);
      session = makeLoader(sim.port, { baudrate: 921600, usbJtag: !!c.usbJtag });
    });

    after(async () => {
      await session?.transport.disconnect().catch(() => {});
      const code = await sim?.stop();
      assert.equal(code, 0, "the simulator exits cleanly on SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    });

    it("resets into download mode, detects the chip and prints its name", async () => {
      const description = await session.loader.main("default_reset");
      const lines = session.terminal.lines;
      const i = lines.findIndex((l) => l.includes("Detecting chip type"));
      assert.ok(i >= 0, lines.join("\n"));
      assert.equal(lines[i + 1], c.name, "chip name printed by esptool-js");
      assert.equal(session.loader.chip.CHIP_NAME, c.name);
      assert.match(description, c.description);
      assert.ok(lines.includes(`MAC: ${MAC}`), "MAC read from the eFuse words");
      // The chip booted the (empty) flash first; only the reset sequence got it to download.
      assert.match(sim.log(), /boot: flash \(app\)[\s\S]*boot: download mode/);
    });

    it("uploads and runs esptool-js's own stub", () => {
      assert.equal(session.loader.IS_STUB, true);
      assert.ok(session.terminal.lines.includes("Stub running..."));
      assert.match(sim.log(), /stub running \(entry 0x[0-9a-f]{8}\)/);
    });

    it("changes the baud rate to 921600 on both ends", () => {
      assert.equal(session.transport.baudrate, 921600);
      assert.equal(session.serial.baudRates.at(-1), 921600);
      assert.match(sim.log(), /baud 115200 -> \d+ \(asked for 921600\)/);
      assert.ok(!session.terminal.text().includes("Continuing at"), session.terminal.text());
    });

    it("reads the flash id and detects the flash size", async () => {
      const id = await session.loader.readFlashId();
      assert.equal(id & 0xffffff, 0x1640ef);
      assert.equal(await session.loader.detectFlashSize(), "4MB");
    });

    it("writes a 1.5 MB image compressed and verifies its MD5", async () => {
      await session.loader.writeFlash({
        fileArray: [{ data: IMAGE, address: IMAGE_ADDR }],
        flashSize: "keep",
        flashMode: "keep",
        flashFreq: "keep",
        eraseAll: false,
        compress: true,
        calculateMD5Hash: md5hex,
      });
      const text = session.terminal.text();
      assert.match(text, new RegExp(`Wrote ${IMAGE.length} bytes \\(\\d+ compressed\\)`));
      assert.ok(text.includes("Hash of data verified."));
      assert.equal(await session.loader.flashMd5sum(IMAGE_ADDR, IMAGE.length), md5hex(IMAGE));
    });

    it("keeps the written image in the flash file", async () => {
      // The chip writes its file back when idle (~0.2 s): wait for it, patiently under load.
      const want = Buffer.from(IMAGE);
      let file = readFileSync(flashFile);
      for (let i = 0; i < 50 && Buffer.compare(file.subarray(IMAGE_ADDR, IMAGE_ADDR + IMAGE.length), want) !== 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        file = readFileSync(flashFile);
      }
      assert.equal(file.length, FLASH_SIZE);
      assert.equal(Buffer.compare(file.subarray(IMAGE_ADDR, IMAGE_ADDR + IMAGE.length), Buffer.from(IMAGE)), 0);
      assert.ok(file.subarray(0, IMAGE_ADDR).every((b) => b === 0xff), "nothing written before the image");
    });

    it("streams the image back byte for byte", async () => {
      const back = await session.loader.readFlash(IMAGE_ADDR, IMAGE.length);
      assert.equal(back.length, IMAGE.length);
      assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(IMAGE)), 0);
    });

    it("erases a region", async () => {
      const { loader } = session;
      await loader.checkCommand("erase region", loader.ESP_ERASE_REGION, u32le(0x20000, 0x10000), 0, 0, 30000);
      assert.equal(await loader.flashMd5sum(0x20000, 0x10000), md5hex(new Uint8Array(0x10000).fill(0xff)));
      // Neighbours are untouched.
      const before = IMAGE.subarray(0, 0x20000 - IMAGE_ADDR);
      assert.equal(await loader.flashMd5sum(IMAGE_ADDR, before.length), md5hex(before));
      const after = IMAGE.subarray(0x30000 - IMAGE_ADDR, 0x40000 - IMAGE_ADDR);
      assert.equal(await loader.flashMd5sum(0x30000, after.length), md5hex(after));
      // An unaligned region is refused with a stub error status.
      await assert.rejects(loader.checkCommand("erase region", loader.ESP_ERASE_REGION, u32le(0x20001, 0x1000)));
    });

    it("erases the whole flash", async () => {
      await session.loader.eraseFlash();
      const md5 = await session.loader.flashMd5sum(0, FLASH_SIZE);
      assert.equal(md5, md5hex(new Uint8Array(FLASH_SIZE).fill(0xff)));
    });

    it("boots the application on a hard reset and then ignores the download protocol", async () => {
      const { loader, transport } = session;
      await loader.after("custom_reset", false, "D0|R1|W100|R0");
      await waitForInput(transport, (t) => t.length > 60);
      // The chip restarts at 115200: listening at 921600 shows only garbage.
      const garbled = Buffer.from(transport.peek()).toString("latin1");
      assert.ok(garbled.length > 20, "the boot log arrived");
      assert.doesNotMatch(garbled, /rst:0x/);
      await transport.changeBaudrate(115200);
      transport.flushInput();
      await loader.after("custom_reset", false, "D0|R1|W100|R0");
      await waitForInput(transport, (t) => t.includes("invalid header"));
      const text = Buffer.from(transport.peek()).toString("latin1");
      assert.match(text, /rst:0x1 \([A-Z_]+\),boot:0x[0-9a-f]+ \(SPI_FAST_FLASH_BOOT\)/);
      assert.match(text, /invalid header: 0xffffffff/); // the flash was just erased
      transport.flushInput();
      await assert.rejects(loader.sync());
    });
  });
}
