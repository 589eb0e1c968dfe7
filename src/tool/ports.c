/* --list-ports and "auto" over the serial layer's USB port discovery (src/serial). Two
 * environment variables let tests stand in for the machine's ports: MP_IMAGE_TOOL_SYSFS (a
 * sysfs tree to read instead of /sys) and MP_IMAGE_TOOL_DEV (the folder the ports' device
 * files are in instead of /dev). */
#include "tool/ports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serial/port.h"
#include "util/strbuf.h"

static const char *sysfs_root(void)
{
    const char *root = getenv("MP_IMAGE_TOOL_SYSFS");
    return root && *root ? root : NULL;
}

/* "/dev/ttyUSB0" in the device folder the environment names. */
static void device_path(const char *device, char *out, size_t size)
{
    const char *dev = getenv("MP_IMAGE_TOOL_DEV");
    const char *base = strrchr(device, '/');
    if (dev && *dev && base)
        snprintf(out, size, "%s%s", dev, base);
    else
        snprintf(out, size, "%s", device);
}

int ports_list(struct output *out, struct error *err)
{
    struct port_info *v;
    size_t n;
    if (port_list(sysfs_root(), &v, &n, err))
        return -1;
    const struct log *log = &out->log;
    size_t esp = 0, which = 0;
    for (size_t i = 0; i < n; i++) {
        char device[300];
        device_path(v[i].device, device, sizeof device);
        struct strbuf sb = {0};
        strbuf_printf(&sb, "%-14s", device);
        if (v[i].vid)
            strbuf_printf(&sb, "  %04x:%04x", v[i].vid, v[i].pid);
        else
            strbuf_printf(&sb, "  %-9s", "-");
        if (v[i].serial[0]) {
            strbuf_puts(&sb, "  serial ");
            strbuf_add_printable(&sb, v[i].serial, strlen(v[i].serial));
        }
        const char *what = v[i].product[0] ? v[i].product : v[i].driver;
        if (what[0]) {
            strbuf_puts(&sb, "  ");
            if (v[i].manufacturer[0] && !strstr(what, v[i].manufacturer)) {
                strbuf_add_printable(&sb, v[i].manufacturer, strlen(v[i].manufacturer));
                strbuf_puts(&sb, " ");
            }
            strbuf_add_printable(&sb, what, strlen(what));
        }
        if (v[i].esp_likely) {
            strbuf_puts(&sb, v[i].usb_jtag ? "  [ESP, USB-Serial/JTAG]" : "  [ESP-like]");
            if (!esp++)
                which = i;
        }
        log_printf(log, LOG_OUTPUT, "%s", strbuf_str(&sb));
        strbuf_free(&sb);
    }
    if (n == 0)
        log_printf(log, LOG_OUTPUT, "No serial ports found.");
    if (esp == 1) {
        char device[300];
        device_path(v[which].device, device, sizeof device);
        log_printf(log, LOG_INFO, "'auto' is %s.", device);
    } else {
        log_printf(log, LOG_INFO, "'auto' finds %s: name the port.",
                   esp ? "several ESP-like ports" : "no ESP-like port");
    }
    free(v);
    return 0;
}

int ports_resolve(const char *name, const struct log *log, char *out, size_t size,
                  struct error *err)
{
    if (strcmp(name, "auto") != 0) {
        snprintf(out, size, "%s", name);
        return 0;
    }
    struct port_info pick;
    if (port_pick(sysfs_root(), &pick, err))
        return error_prefix(err, "auto");
    device_path(pick.device, out, size);
    log_printf(log, LOG_INFO, "Using %s (%04x:%04x%s%s) for 'auto'.", out, pick.vid, pick.pid,
               pick.product[0] ? " " : "", pick.product);
    return 0;
}
