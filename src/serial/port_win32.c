/* Windows: the COM port back-end (Win32 comm API), the socket helpers the RFC 2217 and socket
 * back-ends use (Winsock), and port discovery through SetupAPI. Built for Windows only; the
 * POSIX counterparts are port_tty.c and the fd helpers and sysfs discovery of port.c.
 *
 * COM names: "COM3", "com3" and "\\.\COM3" all open \\.\COM3 (the only form that reaches
 * COM10 and above). DTR and RTS are released when the port opens, so opening does not reset
 * a board. */
#include "serial/port.h"
#include "serial/port_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <mmsystem.h>
#include <setupapi.h>

/* ---------------------------------------------------------------- time */

int64_t port_now_ms(void)
{
    return (int64_t)GetTickCount64();
}

static const char *win_error_text(DWORD e, char *buf, size_t cap)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e,
                             MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), buf, (DWORD)cap, NULL);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    if (!n)
        snprintf(buf, cap, "Windows error %lu", (unsigned long)e);
    return buf;
}

/* ---------------------------------------------------------------- sockets */

static int winsock_ready(struct error *err)
{
    static int started;
    if (!started) {
        WSADATA wsa;
        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
            return error_setk(err, ERROR_DEVICE, "cannot start Winsock");
        started = 1;
    }
    return 0;
}

int port_wait_readable(int fd, int timeout_ms)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET((SOCKET)(intptr_t)fd, &set);
    if (timeout_ms < 0)
        timeout_ms = 0;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int r = select(0, &set, NULL, NULL, &tv);
    return r > 0 ? 1 : r == 0 ? 0 : -1;
}

int port_fd_read(int fd, const char *name, uint8_t *buf, size_t len, int timeout_ms,
                 struct error *err)
{
    int w = port_wait_readable(fd, timeout_ms);
    if (w < 0)
        return error_setk(err, ERROR_DEVICE, "%s: select: error %d", name, WSAGetLastError());
    if (w == 0)
        return 0;
    int n = recv((SOCKET)(intptr_t)fd, (char *)buf, len > 0x10000 ? 0x10000 : (int)len, 0);
    if (n > 0)
        return n;
    if (n == 0)
        return error_setk(err, ERROR_DEVICE, "%s: connection closed by the device", name);
    return error_setk(err, ERROR_DEVICE, "%s: recv: error %d", name, WSAGetLastError());
}

int port_fd_write(int fd, const char *name, const uint8_t *buf, size_t len, struct error *err)
{
    int64_t deadline = port_now_ms() + 10000;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done > 0x10000 ? 0x10000 : len - done;
        int n = send((SOCKET)(intptr_t)fd, (const char *)buf + done, (int)chunk, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            return error_setk(err, ERROR_DEVICE, "%s: send: error %d", name, WSAGetLastError());
        if (port_now_ms() > deadline)
            return error_setk(err, ERROR_DEVICE, "%s: write timed out (device not draining)",
                              name);
        Sleep(1);
    }
    return 0;
}

int port_tcp_connect(const char *hostport, const char *scheme, struct error *err)
{
    if (winsock_ready(err))
        return -1;
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host || !colon[1])
        return error_setk(err, ERROR_USAGE, "%s%s: expected %shost:port", scheme, hostport,
                          scheme);
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
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
        return error_setk(err, ERROR_DEVICE, "%s%s: cannot resolve the host (error %d)", scheme,
                          hostport, rc);
    SOCKET s = INVALID_SOCKET;
    int last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s == INVALID_SOCKET) {
            last = WSAGetLastError();
            continue;
        }
        if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0)
            break;
        last = WSAGetLastError();
        closesocket(s);
        s = INVALID_SOCKET;
    }
    freeaddrinfo(res);
    if (s == INVALID_SOCKET)
        return error_setk(err, ERROR_DEVICE, "%s%s: connect: error %d", scheme, hostport, last);
    /* Small command packets must not wait for Nagle's algorithm. */
    BOOL one = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    int fd = (int)(intptr_t)s;
    w32_socket_register(fd);
    return fd;
}

/* ---------------------------------------------------------------- COM ports */

struct com_port {
    struct port base;
    HANDLE h;
    int lines_supported;
};

