#include "link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Telnet (RFC 854) and COM-PORT-OPTION (RFC 2217) codes. */
enum { T_SE = 240, T_SB = 250, T_WILL = 251, T_WONT = 252, T_DO = 253, T_DONT = 254, T_IAC = 255 };
enum { OPT_BINARY = 0, OPT_ECHO = 1, OPT_SGA = 3, OPT_COM_PORT = 44 };
enum { CP_SIGNATURE = 0, CP_SET_BAUDRATE = 1, CP_SET_DATASIZE = 2, CP_SET_PARITY = 3,
       CP_SET_STOPSIZE = 4, CP_SET_CONTROL = 5, CP_PURGE_DATA = 12, CP_SERVER_OFFSET = 100 };
enum { TN_DATA, TN_IAC, TN_OPT_WILL, TN_OPT_WONT, TN_OPT_DO, TN_OPT_DONT, TN_SB, TN_SB_IAC };

double link_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int link_init(struct link *l, const struct link_events *ev, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(l, 0, sizeof *l);
    l->ev = *ev;
    l->pty_fd = l->listen_fd = l->client_fd = -1;
    l->baud = 115200;
    l->baud_check = 1;
    return 0;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int link_open_pty(struct link *l, char *err, size_t errlen)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        snprintf(err, errlen, "cannot create a pty: %s", strerror(errno));
        if (m >= 0)
            close(m);
        return -1;
    }
    const char *name = ptsname(m);
    if (!name) {
        snprintf(err, errlen, "ptsname: %s", strerror(errno));
        close(m);
        return -1;
    }
    snprintf(l->pty_path, sizeof l->pty_path, "%s", name);
    /* Raw mode at 115200 on the slave, so a client that configures nothing still gets bytes
     * unchanged (no echo, no line editing); the settings survive while the master is open. */
    int s = open(name, O_RDWR | O_NOCTTY);
    if (s >= 0) {
        struct termios t;
        if (tcgetattr(s, &t) == 0) {
            cfmakeraw(&t);
            cfsetispeed(&t, B115200);
            cfsetospeed(&t, B115200);
            tcsetattr(s, TCSANOW, &t);
        }
        close(s);
    }
    set_nonblock(m);
    l->pty_fd = m;
    l->pty_open = 0;
    return 0;
}

int link_listen(struct link *l, uint16_t port, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1:%u: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    l->port = ntohs(a.sin_port);
    set_nonblock(fd);
    l->listen_fd = fd;
    return 0;
}

static void drop_client(struct link *l)
{
    if (l->client_fd >= 0)
        close(l->client_fd);
    l->client_fd = -1;
}

void link_close(struct link *l)
{
    drop_client(l);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    if (l->pty_fd >= 0)
        close(l->pty_fd);
    l->listen_fd = l->pty_fd = -1;
    link_flush_rx(l);
    free(l->q);
    l->q = NULL;
}

int link_has_client(const struct link *l)
{
    return l->client_fd >= 0 || l->pty_open;
}

/* ---------------------------------------------------------------- baud agreement */

static uint32_t speed_value(speed_t s)
{
    static const struct { speed_t s; uint32_t v; } map[] = {
        {B9600, 9600}, {B19200, 19200}, {B38400, 38400}, {B57600, 57600}, {B115200, 115200},
        {B230400, 230400}, {B460800, 460800}, {B500000, 500000}, {B576000, 576000},
        {B921600, 921600}, {B1000000, 1000000}, {B1152000, 1152000}, {B1500000, 1500000},
        {B2000000, 2000000}, {B2500000, 2500000}, {B3000000, 3000000}, {B3500000, 3500000},
        {B4000000, 4000000},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].s == s)
            return map[i].v;
    return 0;
}

/* The host's line speed if known: RFC 2217 SET-BAUDRATE, or the pty slave's termios. */
static uint32_t host_baud(struct link *l, int from_pty)
{
    if (!from_pty)
        return l->host_baud;
    struct termios t;
    if (l->pty_fd < 0 || tcgetattr(l->pty_fd, &t) != 0)
        return 0;
    return speed_value(cfgetospeed(&t));
}

