/* Bootloader protocol client: framing, command/response matching, reset, sync, chip detection,
 * SPI user commands, stub upload, baud change and recovery after faults. */
#include "loader/loader.h"
#include "loader/loader_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------------ small helpers */

void loader_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int loader_timeout_for(uint32_t size, uint32_t ms_per_mb)
{
    uint64_t t = (uint64_t)ms_per_mb * size / (1024 * 1024);
    if (t < DEFAULT_TIMEOUT_MS)
        t = DEFAULT_TIMEOUT_MS;
    if (t > 240000) /* longest any command may take (§3.7) */
        t = 240000;
    return (int)t;
}

uint8_t loader_checksum(const uint8_t *data, size_t len)
{
    uint8_t x = 0xEF; /* §3.4: XOR of the payload after the data header, seed 0xEF */
    for (size_t i = 0; i < len; i++)
        x ^= data[i];
    return x;
}

size_t loader_pack(uint8_t *out, const uint32_t *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_le32(out + 4 * i, words[i]);
    return 4 * n;
}

struct loader_cmd loader_data_cmd(uint8_t op, uint8_t *buf, uint32_t seq, const uint8_t *block,
                                  size_t n)
{
    loader_pack(buf, (uint32_t[]){(uint32_t)n, seq, 0, 0}, 4);
    if (block != buf + 16)
        memcpy(buf + 16, block, n);
    struct loader_cmd c = {.op = op, .data = buf, .len = 16 + n,
                           .checksum = loader_checksum(buf + 16, n)};
    return c;
}

/* ------------------------------------------------------------------ framing */

int loader_recv_packet(struct loader *l, int timeout_ms, struct error *err)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        while (l->rx_pos < l->rx_len) {
            enum slip_result r = slip_decode_byte(&l->dec, l->rx[l->rx_pos++]);
            if (r == SLIP_PACKET)
                return 1;
            /* Noise between packets (boot text, a corrupted delimiter) and broken packets are
             * dropped; the caller's timeout and retry deal with what is lost. */
        }
        int64_t left = deadline - now_ms();
        if (left < 0)
            left = 0;
        int n = port_read(l->port, l->rx, sizeof l->rx, (int)left, err);
        if (n < 0)
            return LOADER_E_LINK;
        if (n == 0) {
            if (now_ms() >= deadline)
                return 0;
            continue;
        }
        l->wire_rx += (uint64_t)n;
        l->rx_pos = 0;
        l->rx_len = (size_t)n;
    }
}

static size_t slip_put(uint8_t *out, const uint8_t *in, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == SLIP_END) {
            out[k++] = SLIP_ESC;
            out[k++] = SLIP_ESC_END;
        } else if (in[i] == SLIP_ESC) {
            out[k++] = SLIP_ESC;
            out[k++] = SLIP_ESC_ESC;
        } else {
            out[k++] = in[i];
        }
    }
    return k;
}

static int send_frame(struct loader *l, const uint8_t *head, size_t hlen, const uint8_t *data,
                      size_t dlen, struct error *err)
{
    size_t k = 0;
    l->tx[k++] = SLIP_END;
    k += slip_put(l->tx + k, head, hlen);
    k += slip_put(l->tx + k, data, dlen);
    l->tx[k++] = SLIP_END;
    l->wire_tx += k;
    if (port_write(l->port, l->tx, k, err) != 0)
        return LOADER_E_LINK;
    return 0;
}

int loader_send_raw(struct loader *l, const uint8_t *data, size_t len, struct error *err)
{
    return send_frame(l, data, len, NULL, 0, err);
}

int loader_flush(struct loader *l, struct error *err)
{
    l->rx_pos = l->rx_len = 0;
    slip_decoder_init(&l->dec, l->pkt, sizeof l->pkt);
    if (port_flush_input(l->port, err) != 0)
        return LOADER_E_LINK;
    return 0;
}

/* Read and drop whatever arrives until the line has been quiet for quiet_ms. */
static int drain(struct loader *l, int quiet_ms, struct error *err)
{
    for (int i = 0; i < 50; i++) {
        int r = loader_recv_packet(l, quiet_ms, err);
        if (r <= 0)
            return r == 0 ? 0 : r;
    }
    return 0;
}

