#!/usr/bin/env node
// Benchmark: esptool-js 0.7.0 against the virtual chip with wire timing (every byte costs 10 bit
// times at the chip's baud, both directions), at 921600 baud: connect + stub, a compressed write
// of a 1.7 MB image with MD5 verify, a 2 MB streamed read. Prints a small table.
//
// usage: node bench/esptooljs_bench.mjs [--chip esp32] [--baud 921600] [--image FILE]
//                                       [--flash-time]
// Needs `npm ci` in tests/interop (esptool-js) and a built esp-virtual-chip (ESP_VIRTUAL_CHIP
// or build*/sim/esp-virtual-chip). With no --image it uses the MicroPython ESP32 v1.23.0 image
// from $MP_SHARED_DIR/firmware (default ../shared) when present, else 1.7 MB of synthetic data.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startSim } from "../tests/interop/sim.mjs";
import { makeLoader, testImage, md5hex } from "../tests/interop/helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const chip = opt("--chip", "esp32");
const baud = Number(opt("--baud", "921600"));
const flashTime = args.includes("--flash-time"); // erase/program cost a NOR flash's times
const READ_SIZE = 2 * 1024 * 1024;

function loadImage() {
  const explicit = opt("--image", null);
  const shared = process.env.MP_SHARED_DIR || path.resolve(here, "..", "..", "shared");
  const candidate = explicit || path.join(shared, "firmware", "ESP32_GENERIC-20240602-v1.23.0.bin");
  if (existsSync(candidate)) return { data: new Uint8Array(readFileSync(candidate)), name: path.basename(candidate) };
  return { data: testImage(1734240, 17), name: "synthetic 1734240 bytes" };
}

const image = loadImage();
const addr = chip === "esp32" || chip === "esp32s2" ? 0x1000 : 0x0;
const sim = await startSim(["--chip", chip, "--flash-size", "4M", "--wire-time",
  ...(flashTime ? ["--flash-time"] : []), "--quiet"]);
const s = makeLoader(sim.port, { baudrate: baud });
const rows = [];
const time = async (label, bytes, fn) => {
  const t0 = performance.now();
  const r = await fn();
  const sec = (performance.now() - t0) / 1000;
  rows.push({ label, bytes, sec });
  return r;
};
try {
  await time("connect + stub + baud change", 0, () => s.loader.main("default_reset"));
  await time(`write ${image.name} (compressed, MD5 verify)`, image.data.length, () =>
    s.loader.writeFlash({
      fileArray: [{ data: image.data, address: addr }],
      flashSize: "keep", flashMode: "keep", flashFreq: "keep",
      eraseAll: false, compress: true, calculateMD5Hash: md5hex,
    }),
  );
  const back = await time("read 2 MB (streamed)", READ_SIZE, () => s.loader.readFlash(0, READ_SIZE));
  const expect = Buffer.from(image.data.subarray(0, Math.min(image.data.length, READ_SIZE - addr)));
  if (Buffer.compare(Buffer.from(back.subarray(addr, addr + expect.length)), expect) !== 0)
    throw new Error("read-back differs from the written image");
} finally {
  await s.transport.disconnect().catch(() => {});
  await sim.stop();
}

const ceiling = baud / 10; // bytes per second on the wire
console.log(`esptool-js 0.7.0 -> esp-virtual-chip --chip ${chip} --wire-time` +
  `${flashTime ? " --flash-time" : ""}, ${baud} baud`);
console.log("| operation | bytes | seconds | effective kbit/s | wire ceiling s |");
console.log("|---|---:|---:|---:|---:|");
for (const r of rows) {
  const kbit = r.bytes ? ((r.bytes * 8) / r.sec / 1000).toFixed(1) : "-";
  const floor = r.bytes ? (r.bytes / ceiling).toFixed(2) : "-";
  console.log(`| ${r.label} | ${r.bytes || "-"} | ${r.sec.toFixed(2)} | ${kbit} | ${floor} |`);
}
console.log("(wire ceiling: uncompressed bytes at baud/10 bytes per second, ignoring compression)");
