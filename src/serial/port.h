/* One serial port interface with three back-ends: a local tty (termios), an RFC 2217 client
 * (telnet COM-PORT-OPTION, as served by ser2net and the virtual chip) and a raw TCP socket.
 * Port names: "/dev/ttyUSB0" (any path), "rfc2217://host:port", "socket://host:port"; "COMn" is
 * recognised and refused on this OS. port_list() scans sysfs for USB serial adapters. */
#ifndef MP_SERIAL_PORT_H
#define MP_SERIAL_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum port_kind { PORT_TTY, PORT_RFC2217, PORT_SOCKET };

struct port;

/* Every operation returns 0 (read: the byte count) or a negative value with err set. */
struct port_ops {
    /* Read up to len bytes, waiting at most timeout_ms for the first one (0 = poll); returns
     * the number read, 0 on timeout. */
    int (*read)(struct port *p, uint8_t *buf, size_t len, int timeout_ms, struct error *err);
    /* Write all len bytes (blocking). */
    int (*write)(struct port *p, const uint8_t *buf, size_t len, struct error *err);
    int (*set_baud)(struct port *p, uint32_t baud, struct error *err);
    /* Drive DTR / RTS: 1 = asserted (line low), 0 = released, -1 = leave unchanged. Both
     * lines change in one step where the back-end can (one TIOCMSET, §4.3 "tight" reset). */
    int (*set_lines)(struct port *p, int dtr, int rts, struct error *err);
    /* Discard bytes received but not yet read. */
    int (*flush_input)(struct port *p, struct error *err);
    void (*close)(struct port *p); /* also frees p */
};

struct port {
    const struct port_ops *ops;
    enum port_kind kind;
    char name[256];    /* as given to port_open */
    uint32_t baud;     /* last baud set */
    int dtr, rts;      /* last line state set (1 = asserted) */
    int no_modem_lines;        /* DTR/RTS reach nothing here (a pty, a raw socket): no resets */
    uint16_t usb_vid, usb_pid; /* from sysfs for local USB ttys, 0 when unknown */
};

/* Open by name (see above) at the given baud; *out is freed by port_close. */
int port_open(const char *name, uint32_t baud, struct port **out, struct error *err);
/* The back-ends, also usable directly. host:port are parsed from "host:port". */
int port_tty_open(const char *path, uint32_t baud, struct port **out, struct error *err);
int port_rfc2217_open(const char *hostport, uint32_t baud, struct port **out, struct error *err);
int port_socket_open(const char *hostport, struct port **out, struct error *err);
/* Wrap an already connected stream socket or pipe-like fd (DTR/RTS and baud are no-ops); the
 * port owns fd afterwards. Used by tests and by programs that connect themselves. */
int port_fd_wrap(int fd, const char *name, struct port **out, struct error *err);

static inline int port_read(struct port *p, uint8_t *buf, size_t len, int timeout_ms,
                            struct error *err)
{
    return p->ops->read(p, buf, len, timeout_ms, err);
}
static inline int port_write(struct port *p, const uint8_t *buf, size_t len, struct error *err)
{
    return p->ops->write(p, buf, len, err);
}
static inline int port_set_baud(struct port *p, uint32_t baud, struct error *err)
{
    return p->ops->set_baud(p, baud, err);
}
static inline int port_set_lines(struct port *p, int dtr, int rts, struct error *err)
{
    return p->ops->set_lines(p, dtr, rts, err);
}
static inline int port_flush_input(struct port *p, struct error *err)
{
    return p->ops->flush_input(p, err);
}
void port_close(struct port *p); /* NULL allowed */

/* ---- discovery ---- */

struct port_info {
    char device[128];      /* "/dev/ttyUSB0" */
    char driver[64];       /* kernel driver of the USB interface, "" if unknown */
    char product[96];      /* USB product string, "" if unknown */
    char manufacturer[96]; /* USB manufacturer string, "" if unknown */
    char serial[96];       /* USB serial number, "" if none */
    uint16_t vid, pid;     /* 0 when not a USB device */
    int esp_likely;        /* USB ids of an Espressif chip or a bridge used on ESP boards */
    int usb_jtag;          /* 303a:1001: USB-Serial/JTAG (§4.4 reset) */
};

/* List serial ports from <sysfs_root>/class/tty (sysfs_root NULL = "/sys"), sorted by device
 * name; only ports with a backing device (USB, PCI, platform UART with a driver) are listed.
 * The caller frees *list. */
int port_list(const char *sysfs_root, struct port_info **list, size_t *count, struct error *err);
/* True for the USB ids of ESP boards: Espressif 303a:*, CP210x 10c4:ea60, CH34x 1a86:7523 and
 * 1a86:55d4, FTDI 0403:6001/6010/6014/6015. */
int port_usb_is_esp(uint16_t vid, uint16_t pid);
/* Choose the port to use when the user names none: the only ESP-like USB port. Errors list the
 * candidates when there are none or several. */
int port_pick(const char *sysfs_root, struct port_info *out, struct error *err);
/* USB ids of a local tty path through sysfs (0,0 when unknown). */
void port_usb_ids(const char *sysfs_root, const char *device, uint16_t *vid, uint16_t *pid);

#endif
