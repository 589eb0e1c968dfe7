// The page: every action is one mp-image-tool-esp32 command line run by the engine on the
// current firmware (engine-api.js), so the checks, messages and output file names are the
// CLI's own. The page only reads the CLI's printed output to lay it out.
"use strict";

const $ = (id) => document.getElementById(id);
// name/data: what commands run on, a firmware file (its bytes) or the board (BOARD, no
// bytes); file: the last firmware file opened; board: the connected port (SerialBridge).
const BOARD = "/dev/webserial";
const state = { name: "", data: null, file: null, board: null, info: null, url: null, busy: false };
const onBoard = () => state.name === BOARD;

// ---- reading the CLI's output ----

function parseInfo(text) {
  const info = { chip: "", flash: "", version: "", fill: "", ota: [], rows: [], flashBytes: 0 };
  let inTable = false;
  for (const line of text.split("\n")) {
    let m;
    if ((m = line.match(/^Found (\S+) (?:firmware file|device) \((\d+)MB flash\)/))) {
      info.chip = m[1];
      info.flash = `${m[2]} MB`;
      info.flashBytes = Number(m[2]) * 1048576;
    } else if ((m = line.match(/^MicroPython (.*?)\.?$/))) {
      info.version = m[1];
    } else if (/^Partition table/.test(line)) {
      inTable = true;
      info.rows = [];
    } else if (inTable && line.startsWith("#")) {
      continue;
    } else if (
      inTable &&
      (m = line.match(
        /^\s+(\S+)\s+(\S+)\s+(\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+\((.*)\)/
      ))
    ) {
      info.rows.push({
        name: m[1], type: m[2], subtype: m[3], offset: m[4], size: m[5], end: m[6], flags: m[7], human: m[8],
      });
    } else {
      inTable = false;
      if (/app fills/.test(line)) info.fill = line;
      else if (/OTA boot partition|OTA state|otadata/i.test(line)) info.ota.push(line);
    }
  }
  return info;
}

// ---- running commands ----

function log(args, result) {
  $("log-view").hidden = false;
  const shown = ["mp-image-tool-esp32", ...args].map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a));
  $("log").textContent = `$ ${shown.join(" ")}\n${result.stdout}${result.stderr}`;
  $("log").className = result.status === 0 ? "" : "failed";
}

function inputs(extraFiles) {
  return { ...(state.data ? { [state.name]: state.data } : {}), ...extraFiles };
}

// Run a command with its output shown as it comes (a board's commands take a while), then as
// the CLI's stdout followed by its stderr.
async function run(args, extraFiles = {}, dirs = []) {
  $("log-view").hidden = false;
  $("log").className = "";
  $("log").textContent = `$ mp-image-tool-esp32 ${args.join(" ")}\n`;
  const onLine = (line) => ($("log").textContent += line + "\n");
  const result = await MpEngine.run(args, inputs(extraFiles), { dirs, serial: state.board, onLine });
  log(args, result);
  return result;
}

// A command whose output is read, not shown.
function quietRun(args) {
  return MpEngine.run(args, inputs({}), { serial: state.board });
}

// The firmware file the command wrote (the CLI names it), if any.
function outputOf(result, exclude = []) {
  const names = Object.keys(result.written).filter(
    (n) => !n.includes("/") && n !== state.name && !exclude.includes(n) && /\.bin$/.test(n)
  );
  return names.length === 1 ? names[0] : null;
}

function offerDownload(name, data) {
  if (state.url) URL.revokeObjectURL(state.url);
  state.url = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
  const a = $("download");
  a.href = state.url;
  a.download = name;
  a.textContent = `Download ${name} (${data.length} bytes)`;
  $("download-line").hidden = false;
}