int loader_command(struct loader *l, struct loader_cmd *cmd, struct error *err)
{
    uint8_t op = cmd->op;
    size_t len = cmd->len;
    int timeout_ms = cmd->timeout_ms > 0 ? cmd->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (len > LOADER_MAX_PACKET - 8)
        return error_setk(err, ERROR_DEVICE, "%s: %zu bytes of data is too long",
                          loader_op_name(op), len);
    uint8_t head[8] = {0x00, op, (uint8_t)len, (uint8_t)(len >> 8)};
    put_le32(head + 4, cmd->checksum);
    size_t status_len = l->stub ? 2 : 4; /* §3.3 */
    const char *garbled = NULL;
    for (int attempt = 0; attempt <= cmd->retries; attempt++) {
        if (attempt > 0)
            l->retries++;
        int r = send_frame(l, head, 8, cmd->data, len, err);
        if (r != 0)
            return error_prefix(err, "%s", loader_op_name(op)), LOADER_E_LINK;
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
            int64_t left = deadline - now_ms();
            if (left < 0)
                break;
            r = loader_recv_packet(l, (int)left, err);
            if (r < 0)
                return error_prefix(err, "%s", loader_op_name(op)), LOADER_E_LINK;
            if (r == 0)
                break;
            const uint8_t *p = l->pkt;
            size_t n = l->dec.len;
            if (n < 8 || p[0] != 0x01)
                continue; /* not a response (e.g. a stray READ_FLASH frame) */
            size_t size = (size_t)p[2] | (size_t)p[3] << 8;
            if (size != n - 8) {
                garbled = "length field does not match the packet";
                continue;
            }
            if (p[1] != op) {
                /* §3.6: a ROM answering an opcode it does not know replies with another
                 * opcode and status 1/0x05. */
                if (size >= 2 && p[8] == 1 && p[9] == ROM_E_BAD_MESSAGE) {
                    drain(l, 30, err);
                    return error_setk(err, ERROR_DEVICE, "%s: not supported by the %s loader",
                                      loader_op_name(op), l->stub ? "stub" : "ROM"),
                           LOADER_E_UNSUPPORTED;
                }
                continue; /* a late reply to an earlier command */
            }
            /* Status (§3.3): right after the expected data when the length says so (2 or 4
             * status bytes), otherwise at the end of a reply whose data length varies
             * (GET_SECURITY_INFO: 20 or 12 bytes), or first in a short error reply. */
            if (size < 2) {
                garbled = "reply without status bytes";
                continue;
            }
            size_t expect = cmd->resp_expect, st;
            if (size == expect + 2 || size == expect + 4)
                st = expect;
            else if (size >= status_len)
                st = size - status_len;
            else
                st = 0;
            uint8_t s0 = p[8 + st], s1 = p[8 + st + 1];
            if (s0 != 0) {
                uint8_t code = l->stub ? s0 : s1;
                if (l->stub && s0 == STUB_E_INVALID_COMMAND && !expect)
                    return error_setk(err, ERROR_DEVICE, "%s: not supported by the stub",
                                      loader_op_name(op)),
                           LOADER_E_UNSUPPORTED;
                if (!l->stub && s1 == ROM_E_BAD_MESSAGE &&
                    (op >= LOADER_ERASE_FLASH || op == LOADER_GET_SECURITY_INFO))
                    return error_setk(err, ERROR_DEVICE, "%s: not supported by the ROM loader",
                                      loader_op_name(op)),
                           LOADER_E_UNSUPPORTED;
                error_setk(err, ERROR_DEVICE, "%s failed: status 0x%02x%02x (%s)",
                           loader_op_name(op), s0, s1, loader_error_text(l->stub, code));
                /* The loader saw a damaged packet (bad length or checksum): sending it again
                 * is the cure when the command may be repeated. */
                if (loader_status_damaged(l->stub, code) && attempt < cmd->retries)
                    goto next_attempt;
                return LOADER_E_FAIL;
            }
            size_t dlen = st;
            if (dlen < expect) {
                garbled = "reply shorter than expected";
                continue;
            }
            if (cmd->resp) {
                size_t cap = cmd->resp_cap ? cmd->resp_cap : dlen;
                memcpy(cmd->resp, p + 8, dlen < cap ? dlen : cap);
            }
            cmd->resp_len = dlen;
            cmd->value = get_le32(p + 4);
            return 0;
        }
    next_attempt:;
    }
    if (garbled)
        return error_setk(err, ERROR_DEVICE, "%s: no valid reply within %d ms (last reply: %s)",
                          loader_op_name(op), timeout_ms, garbled),
               LOADER_E_TIMEOUT;
    return error_setk(err, ERROR_DEVICE, "%s: timed out after %d ms waiting for the reply%s",
                      loader_op_name(op), timeout_ms, cmd->retries ? " (retried)" : ""),
           LOADER_E_TIMEOUT;
}

