// The web page in headless Chromium (Debian's chromium through playwright-core), served by a
// local static server: every firmware in the shared test data is opened, its layout changed,
// files put into a new littlefs, and each download compared by SHA-256 (and by name) with the
// native CLI's output for the same operations; the page's output log is compared with the
// native CLI's output. Screenshots of the main views go to SHOTS (build tree, not committed).
// Environment: TOOL (native program), PAGE (the built page folder, BUILD/web), CHROMIUM,
// MP_SHARED_DIR, SHOTS. Exit 77 when Chromium or the shared firmware is missing.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const crypto = require("crypto");
const { execFileSync, spawnSync } = require("child_process");
const { serve } = require("./serve.js");

const repo = path.resolve(__dirname, "../..");
const TOOL = process.env.TOOL || path.join(repo, "build/src/tool/mp-image-tool-esp32");
const PAGE = process.env.PAGE || path.join(repo, "build-wasm/web");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHARED = process.env.MP_SHARED_DIR || path.join(repo, "../shared");
const SHOTS = process.env.SHOTS || path.join(PAGE, "../web-test-screenshots");

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
const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");

if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (Debian: apt-get install chromium)`);
  process.exit(77);
}
if (!fs.existsSync(path.join(SHARED, "firmware"))) {
  console.log(`SKIP: ${SHARED}/firmware not found`);
  process.exit(77);
}
for (const f of [TOOL, path.join(PAGE, "engine.wasm"), path.join(PAGE, "index.html")]) {
  if (!fs.existsSync(f)) {
    console.log(`${f} not found: build the native program and the page first`);
    process.exit(2);
  }
}
const { chromium } = require("playwright-core");

// The native CLI in dir: { status, out } with stdout and stderr as the page logs them.
function native(dir, args) {
  const r = spawnSync(TOOL, args, { cwd: dir, encoding: "utf8" });
  return { status: r.status, log: `$ mp-image-tool-esp32 ${args.join(" ")}\n${r.stdout}${r.stderr}` };
}
// The .bin files in dir that are not in before.
function newBins(dir, before) {
  return fs.readdirSync(dir).filter((n) => n.endsWith(".bin") && !before.includes(n));
}

// The page's actions: each waits for the page to count one more finished action.
async function act(page, fn) {
  const before = await page.evaluate(() => Number(document.body.dataset.done || 0));
  await fn();
  await page.waitForFunction((b) => Number(document.body.dataset.done || 0) > b, before, {
    timeout: 60000,
  });
}
async function download(page) {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  return { name: dl.suggestedFilename(), data: fs.readFileSync(await dl.path()) };
}
const logText = (page) => page.textContent("#log");

// Pad as the page's "Extend to a whole-flash image" does: erased flash up to the flash size,
// the file starting at flash 0x1000 when its partition table is at file offset 0x7000.
function extend(file, flashBytes) {
  const d = fs.readFileSync(file);
  const start = d.length > 0x7001 && d[0x7000] === 0xaa && d[0x7001] === 0x50 ? 0x1000 : 0;
  const full = Buffer.alloc(flashBytes - start, 0xff);
  d.copy(full);
  fs.writeFileSync(file, full);
}

async function firmwareCase(page, fwPath, work, shots) {
  const name = path.basename(fwPath);
  const dir = fs.mkdtempSync(path.join(work, "n-"));
  fs.copyFileSync(fwPath, path.join(dir, name));
  fs.chmodSync(path.join(dir, name), 0o644);
  fs.cpSync(path.join(work, "put"), path.join(dir, "put"), { recursive: true, preserveTimestamps: true });

  // open: the page shows what `--check-app` prints
  await page.goto(page.baseURL);
  await page.waitForSelector("body[data-engine=ready]");
  await act(page, () => page.setInputFiles("#firmware-input", fwPath));
  const opened = native(dir, [name, "--check-app"]);
  check((await logText(page)) === opened.log, "page log after opening differs from the CLI's output");
  if (opened.status !== 0) {
    check(await page.isHidden("#download-line"), "no result offered for a file the CLI refuses");
    return "refused";
  }
  check((await page.textContent("#fw-chip")) !== "?", "chip shown");
  check((await page.$$("#ptable tbody tr")).length > 0, "table rows shown");
  if (shots) await page.screenshot({ path: path.join(SHOTS, "1-opened.png"), fullPage: true });

  // layout: 8MB with the OTA table; where the app does not fit, a resized vfs instead
  let args = [name, "-f", "8M", "--table", "ota"];
  let before = fs.readdirSync(dir);
  let n = native(dir, args);
  await act(page, async () => {
    await page.selectOption("#edit-flash", "8M");
    await page.selectOption("#edit-layout", "ota");
    await page.click("#apply");
  });
  check((await logText(page)) === n.log, `page log differs from the CLI's for ${args.join(" ")}`);
  if (n.status !== 0) {
    check(
      (await page.textContent("#fw-name")) === name,
      "a refused change leaves the firmware as it was"
    );
    args = [name, "-f", "8M", "--resize", "vfs=0"];
    n = native(dir, args);
    await act(page, async () => {
      await page.selectOption("#edit-flash", "8M");
      await page.selectOption("#edit-layout", "");
      await page.fill("#ptable tr[data-name=vfs] .resize", "0");
      await page.click("#apply");
    });
    check((await logText(page)) === n.log, `page log differs from the CLI's for ${args.join(" ")}`);
  }
  check(n.status === 0, `the CLI changed the layout (${args.join(" ")})`);
  const [layoutOut] = newBins(dir, before);
  let got = await download(page);
  check(got.name === layoutOut, `download named ${got.name}, the CLI wrote ${layoutOut}`);
  check(sha(got.data) === sha(fs.readFileSync(path.join(dir, layoutOut))), "layout download = CLI output (SHA-256)");
  if (shots) await page.screenshot({ path: path.join(SHOTS, "2-layout.png"), fullPage: true });

  // filesystem: extend to whole flash, new littlefs, put two files
  extend(path.join(dir, layoutOut), 8 * 1048576);
  await act(page, () => page.click("#fs-extend"));
  before = fs.readdirSync(dir);
  n = native(dir, [layoutOut, "--fs", "mkfs"]);
  await act(page, () => page.click("#fs-mkfs"));
  check((await logText(page)) === n.log, "page log differs from the CLI's for mkfs");
  const [mkfsOut] = newBins(dir, before);
  before = fs.readdirSync(dir);
  n = native(dir, [mkfsOut, "--fs", "put", "put/main.py", "put/blob.bin", "/"]);
  await act(page, () =>
    page.setInputFiles("#fs-input", [path.join(work, "put/main.py"), path.join(work, "put/blob.bin")])
  );
  check((await logText(page)) === n.log, "page log differs from the CLI's for put");
  const [putOut] = newBins(dir, before);
  check(n.status === 0 && !!putOut, "the CLI put the files");
  got = await download(page);
  check(got.name === putOut, `download named ${got.name}, the CLI wrote ${putOut}`);
  check(sha(got.data) === sha(fs.readFileSync(path.join(dir, putOut))), "put download = CLI output (SHA-256)");
  const listed = await page.$$eval("#fs-tree li", (lis) => lis.map((li) => li.dataset.path));
  check(["blob.bin", "boot.py", "main.py"].every((p) => listed.includes(p)), `tree lists the files (${listed})`);
  if (shots) await page.screenshot({ path: path.join(SHOTS, "3-filesystem.png"), fullPage: true });
  return { dir, name: putOut };
}