function saveAs(name, data) {
  const url = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name.split("/").pop();
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function busy(fn) {
  if (state.busy) return;
  state.busy = true;
  document.body.classList.add("busy");
  try {
    await fn();
  } catch (e) {
    log([], { status: 1, stdout: "", stderr: `${e}\n` });
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
    // Each finished action is counted, for whoever waits on the page (the browser tests).
    document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
  }
}

// ---- opening a firmware ----

async function open(name, data, isResult) {
  state.name = name;
  state.data = data;
  if (data) state.file = { name, data };
  const result = await run([name, "--check-app"]);
  const info = parseInfo(result.stdout);
  state.info = info;
  $("summary").hidden = false;
  $("fw-name").textContent = name;
  $("fw-chip").textContent = info.chip || "?";
  $("fw-flash").textContent = info.flash || "?";
  $("fw-version").textContent = info.version || "?";
  $("fw-fill").textContent = info.fill || "";
  $("fw-ota").textContent = info.ota.length ? info.ota.join("; ") : "no OTA partitions";
  if (isResult) offerDownload(name, data);
  else $("download-line").hidden = true;
  $("target-kind").textContent = onBoard() ? "Board" : "Firmware";
  renderTable(info);
  await refreshFs();
  document.body.dataset.ready = String(Date.now());
}

function renderTable(info) {
  $("table-view").hidden = info.rows.length === 0;
  const body = $("ptable").querySelector("tbody");
  body.textContent = "";
  for (const r of info.rows) {
    const tr = document.createElement("tr");
    tr.dataset.name = r.name;
    for (const v of [r.name, r.type, r.subtype, r.offset, r.size, r.end, r.flags, r.human]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tr.insertAdjacentHTML(
      "beforeend",
      '<td><input class="rename" size="10"></td><td><input class="resize" size="8" placeholder="0 = fill"></td><td><input type="checkbox" class="delete"></td>'
    );
    body.appendChild(tr);
  }
  for (const id of ["edit-flash", "edit-layout"]) $(id).value = "";
  $("edit-app-size").value = "";
  $("edit-add").value = "";
  $("edit-csv").value = "";
  $("csv-name").textContent = "";
  updateCommand();
}

// The command line the table form stands for.
function tableArgs() {
  const args = [state.name];
  const extra = {};
  if ($("edit-flash").value) args.push("-f", $("edit-flash").value);
  if ($("edit-app-size").value.trim()) args.push("-a", $("edit-app-size").value.trim());
  if ($("edit-layout").value) args.push("--table", $("edit-layout").value);
  const csv = $("edit-csv").files[0];
  if (csv) {
    args.push("--from-csv", csv.name);
    extra[csv.name] = csv;
  }
  const del = [];
  const resize = [];
  const rename = [];
  for (const tr of $("ptable").querySelectorAll("tbody tr")) {
    const n = tr.dataset.name;
    if (tr.querySelector(".delete").checked) del.push(n);
    const size = tr.querySelector(".resize").value.trim();
    if (size) resize.push(`${n}=${size}`);
    const to = tr.querySelector(".rename").value.trim();
    if (to) rename.push(`${n}=${to}`);
  }
  if (del.length) args.push("--delete", del.join(","));
  if ($("edit-add").value.trim()) args.push("--add", $("edit-add").value.trim());
  if (resize.length) args.push("--resize", resize.join(","));
  if (rename.length) args.push("--rename", rename.join(","));
  return { args, extra };
}

function updateCommand() {
  $("command").textContent = "mp-image-tool-esp32 " + tableArgs().args.join(" ");
}

async function applyTable() {
  const { args, extra } = tableArgs();
  const files = {};
  for (const [n, f] of Object.entries(extra)) files[n] = new Uint8Array(await f.arrayBuffer());
  const result = await run(args, files);
  await after(result, files);
}

// After a change: the CLI's output file becomes the current firmware; a board is read again.
async function after(result, files) {
  const out = outputOf(result, Object.keys(files));
  const text = $("log").textContent;
  const cls = $("log").className;
  if (result.status === 0 && onBoard()) await open(BOARD, null, false);
  else if (result.status === 0 && out) await open(out, result.written[out], true);
  else return;
  $("log").textContent = text; // the change's own output stays in view
  $("log").className = cls;
}

// ---- the filesystem ----

async function refreshFs() {
  $("fs-view").hidden = false;
  $("fs-extend").hidden = true;
  $("fs-mkfs").hidden = true;
  $("fs-browser").hidden = true;
  const result = await quietRun(["-q", state.name, "--fs", "ls"]);
  let text = result.stdout + result.stderr;
  if (result.status === 0 && text.trim() === "") {
    // Nothing listed: an empty filesystem, or none (said only when not quiet).
    const why = await quietRun([state.name, "--fs", "ls"]);
    text = why.stdout + why.stderr;
  }
  if (/not in (the )?firmware file/.test(text)) {
    $("fs-message").textContent =
      "The filesystem partition lies beyond the end of this firmware file. Extend the file " +
      "with erased flash to the full flash size (as a whole-flash image read from a board) to " +
      "make a filesystem in it.";
    $("fs-extend").hidden = onBoard();
    return;
  }
  if (/does not hold a littlefs|Skipping partition/.test(text) || result.status !== 0) {
    $("fs-message").textContent = text.trim().split("\n").pop();
    $("fs-mkfs").hidden = false;
    return;
  }
  $("fs-message").textContent = "";
  state.fs = result.stdout.split("\n").filter((l) => l.trim() !== "");
  renderFs(state.fs);
}

function renderFs(paths) {
  $("fs-browser").hidden = false;
  const tree = $("fs-tree");
  tree.textContent = "";
  const dest = $("fs-dest");
  const keep = dest.value || "/";
  dest.textContent = "";
  for (const d of ["/", ...paths.filter((p) => p.endsWith("/")).map((p) => "/" + p)]) {
    const o = document.createElement("option");
    o.value = o.textContent = d;
    dest.appendChild(o);
  }
  dest.value = [...dest.options].some((o) => o.value === keep) ? keep : "/";
  for (const p of [...paths].sort()) {
    const isDir = p.endsWith("/");
    const clean = p.replace(/\/$/, "");
    const li = document.createElement("li");
    li.dataset.path = clean;
    li.style.paddingLeft = `${(clean.split("/").length - 1) * 1.5}em`;
    li.className = isDir ? "dir" : "file";
    const label = document.createElement("span");
    label.textContent = clean.split("/").pop() + (isDir ? "/" : "");
    li.appendChild(label);
    const actions = isDir ? ["rename", "remove"] : ["download", "rename", "remove"];
    for (const a of actions) {
      const b = document.createElement("button");
      b.textContent = a;
      b.className = `fs-${a}`;
      b.addEventListener("click", () => busy(() => fsAction(a, clean)));
      li.appendChild(b);
    }
    tree.appendChild(li);
  }
}

// Run a --fs command that changes the filesystem; its output file becomes the current one.
async function fsChange(fsArgs, files = {}) {
  const args = [state.name];
  for (const a of fsArgs) args.push("--fs", ...a);
  const result = await run(args, files);
  await after(result, files);
  return result;
}

async function fsAction(action, path) {
  if (action === "download") {
    const local = "get/" + path.split("/").pop();
    const result = await run([state.name, "--fs", "get", path, local], {}, ["get"]);
    if (result.status === 0 && result.written[local]) saveAs(local, result.written[local]);
  } else if (action === "remove") {
    await fsChange([["rm", path]]);
  } else if (action === "rename") {
    const to = prompt(`New name for /${path}`, "/" + path);
    if (to && to !== "/" + path) await fsChange([["rename", path, to]]);
  }
}

// Put files and folders: items are { path (relative, "lib/a.py" for a folder's file), file }.
// Each top-level name is put once, a folder with everything in it, as `--fs put` does.
async function putItems(items) {
  const files = {};
  const names = [];
  for (const { path, file } of items) {
    files[`put/${path}`] = { data: new Uint8Array(await file.arrayBuffer()), mtime: file.lastModified };
    const top = `put/${path.split("/")[0]}`;
    if (!names.includes(top)) names.push(top);
  }
  if (names.length) await fsChange([["put", ...names, $("fs-dest").value || "/"]], files);
}

// The files of a drop, folders walked (the entries API that browsers give drops).
async function droppedItems(dataTransfer) {
  const entries = [...dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ path: file.name, file }));
  const items = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      items.push({ path: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, "");
  return items;
}

// Erased flash (0xff) up to the flash size: the partition table sits at flash offset 0x8000,
// so where it is in the file tells where the file starts in flash.
function extendToFlash() {
  const d = state.data;
  const start = d.length > 0x7001 && d[0x7000] === 0xaa && d[0x7001] === 0x50 ? 0x1000 : 0;
  const total = state.info.flashBytes - start;
  if (!total || total <= d.length) return;
  const full = new Uint8Array(total).fill(0xff);
  full.set(d);
  return open(state.name, full, true);
}

// ---- a board over Web Serial ----

async function connectBoard() {
  if (!navigator.serial) {
    $("board-message").textContent =
      "This browser has no Web Serial: boards need a Chromium-based browser (Chrome, Edge, Opera).";
    return;
  }
  const port = await navigator.serial.requestPort();
  state.board = new MpEngine.SerialBridge(port);
  showBoardButtons();
  await open(BOARD, null, false);
}

async function disconnectBoard() {
  if (state.board) await state.board.disconnect();
  state.board = null;
  showBoardButtons();
  if (state.file) await open(state.file.name, state.file.data, false);
}

// The bytes a write of data puts on the line: the loader sends it deflated, so the deflated
// size (the browser's own deflate, close to zlib's) is what the progress bar counts towards.
async function lineBytes(data) {
  if (typeof CompressionStream === "undefined") return data.length;
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

// A command that writes a file to the board, with a progress bar over the serial traffic:
// `FIRMWARE --flash DEVICE` or `DEVICE --ota-update APP`.
async function writeToBoard(args, file) {
  state.expect = { from: state.board.sent, total: await lineBytes(file.data) };
  $("log").textContent = `$ mp-image-tool-esp32 ${args.join(" ")}\n`;
  const result = await MpEngine.run(args, { [file.name]: file.data }, {
    serial: state.board,
    onLine: (line) => ($("log").textContent += line + "\n"),
  });
  state.expect = null;
  log(args, result);
  const text = $("log").textContent;
  const cls = $("log").className;
  if (result.status === 0) await open(BOARD, null, false);
  $("log").textContent = text;
  $("log").className = cls;
}

function flashBoard() {
  return writeToBoard([state.file.name, "--flash", BOARD], state.file);
}

async function otaBoard(f) {
  const app = { name: f.name, data: new Uint8Array(await f.arrayBuffer()) };
  return writeToBoard([BOARD, "--ota-update", app.name], app);
}

function showBoardButtons() {
  const on = !!state.board;
  $("board-connect").hidden = on;
  for (const id of ["board-show", "board-disconnect", "board-ota-label"]) $(id).hidden = !on;
  $("board-flash").hidden = !on || !state.file;
  if (state.file) $("board-flash").textContent = `Write ${state.file.name} to the board`;
}

// Serial traffic while a board command runs, and a write's progress.
setInterval(() => {
  const b = state.board;
  $("serial-status").textContent =
    b && state.busy ? `serial: ${(b.sent / 1024).toFixed(1)} kB sent, ${(b.received / 1024).toFixed(1)} kB received` : "";
  const e = state.expect;
  $("serial-progress").hidden = !(b && e);
  if (b && e) $("serial-progress").value = Math.min(0.99, (b.sent - e.from) / e.total);
}, 200);

// ---- wiring ----

async function openFile(file) {
  await open(file.name, new Uint8Array(await file.arrayBuffer()), false);
  showBoardButtons();
}

function dropZone(el, onDrop) {
  el.addEventListener("dragover", (e) => {
    e.preventDefault();
    el.classList.add("over");
  });
  el.addEventListener("dragleave", () => el.classList.remove("over"));
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.classList.remove("over");
    if (e.dataTransfer.files.length) busy(() => onDrop(e.dataTransfer));
  });
}