/* ------------------------------------------------------------------ registers */

int loader_read_reg(struct loader *l, uint32_t addr, uint32_t *value, struct error *err)
{
    uint8_t d[4];
    struct loader_cmd c = {.op = LOADER_READ_REG, .data = d,
                           .len = loader_pack(d, (uint32_t[]){addr}, 1), .retries = 2};
    int r = loader_command(l, &c, err);
    if (r != 0)
        return error_prefix(err, "reading register 0x%08x", addr), r;
    *value = c.value;
    return 0;
}

int loader_write_reg(struct loader *l, uint32_t addr, uint32_t value, uint32_t mask,
                     uint32_t delay_us, struct error *err)
{
    uint8_t d[16];
    struct loader_cmd c = {.op = LOADER_WRITE_REG, .data = d,
                           .len = loader_pack(d, (uint32_t[]){addr, value, mask, delay_us}, 4),
                           .retries = 2};
    int r = loader_command(l, &c, err);
    if (r != 0)
        error_prefix(err, "writing register 0x%08x", addr);
    return r;
}

/* ------------------------------------------------------------------ SPI user commands (§10) */

/* Several WRITE_REG records travel in one packet and run in order (§6.4). */
struct reg_batch {
    uint8_t d[16 * 32];
    size_t n;
};

static void batch_add(struct reg_batch *b, uint32_t addr, uint32_t value)
{
    loader_pack(b->d + 16 * b->n++, (uint32_t[]){addr, value, 0xFFFFFFFF, 0}, 4);
}

static int batch_send(struct loader *l, struct reg_batch *b, struct error *err)
{
    struct loader_cmd c = {.op = LOADER_WRITE_REG, .data = b->d, .len = 16 * b->n,
                           .retries = 2};
    int r = loader_command(l, &c, err);
    if (r != 0)
        error_prefix(err, "writing SPI registers");
    b->n = 0;
    return r;
}

