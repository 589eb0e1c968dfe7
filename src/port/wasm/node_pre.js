// Runs before the CLI starts under Node. Node 18+ has fetch(), which emscripten 3.1.6 would
// use to load the .wasm from a file path (and fail): the module is read from beside this
// script instead. The program sees Node's environment (NO_COLOR, COLUMNS), as the native
// one sees its own.
Module["wasmBinary"] = require("fs").readFileSync(__filename.replace(/\.js$/, ".wasm"));
Module["preRun"] = (Module["preRun"] || []).concat(function () {
  Object.assign(ENV, process.env);
});
