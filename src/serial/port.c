/* Port name dispatch, shared fd helpers, the socket back-end and sysfs port discovery. */
#include "serial/port.h"
#include "serial/port_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Windows has its own fd helpers, COM back-end and discovery: port_win32.c. */
#ifndef _WIN32
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t port_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int port_wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    int64_t deadline = port_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        int64_t left = deadline - port_now_ms();
        int r = poll(&pfd, 1, left < 0 ? 0 : (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

int port_fd_read(int fd, const char *name, uint8_t *buf, size_t len, int timeout_ms,
                 struct error *err)
{
    int w = port_wait_readable(fd, timeout_ms);
    if (w < 0)
        return error_setk(err, ERROR_DEVICE, "%s: poll: %s", name, strerror(errno));
    if (w == 0)
        return 0;
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n > 0)
            return (int)n;
        if (n == 0)
            return error_setk(err, ERROR_DEVICE, "%s: connection closed by the device", name);
        if (errno == ECONNRESET)
            return error_setk(err, ERROR_DEVICE, "%s: the connection was reset by the other end",
                              name);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        /* A pty whose other side went away reads EIO; a USB adapter that was unplugged too. */
        return error_setk(err, ERROR_DEVICE, "%s: read: %s", name, strerror(errno));
    }
}

int port_fd_write(int fd, const char *name, const uint8_t *buf, size_t len, struct error *err)
{
    int64_t deadline = port_now_ms() + 10000;
    size_t done = 0;
    int is_socket = 1;
    while (done < len) {
        /* On a socket whose peer has gone, write() would raise SIGPIPE and end the program
         * without a word: send() without the signal returns EPIPE, reported below. */
        ssize_t n = is_socket ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                              : write(fd, buf + done, len - done);
        if (n < 0 && is_socket && errno == ENOTSOCK) {
            is_socket = 0;
            continue;
        }
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return error_fail(err, PORT_E_CLOSED, ERROR_DEVICE,
                              "%s: the connection was closed by the other end", name);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return error_setk(err, ERROR_DEVICE, "%s: write: %s", name, strerror(errno));
        int64_t left = deadline - port_now_ms();
        if (left <= 0)
            return error_setk(err, ERROR_DEVICE, "%s: write timed out (device not draining)",
                              name);
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return error_setk(err, ERROR_DEVICE, "%s: poll: %s", name, strerror(errno));
    }
    return 0;
}

int port_tcp_connect(const char *hostport, const char *scheme, struct error *err)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host || !colon[1])
        return error_setk(err, ERROR_USAGE, "%s%s: expected %shost:port", scheme, hostport,
                          scheme);
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    /* "[::1]:4000" */
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(h, colon + 1, &hints, &res);
    if (rc != 0)
        return error_setk(err, ERROR_DEVICE, "%s%s: %s", scheme, hostport, gai_strerror(rc));
    int fd = -1, last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return error_setk(err, ERROR_DEVICE, "%s%s: connect: %s", scheme, hostport,
                          strerror(last_errno));
    /* Small command packets must not wait for Nagle's algorithm. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
#endif /* !_WIN32 */

/* ---- raw fd / socket back-end ---- */

struct fd_port {
    struct port base;
    int fd;
};

static int fdp_read(struct port *p, uint8_t *buf, size_t len, int timeout_ms, struct error *err)
{
    struct fd_port *f = (struct fd_port *)p;
    return port_fd_read(f->fd, p->name, buf, len, timeout_ms, err);
}

static int fdp_write(struct port *p, const uint8_t *buf, size_t len, struct error *err)
{
    struct fd_port *f = (struct fd_port *)p;
    return port_fd_write(f->fd, p->name, buf, len, err);
}

static int fdp_set_baud(struct port *p, uint32_t baud, struct error *err)
{
    (void)err;
    p->baud = baud; /* a raw TCP connection has no line speed */
    return 0;
}

static int fdp_set_lines(struct port *p, int dtr, int rts, struct error *err)
{
    (void)err;
    if (dtr >= 0)
        p->dtr = dtr;
    if (rts >= 0)
        p->rts = rts;
    return 0;
}

static int fdp_flush_input(struct port *p, struct error *err)
{
    (void)err;
    struct fd_port *f = (struct fd_port *)p;
    uint8_t junk[4096];
    struct error ignored;
    while (port_fd_read(f->fd, p->name, junk, sizeof junk, 0, &ignored) > 0) {
    }
    return 0;
}

