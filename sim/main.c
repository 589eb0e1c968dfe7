/* esp-virtual-chip: a virtual ESP32-family chip speaking the ROM serial bootloader and flasher
 * stub protocol over a pty and/or an RFC 2217 server, with its flash kept in a file.
 * See sim/README.md for options, the reset model and fault injection. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "reset_seq.h"
#include "nor.h"
#include "vchip.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct app {
    struct vchip vc;
    struct link link;
    struct nor flash;
    struct reset_seq resets;
    int quiet, verbose;
    struct log log;
    int exit_on_close;
    int client_gone;
    int reboot_pending;
    double t0;
};

/* Diagnostics on stderr with a timestamp; LOG_DEBUG lines (SPI commands, line changes) only
 * with --verbose. */
static void app_emit(void *ctx, enum log_level level, const char *line)
{
    struct app *a = ctx;
    if (a->quiet || (level == LOG_DEBUG && !a->verbose))
        return;
    fprintf(stderr, "[%9.3f] %s\n", link_now() - a->t0, line);
}

static void chip_send(void *ctx, const uint8_t *bytes, size_t len)
{
    struct app *a = ctx;
    link_send(&a->link, bytes, len);
}

static void chip_baud(void *ctx, uint32_t baud)
{
    struct app *a = ctx;
    link_set_baud(&a->link, baud);
}

static uint64_t chip_now_us(void *ctx)
{
    (void)ctx;
    return (uint64_t)(link_now() * 1e6);
}

static void chip_wait_until_us(void *ctx, uint64_t t)
{
    struct app *a = ctx;
    link_wait_until(&a->link, (double)t / 1e6);
}

static uint64_t now_ms(void)
{
    return (uint64_t)(link_now() * 1000.0);
}

/* The board's DTR/RTS as the reset sequencer applies them. */
static void board_lines(void *ctx, int dtr, int rts, uint64_t at_ms)
{
    struct app *a = ctx;
    log_printf(&a->log, LOG_DEBUG, "lines: DTR=%d RTS=%d", dtr, rts);
    vchip_set_lines(&a->vc, dtr, rts, at_ms);
    if (a->vc.mode == VCHIP_OFF) {
        link_flush_rx(&a->link); /* a chip in reset hears nothing */
        link_chip_reset(&a->link);
    }
}

/* A client's DTR/RTS change over RFC 2217. */
static void on_lines(void *ctx, int dtr, int rts)
{
    struct app *a = ctx;
    log_printf(&a->log, LOG_DEBUG, "client lines: DTR=%d RTS=%d", dtr, rts);
    reset_seq_request(&a->resets, dtr, rts, now_ms());
    reset_seq_run(&a->resets, now_ms(), board_lines, a);
}

static void on_fault(void *ctx, enum link_fault_kind kind)
{
    struct app *a = ctx;
    if (kind == LF_RESET) {
        vchip_hang(&a->vc); /* mute the rest of the current reply, reboot from the main loop */
        a->reboot_pending = 1;
    } else if (kind == LF_STALL) {
        vchip_hang(&a->vc);
    }
}

static void chip_disconnect(void *ctx)
{
    struct app *a = ctx;
    link_disconnect(&a->link);
}

static void on_autobaud(void *ctx, uint32_t baud)
{
    struct app *a = ctx;
    vchip_autobaud(&a->vc, baud);
}

static void on_client_gone(void *ctx)
{
    struct app *a = ctx;
    a->client_gone = 1;
}

static void on_pty_reopened(void *ctx, const char *path)
{
    (void)ctx;
    printf("pty: %s\n", path); /* the old pty is gone: tell the user the new one */
    fflush(stdout);
}

static int parse_size(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        v *= 1024, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v == 0 || v > 0x10000000ULL || (v & 0xFFF))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned int b[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (b[i] > 255)
            return -1;
        mac[i] = (uint8_t)b[i];
    }
    return 0;
}

/* JEDEC capacity code for a size (§10): 2^code bytes. */
static uint8_t capacity_code(uint32_t size)
{
    uint8_t c = 0;
    while ((1u << c) < size)
        c++;
    return c;
}

/* --fault SPEC: KIND@N[:MS] for byte faults, fail-cmd=OP@K / noreply-cmd=OP@K per command,
 * stuck-bit@ADDR for the flash (*stuck_bit: 1 + ADDR). */
