/* Local tty back-end: termios raw mode, 8N1, no flow control; any baud through termios2
 * (BOTHER) on Linux when it has no Bxxx constant. Works on ptys (no modem lines there: line
 * changes are accepted and ignored), USB-UART bridges and USB-Serial/JTAG CDC-ACM ports. */
#include "serial/port.h"
#include "serial/port_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#ifdef __linux__
/* The kernel's termios2 (asm/termbits.h cannot be included together with <termios.h>). */
struct termios2 {
    tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
    cc_t c_line;
    cc_t c_cc[19];
    speed_t c_ispeed, c_ospeed;
};
#ifndef BOTHER
#define BOTHER 0010000
#endif
#ifndef TCGETS2
#define TCGETS2 _IOR('T', 0x2A, struct termios2)
#define TCSETS2 _IOW('T', 0x2B, struct termios2)
#endif
#endif

struct tty_port {
    struct port base;
    int fd;
    int lines_supported;
};

static speed_t baud_constant(uint32_t baud)
{
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
#ifdef B460800
    case 460800: return B460800;
    case 500000: return B500000;
    case 576000: return B576000;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 1152000: return B1152000;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    case 2500000: return B2500000;
    case 3000000: return B3000000;
#endif
    default: return 0;
    }
}

static int tty_set_baud(struct port *p, uint32_t baud, struct error *err)
{
    struct tty_port *t = (struct tty_port *)p;
    speed_t sp = baud_constant(baud);
    if (sp) {
        struct termios tio;
        if (tcgetattr(t->fd, &tio) != 0)
            return error_setk(err, ERROR_DEVICE, "%s: tcgetattr: %s", p->name, strerror(errno));
        cfsetispeed(&tio, sp);
        cfsetospeed(&tio, sp);
        if (tcsetattr(t->fd, TCSANOW, &tio) != 0)
            return error_setk(err, ERROR_DEVICE, "%s: cannot set %u baud: %s", p->name, baud,
                              strerror(errno));
        p->baud = baud;
        return 0;
    }
#ifdef __linux__
    struct termios2 t2;
    if (ioctl(t->fd, TCGETS2, &t2) != 0)
        return error_setk(err, ERROR_DEVICE, "%s: TCGETS2: %s", p->name, strerror(errno));
    t2.c_cflag &= ~(tcflag_t)CBAUD;
    t2.c_cflag |= BOTHER;
    t2.c_cflag &= ~(tcflag_t)(CBAUD << 16); /* input speed follows the output speed */
    t2.c_cflag |= BOTHER << 16;
    t2.c_ispeed = baud;
    t2.c_ospeed = baud;
    if (ioctl(t->fd, TCSETS2, &t2) != 0)
        return error_setk(err, ERROR_DEVICE, "%s: cannot set %u baud: %s", p->name, baud,
                          strerror(errno));
    p->baud = baud;
    return 0;
#else
    return error_setk(err, ERROR_DEVICE, "%s: baud %u is not supported on this OS", p->name, baud);
#endif
}

static int tty_read(struct port *p, uint8_t *buf, size_t len, int timeout_ms, struct error *err)
{
    struct tty_port *t = (struct tty_port *)p;
    return port_fd_read(t->fd, p->name, buf, len, timeout_ms, err);
}

static int tty_write(struct port *p, const uint8_t *buf, size_t len, struct error *err)
{
    struct tty_port *t = (struct tty_port *)p;
    return port_fd_write(t->fd, p->name, buf, len, err);
}

static int tty_set_lines(struct port *p, int dtr, int rts, struct error *err)
{
    struct tty_port *t = (struct tty_port *)p;
    if (dtr >= 0)
        p->dtr = dtr;
    if (rts >= 0)
        p->rts = rts;
    if (!t->lines_supported)
        return 0;
    int bits;
    if (ioctl(t->fd, TIOCMGET, &bits) != 0) {
        /* ptys and some virtual ports have no modem lines. */
        if (errno == ENOTTY || errno == EINVAL) {
            t->lines_supported = 0;
            p->no_modem_lines = 1;
            return 0;
        }
        return error_setk(err, ERROR_DEVICE, "%s: TIOCMGET: %s", p->name, strerror(errno));
    }
    bits = p->dtr ? bits | TIOCM_DTR : bits & ~TIOCM_DTR;
    bits = p->rts ? bits | TIOCM_RTS : bits & ~TIOCM_RTS;
    if (ioctl(t->fd, TIOCMSET, &bits) != 0) {
        if (errno == ENOTTY || errno == EINVAL) {
            t->lines_supported = 0;
            p->no_modem_lines = 1;
            return 0;
        }
        return error_setk(err, ERROR_DEVICE, "%s: TIOCMSET: %s", p->name, strerror(errno));
    }
    return 0;
}

static int tty_flush_input(struct port *p, struct error *err)
{
    struct tty_port *t = (struct tty_port *)p;
    if (tcflush(t->fd, TCIFLUSH) != 0)
        return error_setk(err, ERROR_DEVICE, "%s: tcflush: %s", p->name, strerror(errno));
    return 0;
}

static void tty_close(struct port *p)
{
    struct tty_port *t = (struct tty_port *)p;
    close(t->fd);
    free(t);
}

static const struct port_ops tty_ops = {tty_read, tty_write, tty_set_baud, tty_set_lines,
                                        tty_flush_input, tty_close};

int port_tty_open(const char *path, uint32_t baud, struct port **out, struct error *err)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return error_setk(err, ERROR_DEVICE, "%s: no such serial port", path);
        if (errno == EACCES)
            return error_setk(err, ERROR_DEVICE,
                              "%s: permission denied (is the user in the dialout group?)", path);
        return error_setk(err, ERROR_DEVICE, "%s: %s", path, strerror(errno));
    }
    if (!isatty(fd)) {
        close(fd);
        return error_setk(err, ERROR_DEVICE, "%s: not a serial port", path);
    }
    /* Keep other programs (a stray terminal, ModemManager) from sharing the line. */
    if (ioctl(fd, TIOCEXCL) != 0 && errno != ENOTTY) {
        int e = errno;
        close(fd);
        return error_setk(err, ERROR_DEVICE, "%s: TIOCEXCL: %s", path, strerror(e));
    }
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        int e = errno;
        close(fd);
        return error_setk(err, ERROR_DEVICE, "%s: tcgetattr: %s", path, strerror(e));
    }
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS);
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        int e = errno;
        close(fd);
        return error_setk(err, ERROR_DEVICE, "%s: tcsetattr: %s", path, strerror(e));
    }
    struct tty_port *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    t->base.ops = &tty_ops;
    t->base.kind = PORT_TTY;
    snprintf(t->base.name, sizeof t->base.name, "%s", path);
    t->fd = fd;
    /* ptys and some virtual ports have no modem lines: TIOCMGET fails there. */
    int bits;
    t->lines_supported = ioctl(fd, TIOCMGET, &bits) == 0 || (errno != ENOTTY && errno != EINVAL);
    t->base.no_modem_lines = !t->lines_supported;
    port_usb_ids(NULL, path, &t->base.usb_vid, &t->base.usb_pid);
    if (tty_set_baud(&t->base, baud, err) != 0) {
        tty_close(&t->base);
        return -1;
    }
    tcflush(fd, TCIOFLUSH);
    *out = &t->base;
    return 0;
}
