// Injected into the page by the browser tests (headless Chromium cannot open real ports): a
// navigator.serial whose one port is a WebSocket to tests/web/serial_bridge.js, itself bridged
// to the virtual chip's RFC 2217 port. It behaves as Web Serial does where the page relies on
// it: open({baudRate}), readable and writable streams, setSignals() for DTR/RTS, close(), and
// a lost device ends the readable stream with an error. Closing the port keeps the
// connection a moment, so that a reopen at another baud rate is the same line, as it is on a
// USB adapter. Reads window.__serialBridgeUrl.
"use strict";
(() => {
  class ShimPort {
    constructor(url) {
      this.url = url;
      this.ws = null;
      this.readable = null;
      this.writable = null;
      this.closing = null;
    }
    getInfo() {
      return { usbVendorId: 0x10c4, usbProductId: 0xea60 };
    }
    async connect() {
      if (this.closing) {
        clearTimeout(this.closing);
        this.closing = null;
      }
      if (this.ws && this.ws.readyState === WebSocket.OPEN) return this.ws;
      const ws = new WebSocket(this.url);
      ws.binaryType = "arraybuffer";
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new DOMException("Failed to open serial port.", "NetworkError"));
      });
      this.ws = ws;
      return ws;
    }
    async open({ baudRate }) {
      if (this.readable) throw new DOMException("The port is already open.", "InvalidStateError");
      const ws = await this.connect();
      ws.send(JSON.stringify({ baud: baudRate }));
      const lost = () => new DOMException("The device has been lost.", "NetworkError");
      this.readable = new ReadableStream({
        start: (c) => {
          ws.onmessage = (e) => c.enqueue(new Uint8Array(e.data));
          ws.onclose = () => {
            try {
              c.error(lost());
            } catch (e) {
              /* already cancelled */
            }
          };
        },
        cancel: () => {
          ws.onmessage = null;
          ws.onclose = null;
        },
      });
      this.writable = new WritableStream({
        write: (chunk) => {
          if (ws.readyState !== WebSocket.OPEN) throw lost();
          ws.send(chunk);
        },
      });
    }
    async setSignals(s) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
        throw new DOMException("The device has been lost.", "NetworkError");
      const cmd = {};
      if ("dataTerminalReady" in s) cmd.dtr = s.dataTerminalReady ? 1 : 0;
      if ("requestToSend" in s) cmd.rts = s.requestToSend ? 1 : 0;
      this.ws.send(JSON.stringify(cmd));
    }
    async close() {
      this.readable = null;
      this.writable = null;
      const ws = this.ws;
      this.closing = setTimeout(() => {
        if (ws) ws.close();
        if (this.ws === ws) this.ws = null;
      }, 500);
    }
  }
  const port = new ShimPort(window.__serialBridgeUrl);
  Object.defineProperty(navigator, "serial", {
    value: { requestPort: async () => port, getPorts: async () => [port] },
  });
})();