/* A UART receiving at the wrong speed sees garbage: model it as a fixed byte scramble. */
static int mismatch(struct link *l, int from_pty)
{
    if (!l->baud_check)
        return 0;
    uint32_t h = host_baud(l, from_pty);
    if (h == 0)
        return 0;
    double ratio = (double)h / (double)l->baud;
    return ratio < 0.96 || ratio > 1.04;
}

static uint8_t garble(uint8_t b)
{
    return (uint8_t)((b * 0x3B + 0x11) | 0x80) == 0xC0 ? 0xF0 : (uint8_t)((b * 0x3B + 0x11) | 0x80);
}

/* ---------------------------------------------------------------- output */

static void write_fd(struct link *l, int *fd, const uint8_t *buf, size_t n, int is_pty)
{
    size_t off = 0;
    double give_up = link_now() + 10.0;
    while (off < n && *fd >= 0) {
        ssize_t w = write(*fd, buf + off, n - off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (link_now() > give_up) {
                log_printf(&l->ev.log, LOG_INFO, "output stalled for 10 s: dropping %zu bytes",
                           n - off);
                return;
            }
            link_service(l, link_now() + 0.002);
            continue;
        }
        if (is_pty) {
            l->pty_open = 0;
        } else {
            log_printf(&l->ev.log, LOG_INFO, "client connection lost");
            drop_client(l);
            if (l->ev.client_gone)
                l->ev.client_gone(l->ev.ctx);
        }
        return;
    }
}

static int pty_slave_open(struct link *l)
{
    if (l->pty_fd < 0)
        return 0;
    struct pollfd p = {l->pty_fd, POLLIN, 0};
    if (poll(&p, 1, 0) >= 0 && (p.revents & POLLHUP)) {
        if (l->pty_open) {
            l->pty_open = 0;
            if (l->ev.client_gone)
                l->ev.client_gone(l->ev.ctx);
        }
        return 0;
    }
    l->pty_open = 1;
    return 1;
}

/* Deliver bytes to every connected host; a UART with nobody listening just loses them. */
static void deliver(struct link *l, const uint8_t *buf, size_t n)
{
    if (n == 0)
        return;
    uint8_t tmp[2 * 4096];
    if (l->pty_fd >= 0 && pty_slave_open(l)) {
        for (size_t off = 0; off < n;) {
            size_t k = n - off < 4096 ? n - off : 4096;
            const uint8_t *src = buf + off;
            if (mismatch(l, 1)) {
                for (size_t i = 0; i < k; i++)
                    tmp[i] = garble(src[i]);
                src = tmp;
            }
            write_fd(l, &l->pty_fd, src, k, 1);
            off += k;
        }
    }
    if (l->client_fd >= 0) {
        int bad = mismatch(l, 0);
        for (size_t off = 0; off < n;) {
            size_t k = 0, i = off;
            for (; i < n && k + 2 <= sizeof tmp; i++) {
                uint8_t b = bad ? garble(buf[i]) : buf[i];
                tmp[k++] = b;
                if (b == T_IAC)
                    tmp[k++] = T_IAC; /* telnet data escaping */
            }
            write_fd(l, &l->client_fd, tmp, k, 0);
            off = i;
        }
    }
}

static double byte_time(const struct link *l)
{
    return 10.0 / (double)(l->baud ? l->baud : 115200);
}

/* Pace a run of bytes over the wire: each costs 10 bit times; a chunk is handed over when its
 * last byte would have arrived. */
static void paced(struct link *l, const uint8_t *buf, size_t n)
{
    if (!l->wire_time) {
        deliver(l, buf, n);
        return;
    }
    size_t chunk = (size_t)(0.002 / byte_time(l));
    if (chunk < 1)
        chunk = 1;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < chunk ? n - off : chunk;
        double now = link_now();
        double start = l->tx_free_at > now ? l->tx_free_at : now;
        /* The bytes of one write leave back to back, as from a UART FIFO: a chunk follows the
         * previous one at once, however late our own sleep woke up. */
        if (off > 0)
            start = l->tx_free_at;
        double end = start + (double)k * byte_time(l);
        link_wait_until(l, end);
        deliver(l, buf + off, k);
        l->tx_free_at = end;
        off += k;
    }
}

static struct link_fault *fault_at(struct link *l, uint64_t n, int rx)
{
    for (size_t i = 0; i < l->n_faults; i++) {
        struct link_fault *f = &l->faults[i];
        if (f->fired || f->n != n)
            continue;
        if ((f->kind == LF_DROP_RX) != rx)
            continue;
        return f;
    }
    return NULL;
}

