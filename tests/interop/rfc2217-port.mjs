// A Web Serial style port (the object esptool-js's Transport wraps) that talks RFC 2217 to the
// virtual chip: data over telnet with 0xFF escaping, DTR/RTS as COM-PORT-OPTION SET-CONTROL and
// the baud rate as SET-BAUDRATE. Using the network form of a serial port, rather than the pty,
// lets esptool-js's own reset sequences (setSignals) reach the chip's reset model.
import net from "node:net";

const IAC = 255, SB = 250, SE = 240, WILL = 251, WONT = 252, DO = 253, DONT = 254;
const BINARY = 0, SGA = 3, COM_PORT = 44;
const SET_BAUDRATE = 1, SET_CONTROL = 5;
const DTR_ON = 8, DTR_OFF = 9, RTS_ON = 11, RTS_OFF = 12;

export class Rfc2217Port {
  /**
   * @param {string} host
   * @param {number} port
   * @param {{usbVendorId?: number, usbProductId?: number}} info what getInfo() reports
   */
  constructor(host, port, info = {}) {
    this.host = host;
    this.port = port;
    this.info = info;
    this.readable = null;
    this.writable = null;
    this.socket = null;
    this.signals = [];   // every SET-CONTROL sent, for tests: [{dtr, rts}]
    this.baudRates = []; // every SET-BAUDRATE sent
  }

  getInfo() {
    return { ...this.info };
  }

  async open({ baudRate = 115200 } = {}) {
    const socket = net.connect({ host: this.host, port: this.port });
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.setNoDelay(true);
    this.socket = socket;
    const parser = new TelnetParser((verb, opt) => this._negotiate(verb, opt));
    const enabled = new Set();
    this._enabled = enabled;
    let controller;
    this.readable = new ReadableStream({
      start(c) {
        controller = c;
      },
      cancel: () => {
        socket.destroy();
      },
    });
    socket.on("data", (buf) => {
      const data = parser.feed(buf);
      if (data.length) {
        try {
          controller.enqueue(data);
        } catch {
          /* stream already cancelled */
        }
      }
    });
    socket.on("close", () => {
      try {
        controller.close();
      } catch {
        /* already closed */
      }
    });
    socket.on("error", () => {});
    this.writable = new WritableStream({
      write: (chunk) =>
        new Promise((resolve, reject) => {
          const out = escapeIac(chunk);
          if (socket.destroyed) return reject(new Error("port closed"));
          socket.write(out, (err) => (err ? reject(err) : resolve()));
        }),
    });
    this._raw([IAC, WILL, COM_PORT, IAC, DO, COM_PORT, IAC, WILL, BINARY, IAC, DO, BINARY]);
    enabled.add(`we${COM_PORT}`).add(`they${COM_PORT}`).add(`we${BINARY}`).add(`they${BINARY}`);
    await this.setBaudRate(baudRate);
  }

  _raw(bytes) {
    if (this.socket && !this.socket.destroyed) this.socket.write(Buffer.from(bytes));
  }

  _negotiate(verb, opt) {
    const ok = opt === BINARY || opt === SGA || opt === COM_PORT;
    if (verb === DO || verb === DONT) {
      const key = `we${opt}`;
      if (verb === DO && !this._enabled.has(key)) {
        if (ok) this._enabled.add(key);
        this._raw([IAC, ok ? WILL : WONT, opt]);
      } else if (verb === DONT && this._enabled.delete(key)) {
        this._raw([IAC, WONT, opt]);
      }
    } else {
      const key = `they${opt}`;
      if (verb === WILL && !this._enabled.has(key)) {
        if (ok) this._enabled.add(key);
        this._raw([IAC, ok ? DO : DONT, opt]);
      } else if (verb === WONT && this._enabled.delete(key)) {
        this._raw([IAC, DONT, opt]);
      }
    }
  }

  _comPort(cmd, value) {
    this._raw([IAC, SB, COM_PORT, cmd, ...escapeIac(Uint8Array.from(value)), IAC, SE]);
  }

  async setSignals({ dataTerminalReady, requestToSend } = {}) {
    // Both lines leave together as on a USB bridge's SET_CONTROL_LINE_STATE; the chip model's
    // EN delay makes the order irrelevant.
    if (dataTerminalReady !== undefined) this._comPort(SET_CONTROL, [dataTerminalReady ? DTR_ON : DTR_OFF]);
    if (requestToSend !== undefined) this._comPort(SET_CONTROL, [requestToSend ? RTS_ON : RTS_OFF]);
    this.signals.push({ dtr: dataTerminalReady, rts: requestToSend });
  }

  async setBaudRate(baud) {
    this.baudRates.push(baud);
    this._comPort(SET_BAUDRATE, [(baud >>> 24) & 255, (baud >>> 16) & 255, (baud >>> 8) & 255, baud & 255]);
  }

  async close() {
    if (this.socket) {
      const s = this.socket;
      await new Promise((resolve) => {
        if (s.destroyed) return resolve();
        s.once("close", resolve);
        s.end();
        setTimeout(() => s.destroy(), 200);
      });
    }
    this.socket = null;
    this.readable = null;
    this.writable = null;
  }
}

function escapeIac(chunk) {
  let n = 0;
  for (const b of chunk) if (b === IAC) n++;
  if (!n) return Buffer.from(chunk);
  const out = Buffer.alloc(chunk.length + n);
  let k = 0;
  for (const b of chunk) {
    out[k++] = b;
    if (b === IAC) out[k++] = IAC;
  }
  return out;
}

/** Splits a telnet byte stream into data and option negotiation; subnegotiations are dropped
 * (the server's COM-PORT-OPTION acknowledgements carry nothing the tests need). */
class TelnetParser {
  constructor(onOption) {
    this.onOption = onOption;
    this.state = "data";
    this.verb = 0;
  }

  feed(buf) {
    const out = [];
    for (const b of buf) {
      switch (this.state) {
        case "data":
          if (b === IAC) this.state = "iac";
          else out.push(b);
          break;
        case "iac":
          if (b === IAC) {
            out.push(b);
            this.state = "data";
          } else if (b === WILL || b === WONT || b === DO || b === DONT) {
            this.verb = b;
            this.state = "opt";
          } else if (b === SB) this.state = "sb";
          else this.state = "data";
          break;
        case "opt":
          this.onOption(this.verb, b);
          this.state = "data";
          break;
        case "sb":
          if (b === IAC) this.state = "sb-iac";
          break;
        case "sb-iac":
          this.state = b === SE ? "data" : "sb";
          break;
      }
    }
    return Uint8Array.from(out);
  }
}
