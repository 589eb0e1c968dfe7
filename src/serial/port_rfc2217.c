/* RFC 2217 client: a telnet connection carrying serial data, with the COM-PORT-OPTION (44)
 * subnegotiations SET-BAUDRATE and SET-CONTROL (DTR/RTS) used by ser2net, pyserial and esptool.
 * Data bytes 0xFF are doubled (IAC IAC) in both directions (RFC 854). */
#include "serial/port.h"
#include "serial/port_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Telnet (RFC 854/855) and COM-PORT-OPTION (RFC 2217) codes. */
enum {
    TN_SE = 240, TN_SB = 250, TN_WILL = 251, TN_WONT = 252, TN_DO = 253, TN_DONT = 254,
    TN_IAC = 255,
    OPT_BINARY = 0, OPT_SGA = 3, OPT_COM_PORT = 44,
    CPO_SET_BAUDRATE = 1, CPO_SET_DATASIZE = 2, CPO_SET_PARITY = 3, CPO_SET_STOPSIZE = 4,
    CPO_SET_CONTROL = 5, CPO_PURGE_DATA = 12, CPO_SERVER_OFFSET = 100,
    CTL_NO_FLOW = 1, CTL_DTR_ON = 8, CTL_DTR_OFF = 9, CTL_RTS_ON = 11, CTL_RTS_OFF = 12,
    PARITY_NONE = 1, STOPSIZE_1 = 1, PURGE_RX = 1,
};

enum tn_state { TS_DATA, TS_IAC, TS_OPT, TS_SB, TS_SB_IAC };

struct rfc_port {
    struct port base;
    int fd;
    enum tn_state st;
    uint8_t verb;           /* WILL/WONT/DO/DONT awaiting its option byte */
    uint8_t sb[32];
    size_t sb_len;
    uint8_t we_will[256];   /* WILL sent (1) or WONT sent (2) */
    uint8_t we_do[256];     /* DO sent (1) or DONT sent (2) */
    uint32_t server_baud;   /* last SET-BAUDRATE acknowledged by the server */
    int heard;              /* the server sent a telnet command: it is talking to us */
    uint8_t early[4096];    /* data that arrived while opening, served first */
    size_t early_len, early_pos;
};

static int send_raw(struct rfc_port *r, const uint8_t *b, size_t n, struct error *err)
{
    return port_fd_write(r->fd, r->base.name, b, n, err);
}

static int send_verb(struct rfc_port *r, uint8_t verb, uint8_t opt, struct error *err)
{
    uint8_t b[3] = {TN_IAC, verb, opt};
    if (verb == TN_WILL || verb == TN_WONT)
        r->we_will[opt] = verb == TN_WILL ? 1 : 2;
    else
        r->we_do[opt] = verb == TN_DO ? 1 : 2;
    return send_raw(r, b, 3, err);
}

/* IAC SB COM-PORT-OPTION cmd <value escaped> IAC SE */
static int send_cpo(struct rfc_port *r, uint8_t cmd, const uint8_t *val, size_t n,
                    struct error *err)
{
    uint8_t b[32];
    size_t k = 0;
    b[k++] = TN_IAC;
    b[k++] = TN_SB;
    b[k++] = OPT_COM_PORT;
    b[k++] = cmd;
    for (size_t i = 0; i < n; i++) {
        b[k++] = val[i];
        if (val[i] == TN_IAC)
            b[k++] = TN_IAC;
    }
    b[k++] = TN_IAC;
    b[k++] = TN_SE;
    return send_raw(r, b, k, err);
}

static int wanted(uint8_t opt)
{
    return opt == OPT_BINARY || opt == OPT_SGA || opt == OPT_COM_PORT;
}

/* React to the server's option negotiation without loops: answer only what changes state. */
static int negotiate(struct rfc_port *r, uint8_t verb, uint8_t opt, struct error *err)
{
    switch (verb) {
    case TN_DO:
        if (wanted(opt) && r->we_will[opt] != 1)
            return send_verb(r, TN_WILL, opt, err);
        if (!wanted(opt) && r->we_will[opt] != 2)
            return send_verb(r, TN_WONT, opt, err);
        return 0;
    case TN_DONT:
        if (r->we_will[opt] != 2)
            return send_verb(r, TN_WONT, opt, err);
        return 0;
    case TN_WILL:
        if (wanted(opt) && r->we_do[opt] != 1)
            return send_verb(r, TN_DO, opt, err);
        if (!wanted(opt) && r->we_do[opt] != 2)
            return send_verb(r, TN_DONT, opt, err);
        return 0;
    case TN_WONT:
        if (r->we_do[opt] != 2)
            return send_verb(r, TN_DONT, opt, err);
        return 0;
    }
    return 0;
}