static void reopen_pty(struct link *l)
{
    char err[200];
    close(l->pty_fd);
    l->pty_fd = -1;
    l->pty_open = 0;
    if (link_open_pty(l, err, sizeof err) != 0)
        log_printf(&l->ev.log, LOG_INFO, "%s", err);
    else if (l->ev.pty_reopened)
        l->ev.pty_reopened(l->ev.ctx, l->pty_path);
}

void link_send(struct link *l, const uint8_t *bytes, size_t len)
{
    if (l->stalled_forever)
        return;
    if (l->muted) {
        /* the rest of the reply that was cut off: nobody receives it */
        l->tx_count += len;
        return;
    }
    size_t start = 0;
    uint8_t one;
    for (size_t i = 0; i < len; i++) {
        l->tx_count++;
        struct link_fault *f = l->n_faults ? fault_at(l, l->tx_count, 0) : NULL;
        if (!f)
            continue;
        f->fired = 1;
        paced(l, bytes + start, i - start);
        start = i + 1;
        switch (f->kind) {
        case LF_DROP:
            log_printf(&l->ev.log, LOG_INFO, "fault: dropped output byte %llu",
                       (unsigned long long)l->tx_count);
            break;
        case LF_CORRUPT:
            one = bytes[i] ^ 0x5A;
            log_printf(&l->ev.log, LOG_INFO, "fault: corrupted output byte %llu",
                       (unsigned long long)l->tx_count);
            paced(l, &one, 1);
            break;
        case LF_STALL:
            if (f->ms < 0) {
                log_printf(&l->ev.log, LOG_INFO, "fault: output stalls at byte %llu until reset",
                           (unsigned long long)l->tx_count);
                l->stalled_forever = 1;
                if (l->ev.fault)
                    l->ev.fault(l->ev.ctx, LF_STALL);
                return;
            }
            log_printf(&l->ev.log, LOG_INFO, "fault: stall %lld ms at byte %llu",
                       (long long)f->ms, (unsigned long long)l->tx_count);
            link_wait_until(l, link_now() + (double)f->ms / 1000.0);
            start = i; /* the stalled byte still goes out */
            break;
        case LF_DISCONNECT:
            log_printf(&l->ev.log, LOG_INFO, "fault: disconnect at byte %llu",
                       (unsigned long long)l->tx_count);
            link_disconnect(l);
            return;
        case LF_RESET:
            log_printf(&l->ev.log, LOG_INFO, "fault: chip reset at byte %llu",
                       (unsigned long long)l->tx_count);
            if (l->ev.fault)
                l->ev.fault(l->ev.ctx, LF_RESET);
            return;
        case LF_DROP_RX:
            break;
        }
    }
    paced(l, bytes + start, len - start);
}

void link_disconnect(struct link *l)
{
    drop_client(l);
    l->muted = 1;
    if (l->pty_fd >= 0)
        reopen_pty(l);
    if (l->ev.fault)
        l->ev.fault(l->ev.ctx, LF_DISCONNECT);
}

void link_set_baud(struct link *l, uint32_t baud)
{
    l->baud = baud;
}

void link_chip_reset(struct link *l)
{
    l->stalled_forever = 0;
}

/* ---------------------------------------------------------------- input */

/* The 0x55 run of a SYNC packet (§5): what the ROM's auto-baud measures. */
static int has_sync_run(const uint8_t *data, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        run = data[i] == 0x55 ? run + 1 : 0;
        if (run >= 8)
            return 1;
    }
    return 0;
}