int loader_spi_command_raw(struct loader *l, uint8_t cmd, const uint8_t *mosi, uint32_t mosi_bits,
                           uint32_t addr, uint32_t addr_bits, uint32_t dummy, uint32_t miso_bits,
                           uint8_t *out, struct error *err)
{
    const struct chip *c = l->chip;
    if (!c || !c->spi_reg_base)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x: chip not known", cmd);
    if (mosi_bits > 512 || miso_bits > 512)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x: at most 64 data bytes",
                          cmd);
    uint32_t base = c->spi_reg_base, w0 = base + c->spi_w0_offs;
    struct reg_batch b = {.n = 0};
    if (mosi_bits)
        batch_add(&b, base + c->spi_mosi_dlen_offs, mosi_bits - 1);
    if (miso_bits)
        batch_add(&b, base + c->spi_miso_dlen_offs, miso_bits - 1);
    if (dummy || addr_bits)
        batch_add(&b, base + c->spi_usr1_offs,
                  (dummy ? dummy - 1 : 0) | (addr_bits ? (addr_bits - 1) << 26 : 0));
    uint32_t usr = 1u << 31;
    if (miso_bits)
        usr |= 1u << 28;
    if (mosi_bits)
        usr |= 1u << 27;
    if (addr_bits)
        usr |= 1u << 30;
    if (dummy)
        usr |= 1u << 29;
    batch_add(&b, base + c->spi_usr_offs, usr);
    batch_add(&b, base + c->spi_usr2_offs, (7u << 28) | cmd);
    if (addr_bits)
        batch_add(&b, base + 0x04,
                  c->spi_addr_msb_aligned && addr_bits < 32 ? addr << (32 - addr_bits) : addr);
    if (!mosi_bits) {
        batch_add(&b, w0, 0);
    } else {
        for (uint32_t i = 0; i < (mosi_bits + 31) / 32; i++) {
            uint8_t w[4] = {0};
            for (uint32_t k = 0; k < 4 && i * 4 + k < (mosi_bits + 7) / 8; k++)
                w[k] = mosi[i * 4 + k];
            batch_add(&b, w0 + 4 * i, get_le32(w));
        }
    }
    batch_add(&b, base, 1u << 18); /* start the user command last */
    int r = batch_send(l, &b, err);
    if (r != 0)
        return r;
    int done = 0;
    for (int i = 0; i < 10 && !done; i++) {
        uint32_t v;
        if ((r = loader_read_reg(l, base, &v, err)) != 0)
            return r;
        done = !(v & (1u << 18));
    }
    if (!done)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x did not complete", cmd),
               LOADER_E_FAIL;
    for (uint32_t i = 0; i < (miso_bits + 31) / 32; i++) {
        uint32_t v;
        if ((r = loader_read_reg(l, w0 + 4 * i, &v, err)) != 0)
            return r;
        uint8_t w[4];
        put_le32(w, v);
        for (uint32_t k = 0; k < 4 && i * 4 + k < (miso_bits + 7) / 8; k++)
            out[i * 4 + k] = w[k];
    }
    return 0;
}

int loader_spi_save(struct loader *l, uint32_t saved[2], struct error *err)
{
    const struct chip *c = l->chip;
    int r = loader_read_reg(l, c->spi_reg_base + c->spi_usr_offs, &saved[0], err);
    if (r == 0)
        r = loader_read_reg(l, c->spi_reg_base + c->spi_usr2_offs, &saved[1], err);
    return r;
}

int loader_spi_restore(struct loader *l, const uint32_t saved[2], struct error *err)
{
    const struct chip *c = l->chip;
    struct reg_batch b = {.n = 0};
    batch_add(&b, c->spi_reg_base + c->spi_usr_offs, saved[0]);
    batch_add(&b, c->spi_reg_base + c->spi_usr2_offs, saved[1]);
    return batch_send(l, &b, err);
}

int loader_spi_command(struct loader *l, uint8_t cmd, const uint8_t *mosi, uint32_t mosi_bits,
                       uint32_t addr, uint32_t addr_bits, uint32_t dummy, uint32_t miso_bits,
                       uint8_t *out, struct error *err)
{
    if (!l->chip || !l->chip->spi_reg_base)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x: chip not known", cmd);
    /* The ROM's own flash routines use USR/USR2 too: put them back afterwards (§10). */
    uint32_t saved[2];
    int r = loader_spi_save(l, saved, err);
    if (r == 0)
        r = loader_spi_command_raw(l, cmd, mosi, mosi_bits, addr, addr_bits, dummy, miso_bits, out,
                                   err);
    if (r == 0)
        r = loader_spi_restore(l, saved, err);
    return r;
}

uint32_t loader_flash_size_from_id(uint32_t jedec)
{
    uint8_t manufacturer = (uint8_t)jedec, type = (uint8_t)(jedec >> 8), cap = (uint8_t)(jedec >> 16);
    if (jedec == 0xFFFFFF || jedec == 0 || jedec == 0xFFFF3F || (jedec & 0xFFFFFF) == 0xFFFFFF)
        return 0;
    /* §10: capacity byte = log2(size) for 0x12..0x1C; 0x20..0x22 = 64..256 MB; 0x32..0x3A =
     * 256 KB..64 MB; Adesto: low 5 bits of the type byte. */
    if (manufacturer == 0x1F) {
        uint8_t a = type & 0x1F;
        return a >= 0x04 && a <= 0x09 ? 512u * 1024 << (a - 0x04) : 0;
    }
    if (cap >= 0x12 && cap <= 0x1C)
        return 1u << cap;
    if (cap >= 0x20 && cap <= 0x22)
        return (64u << 20) << (cap - 0x20);
    if (cap >= 0x32 && cap <= 0x3A)
        return (256u << 10) << (cap - 0x32);
    return 0;
}

