/* Bootloader protocol client: reset, sync, chip detection, stub upload, baud change, opening
 * a connection and recovery after faults. */
#include "loader/loader.h"
#include "loader/loader_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------------ reset and sync */

static int lines(struct loader *l, int dtr, int rts, struct error *err)
{
    return port_set_lines(l->port, dtr, rts, err) == 0 ? 0 : LOADER_E_LINK;
}

int loader_reset_to_bootloader(struct loader *l, enum loader_reset how, int attempt,
                               struct error *err)
{
    if (how == LOADER_RESET_NONE)
        return 0;
    if (how == LOADER_RESET_AUTO)
        how = l->port->usb_vid == 0x303a && l->port->usb_pid == 0x1001 ? LOADER_RESET_USB_JTAG
                                                                         : LOADER_RESET_CLASSIC;
    int r = 0;
    if (how == LOADER_RESET_USB_JTAG) {
        /* §4.4: arm download with DTR=1/RTS=0, reset by entering DTR=0/RTS=1 through 1/1. */
        if ((r = lines(l, 0, 0, err)) != 0)
            return r;
        loader_sleep_ms(100);
        if ((r = lines(l, 1, 0, err)) != 0)
            return r;
        loader_sleep_ms(100);
        if ((r = lines(l, 1, 1, err)) != 0 || (r = lines(l, 0, 1, err)) != 0)
            return r;
        loader_sleep_ms(100);
        return lines(l, 0, 0, err);
    }
    /* §4.3 "tight" sequence: EN low with the strap released, then EN high with the strap
     * low; the reset delay alternates 50 / 550 ms between attempts. */
    int delay = attempt % 2 ? 550 : 50;
    if ((r = lines(l, 0, 0, err)) != 0 || (r = lines(l, 1, 1, err)) != 0 ||
        (r = lines(l, 0, 1, err)) != 0)
        return r;
    loader_sleep_ms(100);
    if ((r = lines(l, 1, 0, err)) != 0)
        return r;
    loader_sleep_ms(delay);
    return lines(l, 0, 0, err);
}

int loader_hard_reset(struct loader *l, struct error *err)
{
    int usb = l->port->usb_vid == 0x303a;
    int r = lines(l, 0, 1, err);
    if (r != 0)
        return r;
    loader_sleep_ms(usb ? 200 : 100);
    r = lines(l, 0, 0, err);
    if (usb)
        loader_sleep_ms(200);
    return r;
}

/* One SYNC try: returns 1 when answered (sets *stub_running), 0 when not, <0 on link loss. */
static int sync_once(struct loader *l, int *stub_running, struct error *err)
{
    uint8_t d[36] = {0x07, 0x07, 0x12, 0x20};
    memset(d + 4, 0x55, 32);
    uint8_t head[8] = {0x00, LOADER_SYNC, 36, 0};
    int r = loader_flush(l, err);
    if (r != 0)
        return r;
    if (loader_send_frame(l, head, 8, d, 36, err) != 0)
        return LOADER_E_LINK;
    /* §5: eight replies, value 0 from a stub, non-zero from the ROM. Some may be lost on a
     * noisy line: one valid reply is enough, the rest are drained. */
    int replies = 0, nonzero = 0;
    int64_t deadline = loader_now_ms() + 100;
    for (;;) {
        int64_t left = deadline - loader_now_ms();
        if (left < 0)
            break;
        r = loader_recv_packet(l, (int)left, err);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        const uint8_t *p = l->pkt;
        if (l->dec.len >= 10 && p[0] == 1 && p[1] == LOADER_SYNC && p[8] == 0) {
            replies++;
            if (get_le32(p + 4))
                nonzero++;
            deadline = loader_now_ms() + 100; /* each further reply within 0.1 s */
            if (replies == 8)
                break;
        }
    }
    if (!replies)
        return 0;
    *stub_running = nonzero == 0;
    return 1;
}