static void enqueue(struct link *l, const uint8_t *data, size_t n, int from_pty)
{
    if (n == 0)
        return;
    l->muted = 0;
    uint8_t *copy = malloc(n);
    if (!copy)
        return;
    size_t k = 0;
    int bad = mismatch(l, from_pty);
    /* A ROM in download mode measures the bit time of a SYNC sent at another speed and takes
     * it: that SYNC is lost, the next ones are heard. */
    if (bad && l->ev.autobaud && has_sync_run(data, n))
        l->ev.autobaud(l->ev.ctx, host_baud(l, from_pty));
    for (size_t i = 0; i < n; i++) {
        l->rx_count++;
        struct link_fault *f = l->n_faults ? fault_at(l, l->rx_count, 1) : NULL;
        if (f) {
            f->fired = 1;
            log_printf(&l->ev.log, LOG_INFO, "fault: dropped input byte %llu",
                       (unsigned long long)l->rx_count);
            continue;
        }
        copy[k++] = bad ? garble(data[i]) : data[i];
    }
    double now = link_now();
    double ready = now;
    if (l->wire_time) {
        double start = l->rx_free_at > now ? l->rx_free_at : now;
        ready = start + (double)n * byte_time(l);
        l->rx_free_at = ready;
    }
    if (l->q_head + l->q_len == l->q_cap) {
        if (l->q_head > 0) {
            memmove(l->q, l->q + l->q_head, l->q_len * sizeof *l->q);
            l->q_head = 0;
        } else {
            size_t cap = l->q_cap ? 2 * l->q_cap : 64;
            struct rx_chunk *nq = realloc(l->q, cap * sizeof *nq);
            if (!nq) {
                free(copy);
                return;
            }
            l->q = nq;
            l->q_cap = cap;
        }
    }
    l->q[l->q_head + l->q_len].data = copy;
    l->q[l->q_head + l->q_len].len = k;
    l->q[l->q_head + l->q_len].ready = ready;
    l->q_len++;
}

int link_pop(struct link *l, double now, struct rx_chunk *out)
{
    if (l->q_len == 0 || l->q[l->q_head].ready > now)
        return 0;
    *out = l->q[l->q_head];
    l->q_head++;
    l->q_len--;
    if (l->q_len == 0)
        l->q_head = 0;
    return 1;
}

double link_next_ready(const struct link *l)
{
    return l->q_len ? l->q[l->q_head].ready : 1e300;
}

void link_flush_rx(struct link *l)
{
    for (size_t i = 0; i < l->q_len; i++)
        free(l->q[l->q_head + i].data);
    l->q_head = l->q_len = 0;
}

static void tn_send(struct link *l, const uint8_t *b, size_t n)
{
    if (l->client_fd >= 0)
        write_fd(l, &l->client_fd, b, n, 0);
}

static void tn_option(struct link *l, int verb, uint8_t opt)
{
    int supported_we = opt == OPT_BINARY || opt == OPT_SGA || opt == OPT_ECHO || opt == OPT_COM_PORT;
    int supported_they = opt == OPT_BINARY || opt == OPT_SGA || opt == OPT_COM_PORT;
    uint8_t r[3] = {T_IAC, 0, opt};
    switch (verb) {
    case T_DO:
        if (l->we_on[opt])
            return;
        l->we_on[opt] = supported_we;
        r[1] = supported_we ? T_WILL : T_WONT;
        break;
    case T_DONT:
        if (!l->we_on[opt])
            return;
        l->we_on[opt] = 0;
        r[1] = T_WONT;
        break;
    case T_WILL:
        if (l->they_on[opt])
            return;
        l->they_on[opt] = supported_they;
        r[1] = supported_they ? T_DO : T_DONT;
        break;
    case T_WONT:
        if (!l->they_on[opt])
            return;
        l->they_on[opt] = 0;
        r[1] = T_DONT;
        break;
    }
    tn_send(l, r, 3);
}

static void cp_reply(struct link *l, uint8_t cmd, const uint8_t *val, size_t n)
{
    uint8_t out[80];
    size_t k = 0;
    out[k++] = T_IAC;
    out[k++] = T_SB;
    out[k++] = OPT_COM_PORT;
    out[k++] = (uint8_t)(cmd + CP_SERVER_OFFSET);
    for (size_t i = 0; i < n && k + 4 < sizeof out; i++) {
        out[k++] = val[i];
        if (val[i] == T_IAC)
            out[k++] = T_IAC;
    }
    out[k++] = T_IAC;
    out[k++] = T_SE;
    tn_send(l, out, k);
}