/* ROM: attach the default SPI flash pins before any flash access (§6.6); the ROM takes 4
 * extra bytes. The stub attaches the flash itself. */
static int rom_attach(struct loader *l, struct error *err)
{
    if (l->stub || l->attached)
        return 0;
    uint8_t d[8] = {0};
    struct loader_cmd c = {.op = LOADER_SPI_ATTACH, .data = d, .len = 8, .retries = 2};
    int r = loader_command(l, &c, err);
    if (r == 0)
        l->attached = 1;
    return r;
}

int loader_prepare_flash(struct loader *l, struct error *err)
{
    int r = rom_attach(l, err);
    if (r != 0)
        return r;
    if (l->flash_size && l->params_size != l->flash_size) {
        /* id, total size, block, sector, page, status mask (§6.5) */
        uint8_t d[24];
        struct loader_cmd c = {
            .op = LOADER_SPI_SET_PARAMS, .data = d, .retries = 2,
            .len = loader_pack(d, (uint32_t[]){0, l->flash_size, 0x10000, 0x1000, 0x100, 0xFFFF},
                               6)};
        r = loader_command(l, &c, err);
        if (r != 0)
            return r;
        l->params_size = l->flash_size;
    }
    return 0;
}

int loader_flash_id(struct loader *l, uint32_t *jedec, struct error *err)
{
    int r = rom_attach(l, err);
    if (r != 0)
        return error_prefix(err, "attaching the SPI flash"), r;
    uint8_t id[4] = {0};
    r = loader_spi_command(l, 0x9F, NULL, 0, 0, 0, 0, 24, id, err);
    if (r != 0)
        return error_prefix(err, "reading the flash id"), r;
    *jedec = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16;
    return 0;
}

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
    if (send_frame(l, head, 8, d, 36, err) != 0)
        return LOADER_E_LINK;
    /* §5: eight replies, value 0 from a stub, non-zero from the ROM. Some may be lost on a
     * noisy line: one valid reply is enough, the rest are drained. */
    int replies = 0, nonzero = 0;
    int64_t deadline = now_ms() + 100;
    for (;;) {
        int64_t left = deadline - now_ms();
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
            deadline = now_ms() + 100; /* each further reply within 0.1 s */
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
    return error_setk(err, ERROR_DEVICE, "%s: no reply to SYNC (is the chip in download mode?)",
                      l->port->name),
           LOADER_E_TIMEOUT;
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
    struct loader_cmd c = {.op = LOADER_GET_SECURITY_INFO, .resp = info, .resp_cap = sizeof info,
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
            return error_prefix(err, "detecting the chip"), r;
        } else {
            found = chip_by_magic(magic);
            if (!found)
                return error_setk(err, ERROR_DEVICE,
                                  "unknown chip: magic value 0x%08x at 0x40001000", magic),
                       LOADER_E_FAIL;
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
        .op = LOADER_MEM_BEGIN, .data = d, .retries = 1,
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
            return error_prefix(err, "loading RAM at 0x%08x", addr + (uint32_t)off), r;
        }
    }
    free(buf);
    return 0;
}