static void fdp_close(struct port *p)
{
    struct fd_port *f = (struct fd_port *)p;
    close(f->fd);
    free(f);
}

static const struct port_ops fd_ops = {fdp_read, fdp_write, fdp_set_baud, fdp_set_lines,
                                       fdp_flush_input, fdp_close};

int port_fd_wrap(int fd, const char *name, struct port **out, struct error *err)
{
    struct fd_port *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    f->base.ops = &fd_ops;
    f->base.kind = PORT_SOCKET;
    snprintf(f->base.name, sizeof f->base.name, "%.*s", (int)sizeof f->base.name - 1, name);
    f->base.baud = 115200;
    f->base.no_modem_lines = 1;
    f->fd = fd;
    *out = &f->base;
    return 0;
}

int port_socket_open(const char *hostport, struct port **out, struct error *err)
{
    int fd = port_tcp_connect(hostport, "socket://", err);
    if (fd < 0)
        return -1;
    char name[300];
    snprintf(name, sizeof name, "socket://%s", hostport);
    return port_fd_wrap(fd, name, out, err);
}

/* ---- dispatch ---- */

int port_open(const char *name, uint32_t baud, struct port **out, struct error *err)
{
    *out = NULL;
#ifdef __EMSCRIPTEN__
    /* Node and the browser give WebAssembly no TCP sockets: say so instead of a failed connect. */
    if (strncmp(name, "rfc2217://", 10) == 0 || strncmp(name, "socket://", 9) == 0)
        return error_setk(err, ERROR_DEVICE,
                          "%s: network ports are not available in the WebAssembly build (use "
                          "the native program, or Web Serial in the page)",
                          name);
#endif
    if (strncmp(name, "rfc2217://", 10) == 0)
        return port_rfc2217_open(name + 10, baud, out, err);
    if (strncmp(name, "socket://", 9) == 0) {
        if (port_socket_open(name + 9, out, err) != 0)
            return -1;
        (*out)->baud = baud;
        return 0;
    }
#ifndef _WIN32
    if ((name[0] == 'C' || name[0] == 'c') && (name[1] == 'O' || name[1] == 'o') &&
        (name[2] == 'M' || name[2] == 'm') && isdigit((unsigned char)name[3]))
        return error_setk(err, ERROR_USAGE,
                          "%s: Windows COM port names are not supported on this OS; use a device "
                          "path such as /dev/ttyUSB0 or /dev/ttyACM0", name);
#endif
    if (strstr(name, "://"))
        return error_setk(err, ERROR_USAGE,
                          "%s: unknown port URL scheme (use rfc2217://host:port or "
                          "socket://host:port)", name);
    return port_tty_open(name, baud, out, err);
}

void port_close(struct port *p)
{
    if (p)
        p->ops->close(p);
}

/* ---- sysfs discovery ---- */

int port_usb_is_esp(uint16_t vid, uint16_t pid)
{
    if (vid == 0x303a)
        return 1;
    if (vid == 0x10c4)
        return pid == 0xea60;
    if (vid == 0x1a86)
        return pid == 0x7523 || pid == 0x55d4;
    if (vid == 0x0403)
        return pid == 0x6001 || pid == 0x6010 || pid == 0x6014 || pid == 0x6015;
    return 0;
}

#ifndef _WIN32
static int read_small_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return 0;
}