int loader_sync(struct loader *l, struct error *err)
{
    for (int i = 0; i < 5; i++) {
        int stub = 0;
        int r = sync_once(l, &stub, err);
        if (r < 0)
            return r;
        if (r == 1) {
            l->stub = stub;
            return 0;
        }
        loader_sleep_ms(50);
    }
    return error_fail(err, LOADER_E_TIMEOUT, ERROR_DEVICE,
                      "%s: no reply to SYNC (is the chip in download mode?)", l->port->name);
}

/* ------------------------------------------------------------------ chip detection (§8) */

/* The chip whose ROM answers GET_SECURITY_INFO without a chip id (§6.9). */
static const struct chip *chip_without_security_chip_id(void)
{
    size_t n;
    const struct chip *t = chip_table(&n);
    for (size_t i = 0; i < n; i++)
        if (t[i].rom.security_info_len == 12)
            return &t[i];
    return NULL;
}

int loader_detect_chip(struct loader *l, struct error *err)
{
    uint8_t info[32];
    /* 20 bytes; the ESP32-S2 ROM sends the first 12 only (§6.9). */
    struct loader_cmd c = {.op = LOADER_GET_SECURITY_INFO,
                           .resp = info,
                           .resp_cap = sizeof info,
                           .retries = 1};
    int r = loader_command(l, &c, err);
    size_t n = c.resp_len;
    const struct chip *found = NULL;
    if (r == 0) {
        if (n >= 12)
            l->security_flags = get_le32(info);
        l->secure_download = (l->security_flags >> 2) & 1;
        if (n >= 20) {
            uint32_t id = get_le32(info + 12);
            const struct chip *c = chip_by_image_id((uint16_t)id);
            /* ESP32 and ESP32-S2 are recognised by their magic value only. */
            if (c && id <= 0xFFFF && !c->rom.uses_magic_value)
                found = c;
        }
    } else if (r == LOADER_E_LINK) {
        return r;
    }
    if (!found) {
        uint32_t magic;
        r = loader_read_reg(l, 0x40001000, &magic, err);
        if (r == LOADER_E_FAIL && l->secure_download == 0) {
            /* READ_REG refused: ESP32-S2 in secure download mode (§8), the chip whose
             * GET_SECURITY_INFO carries no chip id. */
            found = chip_without_security_chip_id();
            l->secure_download = 1;
        } else if (r != 0) {
            return error_wrap(err, r, "detecting the chip");
        } else {
            found = chip_by_magic(magic);
            if (!found)
                return error_fail(err, LOADER_E_FAIL, ERROR_DEVICE,
                                  "unknown chip: magic value 0x%08x at 0x40001000", magic);
        }
    }
    l->chip = found;
    return 0;
}

/* ------------------------------------------------------------------ stub upload (§11.1) */

static int b64_decode(const char *in, uint8_t **out, size_t *outlen)
{
    size_t n = strlen(in);
    *out = malloc(n / 4 * 3 + 3);
    if (!*out)
        return -1;
    int k = EVP_DecodeBlock(*out, (const unsigned char *)in, (int)n);
    if (k < 0) {
        free(*out);
        return -1;
    }
    /* EVP_DecodeBlock counts the bytes the '=' padding stands for. */
    while (n && in[n - 1] == '=') {
        n--;
        k--;
    }
    *outlen = (size_t)k;
    return 0;
}

