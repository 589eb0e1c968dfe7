/* Unit tests of the serial port back-ends: tty on a pty pair, RFC 2217 against an in-test
 * telnet peer on 127.0.0.1, raw sockets, port names, and sysfs discovery on a fake tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "serial/port.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t read_all(int fd, uint8_t *buf, size_t cap, int ms)
{
    size_t n = 0;
    while (n < cap) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, ms) <= 0)
            break;
        ssize_t k = read(fd, buf + n, cap - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    return n;
}

/* ---------------------------------------------------------------- tty */

static void tty_raw_transfer_both_ways(void **state)
{
    (void)state;
    int master, slave;
    char name[128];
    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    struct port *p;
    struct error err;
    assert_int_equal(port_open(name, 115200, &p, &err), 0);
    assert_int_equal(p->kind, PORT_TTY);
    /* Every byte value, including ^C, ^S/^Q, CR and LF, passes untouched (raw mode). */
    uint8_t all[256], got[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    assert_int_equal(port_write(p, all, 256, &err), 0);
    assert_int_equal(read_all(master, got, 256, 500), 256);
    assert_memory_equal(got, all, 256);
    assert_int_equal(write(master, all, 256), 256);
    size_t n = 0;
    while (n < 256) {
        int k = port_read(p, got + n, 256 - n, 500, &err);
        assert_true(k > 0);
        n += (size_t)k;
    }
    assert_memory_equal(got, all, 256);
    port_close(p);
    close(master);
    close(slave);
}

static void tty_read_times_out_and_flush_discards(void **state)
{
    (void)state;
    int master, slave;
    char name[128];
    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    struct port *p;
    struct error err;
    assert_int_equal(port_tty_open(name, 115200, &p, &err), 0);
    uint8_t b[16];
    double t0 = now_s();
    assert_int_equal(port_read(p, b, sizeof b, 150, &err), 0);
    double dt = now_s() - t0;
    assert_true(dt >= 0.14 && dt < 1.0);
    assert_int_equal(write(master, "stale", 5), 5);
    usleep(50000);
    assert_int_equal(port_flush_input(p, &err), 0);
    assert_int_equal(port_read(p, b, sizeof b, 50, &err), 0);
    /* No modem lines on a pty: line changes are accepted and remembered. */
    assert_int_equal(port_set_lines(p, 1, 0, &err), 0);
    assert_int_equal(p->dtr, 1);
    assert_int_equal(p->rts, 0);
    port_close(p);
    close(master);
    close(slave);
}

static void tty_sets_standard_and_arbitrary_bauds(void **state)
{
    (void)state;
    int master, slave;
    char name[128];
    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    struct port *p;
    struct error err;
    assert_int_equal(port_tty_open(name, 115200, &p, &err), 0);
    struct termios t;
    assert_int_equal(port_set_baud(p, 921600, &err), 0);
    assert_int_equal(tcgetattr(slave, &t), 0);
    assert_int_equal(cfgetospeed(&t), B921600);
    assert_true((t.c_cflag & CSIZE) == CS8);
    assert_false(t.c_lflag & ICANON);
    /* 250000 has no Bxxx constant: termios2/BOTHER. */
    assert_int_equal(port_set_baud(p, 250000, &err), 0);
    assert_int_equal(p->baud, 250000);
    assert_int_equal(tcgetattr(slave, &t), 0);
    assert_int_not_equal(cfgetospeed(&t), B921600);
    port_close(p);
    close(master);
    close(slave);
}

static void port_names_are_checked(void **state)
{
    (void)state;
    struct port *p;
    struct error err;
    assert_int_not_equal(port_open("COM3", 115200, &p, &err), 0);
    assert_non_null(strstr(err.msg, "not supported on this OS"));
    assert_int_not_equal(port_open("ftp://x:1", 115200, &p, &err), 0);
    assert_non_null(strstr(err.msg, "scheme"));
    assert_int_not_equal(port_open("rfc2217://nohost", 115200, &p, &err), 0);
    assert_non_null(strstr(err.msg, "host:port"));
    assert_int_not_equal(port_open("/dev/does-not-exist-42", 115200, &p, &err), 0);
    assert_non_null(strstr(err.msg, "no such serial port"));
    assert_int_not_equal(port_open("/dev/null", 115200, &p, &err), 0);
    assert_non_null(strstr(err.msg, "not a serial port"));
}

/* ---------------------------------------------------------------- network */

static int listen_local(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

struct telnet_peer {
    int listen_fd;
    uint8_t got[4096];
    size_t got_len;
};

/* Server side: negotiate, send data with an escaped 0xFF, a NOP and a modem-state
 * notification in the middle, then record everything the client sends until it closes. */
static void *telnet_peer_main(void *arg)
{
    struct telnet_peer *t = arg;
    int c = accept(t->listen_fd, NULL, NULL);
    static const uint8_t hello[] = {
        255, 251, 44,         /* WILL COM-PORT-OPTION */
        255, 253, 0,          /* DO BINARY */
        255, 253, 99,         /* DO an option the client does not know */
        'A', 255, 255, 'B',   /* data A 0xFF B */
        255, 241,             /* NOP */
        255, 250, 44, 107, 0x30, 255, 240, /* SB NOTIFY-MODEMSTATE ... SE */
        'C',
    };
    if (write(c, hello, sizeof hello) != (ssize_t)sizeof hello)
        return NULL;
    t->got_len = read_all(c, t->got, sizeof t->got, 2000);
    close(c);
    return NULL;
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static void rfc2217_negotiates_and_escapes(void **state)
{
    (void)state;
    struct telnet_peer t = {0};
    uint16_t port;
    t.listen_fd = listen_local(&port);
    pthread_t th;
    pthread_create(&th, NULL, telnet_peer_main, &t);
    char name[64];
    snprintf(name, sizeof name, "rfc2217://127.0.0.1:%u", port);
    struct port *p;
    struct error err;
    assert_int_equal(port_open(name, 115200, &p, &err), 0);
    assert_int_equal(p->kind, PORT_RFC2217);
    uint8_t buf[16];
    size_t n = 0;
    while (n < 4) {
        int k = port_read(p, buf + n, sizeof buf - n, 1000, &err);
        assert_true(k > 0);
        n += (size_t)k;
    }
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "A\xff" "BC", 4);
    assert_int_equal(port_set_baud(p, 921600, &err), 0);
    assert_int_equal(port_set_lines(p, 1, 0, &err), 0);
    static const uint8_t data[] = {0x01, 0xFF, 0x02};
    assert_int_equal(port_write(p, data, sizeof data, &err), 0);
    port_close(p);
    pthread_join(th, NULL);
    close(t.listen_fd);

    static const uint8_t will_cpo[] = {255, 251, 44};
    static const uint8_t baud115200[] = {255, 250, 44, 1, 0x00, 0x01, 0xC2, 0x00, 255, 240};
    static const uint8_t baud921600[] = {255, 250, 44, 1, 0x00, 0x0E, 0x10, 0x00, 255, 240};
    static const uint8_t dtr_on[] = {255, 250, 44, 5, 8, 255, 240};
    static const uint8_t rts_off[] = {255, 250, 44, 5, 12, 255, 240};
    static const uint8_t wont99[] = {255, 252, 99};
    static const uint8_t escaped[] = {0x01, 0xFF, 0xFF, 0x02};
    assert_true(contains(t.got, t.got_len, will_cpo, sizeof will_cpo));
    assert_true(contains(t.got, t.got_len, baud115200, sizeof baud115200));
    assert_true(contains(t.got, t.got_len, baud921600, sizeof baud921600));
    assert_true(contains(t.got, t.got_len, dtr_on, sizeof dtr_on));
    assert_true(contains(t.got, t.got_len, rts_off, sizeof rts_off));
    assert_true(contains(t.got, t.got_len, wont99, sizeof wont99));
    assert_true(contains(t.got, t.got_len, escaped, sizeof escaped));
}

/* A server that is busy with another client: closes at once, says why first (as ser2net does),
 * or never answers (its backlog). Each is one clear error from port_open, never a signal. */
struct busy_peer {
    int listen_fd;
    const char *say; /* NULL: close at once */
};

static void *busy_peer_main(void *arg)
{
    struct busy_peer *b = arg;
    int c = accept(b->listen_fd, NULL, NULL);
    if (c < 0)
        return NULL;
    if (b->say && write(c, b->say, strlen(b->say)) < 0)
        perror("write");
    close(c);
    return NULL;
}

static void rfc2217_busy_port_is_an_error(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL); /* a write to the closed connection must not kill us */
    static const char *const says[] = {NULL, "Port already in use\r\n"};
    for (size_t i = 0; i < 2; i++) {
        struct busy_peer b = {0, says[i]};
        uint16_t port;
        b.listen_fd = listen_local(&port);
        pthread_t th;
        pthread_create(&th, NULL, busy_peer_main, &b);
        char name[64];
        snprintf(name, sizeof name, "rfc2217://127.0.0.1:%u", port);
        struct port *p = NULL;
        struct error err = {0};
        assert_int_not_equal(port_open(name, 115200, &p, &err), 0);
        assert_null(p);
        pthread_join(th, NULL);
        close(b.listen_fd);
        assert_non_null(strstr(err.msg, "closed the connection"));
        assert_non_null(strstr(err.msg, "busy"));
        if (says[i])
            assert_non_null(strstr(err.msg, "Port already in use"));
    }
    /* a server that never accepts: the connection waits in its backlog */
    uint16_t port;
    int lfd = listen_local(&port);
    char name[64];
    snprintf(name, sizeof name, "rfc2217://127.0.0.1:%u", port);
    struct port *p = NULL;
    struct error err = {0};
    assert_int_not_equal(port_open(name, 115200, &p, &err), 0);
    assert_non_null(strstr(err.msg, "does not answer"));
    close(lfd);
}

/* The server goes away in the middle of a session: writes report it. */
static void *negotiate_then_close(void *arg)
{
    int c = accept(*(int *)arg, NULL, NULL);
    static const uint8_t will[] = {255, 251, 44};
    if (write(c, will, sizeof will) < 0)
        perror("write");
    usleep(100000);
    close(c);
    return NULL;
}

static void rfc2217_closed_connection_is_an_error(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL);
    uint16_t port;
    int lfd = listen_local(&port);
    pthread_t th;
    pthread_create(&th, NULL, negotiate_then_close, &lfd);
    char name[64];
    snprintf(name, sizeof name, "rfc2217://127.0.0.1:%u", port);
    struct port *p;
    struct error err = {0};
    assert_int_equal(port_open(name, 115200, &p, &err), 0);
    pthread_join(th, NULL);
    uint8_t block[4096] = {0};
    int r = 0;
    for (int i = 0; i < 50 && r == 0; i++) {
        r = port_write(p, block, sizeof block, &err);
        usleep(10000);
    }
    assert_int_not_equal(r, 0);
    assert_non_null(strstr(err.msg, "closed"));
    port_close(p);
    close(lfd);
}