static int com_fail(struct port *p, const char *what, struct error *err)
{
    char text[256];
    return error_setk(err, ERROR_DEVICE, "%s: %s: %s", p->name, what,
                      win_error_text(GetLastError(), text, sizeof text));
}

/* Reads return at once with what has arrived; com_read waits by polling every millisecond.
 * (The documented "return at the first byte" timeouts, MAXDWORD/MAXDWORD/n, are not honoured
 * by every driver: Wine's waits the whole n.) */
static int com_set_timeouts(struct com_port *c, struct error *err)
{
    COMMTIMEOUTS t = {0};
    t.ReadIntervalTimeout = MAXDWORD;
    t.WriteTotalTimeoutConstant = 10000; /* the serial write timeout (protocol §3.7) */
    if (!SetCommTimeouts(c->h, &t))
        return com_fail(&c->base, "SetCommTimeouts", err);
    return 0;
}

static int com_read(struct port *p, uint8_t *buf, size_t len, int timeout_ms, struct error *err)
{
    struct com_port *c = (struct com_port *)p;
    int64_t deadline = port_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        DWORD got = 0;
        if (!ReadFile(c->h, buf, len > 0x10000 ? 0x10000 : (DWORD)len, &got, NULL))
            return com_fail(p, "read", err);
        if (got > 0 || port_now_ms() >= deadline)
            return (int)got;
        Sleep(1);
    }
}

static int com_write(struct port *p, const uint8_t *buf, size_t len, struct error *err)
{
    struct com_port *c = (struct com_port *)p;
    size_t done = 0;
    while (done < len) {
        DWORD n = 0, chunk = len - done > 0x10000 ? 0x10000 : (DWORD)(len - done);
        if (!WriteFile(c->h, buf + done, chunk, &n, NULL))
            return com_fail(p, "write", err);
        if (n == 0)
            return error_setk(err, ERROR_DEVICE, "%s: write timed out (device not draining)",
                              p->name);
        done += n;
    }
    return 0;
}

static int com_set_baud(struct port *p, uint32_t baud, struct error *err)
{
    struct com_port *c = (struct com_port *)p;
    DCB dcb = {0};
    dcb.DCBlength = sizeof dcb;
    if (!GetCommState(c->h, &dcb))
        return com_fail(p, "GetCommState", err);
    dcb.BaudRate = baud;
    if (!SetCommState(c->h, &dcb)) {
        char text[256];
        return error_setk(err, ERROR_DEVICE, "%s: cannot set %u baud: %s", p->name, baud,
                          win_error_text(GetLastError(), text, sizeof text));
    }
    p->baud = baud;
    return 0;
}

/* One modem line; a port without modem lines (a virtual port, Wine's view of a pty) accepts
 * and ignores line changes, as the POSIX back-end does on a pty. */
static int com_line(struct com_port *c, DWORD function, const char *what, struct error *err)
{
    if (!c->lines_supported || EscapeCommFunction(c->h, function))
        return 0;
    DWORD e = GetLastError();
    if (e == ERROR_NOT_SUPPORTED || e == ERROR_INVALID_FUNCTION || e == ERROR_INVALID_PARAMETER) {
        c->lines_supported = 0;
        return 0;
    }
    SetLastError(e);
    return com_fail(&c->base, what, err);
}

/* DTR first, then RTS: the order of esptool's classic reset on Windows. The board's RC delay
 * on EN covers the moment between the two calls. */
static int com_set_lines(struct port *p, int dtr, int rts, struct error *err)
{
    struct com_port *c = (struct com_port *)p;
    if (dtr >= 0) {
        if (com_line(c, dtr ? SETDTR : CLRDTR, "DTR", err))
            return -1;
        p->dtr = dtr;
    }
    if (rts >= 0) {
        if (com_line(c, rts ? SETRTS : CLRRTS, "RTS", err))
            return -1;
        p->rts = rts;
    }
    return 0;
}

static int com_flush_input(struct port *p, struct error *err)
{
    struct com_port *c = (struct com_port *)p;
    if (!PurgeComm(c->h, PURGE_RXCLEAR | PURGE_RXABORT))
        return com_fail(p, "PurgeComm", err);
    return 0;
}

