// esptool-js against the ROM loader itself (no stub): 4 status bytes, 32-character MD5, ROM
// erase-up-front writes, CHANGE_BAUDRATE with 0 as second word, unsupported stub commands.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSim, simBinary } from "./sim.mjs";
import { makeLoader, testImage, md5hex, u32le } from "./helpers.mjs";

const skip = simBinary() ? false : "esp-virtual-chip is not built";

/** ROM MD5 replies are 32 ASCII hex characters; esptool-js hexes those bytes again. */
function romMd5(hexOfAscii) {
  return Buffer.from(hexOfAscii, "hex").toString("ascii");
}

for (const chip of ["esp32", "esp32s3"]) {
  describe(`esptool-js with the ${chip} ROM loader`, { skip, timeout: 90000 }, () => {
    let sim, s;

    before(async () => {
      sim = await startSim(["--chip", chip, "--flash-size", "4M"]);
      s = makeLoader(sim.port, { baudrate: 460800 });
      await s.loader.detectChip("default_reset");
    });

    after(async () => {
      await s?.transport.disconnect().catch(() => {});
      assert.equal(await sim?.stop(), 0);
    });

    it("answers SYNC with the ROM value and 4 status bytes", async () => {
      const [value, data] = await s.loader.command(0x08, Uint8Array.from([7, 7, 0x12, 0x20, ...new Array(32).fill(0x55)]), 0, true, 200);
      assert.equal(value >>> 0, 0x20120707);
      assert.deepEqual(Array.from(data), [0, 0, 0, 0]);
      await s.transport.drainInput(); // the other seven replies
      const [, attach] = await s.loader.command(0x0d, u32le(0, 0));
      assert.deepEqual(Array.from(attach), [0, 0, 0, 0]);
    });

    it("reports a bad data checksum as status 1, error 7", async () => {
      await s.loader.flashBegin(0x1000, 0x8000);
      const block = new Uint8Array(0x4000).fill(0x42);
      const pkt = Uint8Array.from([...u32le(block.length, 0, 0, 0), ...block]);
      const [, data] = await s.loader.command(0x03, pkt, 0x00 /* wrong */);
      assert.deepEqual(Array.from(data), [1, 7, 0, 0]);
    });

    it("changes baud with 0 as the second word", async () => {
      await s.loader.changeBaud();
      assert.equal(s.transport.baudrate, 460800);
      assert.match(sim.log(), /baud 115200 -> \d+ \(asked for 460800\)/);
      assert.equal(s.loader.IS_STUB, false);
    });

    it("writes uncompressed and compressed through the ROM and verifies MD5 as hex text", async () => {
      const plain = testImage(100 * 1024, 3);
      const packed = testImage(150 * 1024, 4);
      const opts = { flashSize: "keep", flashMode: "keep", flashFreq: "keep", eraseAll: false };
      await s.loader.writeFlash({ ...opts, fileArray: [{ data: plain, address: 0x8000 }], compress: false });
      await s.loader.writeFlash({ ...opts, fileArray: [{ data: packed, address: 0x40000 }], compress: true });
      assert.equal(romMd5(await s.loader.flashMd5sum(0x8000, plain.length)), md5hex(plain));
      assert.equal(romMd5(await s.loader.flashMd5sum(0x40000, packed.length)), md5hex(packed));
      assert.match(s.terminal.text(), /Took .*s to erase flash block/);
    });

    it("refuses the stub-only READ_FLASH as an unsupported command", async () => {
      await assert.rejects(s.loader.readFlash(0, 0x1000));
      // ...and still answers afterwards.
      assert.equal((await s.loader.readReg(0x40001000)) >>> 0, chip === "esp32" ? 0x00f01d83 : 0x9);
    });
  });
}
