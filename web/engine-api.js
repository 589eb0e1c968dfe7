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

  function same(a, b) {
    if (!a || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // run(args, files, dirs): files is { relative path: Uint8Array or { data, mtime (ms) } },
  // dirs a list of (empty) folders to make first. Resolves to { status, stdout, stderr,
  // written: { path: Uint8Array } } where written holds the files the command created or
  // changed.
  async function run(args, files = {}, dirs = []) {
    const module = await compile();
    const stdout = [];
    const stderr = [];
    const m = await createEngine({
      noInitialRun: true,
      print: (s) => stdout.push(s),
      printErr: (s) => stderr.push(s),
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
    for (const d of dirs) mkdirs(FS, `${d}/`);
    const inputs = {};
    for (const [name, value] of Object.entries(files)) {
      const data = value instanceof Uint8Array ? value : value.data;
      mkdirs(FS, name);
      FS.writeFile(name, data);
      if (value.mtime !== undefined) FS.utime(name, value.mtime, value.mtime);
      inputs[name] = data;
    }
    const status = m.callMain(args);
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

  return { run, compile };
})();