dropZone($("open"), (dt) => openFile(dt.files[0]));
$("firmware-input").addEventListener("change", (e) => {
  if (e.target.files[0]) busy(() => openFile(e.target.files[0]));
});
dropZone($("fs-drop"), async (dt) => putItems(await droppedItems(dt)));
for (const id of ["fs-input", "fs-folder-input"]) {
  $(id).addEventListener("change", (e) => {
    // A folder chosen gives each file's path below it (webkitRelativePath).
    const items = [...e.target.files].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    e.target.value = "";
    if (items.length) busy(() => putItems(items));
  });
}
$("apply").addEventListener("click", () => busy(applyTable));
$("board-connect").addEventListener("click", () => busy(connectBoard));
$("board-disconnect").addEventListener("click", () => busy(disconnectBoard));
$("board-show").addEventListener("click", () => busy(() => open(BOARD, null, false)));
$("board-flash").addEventListener("click", () => busy(flashBoard));
$("board-ota").addEventListener("change", (e) => {
  const f = e.target.files[0];
  e.target.value = "";
  if (f) busy(() => otaBoard(f));
});
if (!navigator.serial) {
  $("board-message").textContent =
    "Boards need Web Serial, which Chromium-based browsers have (Chrome, Edge, Opera).";
}
$("fs-extend").addEventListener("click", () => busy(extendToFlash));
$("fs-mkfs").addEventListener("click", () => busy(() => fsChange([["mkfs"]])));
$("table-view").addEventListener("input", updateCommand);
$("edit-csv").addEventListener("change", () => {
  const f = $("edit-csv").files[0];
  $("csv-name").textContent = f ? f.name : "";
  updateCommand();
});
MpEngine.compile().then(
  () => (document.body.dataset.engine = "ready"),
  (e) => log([], { status: 1, stdout: "", stderr: `The engine did not load: ${e}\n` })
);