static int parse_fault(const char *spec, struct link *l, struct vchip_config *cfg,
                       uint64_t *stuck_bit)
{
    char kind[32];
    const char *at = strchr(spec, '@');
    if (!at)
        return -1;
    if (strncmp(spec, "stuck-bit@", 10) == 0) {
        char *end;
        unsigned long long addr = strtoull(at + 1, &end, 0);
        if (end == at + 1 || *end || addr > UINT32_MAX)
            return -1;
        *stuck_bit = addr + 1;
        return 0;
    }
    const char *eq = strchr(spec, '=');
    if (eq && eq < at) {
        size_t kl = (size_t)(eq - spec);
        if (kl >= sizeof kind)
            return -1;
        memcpy(kind, spec, kl);
        kind[kl] = '\0';
        char *end;
        unsigned long op = strtoul(eq + 1, &end, 0);
        if (end != at || op > 255)
            return -1;
        unsigned long k = strtoul(at + 1, &end, 0);
        if (*end || k == 0 || cfg->n_cmd_faults == VCHIP_MAX_CMD_FAULTS)
            return -1;
        struct vchip_cmd_fault *f = &cfg->cmd_faults[cfg->n_cmd_faults];
        if (strcmp(kind, "fail-cmd") == 0)
            f->kind = CMD_FAULT_FAIL;
        else if (strcmp(kind, "noreply-cmd") == 0)
            f->kind = CMD_FAULT_NO_REPLY;
        else if (strcmp(kind, "disconnect-cmd") == 0)
            f->kind = CMD_FAULT_DISCONNECT;
        else if (strcmp(kind, "hang-cmd") == 0)
            f->kind = CMD_FAULT_HANG;
        else
            return -1;
        f->opcode = (uint8_t)op;
        f->k = (uint32_t)k;
        cfg->n_cmd_faults++;
        return 0;
    }
    size_t kl = (size_t)(at - spec);
    if (kl >= sizeof kind || l->n_faults == LINK_MAX_FAULTS)
        return -1;
    memcpy(kind, spec, kl);
    kind[kl] = '\0';
    char *end;
    unsigned long long n = strtoull(at + 1, &end, 0);
    if (end == at + 1 || n == 0)
        return -1;
    struct link_fault *f = &l->faults[l->n_faults];
    memset(f, 0, sizeof *f);
    f->n = n;
    f->ms = -1;
    if (strcmp(kind, "drop-byte") == 0)
        f->kind = LF_DROP;
    else if (strcmp(kind, "corrupt-byte") == 0)
        f->kind = LF_CORRUPT;
    else if (strcmp(kind, "stall") == 0)
        f->kind = LF_STALL;
    else if (strcmp(kind, "disconnect") == 0)
        f->kind = LF_DISCONNECT;
    else if (strcmp(kind, "reset") == 0)
        f->kind = LF_RESET;
    else if (strcmp(kind, "drop-rx-byte") == 0)
        f->kind = LF_DROP_RX;
    else
        return -1;
    if (*end == ':' && f->kind == LF_STALL) {
        char *e2;
        long long ms = strtoll(end + 1, &e2, 0);
        if (*e2 || ms < 0)
            return -1;
        f->ms = ms;
    } else if (*end) {
        return -1;
    }
    l->n_faults++;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: esp-virtual-chip --chip esp32|esp32s2|esp32s3|esp32c3|esp32c6 [--flash FILE]\n"
           "         [--flash-size 4M] [--mac 24:0a:c4:00:00:01] [--image FIRMWARE.bin]\n"
           "         [--pty] [--rfc2217 PORT] [--boot download|flash] [--usb-jtag]\n"
           "         [--wire-time] [--flash-time] [--fault SPEC]... [--exit-on-close] [--quiet]\n"
           "         [--verbose] [--jedec-id 0x1640EF] [--read-in-flight N] [--no-baud-check]\n"
           "         [--revision MAJOR.MINOR] [--efuse ADDRESS=VALUE]... [--crystal 40|26]\n"
           "fault SPEC: drop-byte@N corrupt-byte@N stall@N[:MS] disconnect@N reset@N\n"
           "            drop-rx-byte@N fail-cmd=OPCODE@K noreply-cmd=OPCODE@K\n"
           "            disconnect-cmd=OPCODE@K (answered, then the line is cut)\n"
           "            hang-cmd=OPCODE@K (the ROM answers, then hangs until a reset)\n"
           "            stuck-bit@ADDR (bit 0 of the flash byte at ADDR stays 1)\n");
}