static void set_control(struct link *l, uint8_t v)
{
    uint8_t reply = v;
    int dtr = l->dtr, rts = l->rts;
    switch (v) {
    case 0: reply = 1; break;            /* flow control: none */
    case 4: reply = 6; break;            /* break: off */
    case 7: reply = l->dtr ? 8 : 9; break;
    case 8: dtr = 1; break;
    case 9: dtr = 0; break;
    case 10: reply = l->rts ? 11 : 12; break;
    case 11: rts = 1; break;
    case 12: rts = 0; break;
    default: break;
    }
    if (dtr != l->dtr || rts != l->rts) {
        l->muted = 0;
        l->dtr = dtr;
        l->rts = rts;
        if (l->ev.lines)
            l->ev.lines(l->ev.ctx, dtr, rts);
    }
    cp_reply(l, CP_SET_CONTROL, &reply, 1);
}

static void com_port(struct link *l)
{
    if (l->sb_len < 2 || l->sb[0] != OPT_COM_PORT)
        return;
    uint8_t cmd = l->sb[1];
    const uint8_t *v = l->sb + 2;
    size_t n = l->sb_len - 2;
    switch (cmd) {
    case CP_SIGNATURE: {
        static const char sig[] = "esp-virtual-chip";
        cp_reply(l, cmd, (const uint8_t *)sig, sizeof sig - 1);
        break;
    }
    case CP_SET_BAUDRATE: {
        if (n >= 4) {
            uint32_t b = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
            if (b)
                l->host_baud = b;
        }
        uint32_t b = l->host_baud ? l->host_baud : 115200;
        uint8_t r[4] = {(uint8_t)(b >> 24), (uint8_t)(b >> 16), (uint8_t)(b >> 8), (uint8_t)b};
        cp_reply(l, cmd, r, 4);
        break;
    }
    case CP_SET_DATASIZE:
    case CP_SET_PARITY:
    case CP_SET_STOPSIZE: {
        uint8_t r = n ? v[0] : 0;
        if (r == 0) /* a query: report 8N1 */
            r = cmd == CP_SET_DATASIZE ? 8 : 1;
        cp_reply(l, cmd, &r, 1);
        break;
    }
    case CP_SET_CONTROL:
        if (n)
            set_control(l, v[0]);
        break;
    case CP_PURGE_DATA:
        /* 2/3: purge what the host sent and the chip has not taken yet */
        if (n && (v[0] == 2 || v[0] == 3))
            link_flush_rx(l);
        cp_reply(l, cmd, v, n ? 1 : 0);
        break;
    default:
        if (cmd < CP_SERVER_OFFSET)
            cp_reply(l, cmd, v, n);
        break;
    }
}

static void telnet_input(struct link *l, const uint8_t *buf, size_t n)
{
    uint8_t data[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        switch (l->tn_state) {
        case TN_DATA:
            if (b == T_IAC)
                l->tn_state = TN_IAC;
            else
                data[k++] = b;
            break;
        case TN_IAC:
            l->tn_state = TN_DATA;
            if (b == T_IAC)
                data[k++] = b;
            else if (b == T_WILL)
                l->tn_state = TN_OPT_WILL;
            else if (b == T_WONT)
                l->tn_state = TN_OPT_WONT;
            else if (b == T_DO)
                l->tn_state = TN_OPT_DO;
            else if (b == T_DONT)
                l->tn_state = TN_OPT_DONT;
            else if (b == T_SB) {
                l->tn_state = TN_SB;
                l->sb_len = 0;
            }
            break;
        case TN_OPT_WILL: case TN_OPT_WONT: case TN_OPT_DO: case TN_OPT_DONT: {
            static const int verbs[] = {[TN_OPT_WILL] = T_WILL, [TN_OPT_WONT] = T_WONT,
                                        [TN_OPT_DO] = T_DO, [TN_OPT_DONT] = T_DONT};
            /* Control traffic is handled at once: flush data queued before it first so
             * ordering between data and line changes is kept. */
            enqueue(l, data, k, 0);
            k = 0;
            tn_option(l, verbs[l->tn_state], b);
            l->tn_state = TN_DATA;
            break;
        }
        case TN_SB:
            if (b == T_IAC)
                l->tn_state = TN_SB_IAC;
            else if (l->sb_len < sizeof l->sb)
                l->sb[l->sb_len++] = b;
            break;
        case TN_SB_IAC:
            if (b == T_SE) {
                enqueue(l, data, k, 0);
                k = 0;
                com_port(l);
                l->tn_state = TN_DATA;
            } else if (b == T_IAC) {
                if (l->sb_len < sizeof l->sb)
                    l->sb[l->sb_len++] = b;
                l->tn_state = TN_SB;
            } else {
                l->tn_state = TN_DATA;
            }
            break;
        }
        if (k == sizeof data) {
            enqueue(l, data, k, 0);
            k = 0;
        }
    }
    enqueue(l, data, k, 0);
}