static void com_close(struct port *p)
{
    struct com_port *c = (struct com_port *)p;
    CloseHandle(c->h);
    timeEndPeriod(1);
    free(c);
}

static const struct port_ops com_ops = {com_read,      com_write,       com_set_baud,
                                        com_set_lines, com_flush_input, com_close};

/* "COM3", "com3", "\\.\COM3" -> "COM3" in name; 0 when path is no COM port name. */
static int com_name(const char *path, char *name, size_t cap)
{
    if (strncmp(path, "\\\\.\\", 4) == 0)
        path += 4;
    if (!(toupper((unsigned char)path[0]) == 'C' && toupper((unsigned char)path[1]) == 'O' &&
          toupper((unsigned char)path[2]) == 'M' && isdigit((unsigned char)path[3])))
        return 0;
    for (const char *d = path + 3; *d; d++)
        if (!isdigit((unsigned char)*d))
            return 0;
    snprintf(name, cap, "COM%s", path + 3);
    return 1;
}

int port_tty_open(const char *path, uint32_t baud, struct port **out, struct error *err)
{
    *out = NULL;
    char name[32], device[40];
    if (!com_name(path, name, sizeof name))
        return error_setk(err, ERROR_DEVICE,
                          "%s: not a serial port name (COM1, COM2, ... or \\\\.\\COMn)", path);
    snprintf(device, sizeof device, "\\\\.\\%s", name);
    HANDLE h = CreateFileA(device, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            return error_setk(err, ERROR_DEVICE, "%s: no such serial port", path);
        if (e == ERROR_ACCESS_DENIED)
            return error_setk(err, ERROR_DEVICE,
                              "%s: access denied (is another program using the port?)", path);
        char text[256];
        return error_setk(err, ERROR_DEVICE, "%s: %s", path,
                          win_error_text(e, text, sizeof text));
    }
    struct com_port *c = calloc(1, sizeof *c);
    if (!c) {
        CloseHandle(h);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    c->base.ops = &com_ops;
    c->base.kind = PORT_TTY;
    snprintf(c->base.name, sizeof c->base.name, "%s", path);
    c->h = h;
    c->lines_supported = 1;
    timeBeginPeriod(1); /* Sleep(1) sleeps 1 ms, not a 15.6 ms tick; undone by com_close */
    SetupComm(h, 1 << 16, 1 << 16);
    /* 8N1, binary, no flow control, both modem lines released. */
    DCB dcb = {0};
    dcb.DCBlength = sizeof dcb;
    if (!GetCommState(h, &dcb)) {
        com_fail(&c->base, "GetCommState", err);
        com_close(&c->base);
        return -1;
    }
    dcb.BaudRate = baud;
    dcb.fBinary = TRUE;
    dcb.fParity = FALSE;
    dcb.fOutxCtsFlow = FALSE;
    dcb.fOutxDsrFlow = FALSE;
    dcb.fDtrControl = DTR_CONTROL_DISABLE;
    dcb.fDsrSensitivity = FALSE;
    dcb.fOutX = FALSE;
    dcb.fInX = FALSE;
    dcb.fErrorChar = FALSE;
    dcb.fNull = FALSE;
    dcb.fRtsControl = RTS_CONTROL_DISABLE;
    dcb.fAbortOnError = FALSE;
    dcb.ByteSize = 8;
    dcb.Parity = NOPARITY;
    dcb.StopBits = ONESTOPBIT;
    if (!SetCommState(h, &dcb)) {
        char text[256];
        error_setk(err, ERROR_DEVICE, "%s: cannot set %u baud, 8N1: %s", path, baud,
                   win_error_text(GetLastError(), text, sizeof text));
        com_close(&c->base);
        return -1;
    }
    c->base.baud = baud;
    if (com_set_timeouts(c, err)) {
        com_close(&c->base);
        return -1;
    }
    PurgeComm(h, PURGE_RXCLEAR | PURGE_TXCLEAR | PURGE_RXABORT | PURGE_TXABORT);
    port_usb_ids(NULL, name, &c->base.usb_vid, &c->base.usb_pid);
    *out = &c->base;
    return 0;
}

/* ---------------------------------------------------------------- discovery */

/* The class of serial and parallel ports, {4D36E978-E325-11CE-BFC1-08002BE10318}. */
static const GUID ports_class = {
    0x4D36E978, 0xE325, 0x11CE, {0xBF, 0xC1, 0x08, 0x00, 0x2B, 0xE1, 0x03, 0x18}};

/* "USB\VID_303A&PID_1001&MI_00\..." -> 0x303a, 0x1001 */
static void parse_hardware_id(const char *id, uint16_t *vid, uint16_t *pid)
{
    const char *v = strstr(id, "VID_"), *p = strstr(id, "PID_");
    if (v && p) {
        *vid = (uint16_t)strtoul(v + 4, NULL, 16);
        *pid = (uint16_t)strtoul(p + 4, NULL, 16);
    }
}

static int info_cmp(const void *a, const void *b)
{
    const char *x = ((const struct port_info *)a)->device,
               *y = ((const struct port_info *)b)->device;
    /* COM2 before COM10 */
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

int port_list(const char *sysfs_root, struct port_info **list, size_t *count, struct error *err)
{
    (void)sysfs_root;
    *list = NULL;
    *count = 0;
    HDEVINFO set = SetupDiGetClassDevsA(&ports_class, NULL, NULL, DIGCF_PRESENT);
    if (set == INVALID_HANDLE_VALUE)
        return 0; /* no ports class: no ports */
    size_t n = 0, cap = 0;
    struct port_info *v = NULL;
    SP_DEVINFO_DATA dev;
    dev.cbSize = sizeof dev;
    for (DWORD i = 0; SetupDiEnumDeviceInfo(set, i, &dev); i++) {
        struct port_info info;
        memset(&info, 0, sizeof info);
        HKEY key = SetupDiOpenDevRegKey(set, &dev, DICS_FLAG_GLOBAL, 0, DIREG_DEV, KEY_READ);
        if (key == INVALID_HANDLE_VALUE)
            continue;
        char port_name[64] = "";
        DWORD size = sizeof port_name - 1, type = 0;
        LONG rc = RegQueryValueExA(key, "PortName", NULL, &type, (BYTE *)port_name, &size);
        RegCloseKey(key);
        if (rc != ERROR_SUCCESS || type != REG_SZ || strncmp(port_name, "COM", 3) != 0)
            continue; /* a printer port */
        snprintf(info.device, sizeof info.device, "%s", port_name);
        char text[512];
        if (SetupDiGetDeviceRegistryPropertyA(set, &dev, SPDRP_HARDWAREID, NULL, (BYTE *)text,
                                              sizeof text - 1, NULL)) {
            text[sizeof text - 1] = '\0';
            parse_hardware_id(text, &info.vid, &info.pid);
        }
        if (SetupDiGetDeviceRegistryPropertyA(set, &dev, SPDRP_FRIENDLYNAME, NULL, (BYTE *)text,
                                              sizeof text - 1, NULL)) {
            text[sizeof text - 1] = '\0';
            snprintf(info.product, sizeof info.product, "%s", text);
        }
        if (SetupDiGetDeviceRegistryPropertyA(set, &dev, SPDRP_SERVICE, NULL, (BYTE *)text,
                                              sizeof text - 1, NULL)) {
            text[sizeof text - 1] = '\0';
            snprintf(info.driver, sizeof info.driver, "%s", text);
        }
        info.esp_likely = info.vid && port_usb_is_esp(info.vid, info.pid);
        info.usb_jtag = info.vid == 0x303a && info.pid == 0x1001;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct port_info *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                SetupDiDestroyDeviceInfoList(set);
                return error_setk(err, ERROR_OS, "out of memory");
            }
            v = nv;
        }
        v[n++] = info;
    }
    SetupDiDestroyDeviceInfoList(set);
    if (n)
        qsort(v, n, sizeof *v, info_cmp);
    *list = v;
    *count = n;
    return 0;
}

void port_usb_ids(const char *sysfs_root, const char *device, uint16_t *vid, uint16_t *pid)
{
    *vid = *pid = 0;
    char name[32];
    if (!com_name(device, name, sizeof name))
        return;
    struct port_info *v;
    size_t n;
    struct error ignored;
    if (port_list(sysfs_root, &v, &n, &ignored) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].device, name) == 0) {
            *vid = v[i].vid;
            *pid = v[i].pid;
        }
    free(v);
}