static int mem_load(struct loader *l, uint32_t addr, const uint8_t *data, size_t len,
                    struct error *err)
{
    uint32_t blocks = (uint32_t)((len + RAM_BLOCK - 1) / RAM_BLOCK);
    uint8_t d[16];
    struct loader_cmd begin = {
        .op = LOADER_MEM_BEGIN,
        .data = d,
        .retries = 1,
        .len = loader_pack(d, (uint32_t[]){(uint32_t)len, blocks, RAM_BLOCK, addr}, 4)};
    int r = loader_command(l, &begin, err);
    if (r != 0)
        return r;
    uint8_t *buf = malloc(16 + RAM_BLOCK);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory");
    for (uint32_t seq = 0; seq < blocks; seq++) {
        size_t off = (size_t)seq * RAM_BLOCK;
        size_t n = len - off < RAM_BLOCK ? len - off : RAM_BLOCK;
        struct loader_cmd c = loader_data_cmd(LOADER_MEM_DATA, buf, seq, data + off, n);
        r = loader_command(l, &c, err);
        if (r != 0) {
            free(buf);
            return error_wrap(err, r, "loading RAM at 0x%08x", addr + (uint32_t)off);
        }
    }
    free(buf);
    return 0;
}

int loader_run_stub(struct loader *l, struct error *err)
{
    const struct loader_stub *s = l->chip ? loader_stub_for(l->chip->name) : NULL;
    if (!s)
        return error_fail(err, LOADER_E_UNSUPPORTED, ERROR_DEVICE,
                          "no flasher stub for %s in this build",
                          l->chip ? l->chip->description : "this chip");
    uint8_t *text = NULL, *data = NULL;
    size_t tlen = 0, dlen = 0;
    if (b64_decode(s->text_b64, &text, &tlen) != 0 ||
        (s->data_b64 && s->data_b64[0] && b64_decode(s->data_b64, &data, &dlen) != 0)) {
        free(text);
        return error_setk(err, ERROR_DEVICE, "embedded stub for %s is corrupt", s->chip);
    }
    int r = mem_load(l, s->text_start, text, tlen, err);
    if (r == 0 && dlen)
        r = mem_load(l, s->data_start, data, dlen, err);
    free(text);
    free(data);
    if (r != 0)
        return error_wrap(err, r, "uploading the flasher stub");
    uint8_t d[8];
    /* §6.3: the ROM's MEM_END reply may be lost when the stub takes over the UART. */
    struct loader_cmd end = {.op = LOADER_MEM_END,
                             .data = d,
                             .len = loader_pack(d, (uint32_t[]){0, s->entry}, 2),
                             .timeout_ms = 200};
    r = loader_command(l, &end, err);
    if (r == LOADER_E_LINK)
        return r;
    int64_t deadline = loader_now_ms() + 1000;
    for (;;) {
        int64_t left = deadline - loader_now_ms();
        if (left < 0)
            break;
        r = loader_recv_packet(l, (int)left, err);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        if (l->dec.len == 4 && memcmp(l->pkt, "OHAI", 4) == 0) {
            l->stub = 1;
            l->attached = 1; /* the stub attaches the flash itself */
            l->params_size = 0;
            return 0;
        }
    }
    return error_fail(err, LOADER_E_TIMEOUT, ERROR_DEVICE,
                      "the flasher stub did not start (no OHAI greeting)");
}

/* The baud to ask a ROM for so that it runs at `baud` (§6.7), as esptool computes it: the
 * ESP32 ROM divides its own crystal estimate (RTC calibration x 15625 x CK8M_FREQ / 40), a
 * little off the real crystal; the ESP32-C2 ROM assumes 40 MHz, also with a 26 MHz crystal. */
static uint32_t rom_baud_request(struct loader *l, uint32_t baud)
{
    const struct chip_rom *rom = &l->chip->rom;
    struct error e;
    if (!rom->baud_from_xtal_estimate)
        return baud;
    if (rom->rtc_cali.width && rom->ck8m_freq.width) {
        uint32_t cali, ck8m;
        if (loader_read_reg(l, rom->rtc_cali.addr, &cali, &e) != 0 ||
            loader_read_reg(l, rom->ck8m_freq.addr, &ck8m, &e) != 0)
            return baud;
        uint64_t estimate = (uint64_t)chip_bits_get(cali, rom->rtc_cali) * 15625u *
                            chip_bits_get(ck8m, rom->ck8m_freq) / 40u;
        uint64_t nominal = estimate > 33000000u ? 40000000u : 26000000u;
        return estimate ? (uint32_t)((uint64_t)baud * estimate / nominal) : baud;
    }
    /* The divider the ROM set for 115200 tells the crystal (§8). */
    uint32_t div;
    if (loader_read_reg(l, rom->uart_clkdiv_reg, &div, &e) == 0 &&
        (uint64_t)l->port->baud * (div & 0xFFFFF) < 33000000u)
        return (uint32_t)((uint64_t)baud * 40 / 26);
    return baud;
}