static void accept_client(struct link *l)
{
    int fd = accept(l->listen_fd, NULL, NULL);
    if (fd < 0)
        return;
    if (l->client_fd >= 0) {
        /* One host at a time, like a real serial port; but first notice an old connection
         * that has already ended. */
        uint8_t probe;
        ssize_t r = recv(l->client_fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            log_printf(&l->ev.log, LOG_INFO, "client disconnected");
            drop_client(l);
            if (l->dtr || l->rts) {
                l->dtr = l->rts = 0;
                if (l->ev.lines)
                    l->ev.lines(l->ev.ctx, 0, 0);
            }
            if (l->ev.client_gone)
                l->ev.client_gone(l->ev.ctx);
        } else {
            close(fd);
            return;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblock(fd);
    l->client_fd = fd;
    l->muted = 0;
    l->tn_state = TN_DATA;
    l->host_baud = 0;
    memset(l->we_on, 0, sizeof l->we_on);
    memset(l->they_on, 0, sizeof l->they_on);
    /* Offer binary transmission and suppress-go-ahead both ways (RFC 856, 858). */
    static const uint8_t offer[] = {T_IAC, T_WILL, OPT_BINARY, T_IAC, T_DO, OPT_BINARY,
                                    T_IAC, T_WILL, OPT_SGA, T_IAC, T_DO, OPT_SGA};
    l->we_on[OPT_BINARY] = l->they_on[OPT_BINARY] = l->we_on[OPT_SGA] = l->they_on[OPT_SGA] = 1;
    tn_send(l, offer, sizeof offer);
    log_printf(&l->ev.log, LOG_INFO, "client connected");
}

void link_service(struct link *l, double deadline)
{
    struct pollfd p[3];
    int np = 0, ipty = -1, ilisten = -1, iclient = -1;
    double now = link_now();
    double wait = deadline - now;
    if (l->pty_fd >= 0) {
        if (pty_slave_open(l)) {
            ipty = np;
            p[np++] = (struct pollfd){l->pty_fd, POLLIN, 0};
        } else if (wait > 0.01) {
            wait = 0.01; /* nobody has the slave open: look again soon */
        }
    }
    if (l->listen_fd >= 0) {
        ilisten = np;
        p[np++] = (struct pollfd){l->listen_fd, POLLIN, 0};
    }
    if (l->client_fd >= 0) {
        iclient = np;
        p[np++] = (struct pollfd){l->client_fd, POLLIN, 0};
    }
    int ms = wait <= 0 ? 0 : (int)(wait * 1000.0 + 0.999);
    if (wait > 0 && ms == 0)
        ms = 1;
    if (np == 0) {
        if (ms > 0) {
            struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        return;
    }
    if (poll(p, (nfds_t)np, ms) <= 0)
        return;
    uint8_t buf[8192];
    if (ipty >= 0 && (p[ipty].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = read(l->pty_fd, buf, sizeof buf);
        if (r > 0)
            enqueue(l, buf, (size_t)r, 1);
        else if (r < 0 && errno == EIO)
            pty_slave_open(l);
    }
    if (iclient >= 0 && l->client_fd >= 0 && (p[iclient].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = read(l->client_fd, buf, sizeof buf);
        if (r > 0) {
            telnet_input(l, buf, (size_t)r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            log_printf(&l->ev.log, LOG_INFO, "client disconnected");
            drop_client(l);
            if (l->dtr || l->rts) { /* closing the port releases both lines */
                l->dtr = l->rts = 0;
                if (l->ev.lines)
                    l->ev.lines(l->ev.ctx, 0, 0);
            }
            if (l->ev.client_gone)
                l->ev.client_gone(l->ev.ctx);
        }
    }
    /* After the reads, so that a host reconnecting quickly finds its old connection gone. */
    if (ilisten >= 0 && (p[ilisten].revents & POLLIN))
        accept_client(l);
}

void link_wait_until(struct link *l, double deadline)
{
    for (;;) {
        double now = link_now();
        if (now >= deadline)
            return;
        link_service(l, deadline);
    }
}
