/* Tests of the esp-virtual-chip program itself: its pty and RFC 2217 endpoints, DTR/RTS resets
 * through telnet SET-CONTROL, the baud agreement model, byte faults, the flash file and exit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "serial/slip.h"
#include "util/bytes.h"

#ifndef SIM_PROGRAM
#error "SIM_PROGRAM (path of esp-virtual-chip) must be defined"
#endif

struct proc {
    pid_t pid;
    FILE *out;
    char endpoint[256];
};

/* The program a test started, killed by the teardown if a failed assertion left it running. */
static pid_t live_pid;

static int kill_leftover(void **state)
{
    (void)state;
    if (live_pid > 0) {
        kill(live_pid, SIGKILL);
        waitpid(live_pid, NULL, 0);
    }
    live_pid = 0;
    return 0;
}

/* Start the program; returns the first line it prints (the pty path or the URL). */
static void start(struct proc *p, const char *const *args)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = SIM_PROGRAM;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "--quiet";
    argv[n] = NULL;
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(SIM_PROGRAM, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    live_pid = p->pid;
    p->out = fdopen(fds[0], "r");
    assert_non_null(fgets(p->endpoint, sizeof p->endpoint, p->out));
    p->endpoint[strcspn(p->endpoint, "\n")] = '\0';
}

static int stop(struct proc *p)
{
    kill(p->pid, SIGTERM);
    int st = 0;
    waitpid(p->pid, &st, 0);
    live_pid = 0;
    fclose(p->out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read whatever arrives within `seconds` (stopping early once `until` has been seen). */
static size_t read_for(int fd, uint8_t *buf, size_t cap, double seconds, const char *until)
{
    size_t n = 0;
    double end = now() + seconds;
    while (n < cap) {
        double left = end - now();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            break;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (until && memmem(buf, n, until, strlen(until)))
            break;
    }
    return n;
}

static size_t count_frames(const uint8_t *buf, size_t n, uint8_t first[64])
{
    uint8_t pkt[256];
    struct slip_decoder d;
    slip_decoder_init(&d, pkt, sizeof pkt);
    size_t frames = 0;
    for (size_t i = 0; i < n; i++)
        if (slip_decode_byte(&d, buf[i]) == SLIP_PACKET) {
            if (frames == 0 && first)
                memcpy(first, pkt, d.len < 64 ? d.len : 64);
            frames++;
        }
    return frames;
}

static size_t sync_frame(uint8_t *out)
{
    uint8_t pkt[8 + 36] = {0x00, 0x08, 36, 0};
    pkt[8] = 0x07;
    pkt[9] = 0x07;
    pkt[10] = 0x12;
    pkt[11] = 0x20;
    memset(pkt + 12, 0x55, 32);
    return slip_encode(pkt, sizeof pkt, out);
}

static int open_pty(const char *endpoint, speed_t speed)
{
    assert_int_equal(strncmp(endpoint, "pty: ", 5), 0);
    int fd = open(endpoint + 5, O_RDWR | O_NOCTTY);
    assert_true(fd >= 0);
    struct termios t;
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    cfsetispeed(&t, speed);
    cfsetospeed(&t, speed);
    tcsetattr(fd, TCSANOW, &t);
    return fd;
}

static void pty_session_writes_the_flash_file(void **state)
{
    (void)state;
    char path[] = "/tmp/vchip-prog-XXXXXX";
    int tmp = mkstemp(path);
    close(tmp);
    struct proc p;
    const char *args[] = {"--chip", "esp32", "--pty", "--flash", path, "--flash-size", "1M", NULL};
    start(&p, args);
    int fd = open_pty(p.endpoint, B115200);
    uint8_t buf[4096], enc[SLIP_ENCODED_MAX(0x1000 + 64)], first[64];
    size_t n = sync_frame(enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(count_frames(buf, n, first), 8);
    assert_int_equal(first[1], 0x08);

    /* ROM FLASH_BEGIN of one 4 KiB block at 0x8000, then the block */
    uint8_t cmd[8 + 16 + 0x1000] = {0x00, 0x02, 16, 0};
    put_le32(cmd + 8, 0x1000);
    put_le32(cmd + 12, 1);
    put_le32(cmd + 16, 0x1000);
    put_le32(cmd + 20, 0x8000);
    n = slip_encode(cmd, 8 + 16, enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 1.0, "\xc0");
    uint8_t data[0x1000];
    uint8_t x = 0xEF;
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 13 + 5);
        x ^= data[i];
    }
    cmd[1] = 0x03;
    cmd[2] = (uint8_t)((16 + 0x1000) & 0xFF);
    cmd[3] = (uint8_t)((16 + 0x1000) >> 8);
    put_le32(cmd + 4, x);
    put_le32(cmd + 8, 0x1000);
    put_le32(cmd + 12, 0);
    put_le32(cmd + 16, 0);
    put_le32(cmd + 20, 0);
    memcpy(cmd + 24, data, sizeof data);
    n = slip_encode(cmd, sizeof cmd, enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(count_frames(buf, n, first), 1);
    assert_int_equal(first[1], 0x03);
    assert_int_equal(first[8], 0); /* status ok */
    close(fd);
    assert_int_equal(stop(&p), 0);

    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), 1 << 20);
    uint8_t back[0x1000];
    fseek(f, 0x8000, SEEK_SET);
    assert_int_equal(fread(back, 1, sizeof back, f), sizeof back);
    assert_memory_equal(back, data, sizeof data);
    fclose(f);
    unlink(path);
}