int main(int argc, char **argv)
{
    static struct app a; /* large (flash buffers, packet buffer): keep it off the stack */
    struct vchip_config cfg = {0};
    const char *chip_name = NULL, *flash_path = NULL, *image_path = NULL, *boot = NULL;
    uint32_t flash_size = 4u << 20;
    int want_pty = 0, want_tcp = 0, tcp_port = 0, wire_time = 0, flash_time = 0;
    int no_baud_check = 0;
    uint64_t stuck_bit = 0;
    static const uint8_t default_mac[6] = {0x24, 0x0a, 0xc4, 0x00, 0x00, 0x01};
    memcpy(cfg.mac, default_mac, 6);
    cfg.read_in_flight = 1;
    char err[300];

    a.log = (struct log){app_emit, &a};
    struct link_events ev = {&a,          on_lines, on_fault, on_client_gone, on_pty_reopened,
                             on_autobaud, a.log};
    link_init(&a.link, &ev, err, sizeof err);

    enum {
        O_CHIP = 256,
        O_FLASH_SIZE,
        O_MAC,
        O_FLASH,
        O_IMAGE,
        O_PTY,
        O_RFC,
        O_WIRE,
        O_FAULT,
        O_QUIET,
        O_VERBOSE,
        O_EXIT,
        O_BOOT,
        O_USB,
        O_JEDEC,
        O_INFLIGHT,
        O_NOBAUD,
        O_REV,
        O_EFUSE,
        O_XTAL,
        O_FLASH_TIME,
        O_HELP
    };
    static const struct option opts[] = {{"chip", required_argument, 0, O_CHIP},
                                         {"flash-size", required_argument, 0, O_FLASH_SIZE},
                                         {"mac", required_argument, 0, O_MAC},
                                         {"flash", required_argument, 0, O_FLASH},
                                         {"image", required_argument, 0, O_IMAGE},
                                         {"pty", no_argument, 0, O_PTY},
                                         {"rfc2217", required_argument, 0, O_RFC},
                                         {"wire-time", no_argument, 0, O_WIRE},
                                         {"fault", required_argument, 0, O_FAULT},
                                         {"quiet", no_argument, 0, O_QUIET},
                                         {"verbose", no_argument, 0, O_VERBOSE},
                                         {"exit-on-close", no_argument, 0, O_EXIT},
                                         {"boot", required_argument, 0, O_BOOT},
                                         {"usb-jtag", no_argument, 0, O_USB},
                                         {"jedec-id", required_argument, 0, O_JEDEC},
                                         {"read-in-flight", required_argument, 0, O_INFLIGHT},
                                         {"no-baud-check", no_argument, 0, O_NOBAUD},
                                         {"revision", required_argument, 0, O_REV},
                                         {"efuse", required_argument, 0, O_EFUSE},
                                         {"crystal", required_argument, 0, O_XTAL},
                                         {"flash-time", no_argument, 0, O_FLASH_TIME},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    uint32_t jedec = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_CHIP: chip_name = optarg; break;
        case O_FLASH_SIZE:
            if (parse_size(optarg, &flash_size) != 0) {
                fprintf(stderr, "esp-virtual-chip: bad --flash-size '%s'\n", optarg);
                return 2;
            }
            break;
        case O_MAC:
            if (parse_mac(optarg, cfg.mac) != 0) {
                fprintf(stderr, "esp-virtual-chip: bad --mac '%s'\n", optarg);
                return 2;
            }
            break;
        case O_FLASH: flash_path = optarg; break;
        case O_IMAGE: image_path = optarg; break;
        case O_PTY: want_pty = 1; break;
        case O_RFC: {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || p < 0 || p > 65535) {
                fprintf(stderr, "esp-virtual-chip: bad --rfc2217 port '%s'\n", optarg);
                return 2;
            }
            want_tcp = 1;
            tcp_port = (int)p;
            break;
        }
        case O_WIRE: wire_time = 1; break;
        case O_FLASH_TIME: flash_time = 1; break;
        case O_FAULT:
            if (parse_fault(optarg, &a.link, &cfg, &stuck_bit) != 0) {
                fprintf(stderr, "esp-virtual-chip: bad --fault '%s'\n", optarg);
                usage(stderr);
                return 2;
            }
            break;
        case O_QUIET: a.quiet = 1; break;
        case O_VERBOSE: a.verbose = 1; break;
        case O_EXIT: a.exit_on_close = 1; break;
        case O_BOOT: boot = optarg; break;
        case O_USB: cfg.usb_jtag = 1; break;
        case O_JEDEC: jedec = (uint32_t)strtoul(optarg, NULL, 0); break;
        case O_INFLIGHT: cfg.read_in_flight = (uint32_t)strtoul(optarg, NULL, 0); break;
        case O_NOBAUD: no_baud_check = 1; break;
        case O_REV: {
            unsigned major, minor;
            char tail;
            if (sscanf(optarg, "%u.%u%c", &major, &minor, &tail) != 2 || major > 3 ||
                minor > 15) {
                fprintf(stderr, "esp-virtual-chip: bad --revision '%s' (MAJOR.MINOR, e.g. 0.4)\n",
                        optarg);
                return 2;
            }
            cfg.revision_set = 1;
            cfg.rev_major = (uint8_t)major;
            cfg.rev_minor = (uint8_t)minor;
            break;
        }
        case O_EFUSE: {
            char *end;
            unsigned long addr = strtoul(optarg, &end, 0), value = 0;
            int ok = *end == '=';
            if (ok) {
                char *e2;
                value = strtoul(end + 1, &e2, 0);
                ok = e2 != end + 1 && !*e2 && addr <= 0xFFFFFFFFul && value <= 0xFFFFFFFFul &&
                     !(addr & 3) && cfg.n_efuse_words < VCHIP_MAX_EFUSE_WORDS;
            }
            if (!ok) {
                fprintf(stderr, "esp-virtual-chip: bad --efuse '%s' (ADDRESS=VALUE)\n", optarg);
                return 2;
            }
            cfg.efuse_words[cfg.n_efuse_words].addr = (uint32_t)addr;
            cfg.efuse_words[cfg.n_efuse_words].value = (uint32_t)value;
            cfg.n_efuse_words++;
            break;
        }
        case O_XTAL:
            if (strcmp(optarg, "40") == 0)
                cfg.xtal_hz = 40000000;
            else if (strcmp(optarg, "26") == 0)
                cfg.xtal_hz = 26000000;
            else {
                fprintf(stderr, "esp-virtual-chip: --crystal must be 40 or 26 (MHz)\n");
                return 2;
            }
            break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !chip_name) {
        usage(stderr);
        return 2;
    }
    /* The chips whose ROM the table describes (boot log and all) can be played. */
    cfg.chip = chip_by_name(chip_name);
    if (!cfg.chip || !cfg.chip->rom.banner) {
        char names[200] = "";
        size_t n;
        const struct chip *t = chip_table(&n);
        for (size_t i = 0; i < n; i++)
            if (t[i].rom.banner)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         names[0] ? ", " : "", t[i].name);
        fprintf(stderr, "esp-virtual-chip: unsupported chip '%s' (%s)\n", chip_name, names);
        return 2;
    }
    if (cfg.xtal_hz == 26000000 && !cfg.chip->rom.baud_from_xtal_estimate) {
        fprintf(stderr, "esp-virtual-chip: the %s has a 40 MHz crystal\n", cfg.chip->description);
        return 2;
    }
    if (cfg.usb_jtag && !cfg.chip->usb_jtag) {
        fprintf(stderr, "esp-virtual-chip: %s has no USB-Serial/JTAG\n", cfg.chip->description);
        return 2;
    }
    if (!want_pty && !want_tcp)
        want_pty = 1;
    int download = want_pty;
    if (boot) {
        if (strcmp(boot, "download") == 0)
            download = 1;
        else if (strcmp(boot, "flash") == 0)
            download = 0;
        else {
            fprintf(stderr, "esp-virtual-chip: --boot must be download or flash\n");
            return 2;
        }
    }
    /* Winbond-style id: manufacturer 0xEF, type 0x40, capacity 2^code bytes. */
    cfg.jedec_id = jedec ? jedec : (0xEFu | 0x40u << 8 | (uint32_t)capacity_code(flash_size) << 16);

    if (nor_open(&a.flash, flash_path, flash_size, err, sizeof err) != 0) {
        fprintf(stderr, "esp-virtual-chip: %s\n", err);
        return 1;
    }
    a.flash.stuck_bit = stuck_bit;
    if (image_path) {
        FILE *f = fopen(image_path, "rb");
        if (!f) {
            fprintf(stderr, "esp-virtual-chip: %s: %s\n", image_path, strerror(errno));
            nor_close(&a.flash);
            return 1;
        }
        uint8_t *buf = malloc(flash_size);
        size_t n = buf ? fread(buf, 1, flash_size, f) : 0;
        int too_big = buf && fgetc(f) != EOF;
        fclose(f);
        uint32_t off = cfg.chip->bootloader_offset;
        if (!buf || too_big || n > flash_size - off) {
            fprintf(stderr, "esp-virtual-chip: %s does not fit in the flash at 0x%x\n", image_path, off);
            free(buf);
            nor_close(&a.flash);
            return 1;
        }
        nor_erase_all(&a.flash);
        nor_load(&a.flash, off, buf, (uint32_t)n);
        nor_flush(&a.flash);
        free(buf);
    }

    a.link.wire_time = wire_time;
    a.link.baud_check = !no_baud_check;
    if (want_pty && link_open_pty(&a.link, err, sizeof err) != 0) {
        fprintf(stderr, "esp-virtual-chip: %s\n", err);
        nor_close(&a.flash);
        return 1;
    }
    if (want_tcp && link_listen(&a.link, (uint16_t)tcp_port, err, sizeof err) != 0) {
        fprintf(stderr, "esp-virtual-chip: %s\n", err);
        link_close(&a.link);
        nor_close(&a.flash);
        return 1;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct vchip_io io = {&a, chip_send, chip_baud, a.log, NULL, NULL, chip_disconnect};
    if (flash_time) {
        io.now_us = chip_now_us;
        io.wait_until_us = chip_wait_until_us;
    }
    vchip_init(&a.vc, &cfg, &io, &a.flash);
    reset_seq_init(&a.resets, cfg.usb_jtag);
    a.t0 = link_now();

    if (want_pty)
        printf("pty: %s\n", a.link.pty_path);
    if (want_tcp)
        printf("rfc2217://127.0.0.1:%u\n", a.link.port);
    fflush(stdout);
    log_printf(&a.log, LOG_INFO, "%s, flash %u KiB, boot %s%s%s%s", cfg.chip->description,
               flash_size / 1024, download ? "download" : "flash", wire_time ? ", wire time" : "",
               flash_time ? ", flash time" : "", cfg.usb_jtag ? ", USB-Serial/JTAG" : "");
    vchip_power_on(&a.vc, download);

    double last_rx = link_now();
    while (!stop_requested) {
        uint64_t tick = vchip_tick(&a.vc, now_ms());
        uint64_t step = reset_seq_run(&a.resets, now_ms(), board_lines, &a);
        if (step < tick)
            tick = step;
        if (a.reboot_pending) {
            a.reboot_pending = 0;
            link_flush_rx(&a.link);
            link_chip_reset(&a.link);
            vchip_reboot(&a.vc, 1, RESET_SW);
        }
        struct rx_chunk ch;
        int fed = 0;
        while (!stop_requested && link_pop(&a.link, link_now(), &ch)) {
            vchip_feed(&a.vc, ch.data, ch.len);
            free(ch.data);
            fed = 1;
        }
        if (fed)
            last_rx = link_now();
        else if (link_now() - last_rx > 0.2)
            nor_flush(&a.flash); /* idle: keep the backing file current */
        if (a.client_gone) {
            a.client_gone = 0;
            if (a.exit_on_close)
                break;
        }
        double deadline = link_now() + 0.5;
        if (tick != UINT64_MAX && (double)tick / 1000.0 < deadline)
            deadline = (double)tick / 1000.0;
        if (link_next_ready(&a.link) < deadline)
            deadline = link_next_ready(&a.link);
        if (a.flash.dirty_hi > a.flash.dirty_lo && last_rx + 0.2 < deadline)
            deadline = last_rx + 0.201;
        link_service(&a.link, deadline);
    }
    vchip_free(&a.vc);
    link_close(&a.link);
    nor_close(&a.flash);
    return 0;
}