// More of the page on one firmware: fs rename, get, remove; table rename, delete, add.
async function moreCases(page, dir, name, work) {
  let before = fs.readdirSync(dir);
  let n = native(dir, [name, "--fs", "rename", "main.py", "/lib.py"]);
  page.once("dialog", (d) => d.accept("/lib.py"));
  await act(page, () => page.click("#fs-tree li[data-path='main.py'] .fs-rename"));
  check((await logText(page)) === n.log, "page log differs from the CLI's for rename");
  const [renamed] = newBins(dir, before);
  let got = await download(page);
  check(got.name === renamed && sha(got.data) === sha(fs.readFileSync(path.join(dir, renamed))), "rename download = CLI output");

  const [dl] = await Promise.all([
    page.waitForEvent("download"),
    page.click("#fs-tree li[data-path='blob.bin'] .fs-download"),
  ]);
  check(dl.suggestedFilename() === "blob.bin", "get downloads under the file's name");
  check(sha(fs.readFileSync(await dl.path())) === sha(fs.readFileSync(path.join(work, "put/blob.bin"))), "got the file put");

  before = fs.readdirSync(dir);
  n = native(dir, [renamed, "--fs", "rm", "blob.bin"]);
  await act(page, () => page.click("#fs-tree li[data-path='blob.bin'] .fs-remove"));
  check((await logText(page)) === n.log, "page log differs from the CLI's for rm");
  const [removed] = newBins(dir, before);
  got = await download(page);
  check(got.name === removed && sha(got.data) === sha(fs.readFileSync(path.join(dir, removed))), "rm download = CLI output");

  // a folder put, with what is below it
  before = fs.readdirSync(dir);
  n = native(dir, [removed, "--fs", "put", "put/lib", "/"]);
  await act(page, () => page.setInputFiles("#fs-folder-input", path.join(work, "put/lib")));
  check((await logText(page)) === n.log, `page log differs from the CLI's for a folder put:\n${await logText(page)}\n${n.log}`);
  const [folderPut] = newBins(dir, before);
  got = await download(page);
  check(!!folderPut && got.name === folderPut && sha(got.data) === sha(fs.readFileSync(path.join(dir, folderPut))), "folder put download = CLI output");
  const tree = await page.$$eval("#fs-tree li", (lis) => lis.map((li) => li.dataset.path));
  check(["lib", "lib/a.py", "lib/sub", "lib/sub/b.bin"].every((p) => tree.includes(p)), `tree lists the folder (${tree})`);

  before = fs.readdirSync(dir);
  n = native(dir, [folderPut, "--delete", "nvs", "--add", "data:fat:0x9000:0x5000", "--rename", "vfs=fs"]);
  await act(page, async () => {
    await page.check("#ptable tr[data-name=nvs] .delete");
    await page.fill("#edit-add", "data:fat:0x9000:0x5000");
    await page.fill("#ptable tr[data-name=vfs] .rename", "fs");
    await page.click("#apply");
  });
  check((await logText(page)) === n.log, "page log differs from the CLI's for delete, add, rename");
  const [edited] = newBins(dir, before);
  got = await download(page);
  check(!!edited && got.name === edited && sha(got.data) === sha(fs.readFileSync(path.join(dir, edited))), "table edit download = CLI output");

  // a table from a CSV file
  const csv = path.join(dir, "table.csv");
  fs.writeFileSync(
    csv,
    "# Name, Type, SubType, Offset, Size, Flags\nnvs, data, nvs, 0x9000, 0x5000,\n" +
      "otadata, data, ota, 0xe000, 0x2000,\nota_0, app, ota_0, 0x10000, 0x200000,\n" +
      "ota_1, app, ota_1, 0x210000, 0x200000,\nfs, data, fat, 0x410000, 0x3f0000,\n"
  );
  before = fs.readdirSync(dir);
  n = native(dir, [edited, "--from-csv", "table.csv"]);
  await act(page, async () => {
    await page.setInputFiles("#edit-csv", csv);
    await page.click("#apply");
  });
  check((await logText(page)) === n.log, "page log differs from the CLI's for --from-csv");
  const [fromCsv] = newBins(dir, before);
  got = await download(page);
  check(!!fromCsv && got.name === fromCsv && sha(got.data) === sha(fs.readFileSync(path.join(dir, fromCsv))), "CSV table download = CLI output");
  const edited2 = fromCsv;

  // a change the CLI refuses: its message, and nothing new to download
  n = native(dir, [edited2, "-f", "2M"]);
  await act(page, async () => {
    await page.selectOption("#edit-flash", "2M");
    await page.click("#apply");
  });
  check(n.status !== 0 && (await logText(page)) === n.log, "a refused change shows the CLI's error");
  check((await page.textContent("#fw-name")) === edited2, "a refused change keeps the firmware");
  await page.screenshot({ path: path.join(SHOTS, "4-refused.png"), fullPage: true });
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mp-web-"));
  fs.mkdirSync(path.join(work, "put"));
  fs.writeFileSync(path.join(work, "put/main.py"), 'print("hello from main.py")\n');
  fs.writeFileSync(path.join(work, "put/blob.bin"), crypto.randomBytes(5000));
  fs.mkdirSync(path.join(work, "put/lib/sub"), { recursive: true });
  fs.writeFileSync(path.join(work, "put/lib/a.py"), "x = 1\n");
  fs.writeFileSync(path.join(work, "put/lib/sub/b.bin"), crypto.randomBytes(3000));
  // put records modification times: the same on both sides
  for (const f of ["main.py", "blob.bin", "lib/a.py", "lib/sub/b.bin"])
    fs.utimesSync(path.join(work, "put", f), 1700000000, 1700000000);

  // What a visitor downloads (measured, for the README; not a pass/fail check).
  const zlib = require("zlib");
  let raw = 0;
  let gz = 0;
  for (const f of fs.readdirSync(PAGE).filter((n) => /\.(html|js|css|wasm)$/.test(n))) {
    const d = fs.readFileSync(path.join(PAGE, f));
    raw += d.length;
    gz += zlib.gzipSync(d, { level: 9 }).length;
  }
  console.log(`page download: ${raw} bytes, ${gz} bytes gzipped (html, js, css, wasm)`);

  const { server, url } = await serve(PAGE);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.baseURL = url;
    page.on("pageerror", (e) => check(false, `page error: ${e}`));

    // time to first table: page load, engine compile, open and show
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForSelector("body[data-engine=ready]");
    const fw0 = path.join(SHARED, "firmware/ESP32_GENERIC-20240602-v1.23.0.bin");
    await act(page, () => page.setInputFiles("#firmware-input", fw0));
    console.log(`time to first table: ${Date.now() - t0} ms`);

    const firmwares = execFileSync("find", [path.join(SHARED, "firmware"), "-name", "*.bin", "-size", "+500k"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .sort();
    let first = null;
    for (const fw of firmwares) {
      current = path.relative(path.join(SHARED, "firmware"), fw);
      const r = await firmwareCase(page, fw, work, first === null);
      console.log(`${current}: ${r === "refused" ? "refused, as by the CLI" : `ok (${r.name})`}`);
      if (r !== "refused" && first === null) {
        first = r;
        current = `${current}: more`;
        await moreCases(page, r.dir, r.name, work);
      }
    }
    current = "screenshots";
    for (const s of ["1-opened", "2-layout", "3-filesystem", "4-refused"]) {
      const f = path.join(SHOTS, `${s}.png`);
      check(fs.existsSync(f) && fs.readFileSync(f).subarray(1, 4).toString() === "PNG", `${f} saved`);
    }
    console.log(`screenshots in ${SHOTS}`);
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