int loader_run_stub(struct loader *l, struct error *err)
{
    const struct loader_stub *s = l->chip ? loader_stub_for(l->chip->name) : NULL;
    if (!s)
        return error_setk(err, ERROR_DEVICE, "no flasher stub for %s in this build",
                          l->chip ? l->chip->description : "this chip"),
               LOADER_E_UNSUPPORTED;
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
        return error_prefix(err, "uploading the flasher stub"), r;
    uint8_t d[8];
    /* §6.3: the ROM's MEM_END reply may be lost when the stub takes over the UART. */
    struct loader_cmd end = {.op = LOADER_MEM_END, .data = d,
                             .len = loader_pack(d, (uint32_t[]){0, s->entry}, 2),
                             .timeout_ms = 200};
    r = loader_command(l, &end, err);
    if (r == LOADER_E_LINK)
        return r;
    int64_t deadline = now_ms() + 1000;
    for (;;) {
        int64_t left = deadline - now_ms();
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
    return error_setk(err, ERROR_DEVICE, "the flasher stub did not start (no OHAI greeting)"),
           LOADER_E_TIMEOUT;
}

int loader_change_baud(struct loader *l, uint32_t baud, struct error *err)
{
    uint8_t d[8];
    /* §6.7: ROM 0, stub the current baud */
    struct loader_cmd c = {
        .op = LOADER_CHANGE_BAUDRATE, .data = d, .retries = 1,
        .len = loader_pack(d, (uint32_t[]){baud, l->stub ? l->port->baud : 0}, 2)};
    int r = loader_command(l, &c, err);
    if (r != 0)
        return error_prefix(err, "changing to %u baud", baud), r;
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
    return error_prefix(err, "failed to connect after %d attempts", attempts), r;
}

/* ESP32 and ESP32-C2 ROMs derive the UART clock from the crystal they believe in; only ask them
 * for a new baud before the stub runs when the crystal estimate is the nominal 40 MHz (§6.7). */
static int rom_baud_change_safe(struct loader *l)
{
    if (!l->chip->rom.baud_from_xtal_estimate)
        return 1;
    uint32_t reg = l->chip->rom.uart_clkdiv_reg, div;
    struct error e;
    if (loader_read_reg(l, reg, &div, &e) != 0)
        return 0;
    uint64_t xtal_khz = (uint64_t)l->port->baud * (div & 0xFFFFF) / 1000;
    return xtal_khz > 38000 && xtal_khz < 42000;
}

/* Bring the chip from "just synced" to "ready": stub and working baud. */
static int bring_up(struct loader *l, int first_time, struct error *err)
{
    int r;
    uint32_t want = l->opt.baud ? l->opt.baud : ROM_BAUD;
    int stub_wanted = !l->opt.no_stub && !l->secure_download && l->chip &&
                      loader_stub_for(l->chip->name) != NULL;
    if (!l->stub && stub_wanted) {
        /* Upload the stub at the working speed when the ROM can switch safely. */
        if (want != l->port->baud && rom_baud_change_safe(l)) {
            if ((r = loader_change_baud(l, want, err)) != 0)
                return r;
        }
        r = loader_run_stub(l, err);
        if (r != 0) {
            if (r == LOADER_E_LINK)
                return r;
            return error_prefix(err, "%s", l->chip->description), r;
        }
        if (first_time)
            log_printf(l->opt.log, LOG_DEBUG, "Stub flasher running.");
        l->attached = 1;
    } else if (first_time && !l->stub) {
        log_printf(l->opt.log, LOG_DEBUG, "%s; using the ROM loader (slower, no stub commands).",
                   loader_stubs_available() ? (l->opt.no_stub ? "Stub disabled"
                                                              : "No stub for this chip")
                                            : "This build has no flasher stubs");
    }
    if (want != l->port->baud && (r = loader_change_baud(l, want, err)) != 0)
        return r;
    return 0;
}

static int reopen_port(struct loader *l, struct error *err)
{
    if (!l->port_name[0])
        return error_setk(err, ERROR_DEVICE, "%s: connection lost", l->port->name),
               LOADER_E_LINK;
    struct port *np = NULL;
    for (int i = 0; i < 20; i++) { /* a USB port may take a moment to reappear */
        if (port_open(l->port_name, ROM_BAUD, &np, err) == 0)
            break;
        np = NULL;
        loader_sleep_ms(100);
    }
    if (!np)
        return error_prefix(err, "reopening after the connection was lost"), LOADER_E_LINK;
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
        return error_prefix(err, "reconnecting"), r;
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

void loader_close(struct loader *l, int hard_reset)
{
    if (!l)
        return;
    if (hard_reset) {
        struct error e;
        loader_hard_reset(l, &e);
    }
    port_close(l->port);
    free(l);
}