/* The ROM's auto-baud (§1): a SYNC at another speed is lost while the ROM measures it, the
 * next one is answered at the new speed; a host at a speed the chip does not expect hears
 * garbage, never a valid frame. */
static void pty_rom_auto_bauds_on_sync(void **state)
{
    (void)state;
    struct proc p;
    const char *args[] = {"--chip", "esp32c3", "--pty", NULL};
    start(&p, args);
    int fd = open_pty(p.endpoint, B921600); /* the ROM talks at 115200 */
    uint8_t buf[4096], enc[128];
    size_t n = sync_frame(enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 0.5, NULL);
    assert_int_equal(count_frames(buf, n, NULL), 0);
    n = sync_frame(enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(count_frames(buf, n, NULL), 8);
    struct termios t;
    tcgetattr(fd, &t);
    cfsetispeed(&t, B115200);
    cfsetospeed(&t, B115200);
    tcsetattr(fd, TCSANOW, &t);
    /* the chip still sends at 921600: a host at 115200 sees no frame */
    static const uint8_t read_magic[] = {0xC0, 0x00, 0x0A, 0x04, 0x00, 0,    0,
                                         0,    0,    0x00, 0x10, 0x00, 0x40, 0xC0};
    assert_int_equal(write(fd, read_magic, sizeof read_magic), (ssize_t)sizeof read_magic);
    n = read_for(fd, buf, sizeof buf, 0.5, NULL);
    assert_int_equal(count_frames(buf, n, NULL), 0);
    n = sync_frame(enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    read_for(fd, buf, sizeof buf, 0.5, NULL);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(count_frames(buf, n, NULL), 8);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static void byte_fault_hits_the_counted_byte(void **state)
{
    (void)state;
    /* The ESP32 boot log is sent before anyone listens but still counted; the byte after it
     * and the opening C0 is the direction byte of the first SYNC reply. */
    static const char log[] = "ets Jun  8 2016 00:22:57\r\n\r\n"
                              "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\n"
                              "waiting for download\r\n";
    char spec[64];
    snprintf(spec, sizeof spec, "corrupt-byte@%zu", strlen(log) + 2);
    struct proc p;
    const char *args[] = {"--chip", "esp32", "--pty", "--fault", spec, NULL};
    start(&p, args);
    int fd = open_pty(p.endpoint, B115200);
    uint8_t buf[4096], enc[128], first[64];
    size_t n = sync_frame(enc);
    assert_int_equal(write(fd, enc, n), (ssize_t)n);
    n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(count_frames(buf, n, first), 8);
    assert_int_equal(first[0], 0x01 ^ 0x5A);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static int tcp_connect(const char *url)
{
    unsigned port = 0;
    assert_int_equal(sscanf(url, "rfc2217://127.0.0.1:%u", &port), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void set_control(int fd, uint8_t v)
{
    uint8_t m[] = {255, 250, 44, 5, v, 255, 240};
    assert_int_equal(write(fd, m, sizeof m), (ssize_t)sizeof m);
}

static const char esp32_download_log[] =
    "ets Jun  8 2016 00:22:57\r\n\r\n"
    "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\n"
    "waiting for download\r\n";

static size_t sync_over(int fd, uint8_t *buf, size_t cap, double seconds)
{
    uint8_t enc[128];
    size_t k = sync_frame(enc);
    assert_int_equal(write(fd, enc, k), (ssize_t)k);
    size_t n = read_for(fd, buf, cap, seconds, NULL);
    return count_frames(buf, n, NULL);
}

static void endless_stall_ends_with_a_reset(void **state)
{
    (void)state;
    char spec[64];
    snprintf(spec, sizeof spec, "stall@%zu", strlen(esp32_download_log) + 1);
    struct proc p;
    const char *args[] = {"--chip", "esp32", "--rfc2217", "0", "--boot", "download", "--fault", spec, NULL};
    start(&p, args);
    int fd = tcp_connect(p.endpoint);
    uint8_t buf[8192];
    read_for(fd, buf, sizeof buf, 0.2, NULL);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 0.5), 0); /* stalled */
    assert_int_equal(sync_over(fd, buf, sizeof buf, 0.3), 0); /* still */
    set_control(fd, 9); /* reset into download mode */
    set_control(fd, 11);
    usleep(100000);
    set_control(fd, 8);
    set_control(fd, 12);
    usleep(50000);
    set_control(fd, 9);
    size_t n = read_for(fd, buf, sizeof buf, 1.0, "waiting for download\r\n");
    assert_non_null(memmem(buf, n, "waiting for download", 20));
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static void disconnect_fault_closes_the_connection(void **state)
{
    (void)state;
    char spec[64];
    snprintf(spec, sizeof spec, "disconnect@%zu", strlen(esp32_download_log) + 5);
    struct proc p;
    const char *args[] = {"--chip", "esp32", "--rfc2217", "0", "--boot", "download", "--fault", spec, NULL};
    start(&p, args);
    int fd = tcp_connect(p.endpoint);
    uint8_t buf[8192], enc[128];
    read_for(fd, buf, sizeof buf, 0.2, NULL);
    size_t k = sync_frame(enc);
    assert_int_equal(write(fd, enc, k), (ssize_t)k);
    size_t n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(n, 4); /* C0 01 08 04, then the connection ends */
    struct pollfd pf = {fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 1000), 1);
    assert_int_equal(read(fd, buf, 1), 0); /* EOF */
    close(fd);
    fd = tcp_connect(p.endpoint); /* the chip is still there */
    read_for(fd, buf, sizeof buf, 0.2, NULL);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static void pty_disconnect_prints_the_new_pty(void **state)
{
    (void)state;
    char spec[64];
    snprintf(spec, sizeof spec, "disconnect@%zu", strlen(esp32_download_log) + 1);
    struct proc p;
    const char *args[] = {"--chip", "esp32", "--pty", "--fault", spec, NULL};
    start(&p, args);
    int fd = open_pty(p.endpoint, B115200);
    uint8_t buf[4096];
    assert_int_equal(sync_over(fd, buf, sizeof buf, 0.5), 0);
    close(fd);
    char line[256];
    assert_non_null(fgets(line, sizeof line, p.out));
    line[strcspn(line, "\n")] = '\0';
    assert_int_equal(strncmp(line, "pty: /dev/", 10), 0); /* the kernel may reuse the number */
    fd = open_pty(line, B115200);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static void dropped_input_byte_loses_one_command(void **state)
{
    (void)state;
    struct proc p;
    /* byte 1 received is the opening C0 of the first SYNC: that packet is never seen */
    const char *args[] = {"--chip", "esp32c6", "--pty", "--fault", "drop-rx-byte@1", NULL};
    start(&p, args);
    int fd = open_pty(p.endpoint, B115200);
    uint8_t buf[4096];
    assert_int_equal(sync_over(fd, buf, sizeof buf, 0.5), 0);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static void rfc2217_reset_into_download_and_exit_on_close(void **state)
{
    (void)state;
    struct proc p;
    const char *args[] = {"--chip", "esp32s3", "--rfc2217", "0", "--exit-on-close", NULL};
    start(&p, args);
    assert_int_equal(strncmp(p.endpoint, "rfc2217://127.0.0.1:", 20), 0);
    int fd = tcp_connect(p.endpoint);
    uint8_t buf[8192];
    /* the server offers BINARY and SGA both ways */
    size_t n = read_for(fd, buf, sizeof buf, 0.3, NULL);
    static const uint8_t offer[] = {255, 251, 0, 255, 253, 0};
    assert_non_null(memmem(buf, n, offer, sizeof offer));
    uint8_t will[] = {255, 251, 44};
    assert_int_equal(write(fd, will, 3), 3);
    /* classic reset: DTR off + RTS on, then DTR on + RTS off, then DTR off */
    set_control(fd, 9);
    set_control(fd, 11);
    usleep(100000);
    set_control(fd, 8);
    set_control(fd, 12);
    usleep(50000);
    set_control(fd, 9);
    n = read_for(fd, buf, sizeof buf, 1.0, "waiting for download\r\n");
    static const uint8_t do_com[] = {255, 253, 44};
    assert_non_null(memmem(buf, n, do_com, 3));
    static const uint8_t ack_rts_on[] = {255, 250, 44, 105, 11, 255, 240};
    assert_non_null(memmem(buf, n, ack_rts_on, sizeof ack_rts_on));
    assert_non_null(memmem(buf, n, "rst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))", 48));
    uint8_t enc[128];
    size_t k = sync_frame(enc);
    assert_int_equal(write(fd, enc, k), (ssize_t)k);
    n = read_for(fd, buf, sizeof buf, 1.0, NULL);
    assert_int_equal(count_frames(buf, n, NULL), 8);
    close(fd);
    /* --exit-on-close: the program ends by itself, status 0 */
    int st = -1;
    double end = now() + 3;
    while (now() < end && waitpid(p.pid, &st, WNOHANG) == 0)
        usleep(20000);
    assert_true(WIFEXITED(st));
    live_pid = 0;
    assert_int_equal(WEXITSTATUS(st), 0);
    fclose(p.out);
}

/* The client's line changes arrive one SET-CONTROL at a time, 60 ms apart, as from pyserial,
 * which waits for each acknowledgement: the classic sequence still reaches download mode (the
 * server applies the release at once), on a bridge board and on a USB-Serial/JTAG port, and an
 * RTS pulse runs the application. */
static void slow_reset_sequence(const char *chip, int usb_jtag)
{
    struct proc p;
    const char *bridge[] = {"--chip", chip, "--rfc2217", "0", NULL};
    const char *usb[] = {"--chip", chip, "--rfc2217", "0", "--usb-jtag", NULL};
    start(&p, usb_jtag ? usb : bridge);
    int fd = tcp_connect(p.endpoint);
    uint8_t buf[8192];
    read_for(fd, buf, sizeof buf, 0.2, NULL);
    static const uint8_t classic[] = {8, 11, 9, 11, 8, 12, 8, 9}; /* pyserial opens DTR, RTS on */
    for (size_t i = 0; i < sizeof classic; i++) {
        set_control(fd, classic[i]);
        usleep(60000);
    }
    size_t n = read_for(fd, buf, sizeof buf, 1.0, "waiting for download\r\n");
    assert_non_null(memmem(buf, n, "waiting for download", 20));
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    /* hard reset: RTS asserted for 100 ms, released */
    set_control(fd, 11);
    usleep(100000);
    set_control(fd, 12);
    n = read_for(fd, buf, sizeof buf, 1.0, "until the next reset\r\n");
    assert_non_null(memmem(buf, n, "SPI_FAST_FLASH_BOOT", 19));
    assert_null(memmem(buf, n, "waiting for download", 20));
    close(fd);
    assert_int_equal(stop(&p), 0);
}

static void rfc2217_server_applies_slow_reset_sequences(void **state)
{
    (void)state;
    slow_reset_sequence("esp32", 0);
    slow_reset_sequence("esp32c3", 1);
}

/* disconnect-cmd=OP@K: the Kth command OP is answered, then the connection ends. */
static void disconnect_cmd_fault_cuts_at_the_command(void **state)
{
    (void)state;
    struct proc p;
    const char *args[] = {"--chip", "esp32c6",  "--rfc2217", "0",
                          "--boot", "download", "--fault",   "disconnect-cmd=0x08@2",
                          NULL};
    start(&p, args);
    int fd = tcp_connect(p.endpoint);
    uint8_t buf[8192];
    read_for(fd, buf, sizeof buf, 0.2, NULL);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    struct pollfd pf = {fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 1000), 1);
    assert_int_equal(read(fd, buf, sizeof buf), 0); /* EOF */
    close(fd);
    fd = tcp_connect(p.endpoint);
    read_for(fd, buf, sizeof buf, 0.2, NULL);
    assert_int_equal(sync_over(fd, buf, sizeof buf, 1.0), 8);
    close(fd);
    assert_int_equal(stop(&p), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pty_session_writes_the_flash_file, kill_leftover),
        cmocka_unit_test_teardown(pty_rom_auto_bauds_on_sync, kill_leftover),
        cmocka_unit_test_teardown(byte_fault_hits_the_counted_byte, kill_leftover),
        cmocka_unit_test_teardown(rfc2217_reset_into_download_and_exit_on_close, kill_leftover),
        cmocka_unit_test_teardown(endless_stall_ends_with_a_reset, kill_leftover),
        cmocka_unit_test_teardown(disconnect_fault_closes_the_connection, kill_leftover),
        cmocka_unit_test_teardown(pty_disconnect_prints_the_new_pty, kill_leftover),
        cmocka_unit_test_teardown(dropped_input_byte_loses_one_command, kill_leftover),
        cmocka_unit_test_teardown(rfc2217_server_applies_slow_reset_sequences, kill_leftover),
        cmocka_unit_test_teardown(disconnect_cmd_fault_cuts_at_the_command, kill_leftover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
