// A test stand-in for a USB serial adapter as the page sees it: a WebSocket server on
// 127.0.0.1 whose every connection is bridged to an RFC 2217 port (the virtual chip). Binary
// messages are serial data both ways; text messages from the page are JSON commands
// {"baud": N} and {"dtr": 0|1, "rts": 0|1} carried out as COM-PORT-OPTION subnegotiations.
"use strict";
const net = require("net");
const { WebSocketServer } = require("ws");

const IAC = 255, SB = 250, SE = 240, WILL = 251, WONT = 252, DO = 253, DONT = 254;
const COM_PORT = 44, BINARY = 0, SGA = 3;
const SET_BAUDRATE = 1, SET_CONTROL = 5;
const DTR_ON = 8, DTR_OFF = 9, RTS_ON = 11, RTS_OFF = 12, NO_FLOW = 1;
const ACCEPTED = new Set([BINARY, SGA, COM_PORT]);

function escape(data) {
  const out = [];
  for (const b of data) {
    out.push(b);
    if (b === IAC) out.push(IAC);
  }
  return Buffer.from(out);
}

function subneg(cmd, value) {
  return Buffer.concat([Buffer.from([IAC, SB, COM_PORT, cmd]), escape(value), Buffer.from([IAC, SE])]);
}

// One telnet connection: data out of it goes to onData, with the telnet commands taken out.
function telnet(host, port, onData, onClose) {
  const sock = net.connect(port, host);
  sock.setNoDelay(true);
  let state = "data";
  let verb = 0;
  const answered = new Set();
  sock.on("data", (chunk) => {
    const data = [];
    for (const b of chunk) {
      if (state === "data") {
        if (b === IAC) state = "iac";
        else data.push(b);
      } else if (state === "iac") {
        if (b === IAC) {
          data.push(IAC);
          state = "data";
        } else if (b === WILL || b === WONT || b === DO || b === DONT) {
          verb = b;
          state = "opt";
        } else if (b === SB) state = "sb";
        else state = "data";
      } else if (state === "opt") {
        const key = `${verb}:${b}`;
        if (!answered.has(key)) {
          answered.add(key);
          if (verb === DO) sock.write(Buffer.from([IAC, ACCEPTED.has(b) ? WILL : WONT, b]));
          if (verb === WILL) sock.write(Buffer.from([IAC, ACCEPTED.has(b) ? DO : DONT, b]));
        }
        state = "data";
      } else if (state === "sb") {
        if (b === IAC) state = "sb-iac";
      } else if (state === "sb-iac") {
        state = b === SE ? "data" : "sb";
      }
    }
    if (data.length) onData(Buffer.from(data));
  });
  sock.on("close", onClose);
  sock.on("error", () => sock.destroy());
  for (const opt of [BINARY, SGA, COM_PORT]) {
    answered.add(`${DO}:${opt}`);
    sock.write(Buffer.from([IAC, WILL, opt]));
  }
  sock.write(subneg(SET_CONTROL, [NO_FLOW]));
  return {
    write: (data) => sock.write(escape(data)),
    baud: (n) => sock.write(subneg(SET_BAUDRATE, [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])),
    lines: (dtr, rts) => {
      if (dtr === 0 || dtr === 1) sock.write(subneg(SET_CONTROL, [dtr ? DTR_ON : DTR_OFF]));
      if (rts === 0 || rts === 1) sock.write(subneg(SET_CONTROL, [rts ? RTS_ON : RTS_OFF]));
    },
    close: () => sock.end(),
  };
}

// Resolves to { url, close() }: ws://127.0.0.1:PORT/ bridged to rfc2217://host:port.
// opts.cutAfter: after that many bytes from the page the line is gone for good, as when a USB
// cable is pulled (the connection ends and no new one is taken).
function startBridge(host, port, opts = {}) {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    let fromPage = 0;
    let pulled = false;
    wss.on("connection", (ws) => {
      if (pulled) {
        ws.terminate();
        return;
      }
      const line = telnet(
        host,
        port,
        (data) => ws.send(data),
        () => ws.close()
      );
      ws.on("message", (msg, isBinary) => {
        if (pulled) return;
        if (isBinary) {
          line.write(msg);
          fromPage += msg.length;
          if (opts.cutAfter && fromPage >= opts.cutAfter) {
            pulled = true;
            ws.terminate();
            line.close();
          }
        }
        else {
          const cmd = JSON.parse(msg.toString());
          if (cmd.baud) line.baud(cmd.baud);
          if ("dtr" in cmd || "rts" in cmd) line.lines(cmd.dtr, cmd.rts);
        }
      });
      ws.on("close", () => line.close());
    });
    wss.on("listening", () =>
      resolve({
        url: `ws://127.0.0.1:${wss.address().port}/`,
        close: () => new Promise((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close(r);
        }),
      })
    );
  });
}

module.exports = { startBridge };