static int read_hex16(const char *dir, const char *file, uint16_t *out)
{
    char path[PATH_MAX + 32], buf[32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (read_small_file(path, buf, sizeof buf) != 0)
        return -1;
    char *end;
    unsigned long v = strtoul(buf, &end, 16);
    if (end == buf || v > 0xFFFF)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static void link_basename(const char *path, char *out, size_t cap)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    out[0] = '\0';
    if (n <= 0)
        return;
    target[n] = '\0';
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    size_t n2 = strlen(base);
    if (n2 >= cap)
        n2 = cap - 1;
    memcpy(out, base, n2);
    out[n2] = '\0';
}

/* Fill USB facts for class/tty/<name>; returns 0 if the tty has a backing device worth
 * listing (not a bare platform UART placeholder). */
static int describe_tty(const char *root, const char *name, struct port_info *info)
{
    char path[PATH_MAX + 64], dev[PATH_MAX];
    memset(info, 0, sizeof *info);
    snprintf(path, sizeof path, "%s/class/tty/%s/device", root, name);
    if (!realpath(path, dev))
        return -1;
    char sub[64];
    snprintf(path, sizeof path, "%s/subsystem", dev);
    link_basename(path, sub, sizeof sub);
    /* Legacy 8250 ports exist whether or not hardware is behind them. */
    if (strcmp(sub, "platform") == 0 && strncmp(name, "ttyS", 4) == 0)
        return -1;
    snprintf(path, sizeof path, "%s/driver", dev);
    link_basename(path, info->driver, sizeof info->driver);
    snprintf(info->device, sizeof info->device, "/dev/%s", name);
    char rroot[PATH_MAX];
    if (!realpath(root, rroot))
        snprintf(rroot, sizeof rroot, "%s", root);
    /* The USB device directory (with idVendor) is an ancestor of the tty's device
     * (interface) directory: ttyUSB: 1-1:1.0/ttyUSB0, ttyACM: 1-1:1.0. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", dev);
    for (int depth = 0; depth < 6; depth++) {
        uint16_t vid, pid;
        if (read_hex16(dir, "idVendor", &vid) == 0 && read_hex16(dir, "idProduct", &pid) == 0) {
            info->vid = vid;
            info->pid = pid;
            char p2[PATH_MAX + 16];
            snprintf(p2, sizeof p2, "%s/product", dir);
            read_small_file(p2, info->product, sizeof info->product);
            snprintf(p2, sizeof p2, "%s/manufacturer", dir);
            read_small_file(p2, info->manufacturer, sizeof info->manufacturer);
            snprintf(p2, sizeof p2, "%s/serial", dir);
            read_small_file(p2, info->serial, sizeof info->serial);
            break;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir || strlen(dir) <= strlen(rroot))
            break;
        *slash = '\0';
    }
    info->esp_likely = info->vid && port_usb_is_esp(info->vid, info->pid);
    info->usb_jtag = info->vid == 0x303a && info->pid == 0x1001;
    return 0;
}

static int info_cmp(const void *a, const void *b)
{
    return strcmp(((const struct port_info *)a)->device, ((const struct port_info *)b)->device);
}

int port_list(const char *sysfs_root, struct port_info **list, size_t *count, struct error *err)
{
    const char *root = sysfs_root ? sysfs_root : "/sys";
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/class/tty", root);
    *list = NULL;
    *count = 0;
    DIR *d = opendir(path);
    if (!d)
        return error_setk(err, ERROR_OS, "%s: %s", path, strerror(errno));
    size_t n = 0, cap = 0;
    struct port_info *v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct port_info info;
        if (describe_tty(root, e->d_name, &info) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct port_info *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                closedir(d);
                return error_setk(err, ERROR_OS, "out of memory");
            }
            v = nv;
        }
        v[n++] = info;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, info_cmp);
    *list = v;
    *count = n;
    return 0;
}

#endif /* !_WIN32 */

int port_pick(const char *sysfs_root, struct port_info *out, struct error *err)
{
    struct port_info *v;
    size_t n;
    if (port_list(sysfs_root, &v, &n, err) != 0)
        return error_prefix(err, "cannot look for serial ports");
    size_t found = 0, which = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].esp_likely) {
            if (!found)
                which = i;
            found++;
        }
    if (found == 1) {
        *out = v[which];
        free(v);
        return 0;
    }
    char names[1024] = "";
    for (size_t i = 0; i < n; i++) {
        if (found && !v[i].esp_likely)
            continue;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", v[i].device);
    }
    free(v);
    if (found == 0)
        return error_setk(err, ERROR_DEVICE,
                          "no ESP serial port found (looked for USB ids of Espressif, CP210x, "
                          "CH34x and FTDI adapters)%s%s; name the port",
                          names[0] ? "; other ports: " : "", names);
    return error_setk(err, ERROR_DEVICE, "several ESP serial ports found (%s); name one", names);
}

#ifndef _WIN32
void port_usb_ids(const char *sysfs_root, const char *device, uint16_t *vid, uint16_t *pid)
{
    *vid = *pid = 0;
    const char *root = sysfs_root ? sysfs_root : "/sys";
    /* Follow /dev/serial/by-id style symlinks to the kernel name. */
    char real[PATH_MAX];
    const char *name = realpath(device, real) ? real : device;
    const char *slash = strrchr(name, '/');
    struct port_info info;
    if (describe_tty(root, slash ? slash + 1 : name, &info) == 0) {
        *vid = info.vid;
        *pid = info.pid;
    }
}
#endif
