// Deterministic fault injection seen through esptool-js: a failed or unanswered block is
// retried and the write still verifies; a chip reset in the middle of a read breaks that read,
// and a fresh connection recovers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startSim, simBinary } from "./sim.mjs";
import { makeLoader, testImage, md5hex } from "./helpers.mjs";

const skip = simBinary() ? false : "esp-virtual-chip is not built";
const opts = { flashSize: "keep", flashMode: "keep", flashFreq: "keep", eraseAll: false, compress: true };

describe("fault injection", { skip, timeout: 120000 }, () => {
  it("a failing FLASH_DEFL_DATA is retried by esptool-js and the image verifies", async () => {
    const sim = await startSim(["--chip", "esp32s3", "--fault", "fail-cmd=0x11@3"]);
    const s = makeLoader(sim.port);
    try {
      await s.loader.main("default_reset");
      const img = testImage(200 * 1024, 9);
      await s.loader.writeFlash({ ...opts, fileArray: [{ data: img, address: 0x10000 }], calculateMD5Hash: md5hex });
      assert.ok(s.terminal.text().includes("Hash of data verified."));
      assert.match(sim.log(), /fault: command 0x11 #3 fails/);
    } finally {
      await s.transport.disconnect().catch(() => {});
      await sim.stop();
    }
  });

  it("an unanswered block times out, is resent and not written twice", async () => {
    const sim = await startSim(["--chip", "esp32c6", "--fault", "noreply-cmd=0x11@2"]);
    const s = makeLoader(sim.port);
    try {
      await s.loader.main("default_reset");
      const img = testImage(120 * 1024, 10);
      await s.loader.writeFlash({ ...opts, fileArray: [{ data: img, address: 0x20000 }], calculateMD5Hash: md5hex });
      assert.ok(s.terminal.text().includes("Hash of data verified."));
      assert.match(sim.log(), /fault: command 0x11 #2 gets no reply/);
    } finally {
      await s.transport.disconnect().catch(() => {});
      await sim.stop();
    }
  });

  it("a chip reset during a streamed read fails the read; reconnecting works", async () => {
    const sim = await startSim(["--chip", "esp32", "--fault", "reset@600000"]);
    let s = makeLoader(sim.port);
    try {
      await s.loader.main("default_reset");
      // The rebooted chip's log (at 115200, garbage at 921600) lands inside a half-received
      // packet, so esptool-js only notices by timeout: shorten its 100 s read timeout.
      s.loader.FLASH_READ_TIMEOUT = 2000;
      await assert.rejects(s.loader.readFlash(0, 1024 * 1024));
      assert.match(sim.log(), /fault: chip reset at byte 600000/);
      await s.transport.disconnect().catch(() => {});
      s = makeLoader(sim.port);
      await s.loader.main("default_reset");
      const back = await s.loader.readFlash(0, 64 * 1024);
      assert.ok(back.every((b) => b === 0xff));
    } finally {
      await s.transport.disconnect().catch(() => {});
      await sim.stop();
    }
  });
});
