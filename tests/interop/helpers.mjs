// Shared pieces of the interop tests: deterministic data, an esptool-js session on the chip.
import { createHash } from "node:crypto";
import { ESPLoader, Transport } from "esptool-js";
import { Rfc2217Port } from "./rfc2217-port.mjs";

/** Deterministic, firmware-like data: runs of pseudo-random bytes mixed with repeated text so
 * that it compresses to roughly 60-70 % like a real application image. */
export function testImage(size, seed = 1) {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  const text = new TextEncoder().encode("MicroPython virtual chip test image; ");
  for (let i = 0; i < size; ) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    const run = 16 + (x % 48);
    if (x & 0x100) {
      for (let k = 0; k < run && i < size; k++, i++) out[i] = text[(i + k) % text.length];
    } else {
      for (let k = 0; k < run && i < size; k++, i++) {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        out[i] = x & 0xff;
      }
    }
  }
  return out;
}

export function md5hex(data) {
  return createHash("md5").update(data).digest("hex");
}

/** A terminal that keeps everything esptool-js prints. */
export function recordingTerminal() {
  const lines = [];
  let current = "";
  return {
    lines,
    text: () => lines.join("\n") + current,
    clean() {},
    write(s) {
      current += s;
    },
    writeLine(s) {
      lines.push(current + s);
      current = "";
    },
  };
}

/** esptool-js's loader on an RFC 2217 port of the chip. usbJtag: report the USB-Serial/JTAG
 * ids so esptool-js picks its USB reset sequence. */
export function makeLoader(port, { baudrate = 921600, usbJtag = false } = {}) {
  const info = usbJtag ? { usbVendorId: 0x303a, usbProductId: 0x1001 } : {};
  const serial = new Rfc2217Port("127.0.0.1", port, info);
  const transport = new Transport(serial, false);
  const terminal = recordingTerminal();
  const loader = new ESPLoader({ transport, baudrate, terminal, debugLogging: false });
  return { serial, transport, terminal, loader };
}

export function u32le(...words) {
  const out = new Uint8Array(4 * words.length);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  return out;
}
