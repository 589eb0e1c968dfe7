// Starting and stopping the virtual chip for the tests.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The esp-virtual-chip binary: $ESP_VIRTUAL_CHIP, else the usual build directories. */
export function simBinary() {
  if (process.env.ESP_VIRTUAL_CHIP) return process.env.ESP_VIRTUAL_CHIP;
  const repo = path.resolve(here, "..", "..");
  for (const dir of ["build", "build-sim", "build-ci"]) {
    const p = path.join(repo, dir, "sim", "esp-virtual-chip");
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Start the chip with an RFC 2217 server on a free port.
 * @returns {Promise<{port: number, proc: import("node:child_process").ChildProcess, log: () => string, stop: () => Promise<number>}>}
 */
export async function startSim(args) {
  const bin = simBinary();
  if (!bin) throw new Error("esp-virtual-chip not built (set ESP_VIRTUAL_CHIP)");
  const proc = spawn(bin, [...args, "--rfc2217", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${stderr}`)), 5000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/rfc2217:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code}): ${stderr}`));
    });
  });
  return {
    port,
    proc,
    log: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once("exit", (code) => resolve(code));
        proc.kill("SIGTERM");
      }),
  };
}