static void socket_port_passes_bytes_verbatim(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_local(&port);
    char name[64];
    snprintf(name, sizeof name, "socket://127.0.0.1:%u", port);
    struct port *p;
    struct error err;
    assert_int_equal(port_open(name, 115200, &p, &err), 0);
    int c = accept(lfd, NULL, NULL);
    static const uint8_t data[] = {0xFF, 0xFF, 0xC0, 0x00};
    assert_int_equal(port_write(p, data, sizeof data, &err), 0);
    uint8_t got[8];
    assert_int_equal(read_all(c, got, 4, 500), 4);
    assert_memory_equal(got, data, 4);
    assert_int_equal(write(c, data, 4), 4);
    assert_int_equal(port_read(p, got, sizeof got, 500, &err), 4);
    assert_memory_equal(got, data, 4);
    assert_int_equal(port_set_lines(p, 1, 1, &err), 0); /* no lines: accepted */
    close(c);
    /* The peer closing is an error on read, not a timeout. */
    assert_true(port_read(p, got, sizeof got, 500, &err) < 0);
    assert_non_null(strstr(err.msg, "closed"));
    port_close(p);
    close(lfd);
}

/* ---------------------------------------------------------------- sysfs discovery */

static void mkdirs(const char *path)
{
    char tmp[512];
    assert_true(snprintf(tmp, sizeof tmp, "%s", path) < (int)sizeof tmp);
    for (char *s = tmp + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(tmp, 0755);
            *s = '/';
        }
    mkdir(tmp, 0755);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A USB serial port: devices/usb1/<usbdev>/<usbdev>:1.0[/<name>] with ids on <usbdev>, and
 * class/tty/<name>/device pointing at the interface (ACM) or port (usb-serial) directory. */
static void fake_usb_tty(const char *root, const char *name, const char *usbdev, const char *vid,
                         const char *pid, const char *product, int acm)
{
    char dev[512], intf[600], target[700], cls[512], link[600];
    snprintf(dev, sizeof dev, "%s/devices/usb1/%s", root, usbdev);
    mkdirs(dev);
    put_file(dev, "idVendor", vid);
    put_file(dev, "idProduct", pid);
    put_file(dev, "product", product);
    if (acm)
        snprintf(intf, sizeof intf, "%s/%s:1.0", dev, usbdev);
    else
        snprintf(intf, sizeof intf, "%s/%s:1.0/%s", dev, usbdev, name);
    mkdirs(intf);
    snprintf(cls, sizeof cls, "%s/class/tty/%s", root, name);
    mkdirs(cls);
    if (acm)
        snprintf(target, sizeof target, "../../../devices/usb1/%s/%s:1.0", usbdev, usbdev);
    else
        snprintf(target, sizeof target, "../../../devices/usb1/%s/%s:1.0/%s", usbdev, usbdev, name);
    snprintf(link, sizeof link, "%s/device", cls);
    assert_int_equal(symlink(target, link), 0);
}

static void sysfs_listing_and_esp_pick(void **state)
{
    (void)state;
    char root[] = "/tmp/mp-sysfs-XXXXXX";
    assert_non_null(mkdtemp(root));
    fake_usb_tty(root, "ttyUSB0", "1-1", "10c4\n", "ea60\n", "CP2102 USB to UART\n", 0);
    fake_usb_tty(root, "ttyACM0", "1-2", "303a\n", "1001\n", "USB JTAG/serial debug unit\n", 1);
    fake_usb_tty(root, "ttyACM1", "1-3", "2341\n", "0043\n", "Uno\n", 1);
    /* A legacy 8250 placeholder and a virtual console: not listed. */
    char plat[600], cls[600], link[700];
    snprintf(plat, sizeof plat, "%s/devices/platform/serial8250", root);
    mkdirs(plat);
    char bus[600];
    snprintf(bus, sizeof bus, "%s/bus/platform", root);
    mkdirs(bus);
    snprintf(link, sizeof link, "%s/subsystem", plat);
    assert_int_equal(symlink("../../bus/platform", link), 0);
    snprintf(cls, sizeof cls, "%s/class/tty/ttyS0", root);
    mkdirs(cls);
    snprintf(link, sizeof link, "%s/device", cls);
    assert_int_equal(symlink("../../../devices/platform/serial8250", link), 0);
    snprintf(cls, sizeof cls, "%s/class/tty/tty0", root);
    mkdirs(cls);

    struct port_info *v;
    size_t n;
    struct error err;
    assert_int_equal(port_list(root, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].device, "/dev/ttyACM0");
    assert_int_equal(v[0].vid, 0x303a);
    assert_int_equal(v[0].pid, 0x1001);
    assert_true(v[0].esp_likely);
    assert_true(v[0].usb_jtag);
    assert_string_equal(v[1].device, "/dev/ttyACM1");
    assert_false(v[1].esp_likely);
    assert_string_equal(v[2].device, "/dev/ttyUSB0");
    assert_int_equal(v[2].vid, 0x10c4);
    assert_string_equal(v[2].product, "CP2102 USB to UART");
    assert_true(v[2].esp_likely);
    free(v);

    struct port_info pick;
    assert_int_not_equal(port_pick(root, &pick, &err), 0);
    assert_non_null(strstr(err.msg, "several"));
    assert_non_null(strstr(err.msg, "/dev/ttyACM0"));
    assert_non_null(strstr(err.msg, "/dev/ttyUSB0"));

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f %s/class/tty/ttyUSB0/device", root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(port_pick(root, &pick, &err), 0);
    assert_string_equal(pick.device, "/dev/ttyACM0");

    snprintf(cmd, sizeof cmd, "rm -f %s/class/tty/ttyACM0/device", root);
    assert_int_equal(system(cmd), 0);
    assert_int_not_equal(port_pick(root, &pick, &err), 0);
    assert_non_null(strstr(err.msg, "no ESP serial port"));
    assert_non_null(strstr(err.msg, "/dev/ttyACM1"));

    assert_true(port_usb_is_esp(0x1a86, 0x7523));
    assert_true(port_usb_is_esp(0x1a86, 0x55d4));
    assert_true(port_usb_is_esp(0x0403, 0x6015));
    assert_false(port_usb_is_esp(0x0403, 0x6011));
    assert_false(port_usb_is_esp(0x10c4, 0xea70));

    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tty_raw_transfer_both_ways),
        cmocka_unit_test(tty_read_times_out_and_flush_discards),
        cmocka_unit_test(tty_sets_standard_and_arbitrary_bauds),
        cmocka_unit_test(port_names_are_checked),
        cmocka_unit_test(rfc2217_negotiates_and_escapes),
        cmocka_unit_test(rfc2217_busy_port_is_an_error),
        cmocka_unit_test(rfc2217_closed_connection_is_an_error),
        cmocka_unit_test(socket_port_passes_bytes_verbatim),
        cmocka_unit_test(sysfs_listing_and_esp_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
