// Boards from the web page in headless Chromium: a Web Serial stand-in (webserial_shim.js) over
// a WebSocket bridged to the virtual chip's RFC 2217 port (serial_bridge.js). The page writes
// a firmware to a blank chip and puts a file into a new littlefs on it; the native CLI then
// checks both on the chip. A chip that drops the line in the middle of the write must give
// the CLI's error on the page and no claim of success.
// Environment: TOOL (native program), VCHIP (virtual chip), PAGE (BUILD/web), CHROMIUM,
// MP_SHARED_DIR, SHOTS. Exit 77 when Chromium or the shared firmware is missing.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, spawnSync } = require("child_process");
const { serve } = require("./serve.js");
const { startBridge } = require("./serial_bridge.js");

const repo = path.resolve(__dirname, "../..");
const TOOL = process.env.TOOL || path.join(repo, "build/src/tool/mp-image-tool-esp32");
const VCHIP = process.env.VCHIP || path.join(repo, "build/sim/esp-virtual-chip");
const PAGE = process.env.PAGE || path.join(repo, "build-wasm/web");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHARED = process.env.MP_SHARED_DIR || path.join(repo, "../shared");
const SHOTS = process.env.SHOTS || path.join(PAGE, "../web-test-screenshots");
const FW = path.join(SHARED, "firmware/ESP32_GENERIC-20240602-v1.23.0.bin");

let passed = 0;
let failed = 0;
let current = "";
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL [${current}] ${what}`);
  }
}
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found`);
  process.exit(77);
}
if (!fs.existsSync(FW)) {
  console.log(`SKIP: ${FW} not found`);
  process.exit(77);
}
const { chromium } = require("playwright-core");

