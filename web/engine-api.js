// The page's way into the engine: run one mp-image-tool-esp32 command line on files kept in
// memory, exactly as the CLI would on disk. Each command gets a fresh instance of the
// WebAssembly program (engine.js, engine.wasm), compiled once: no state survives from one
// command to the next, as with separate runs of the CLI.
"use strict";

const MpEngine = (() => {
  let compiled = null;

  // Compile engine.wasm (beside engine.js) once.
  function compile() {
    if (!compiled) {
      const url = new URL("engine.wasm", document.baseURI);
      compiled = fetch(url).then((r) => {
        if (!r.ok) throw new Error(`engine.wasm: HTTP ${r.status}`);
        return WebAssembly.compileStreaming
          ? WebAssembly.compileStreaming(r)
          : r.arrayBuffer().then((b) => WebAssembly.compile(b));
      });
    }
    return compiled;
  }

  function mkdirs(FS, path) {
    const parts = path.split("/").slice(0, -1);
    let dir = "";
    for (const p of parts) {
      dir += (dir ? "/" : "") + p;
      try {
        FS.mkdir(dir);
      } catch (e) {
        /* exists */
      }
    }
  }

  // Every file below dir, as { relative path: Uint8Array }.
  function readTree(FS, dir, prefix, out) {
    for (const name of FS.readdir(dir)) {
      if (name === "." || name === "..") continue;
      const path = `${dir}/${name}`;
      const rel = prefix + name;
      const st = FS.stat(path);
      if (FS.isDir(st.mode)) readTree(FS, path, rel + "/", out);
      else out[rel] = FS.readFile(path);
    }
    return out;
  }

  // A Web Serial port as the engine's serial back-end sees it (src/serial/port_tty_wasm.c):
  // open at a baud rate, reads with a timeout from what arrived, writes, DTR/RTS in one step,
  // and a baud change by reopening the port as Web Serial requires. The port stays open from
  // one command to the next, as a USB adapter stays plugged in; disconnect() closes it.
  class SerialBridge {
    constructor(port) {
      this.port = port;
      this.chunks = [];
      this.wake = null;
      this.error = null;
      this.isOpen = false;
      this.baud = 0;
      this.sent = 0;
      this.received = 0;
    }
    async open(baud) {
      if (this.isOpen && this.baud === baud) return;
      if (this.isOpen) await this.shut();
      await this.port.open({ baudRate: baud, bufferSize: 65536 });
      this.isOpen = true;
      this.baud = baud;
      this.error = null;
      this.pump();
    }
    pump() {
      const reader = this.port.readable.getReader();
      this.reader = reader;
      (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            if (value && value.length) {
              this.chunks.push(value);
              this.received += value.length;
              if (this.wake) this.wake();
            }
          }
        } catch (e) {
          if (this.reader === reader) this.error = e;
        } finally {
          reader.releaseLock();
          if (this.wake) this.wake();
        }
      })();
    }
    async shut() {
      const reader = this.reader;
      this.reader = null;
      if (reader) await reader.cancel().catch(() => {});
      await this.port.close().catch(() => {});
      this.isOpen = false;
    }
    async setBaud(baud) {
      await this.open(baud);
    }
    async read(max, timeoutMs) {
      if (!this.chunks.length && !this.error && timeoutMs > 0) {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, timeoutMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
      if (!this.chunks.length && this.error) throw this.error;
      const out = new Uint8Array(Math.min(max, this.chunks.reduce((n, c) => n + c.length, 0)));
      let k = 0;
      while (k < out.length) {
        const c = this.chunks[0];
        const take = Math.min(c.length, out.length - k);
        out.set(c.subarray(0, take), k);
        k += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
      return out;
    }
    async write(data) {
      if (this.error) throw this.error;
      const writer = this.port.writable.getWriter();
      try {
        await writer.write(data);
        this.sent += data.length;
      } finally {
        writer.releaseLock();
      }
    }
    async setSignals(dtr, rts) {
      const s = {};
      if (dtr >= 0) s.dataTerminalReady = !!dtr;
      if (rts >= 0) s.requestToSend = !!rts;
      await this.port.setSignals(s);
    }
    async flush() {
      this.chunks = [];
    }
    async close() {
      this.chunks = [];
    }
    // After each command: nothing of it is left waiting.
    async release() {
      this.wake = null;
    }
    async disconnect() {
      if (this.isOpen) await this.shut();
    }
  }

  function same(a, b) {
    if (!a || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // run(args, files, opts): files is { relative path: Uint8Array or { data, mtime (ms) } };
  // opts.dirs a list of (empty) folders to make first, opts.serial a SerialBridge for device
  // names, opts.onLine(text, isError) sees each line as it is printed. Resolves to { status,
  // stdout, stderr, written: { path: Uint8Array } } where written holds the files the command
  // created or changed.
  async function run(args, files = {}, opts = {}) {
    const module = await compile();
    const stdout = [];
    const stderr = [];
    const onLine = opts.onLine || (() => {});
    let finish;
    const finished = new Promise((resolve) => (finish = resolve));
    const m = await createEngine({
      noInitialRun: true,
      print: (s) => {
        stdout.push(s);
        onLine(s, false);
      },
      printErr: (s) => {
        stderr.push(s);
        onLine(s, true);
      },
      serial: opts.serial,
      onExit: (status) => finish(status),
      onAbort: (what) => {
        stderr.push(`engine aborted: ${what}`);
        finish(70);
      },
      // The program's exit ends the command, not the page.
      quit: (status, toThrow) => {
        throw toThrow;
      },
      instantiateWasm: (info, receive) => {
        WebAssembly.instantiate(module, info).then((instance) => receive(instance));
        return {};
      },
    });
    const FS = m.FS;
    FS.mkdir("/work");
    FS.chdir("/work");
    for (const d of opts.dirs || []) mkdirs(FS, `${d}/`);
    const inputs = {};
    for (const [name, value] of Object.entries(files)) {
      const data = value instanceof Uint8Array ? value : value.data;
      mkdirs(FS, name);
      FS.writeFile(name, data);
      if (value.mtime !== undefined) FS.utime(name, value.mtime, value.mtime);
      inputs[name] = data;
    }
    // Returns at once when the program waits on the serial port; it ends through onExit.
    m.callMain(args);
    const status = await finished;
    if (opts.serial) await opts.serial.release();
    const written = {};
    for (const [name, data] of Object.entries(readTree(FS, "/work", "", {}))) {
      if (!same(inputs[name], data)) written[name] = data;
    }
    return {
      status,
      stdout: stdout.length ? stdout.join("\n") + "\n" : "",
      stderr: stderr.length ? stderr.join("\n") + "\n" : "",
      written,
    };
  }

  return { run, compile, SerialBridge };
})();

// An exit that ends a program after it was suspended surfaces as an unhandled ExitStatus: the
// command is over, its status already taken through onExit.
if (typeof window !== "undefined") {
  window.addEventListener("unhandledrejection", (e) => {
    if (e.reason && e.reason.name === "ExitStatus") e.preventDefault();
  });
  window.addEventListener("error", (e) => {
    if (e.error && e.error.name === "ExitStatus") e.preventDefault();
  });
}