int loader_change_baud(struct loader *l, uint32_t baud, struct error *err)
{
    uint8_t d[8];
    /* §6.7: ROM 0, stub the current baud */
    uint32_t ask = l->stub || !l->chip ? baud : rom_baud_request(l, baud);
    struct loader_cmd c = {
        .op = LOADER_CHANGE_BAUDRATE,
        .data = d,
        .retries = 1,
        .len = loader_pack(d, (uint32_t[]){ask, l->stub ? l->port->baud : 0}, 2)};
    int r = loader_command(l, &c, err);
    if (r != 0)
        return error_wrap(err, r, "changing to %u baud", baud);
    if (port_set_baud(l->port, baud, err) != 0)
        return LOADER_E_LINK;
    loader_sleep_ms(50);
    return loader_flush(l, err);
}

/* ------------------------------------------------------------------ connect */

/* Reset and sync, trying the reset variants; leaves l->stub as the sync saw it. */
static int connect_chip(struct loader *l, struct error *err)
{
    int attempts = l->opt.connect_attempts > 0 ? l->opt.connect_attempts : 7;
    int r = LOADER_E_TIMEOUT;
    for (int a = 0; a < attempts; a++) {
        if (l->port->baud != ROM_BAUD && port_set_baud(l->port, ROM_BAUD, err) != 0)
            return LOADER_E_LINK;
        r = loader_reset_to_bootloader(l, l->opt.before, a, err);
        if (r != 0)
            return r;
        r = loader_sync(l, err);
        if (r == 0)
            return 0;
        if (r == LOADER_E_LINK)
            return r;
    }
    return error_wrap(err, r, "failed to connect after %d attempts", attempts);
}

/* Whether the ROM may change the baud before the stub runs (saving the stub's upload time at
 * 115200): only where a reset can undo a change the ROM gets wrong, and not after one it did. */
static int rom_fast_baud(const struct loader *l)
{
    return !l->rom_baud_failed && !l->port->no_modem_lines && l->opt.before != LOADER_RESET_NONE;
}

/* A ROM baud change that may not take (a chip behind a slow USB bridge, an emulator whose UART
 * model hangs the ROM) is confirmed by a SYNC at the new speed. Otherwise: back to 115200, and
 * if the ROM no longer answers there, a reset into download mode; either way the chip answers
 * at 115200 afterwards and its ROM is not asked to change speed again. */
static int rom_change_baud_checked(struct loader *l, uint32_t baud, struct error *err)
{
    int r = loader_change_baud(l, baud, err);
    if (r == LOADER_E_LINK)
        return r;
    if (r == 0 && (r = loader_sync(l, err)) == 0)
        return 0;
    if (r == LOADER_E_LINK)
        return r;
    l->rom_baud_failed = 1;
    log_printf(l->opt.log, LOG_WARNING,
               "The ROM loader did not answer at %u baud after the baud change; back to %u.",
               baud, ROM_BAUD);
    if (port_set_baud(l->port, ROM_BAUD, err) != 0)
        return LOADER_E_LINK;
    if ((r = loader_sync(l, err)) != LOADER_E_TIMEOUT)
        return r;
    if (l->port->no_modem_lines || l->opt.before == LOADER_RESET_NONE)
        return error_fail(err, LOADER_E_TIMEOUT, ERROR_DEVICE,
                          "%s: the ROM loader stopped answering after a change to %u baud and "
                          "this port has no reset lines: reset the board into download mode; "
                          "--baud %u keeps the opening speed",
                          l->port->name, baud, ROM_BAUD);
    l->stub = 0;
    l->attached = 0;
    l->params_size = 0;
    if ((r = connect_chip(l, err)) != 0)
        return error_wrap(err, r, "after a failed baud change");
    return 0;
}