const chips = [];
// A virtual esp32 with a blank 4 MB flash in dir; resolves to its rfc2217:// address.
function startChip(dir, extra = []) {
  const flash = path.join(dir, "flash.bin");
  const chip = spawn(VCHIP, ["--chip", "esp32", "--rfc2217", "0", "--flash", flash, "--flash-size", "4M", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  chips.push(chip);
  return new Promise((resolve, reject) => {
    let out = "";
    chip.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/rfc2217:\/\/([0-9.]+):(\d+)/);
      if (m) resolve({ host: m[1], port: Number(m[2]), url: m[0], flash });
    });
    chip.on("exit", () => reject(new Error(`virtual chip ended: ${out}`)));
  });
}
function native(cwd, args) {
  const r = spawnSync(TOOL, args, { cwd, encoding: "utf8", timeout: 60000 });
  return { status: r.status, out: r.stdout + r.stderr };
}
async function act(page, fn) {
  const before = await page.evaluate(() => Number(document.body.dataset.done || 0));
  await fn();
  await page.waitForFunction((b) => Number(document.body.dataset.done || 0) > b, before, { timeout: 120000 });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function newPage(browser, bridgeUrl, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(`window.__serialBridgeUrl = ${JSON.stringify(bridgeUrl)};`);
  await context.addInitScript({ path: path.join(__dirname, "webserial_shim.js") });
  const page = await context.newPage();
  page.on("pageerror", (e) => check(false, `page error: ${e}`));
  await page.goto(url);
  await page.waitForSelector("body[data-engine=ready]");
  await act(page, () => page.setInputFiles("#firmware-input", FW));
  return { context, page };
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mp-board-"));
  fs.writeFileSync(path.join(work, "main.py"), 'print("hello from the page")\n');
  const { server, url } = await serve(PAGE);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const bridges = [];
  try {
    // ---- write a firmware and put a file
    current = "flash and put";
    const dirA = fs.mkdtempSync(path.join(work, "a-"));
    const chip = await startChip(dirA);
    const blank = native(work, [chip.url]);
    const bridge = await startBridge(chip.host, chip.port);
    bridges.push(bridge);
    const { context, page } = await newPage(browser, bridge.url, url);

    await act(page, () => page.click("#board-connect"));
    let log = await page.textContent("#log");
    const want = blank.out.split(chip.url).join("/dev/webserial");
    check(log.endsWith(want), `connecting to a blank chip shows the CLI's message:\n${log}\nwanted:\n${want}`);

    const t0 = Date.now();
    await act(page, () => page.click("#board-flash"));
    console.log(`firmware written through the page in ${Date.now() - t0} ms`);
    log = await page.textContent("#log");
    check(!(await page.getAttribute("#log", "class")).includes("failed"), `flash succeeded:\n${log}`);
    check((await page.textContent("#target-kind")) === "Board", "the board is shown after the write");
    check((await page.$$("#ptable tbody tr")).length === 4, "the board's table is shown");
    await page.screenshot({ path: path.join(SHOTS, "5-board.png"), fullPage: true });

    await act(page, () => page.click("#fs-mkfs"));
    check(await page.isVisible("#fs-browser"), "a new littlefs on the board");
    await act(page, () => page.setInputFiles("#fs-input", path.join(work, "main.py")));
    check(!!(await page.$("#fs-tree li[data-path='main.py']")), "main.py listed on the board");
    await page.screenshot({ path: path.join(SHOTS, "6-board-fs.png"), fullPage: true });
    await act(page, () => page.click("#board-disconnect"));
    await context.close();
    await sleep(1000);

    // the chip, read by the native CLI
    const flash = fs.readFileSync(chip.flash);
    const fw = fs.readFileSync(FW);
    check(flash.subarray(0x1000, 0x1000 + fw.length).equals(fw), "the firmware is on the chip's flash as written");
    const cat = native(work, ["-q", chip.url, "--fs", "cat", "main.py"]);
    check(cat.status === 0 && cat.out.includes('print("hello from the page")'), `the file put is on the chip: ${cat.out}`);
    const shown = native(work, [chip.url, "--check-app"]);
    check(shown.status === 0 && /Partition 'factory': Hash confirmed/.test(shown.out), "the app on the chip checks");

    // ---- OTA: an OTA firmware written, then an app installed into the next slot
    current = "OTA update";
    const otaFw = path.join(SHARED, "firmware/firmware-esp32-GENERIC_OTA.bin");
    const dirD = fs.mkdtempSync(path.join(work, "d-"));
    fs.copyFileSync(otaFw, path.join(dirD, "ota.bin"));
    const x = native(dirD, ["ota.bin", "-x"]);
    check(x.status === 0 && fs.existsSync(path.join(dirD, "ota.app-bin")), "the CLI extracted the app");
    const chipD = await startChip(dirD);
    const bridgeD = await startBridge(chipD.host, chipD.port);
    bridges.push(bridgeD);
    const d = await newPage(browser, bridgeD.url, url);
    await act(d.page, () => d.page.setInputFiles("#firmware-input", otaFw));
    await act(d.page, () => d.page.click("#board-connect"));
    await act(d.page, () => d.page.click("#board-flash"));
    await act(d.page, () => d.page.setInputFiles("#board-ota", path.join(dirD, "ota.app-bin")));
    log = await d.page.textContent("#log");
    check(!(await d.page.getAttribute("#log", "class")).includes("failed"), `the OTA update succeeded:\n${log}`);
    const shownOta = await d.page.textContent("#fw-ota");
    check(/Current OTA boot partition: ota_1/.test(shownOta), `the page shows the new OTA state: ${shownOta}`);
    await d.page.screenshot({ path: path.join(SHOTS, "8-board-ota.png"), fullPage: true });
    await act(d.page, () => d.page.click("#board-disconnect"));
    await d.context.close();
    await sleep(1000);
    const otaState = native(work, [chipD.url, "--check-app"]);
    check(/Current OTA boot partition: ota_1/.test(otaState.out), `the chip boots ota_1 next:\n${otaState.out}`);
    check(/Partition 'ota_1': Hash confirmed/.test(otaState.out), "the app in ota_1 checks on the chip");

    // ---- the chip drops the line in the middle of the write: the loader reconnects and
    // carries on, as the native one does, and the write verifies
    current = "chip drops the line while writing";
    const dirC = fs.mkdtempSync(path.join(work, "c-"));
    const chipC = await startChip(dirC, ["--fault", "disconnect-cmd=0x11@5"]);
    const bridgeC = await startBridge(chipC.host, chipC.port);
    bridges.push(bridgeC);
    const c = await newPage(browser, bridgeC.url, url);
    await act(c.page, () => c.page.click("#board-connect"));
    await act(c.page, () => c.page.click("#board-flash"));
    log = await c.page.textContent("#log");
    check(!(await c.page.getAttribute("#log", "class")).includes("failed"), `the write recovered:\n${log}`);
    await act(c.page, () => c.page.click("#board-disconnect"));
    await c.context.close();
    await sleep(1000);
    check(
      fs.readFileSync(chipC.flash).subarray(0x1000, 0x1000 + fw.length).equals(fw),
      "after the dropped line, the firmware is on the chip as written"
    );

    // ---- the line is gone for good in the middle of the write (a cable pulled)
    current = "line gone while writing";
    const dirB = fs.mkdtempSync(path.join(work, "b-"));
    const chipB = await startChip(dirB);
    const bridgeB = await startBridge(chipB.host, chipB.port, { cutAfter: 200000 });
    bridges.push(bridgeB);
    const b = await newPage(browser, bridgeB.url, url);
    await act(b.page, () => b.page.click("#board-connect"));
    await act(b.page, () => b.page.click("#board-flash"));
    log = await b.page.textContent("#log");
    check((await b.page.getAttribute("#log", "class")).includes("failed"), `the page shows the write failed:\n${log}`);
    check(/Error: .*webserial/.test(log), `the CLI's error line names the port:\n${log}`);
    check(await b.page.isHidden("#table-view"), "no table of the board claims the write");
    await b.page.screenshot({ path: path.join(SHOTS, "7-board-fault.png"), fullPage: true });
    await b.context.close();
  } finally {
    await browser.close();
    for (const br of bridges) await br.close();
    server.close();
    for (const c of chips) c.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(e);
  for (const c of chips) c.kill();
  process.exit(1);
});