static void subnegotiation(struct rfc_port *r)
{
    if (r->sb_len >= 6 && r->sb[0] == OPT_COM_PORT &&
        r->sb[1] == CPO_SERVER_OFFSET + CPO_SET_BAUDRATE)
        r->server_baud = (uint32_t)r->sb[2] << 24 | (uint32_t)r->sb[3] << 16 |
                         (uint32_t)r->sb[4] << 8 | r->sb[5];
    /* Line/modem state notifications and other acknowledgements carry nothing we need. */
}

/* Decode telnet from in[0..n) into out; returns data bytes produced or -1. */
static int decode(struct rfc_port *r, const uint8_t *in, size_t n, uint8_t *out,
                  struct error *err)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        switch (r->st) {
        case TS_DATA:
            if (b == TN_IAC)
                r->st = TS_IAC;
            else
                out[k++] = b;
            break;
        case TS_IAC:
            if (b == TN_IAC) {
                out[k++] = TN_IAC;
                r->st = TS_DATA;
            } else if (b == TN_WILL || b == TN_WONT || b == TN_DO || b == TN_DONT) {
                r->verb = b;
                r->st = TS_OPT;
            } else if (b == TN_SB) {
                r->sb_len = 0;
                r->st = TS_SB;
            } else {
                r->st = TS_DATA; /* NOP, GA, ...: no data */
            }
            break;
        case TS_OPT:
            r->st = TS_DATA;
            r->heard = 1;
            if (negotiate(r, r->verb, b, err) != 0)
                return -1;
            break;
        case TS_SB:
            if (b == TN_IAC)
                r->st = TS_SB_IAC;
            else if (r->sb_len < sizeof r->sb)
                r->sb[r->sb_len++] = b;
            break;
        case TS_SB_IAC:
            if (b == TN_SE) {
                subnegotiation(r);
                r->heard = 1;
                r->st = TS_DATA;
            } else {
                if (r->sb_len < sizeof r->sb)
                    r->sb[r->sb_len++] = b; /* IAC IAC inside a subnegotiation */
                r->st = TS_SB;
            }
            break;
        }
    }
    return (int)k;
}

static int rfc_read(struct port *p, uint8_t *buf, size_t len, int timeout_ms, struct error *err)
{
    struct rfc_port *r = (struct rfc_port *)p;
    if (r->early_pos < r->early_len) {
        size_t n = r->early_len - r->early_pos < len ? r->early_len - r->early_pos : len;
        memcpy(buf, r->early + r->early_pos, n);
        r->early_pos += n;
        return (int)n;
    }
    int64_t deadline = port_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    uint8_t raw[8192];
    for (;;) {
        int64_t left = deadline - port_now_ms();
        size_t want = len < sizeof raw ? len : sizeof raw;
        int n = port_fd_read(r->fd, p->name, raw, want, left < 0 ? 0 : (int)left, err);
        if (n <= 0)
            return n;
        int k = decode(r, raw, (size_t)n, buf, err);
        if (k != 0)
            return k;
        if (port_now_ms() >= deadline)
            return 0;
    }
}

static int rfc_write(struct port *p, const uint8_t *buf, size_t len, struct error *err)
{
    struct rfc_port *r = (struct rfc_port *)p;
    uint8_t out[8192];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (k + 2 > sizeof out) {
            if (send_raw(r, out, k, err) != 0)
                return -1;
            k = 0;
        }
        out[k++] = buf[i];
        if (buf[i] == TN_IAC)
            out[k++] = TN_IAC;
    }
    return k ? send_raw(r, out, k, err) : 0;
}

static int rfc_set_baud(struct port *p, uint32_t baud, struct error *err)
{
    struct rfc_port *r = (struct rfc_port *)p;
    uint8_t v[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16), (uint8_t)(baud >> 8),
                    (uint8_t)baud};
    int rc = send_cpo(r, CPO_SET_BAUDRATE, v, 4, err);
    if (rc != 0)
        return rc;
    p->baud = baud;
    return 0;
}

static int rfc_set_lines(struct port *p, int dtr, int rts, struct error *err)
{
    struct rfc_port *r = (struct rfc_port *)p;
    if (dtr >= 0) {
        uint8_t v = dtr ? CTL_DTR_ON : CTL_DTR_OFF;
        if (send_cpo(r, CPO_SET_CONTROL, &v, 1, err) != 0)
            return -1;
        p->dtr = dtr;
    }
    if (rts >= 0) {
        uint8_t v = rts ? CTL_RTS_ON : CTL_RTS_OFF;
        if (send_cpo(r, CPO_SET_CONTROL, &v, 1, err) != 0)
            return -1;
        p->rts = rts;
    }
    return 0;
}