/* Bring the chip from "just synced" to "ready": stub and working baud. */
static int bring_up(struct loader *l, int first_time, struct error *err)
{
    int r;
    uint32_t want = l->opt.baud ? l->opt.baud : ROM_BAUD;
    int stub_wanted = !l->opt.no_stub && !l->secure_download && l->chip &&
                      loader_stub_for(l->chip->name) != NULL;
    if (!l->stub && stub_wanted) {
        /* The stub uploads at the working speed when the ROM can switch safely, else at
         * 115200 and changes the speed itself, as esptool does. */
        if (want != l->port->baud && rom_fast_baud(l) &&
            (r = rom_change_baud_checked(l, want, err)) != 0)
            return r;
        r = loader_run_stub(l, err);
        if (r != 0) {
            if (r == LOADER_E_LINK)
                return r;
            return error_wrap(err, r, "%s", l->chip->description);
        }
        if (first_time)
            log_printf(l->opt.log, LOG_DEBUG, "Stub flasher running.");
        l->attached = 1;
    } else if (first_time && !l->stub) {
        log_printf(l->opt.log, LOG_DEBUG, "%s; using the ROM loader (slower, no stub commands).",
                   loader_stubs_available()
                       ? (l->opt.no_stub ? "Stub disabled" : "No stub for this chip")
                       : "This build has no flasher stubs");
    }
    if (want == l->port->baud)
        return 0;
    if (l->stub)
        return loader_change_baud(l, want, err);
    if (l->rom_baud_failed)
        return 0; /* the ROM stays at 115200 */
    return rom_change_baud_checked(l, want, err);
}

static int reopen_port(struct loader *l, struct error *err)
{
    if (!l->port_name[0])
        return error_fail(err, LOADER_E_LINK, ERROR_DEVICE, "%s: connection lost", l->port->name);
    struct port *np = NULL;
    for (int i = 0; i < 20; i++) { /* a USB port may take a moment to reappear */
        if (port_open(l->port_name, ROM_BAUD, &np, err) == 0)
            break;
        np = NULL;
        loader_sleep_ms(100);
    }
    if (!np)
        return error_wrap(err, LOADER_E_LINK, "reopening after the connection was lost");
    port_close(l->port);
    l->port = np;
    l->rx_pos = l->rx_len = 0;
    slip_decoder_init(&l->dec, l->pkt, sizeof l->pkt);
    return 0;
}

int loader_recover(struct loader *l, struct error *err)
{
    l->retries++;
    struct error e2;
    int r;
    /* First the cheap way: the chip may still be listening at the current speed. */
    r = loader_flush(l, &e2);
    if (r == 0) {
        loader_sleep_ms(20);
        r = loader_sync(l, &e2);
    }
    if (r == 0) {
        if (l->stub)
            return 0; /* the stub is still running */
        /* The ROM answered at the working baud: it was reset and resynced (auto-baud). */
        l->attached = 0;
        l->params_size = 0;
        r = bring_up(l, 0, err);
        if (r == 0)
            return 0;
    }
    if (r == LOADER_E_LINK && (r = reopen_port(l, err)) != 0)
        return r;
    /* Full reconnect: reset into the ROM at 115200. */
    l->stub = 0;
    l->attached = 0;
    l->params_size = 0;
    r = connect_chip(l, err);
    if (r == LOADER_E_LINK) {
        if ((r = reopen_port(l, err)) != 0)
            return r;
        r = connect_chip(l, err);
    }
    if (r != 0)
        return error_wrap(err, r, "reconnecting");
    if (!l->stub || l->port->baud != (l->opt.baud ? l->opt.baud : ROM_BAUD))
        r = bring_up(l, 0, err);
    return r;
}

