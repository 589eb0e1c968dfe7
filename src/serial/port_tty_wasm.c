/* Serial ports in the WebAssembly build. A program under Node or in a page cannot open a device
 * file; in the page, a port the user picked (Web Serial) is handed to the engine as
 * Module.serial (web/engine-api.js), and any device name then reaches it through this back-end
 * of the one port interface. Its calls wait on JavaScript promises: the page's engine is
 * built with Asyncify, which suspends the program at each of them. Without a port handed over
 * (Node, or no board connected) a device name is refused with one line. */
#include "serial/port.h"

#include <emscripten.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
/* JavaScript, not for clang-format. Each call returns a negative number when the port fails
 * and leaves the reason in Module.serialError. */
EM_JS(int, bridge_present, (void), {
    return Module["serial"] ? 1 : 0;
});
EM_JS(void, bridge_error, (char *buf, int cap), {
    stringToUTF8(String(Module["serialError"] || "the port failed"), buf, cap);
});
EM_ASYNC_JS(int, bridge_call, (int what, int a, int b), {
    try {
        const s = Module["serial"];
        if (what === 0) await s.open(a);
        else if (what === 1) await s.setBaud(a);
        else if (what === 2) await s.setSignals(a, b);
        else if (what === 3) await s.flush();
        else if (what === 4) await s.close();
        return 0;
    } catch (e) {
        Module["serialError"] = e && e.message ? e.message : String(e);
        return -1;
    }
});
EM_ASYNC_JS(int, bridge_read, (uint8_t *buf, int len, int timeout_ms), {
    try {
        const data = await Module["serial"].read(len, timeout_ms);
        HEAPU8.set(data, buf);
        return data.length;
    } catch (e) {
        Module["serialError"] = e && e.message ? e.message : String(e);
        return -1;
    }
});
EM_ASYNC_JS(int, bridge_write, (const uint8_t *buf, int len), {
    try {
        await Module["serial"].write(HEAPU8.slice(buf, buf + len));
        return 0;
    } catch (e) {
        Module["serialError"] = e && e.message ? e.message : String(e);
        return -1;
    }
});
// clang-format on

enum { CALL_OPEN, CALL_BAUD, CALL_LINES, CALL_FLUSH, CALL_CLOSE };

static int failed(struct port *p, struct error *err, const char *what)
{
    char why[200];
    bridge_error(why, sizeof why);
    return error_setk(err, ERROR_DEVICE, "%s: %s: %s", p->name, what, why);
}

static int web_read(struct port *p, uint8_t *buf, size_t len, int timeout_ms, struct error *err)
{
    int n = bridge_read(buf, len > 65536 ? 65536 : (int)len, timeout_ms < 0 ? 0 : timeout_ms);
    return n < 0 ? failed(p, err, "read") : n;
}

static int web_write(struct port *p, const uint8_t *buf, size_t len, struct error *err)
{
    return bridge_write(buf, (int)len) < 0 ? failed(p, err, "write") : 0;
}

static int web_set_baud(struct port *p, uint32_t baud, struct error *err)
{
    if (bridge_call(CALL_BAUD, (int)baud, 0) < 0)
        return failed(p, err, "set baud rate");
    p->baud = baud;
    return 0;
}

static int web_set_lines(struct port *p, int dtr, int rts, struct error *err)
{
    if (bridge_call(CALL_LINES, dtr, rts) < 0)
        return failed(p, err, "set DTR/RTS");
    if (dtr >= 0)
        p->dtr = dtr;
    if (rts >= 0)
        p->rts = rts;
    return 0;
}

static int web_flush_input(struct port *p, struct error *err)
{
    return bridge_call(CALL_FLUSH, 0, 0) < 0 ? failed(p, err, "flush") : 0;
}

static void web_close(struct port *p)
{
    bridge_call(CALL_CLOSE, 0, 0);
    free(p);
}

static const struct port_ops web_ops = {web_read,      web_write,       web_set_baud,
                                        web_set_lines, web_flush_input, web_close};

int port_tty_open(const char *path, uint32_t baud, struct port **out, struct error *err)
{
    *out = NULL;
    if (!bridge_present())
        return error_setk(err, ERROR_DEVICE,
                          "%s: serial ports cannot be opened by the WebAssembly build; use the "
                          "native program, or a browser with Web Serial",
                          path);
    struct port *p = calloc(1, sizeof *p);
    if (!p)
        return error_setk(err, ERROR_OS, "out of memory");
    p->ops = &web_ops;
    p->kind = PORT_TTY;
    snprintf(p->name, sizeof p->name, "%s", path);
    p->baud = baud;
    if (bridge_call(CALL_OPEN, (int)baud, 0) < 0) {
        int r = failed(p, err, "open");
        free(p);
        return r;
    }
    *out = p;
    return 0;
}