static int rfc_flush_input(struct port *p, struct error *err)
{
    struct rfc_port *r = (struct rfc_port *)p;
    uint8_t v = PURGE_RX;
    if (send_cpo(r, CPO_PURGE_DATA, &v, 1, err) != 0)
        return -1;
    /* Drop what already arrived here, still parsing it for telnet commands. */
    uint8_t junk[4096];
    for (;;) {
        int n = rfc_read(p, junk, sizeof junk, 0, err);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
    }
}

/* What a server sent as text before closing (ser2net: "Port already in use"), for messages. */
static void early_text(const struct rfc_port *r, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < r->early_len && k + 1 < cap; i++) {
        uint8_t c = r->early[i];
        if (c >= 0x20 && c < 0x7F)
            out[k++] = (char)c;
        else if ((c == '\r' || c == '\n') && k && out[k - 1] != ' ')
            out[k++] = ' ';
    }
    while (k && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
}

/* Wait until the server shows it is serving us: any telnet command (its own negotiation, the
 * acknowledgement of ours). A server whose port is taken closes the connection at once, some
 * after a line of text, or leaves it unanswered in its backlog. */
static int await_server(struct rfc_port *r, struct error *err)
{
    int64_t deadline = port_now_ms() + 3000;
    uint8_t raw[1024], data[1024];
    while (!r->heard) {
        int64_t left = deadline - port_now_ms();
        struct error e;
        int n = left > 0 ? port_fd_read(r->fd, r->base.name, raw, sizeof raw, (int)left, &e) : 0;
        if (n == 0)
            return error_setk(err, ERROR_DEVICE,
                              "%s: the server does not answer (no RFC 2217 negotiation within "
                              "3 s; is the port busy with another client?)",
                              r->base.name);
        if (n < 0) { /* end of the connection, or a reset */
            char text[200];
            early_text(r, text, sizeof text);
            return error_setk(err, ERROR_DEVICE,
                              "%s: the server closed the connection%s%s%s (the port is busy with "
                              "another client, or the server refused it)",
                              r->base.name, text[0] ? " saying \"" : "", text,
                              text[0] ? "\"" : "");
        }
        int k = decode(r, raw, (size_t)n, data, err);
        if (k < 0)
            return -1;
        size_t room = sizeof r->early - r->early_len;
        size_t keep = (size_t)k < room ? (size_t)k : room;
        memcpy(r->early + r->early_len, data, keep);
        r->early_len += keep;
    }
    return 0;
}

static void rfc_close(struct port *p)
{
    struct rfc_port *r = (struct rfc_port *)p;
    close(r->fd);
    free(r);
}

static const struct port_ops rfc_ops = {rfc_read, rfc_write, rfc_set_baud, rfc_set_lines,
                                        rfc_flush_input, rfc_close};

int port_rfc2217_open(const char *hostport, uint32_t baud, struct port **out, struct error *err)
{
    *out = NULL;
    int fd = port_tcp_connect(hostport, "rfc2217://", err);
    if (fd < 0)
        return -1;
    struct rfc_port *r = calloc(1, sizeof *r);
    if (!r) {
        close(fd);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    r->base.ops = &rfc_ops;
    r->base.kind = PORT_RFC2217;
    snprintf(r->base.name, sizeof r->base.name, "rfc2217://%s", hostport);
    r->fd = fd;
    /* Offer what pyserial offers; the server's answers are handled as they arrive. */
    static const uint8_t data8 = 8, parity_none = PARITY_NONE, stop1 = STOPSIZE_1,
                         no_flow = CTL_NO_FLOW;
    /* A server that closed the connection at once makes a send fail: the reason is then
     * read from what it sent, as for a close noticed while waiting for its answer. */
    int rc = send_verb(r, TN_WILL, OPT_BINARY, err);
    if (rc == 0)
        rc = send_verb(r, TN_DO, OPT_BINARY, err);
    if (rc == 0)
        rc = send_verb(r, TN_WILL, OPT_SGA, err);
    if (rc == 0)
        rc = send_verb(r, TN_DO, OPT_SGA, err);
    if (rc == 0)
        rc = send_verb(r, TN_WILL, OPT_COM_PORT, err);
    if (rc == 0)
        rc = rfc_set_baud(&r->base, baud, err);
    if (rc == 0)
        rc = send_cpo(r, CPO_SET_DATASIZE, &data8, 1, err);
    if (rc == 0)
        rc = send_cpo(r, CPO_SET_PARITY, &parity_none, 1, err);
    if (rc == 0)
        rc = send_cpo(r, CPO_SET_STOPSIZE, &stop1, 1, err);
    if (rc == 0)
        rc = send_cpo(r, CPO_SET_CONTROL, &no_flow, 1, err);
    if (rc != 0 && rc != PORT_E_CLOSED) {
        rfc_close(&r->base);
        return -1;
    }
    if (await_server(r, err) != 0) {
        rfc_close(&r->base);
        return -1;
    }
    *out = &r->base;
    return 0;
}