int loader_new(struct port *port, const struct loader_options *opt, struct loader **out,
               struct error *err)
{
    *out = NULL;
    struct loader *l = calloc(1, sizeof *l);
    if (!l) {
        port_close(port);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    l->port = port;
    if (opt)
        l->opt = *opt;
    slip_decoder_init(&l->dec, l->pkt, sizeof l->pkt);
    *out = l;
    return 0;
}

static int open_named(struct port *port, const char *name, const struct loader_options *opt,
                      struct loader **out, struct error *err)
{
    struct loader *l;
    if (loader_new(port, opt, &l, err) != 0)
        return LOADER_E_FAIL;
    *out = NULL;
    if (name)
        snprintf(l->port_name, sizeof l->port_name, "%s", name);
    int r = connect_chip(l, err);
    if (r == 0 && l->stub) {
        /* A stub left running by an earlier session: it speaks at the baud it was left at,
         * which is ours since we synced. */
        log_printf(l->opt.log, LOG_DEBUG, "Stub flasher is already running.");
    }
    if (r == 0)
        r = loader_detect_chip(l, err);
    if (r == 0 && l->opt.expect_chip) {
        const struct chip *want = chip_by_name(l->opt.expect_chip);
        if (!want || want != l->chip)
            r = error_setk(err, ERROR_DEVICE, "this chip is %s, not %s", l->chip->description,
                           l->opt.expect_chip);
    }
    if (r == 0)
        r = bring_up(l, 1, err);
    if (r == 0 && !l->secure_download) {
        uint32_t id;
        if (loader_flash_id(l, &id, err) == 0) {
            l->flash_id = id;
            l->flash_size = loader_flash_size_from_id(id);
        } else {
            r = LOADER_E_FAIL;
        }
    }
    if (r == 0)
        r = loader_prepare_flash(l, err);
    if (r != 0) {
        port_close(l->port);
        free(l);
        return r;
    }
    *out = l;
    return 0;
}

int loader_open_port(struct port *port, const struct loader_options *opt, struct loader **out,
                     struct error *err)
{
    return open_named(port, NULL, opt, out, err);
}

int loader_open(const char *port_name, const struct loader_options *opt, struct loader **out,
                struct error *err)
{
    struct port *p;
    *out = NULL;
    if (port_open(port_name, ROM_BAUD, &p, err) != 0)
        return LOADER_E_LINK;
    return open_named(p, port_name, opt, out, err);
}

/* Leave the chip in its ROM loader at 115200, as esptool's "no reset" does: a stub reboots
 * into the ROM (the boot strap latched at the last reset keeps it in download mode); a ROM at
 * another speed follows the next client's SYNC by itself (auto-baud). */
static void back_to_rom(struct loader *l)
{
    if (!l->stub)
        return;
    struct error e;
    uint8_t d[16];
    struct loader_cmd begin = {.op = LOADER_FLASH_BEGIN,
                               .data = d,
                               .timeout_ms = 500,
                               .len = loader_pack(d, (uint32_t[]){0, 0, STUB_BLOCK, 0}, 4)};
    struct loader_cmd end = {.op = LOADER_FLASH_END,
                             .data = d,
                             .timeout_ms = 500,
                             .len = loader_pack(d, (uint32_t[]){0}, 1)};
    if (loader_command(l, &begin, &e) == 0)
        loader_command(l, &end, &e);
}

void loader_close(struct loader *l, int hard_reset)
{
    if (!l)
        return;
    /* Without reset lines a hard reset would leave the stub running at the working speed,
     * where the next connection at 115200 cannot reach it. */
    if (hard_reset && !l->port->no_modem_lines) {
        struct error e;
        loader_hard_reset(l, &e);
    } else {
        back_to_rom(l);
    }
    port_close(l->port);
    free(l);
}
