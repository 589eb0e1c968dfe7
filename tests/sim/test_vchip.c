/* Tests of the virtual chip's protocol engine (sim/vchip.c) and flash model (sim/nor.c), driven
 * directly: commands in, captured wire bytes out. Facts checked are those of
 * docs/esp-serial-protocol.md (§ numbers in comments). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "nor.h"
#include "reset_seq.h"
#include "vchip.h"
#include "util/bytes.h"

/* ------------------------------------------------------------------ harness */

struct capture {
    uint8_t *buf;
    size_t len, cap;
    uint32_t baud_events[8];
    size_t n_baud;
    size_t len_at_baud[8]; /* output length when the baud changed: reply must come first */
};

static void cap_send(void *ctx, const uint8_t *b, size_t n)
{
    struct capture *c = ctx;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, b, n);
    c->len += n;
}

static void cap_baud(void *ctx, uint32_t baud)
{
    struct capture *c = ctx;
    if (c->n_baud < 8) {
        c->len_at_baud[c->n_baud] = c->len;
        c->baud_events[c->n_baud++] = baud;
    }
}

struct rig {
    struct nor flash;
    struct vchip vc;
    struct capture cap;
};

static struct rig *rig_new(const char *chip, int download)
{
    struct rig *r = calloc(1, sizeof *r);
    char err[100];
    assert_int_equal(nor_open(&r->flash, NULL, 4u << 20, err, sizeof err), 0);
    struct vchip_config cfg = {0};
    cfg.chip = chip_by_name(chip);
    assert_non_null(cfg.chip);
    static const uint8_t mac[6] = {0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56};
    memcpy(cfg.mac, mac, 6);
    cfg.jedec_id = 0x1640EF;
    cfg.read_in_flight = 1;
    struct vchip_io io = {.ctx = &r->cap, .send = cap_send, .set_baud = cap_baud};
    vchip_init(&r->vc, &cfg, &io, &r->flash);
    vchip_power_on(&r->vc, download);
    return r;
}

static void rig_free(struct rig *r)
{
    vchip_free(&r->vc);
    nor_close(&r->flash);
    free(r->cap.buf);
    free(r);
}

static void clear(struct rig *r)
{
    r->cap.len = 0;
}

static void send_cmd(struct rig *r, uint8_t op, const uint8_t *data, size_t len, uint32_t chk)
{
    uint8_t *pkt = malloc(8 + len);
    pkt[0] = 0;
    pkt[1] = op;
    pkt[2] = (uint8_t)len;
    pkt[3] = (uint8_t)(len >> 8);
    put_le32(pkt + 4, chk);
    if (len)
        memcpy(pkt + 8, data, len);
    uint8_t *enc = malloc(SLIP_ENCODED_MAX(8 + len));
    size_t n = slip_encode(pkt, 8 + len, enc);
    vchip_feed(&r->vc, enc, n);
    free(enc);
    free(pkt);
}

static void send_raw_frame(struct rig *r, const uint8_t *payload, size_t len)
{
    uint8_t enc[SLIP_ENCODED_MAX(64)];
    size_t n = slip_encode(payload, len, enc);
    vchip_feed(&r->vc, enc, n);
}

/* Decode every SLIP frame in the captured output (text outside frames is skipped). */
struct frames {
    uint8_t data[64][4200];
    size_t len[64];
    size_t n;
};

static struct frames *frames_of(struct rig *r)
{
    struct frames *f = calloc(1, sizeof *f);
    uint8_t buf[5000];
    struct slip_decoder d;
    slip_decoder_init(&d, buf, sizeof buf);
    for (size_t i = 0; i < r->cap.len && f->n < 64; i++) {
        if (slip_decode_byte(&d, r->cap.buf[i]) == SLIP_PACKET) {
            memcpy(f->data[f->n], d.buf, d.len);
            f->len[f->n++] = d.len;
        }
    }
    return f;
}

/* The single reply to the last command: returns its data (status included) length. */
static size_t reply(struct rig *r, uint8_t op, uint32_t *value, uint8_t *data)
{
    struct frames *f = frames_of(r);
    assert_int_equal(f->n, 1);
    assert_true(f->len[0] >= 8);
    assert_int_equal(f->data[0][0], 0x01);
    assert_int_equal(f->data[0][1], op);
    size_t size = (size_t)f->data[0][2] | (size_t)f->data[0][3] << 8;
    assert_int_equal(size, f->len[0] - 8);
    if (value)
        *value = get_le32(f->data[0] + 4);
    if (data)
        memcpy(data, f->data[0] + 8, size);
    free(f);
    clear(r);
    return size;
}

static void sync_packet(uint8_t d[36])
{
    d[0] = 0x07;
    d[1] = 0x07;
    d[2] = 0x12;
    d[3] = 0x20;
    memset(d + 4, 0x55, 32);
}

static uint32_t data_checksum(const uint8_t *p, size_t n)
{
    uint8_t x = 0xEF;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

/* A *_DATA command: 16-byte header + payload (§3.4). */
static void send_data(struct rig *r, uint8_t op, uint32_t seq, const uint8_t *p, size_t n, int bad_checksum)
{
    uint8_t *d = calloc(1, 16 + n);
    put_le32(d, (uint32_t)n);
    put_le32(d + 4, seq);
    memcpy(d + 16, p, n);
    send_cmd(r, op, d, 16 + n, data_checksum(p, n) ^ (bad_checksum ? 1u : 0u));
    free(d);
}

static void words(uint8_t *out, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        put_le32(out + 4 * i, va_arg(ap, uint32_t));
    va_end(ap);
}

/* Upload a fake stub: one segment, entry inside it; expect OHAI (§11.1). */
static void enter_stub(struct rig *r)
{
    uint8_t d[16], code[64];
    memset(code, 0x11, sizeof code);
    words(d, 4, 64u, 1u, 0x1800u, 0x40380000u);
    send_cmd(r, 0x05, d, 16, 0);
    clear(r);
    send_data(r, 0x07, 0, code, sizeof code, 0);
    clear(r);
    words(d, 2, 0u, 0x40380010u);
    send_cmd(r, 0x06, d, 8, 0);
    struct frames *f = frames_of(r);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->len[1], 4);
    assert_memory_equal(f->data[1], "OHAI", 4);
    free(f);
    clear(r);
    assert_int_equal(r->vc.mode, VCHIP_STUB);
}

static void md5(const uint8_t *p, size_t n, uint8_t out[16])
{
    unsigned int len;
    EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

/* ------------------------------------------------------------------ tests */

static void boot_log_then_eight_sync_replies(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32", 1);
    const char *log = "ets Jun  8 2016 00:22:57\r\n\r\n"
                      "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\n"
                      "waiting for download\r\n";
    assert_int_equal(r->cap.len, strlen(log));
    assert_memory_equal(r->cap.buf, log, strlen(log));
    clear(r);
    uint8_t s[36];
    sync_packet(s);
    send_cmd(r, 0x08, s, 36, 0);
    struct frames *f = frames_of(r);
    assert_int_equal(f->n, 8); /* §5 */
    static const uint8_t want[12] = {0x01, 0x08, 0x04, 0x00, 0x07, 0x07, 0x12, 0x20, 0, 0, 0, 0};
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(f->len[i], 12);
        assert_memory_equal(f->data[i], want, 12);
    }
    /* nothing but frames: every byte of the output belongs to one */
    assert_int_equal(r->cap.len, 8 * 14);
    free(f);
    rig_free(r);
}

static void noise_and_double_delimiters_are_tolerated(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32c3", 1);
    clear(r);
    uint8_t junk[] = {0x55, 0x00, 0xC0, 0xC0, 0xC0};
    vchip_feed(&r->vc, junk, sizeof junk);
    uint8_t a[4];
    put_le32(a, 0x40001000);
    send_cmd(r, 0x0A, a, 4, 0);
    uint32_t v;
    uint8_t d[8];
    assert_int_equal(reply(r, 0x0A, &v, d), 4);
    assert_int_equal(v, 0x6921506F);
    rig_free(r);
}

static void magic_values_and_mac_per_chip(void **state)
{
    (void)state;
    static const struct { const char *chip; uint32_t magic, mac_lo_addr; } t[] = {
        {"esp32", 0x00F01D83, 0x3FF5A004}, {"esp32s2", 0x000007C6, 0x3F41A044},
        {"esp32s3", 0x00000009, 0x60007044}, {"esp32c3", 0x6921506F, 0x60008844},
        {"esp32c6", 0x2CE0806F, 0x600B0844},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct rig *r = rig_new(t[i].chip, 1);
        clear(r);
        uint8_t a[4], d[8];
        uint32_t v;
        put_le32(a, 0x40001000);
        send_cmd(r, 0x0A, a, 4, 0);
        reply(r, 0x0A, &v, d);
        assert_int_equal(v, t[i].magic);
        put_le32(a, t[i].mac_lo_addr);
        send_cmd(r, 0x0A, a, 4, 0);
        reply(r, 0x0A, &v, d);
        assert_int_equal(v, 0xC4123456);
        put_le32(a, t[i].mac_lo_addr + 4);
        send_cmd(r, 0x0A, a, 4, 0);
        reply(r, 0x0A, &v, d);
        assert_int_equal(v & 0xFFFF, 0x240A);
        rig_free(r);
    }
}

static void security_info_per_chip(void **state)
{
    (void)state;
    /* ESP32: unsupported, 8 replies under another opcode with status 1/0x05 (§3.6) */
    struct rig *r = rig_new("esp32", 1);
    clear(r);
    send_cmd(r, 0x14, NULL, 0, 0);
    struct frames *f = frames_of(r);
    assert_int_equal(f->n, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_not_equal(f->data[i][1], 0x14);
        assert_int_equal(f->data[i][8], 1);
        assert_int_equal(f->data[i][9], 0x05);
    }
    free(f);
    rig_free(r);
    /* S2: 12 bytes; C3: 20 bytes with the chip id (§6.9) */
    uint8_t d[64];
    r = rig_new("esp32s2", 1);
    clear(r);
    send_cmd(r, 0x14, NULL, 0, 0);
    assert_int_equal(reply(r, 0x14, NULL, d), 12 + 4);
    rig_free(r);
    r = rig_new("esp32c3", 1);
    clear(r);
    send_cmd(r, 0x14, NULL, 0, 0);
    assert_int_equal(reply(r, 0x14, NULL, d), 20 + 4);
    assert_int_equal(get_le32(d + 12), 5);
    assert_memory_equal(d + 20, "\0\0\0\0", 4);
    rig_free(r);
}

/* Run a SPI user command the way esptool does (§10) and return W0. */
static uint32_t spi_command(struct rig *r, uint8_t cmd, int read_bits, uint32_t addr, int addr_bits, int dummy)
{
    const struct chip *c = r->vc.cfg.chip;
    uint32_t base = c->spi_reg_base;
    uint8_t d[16];
    uint32_t v;
    uint8_t out[8];
#define WR(reg, val)                                   \
    do {                                               \
        words(d, 4, (uint32_t)(reg), (uint32_t)(val), 0xFFFFFFFFu, 0u); \
        send_cmd(r, 0x09, d, 16, 0);                   \
        reply(r, 0x09, NULL, out);                     \
    } while (0)
    if (read_bits)
        WR(base + c->spi_miso_dlen_offs, read_bits - 1);
    uint32_t usr1 = 0;
    if (dummy)
        usr1 |= (uint32_t)(dummy - 1);
    if (addr_bits)
        usr1 |= (uint32_t)(addr_bits - 1) << 26;
    if (usr1)
        WR(base + c->spi_usr1_offs, usr1);
    uint32_t flags = 1u << 31;
    if (read_bits)
        flags |= 1u << 28;
    if (addr_bits)
        flags |= 1u << 30;
    if (dummy)
        flags |= 1u << 29;
    WR(base + c->spi_usr_offs, flags);
    WR(base + c->spi_usr2_offs, (7u << 28) | cmd);
    if (addr_bits)
        WR(base + 4, c->spi_addr_msb_aligned ? addr << (32 - addr_bits) : addr);
    WR(base + c->spi_w0_offs, 0);
    WR(base, 1u << 18);
    uint8_t a[4];
    put_le32(a, base);
    send_cmd(r, 0x0A, a, 4, 0);
    reply(r, 0x0A, &v, out);
    assert_int_equal(v & (1u << 18), 0); /* done */
    put_le32(a, base + c->spi_w0_offs);
    send_cmd(r, 0x0A, a, 4, 0);
    reply(r, 0x0A, &v, out);
#undef WR
    return v;
}

static void spi_engine_runs_flash_commands(void **state)
{
    (void)state;
    const char *chips[] = {"esp32", "esp32s3", "esp32c6"};
    for (size_t i = 0; i < 3; i++) {
        struct rig *r = rig_new(chips[i], 1);
        clear(r);
        uint8_t pattern[4] = {0xDE, 0xAD, 0xBE, 0xEF};
        nor_program(&r->flash, 0x1234, pattern, 4);
        assert_int_equal(spi_command(r, 0x9F, 24, 0, 0, 0), 0x1640EF);
        assert_int_equal(spi_command(r, 0x5A, 32, 0, 24, 8), 0x50444653); /* "SFDP" */
        assert_int_equal(spi_command(r, 0x03, 32, 0x1234, 24, 0), 0xEFBEADDE);
        assert_int_equal(spi_command(r, 0x05, 8, 0, 0, 0) & 0x02, 0);
        spi_command(r, 0x06, 0, 0, 0, 0); /* WREN sets WEL */
        assert_int_equal(spi_command(r, 0x05, 8, 0, 0, 0) & 0x02, 0x02);
        rig_free(r);
    }
}

static void rom_write_erases_up_front_and_checks(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32", 1);
    uint8_t junk[16];
    memset(junk, 0x00, sizeof junk);
    nor_program(&r->flash, 0x9000, junk, 16); /* old content inside the range to erase */
    clear(r);
    uint8_t d[20], st[128];
    words(d, 4, 0x2000u, 2u, 0x1000u, 0x8000u);
    send_cmd(r, 0x02, d, 16, 0);
    assert_int_equal(reply(r, 0x02, NULL, st), 4);
    assert_memory_equal(st, "\0\0\0\0", 4);
    uint8_t ff[16];
    memset(ff, 0xFF, 16);
    assert_memory_equal(r->flash.data + 0x9000, ff, 16); /* erased in FLASH_BEGIN */

    uint8_t block[0x1000];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (uint8_t)(i * 7);
    send_data(r, 0x03, 1, block, sizeof block, 1); /* bad checksum: 1/0x07 */
    reply(r, 0x03, NULL, st);
    assert_int_equal(st[0], 1);
    assert_int_equal(st[1], 0x07);
    send_data(r, 0x03, 1, block, sizeof block, 0); /* ROM places block 1 at offset + 0x1000 */
    reply(r, 0x03, NULL, st);
    assert_int_equal(st[0], 0);
    assert_memory_equal(r->flash.data + 0x9000, block, sizeof block);

    /* MD5: 32 lowercase hex characters (§6.8) */
    uint8_t m[16];
    char hex[33];
    md5(block, sizeof block, m);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", m[i]);
    words(d, 4, 0x9000u, 0x1000u, 0u, 0u);
    send_cmd(r, 0x13, d, 16, 0);
    assert_int_equal(reply(r, 0x13, NULL, st), 32 + 4);
    assert_memory_equal(st, hex, 32);

    /* READ_FLASH_SLOW: 64 data bytes whatever was asked (§6.10) */
    words(d, 2, 0x9000u, 16u);
    send_cmd(r, 0x0E, d, 8, 0);
    assert_int_equal(reply(r, 0x0E, NULL, st), 64 + 4);
    assert_memory_equal(st, block, 16);

    /* a size field that disagrees with the data: 1/0x05 */
    uint8_t pkt[] = {0x00, 0x0A, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x40};
    send_raw_frame(r, pkt, sizeof pkt);
    reply(r, 0x0A, NULL, st);
    assert_int_equal(st[0], 1);
    assert_int_equal(st[1], 0x05);
    /* stub-only commands: unsupported in the ROM */
    send_cmd(r, 0xD0, NULL, 0, 0);
    struct frames *f = frames_of(r);
    assert_int_equal(f->n, 8);
    free(f);
    rig_free(r);
}

static void stub_status_bytes_and_errors(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32s3", 1);
    clear(r);
    enter_stub(r);
    uint8_t s[36], st[64], d[20];
    uint32_t v;
    sync_packet(s);
    send_cmd(r, 0x08, s, 36, 0);
    struct frames *f = frames_of(r);
    assert_int_equal(f->n, 8);
    assert_int_equal(get_le32(f->data[0] + 4), 0); /* stub SYNC value 0 */
    assert_int_equal(f->len[0], 10);            /* 2 status bytes */
    free(f);
    clear(r);
    /* data without begin: 0xC6 */
    uint8_t blk[16] = {0};
    send_data(r, 0x03, 0, blk, 16, 0);
    assert_int_equal(reply(r, 0x03, &v, st), 2);
    assert_int_equal(st[0], 0xC6);
    /* block size over 0x4000: 0xC2 */
    words(d, 4, 0x1000u, 1u, 0x8000u, 0x10000u);
    send_cmd(r, 0x02, d, 16, 0);
    reply(r, 0x02, NULL, st);
    assert_int_equal(st[0], 0xC2);
    /* checksum: 0xC1 */
    words(d, 4, 16u, 1u, 0x4000u, 0x10000u);
    send_cmd(r, 0x02, d, 16, 0);
    reply(r, 0x02, NULL, st);
    assert_int_equal(st[0], 0);
    send_data(r, 0x03, 0, blk, 16, 1);
    reply(r, 0x03, NULL, st);
    assert_int_equal(st[0], 0xC1);
    /* READ_FLASH_SLOW is a ROM command: 0xC3 from the stub */
    words(d, 2, 0u, 64u);
    send_cmd(r, 0x0E, d, 8, 0);
    reply(r, 0x0E, NULL, st);
    assert_int_equal(st[0], 0xC3);
    /* MD5: 16 raw bytes */
    words(d, 4, 0u, 0x1000u, 0u, 0u);
    send_cmd(r, 0x13, d, 16, 0);
    assert_int_equal(reply(r, 0x13, NULL, st), 16 + 2);
    uint8_t ff[0x1000], m[16];
    memset(ff, 0xFF, sizeof ff);
    md5(ff, sizeof ff, m);
    assert_memory_equal(st, m, 16);
    rig_free(r);
}

static void stub_baud_change_replies_first(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32c6", 1);
    clear(r);
    enter_stub(r);
    r->cap.n_baud = 0;
    uint8_t d[8], st[8];
    words(d, 2, 921600u, 0u); /* ROM convention sent to a stub: refused */
    send_cmd(r, 0x0F, d, 8, 0);
    reply(r, 0x0F, NULL, st);
    assert_int_not_equal(st[0], 0);
    assert_int_equal(r->cap.n_baud, 0);
    words(d, 2, 921600u, 115200u);
    send_cmd(r, 0x0F, d, 8, 0);
    assert_int_equal(r->cap.n_baud, 1);
    /* the divider counts sixteenths of the 40 MHz clock: the new speed is 921600 within the
     * divider's resolution */
    assert_in_range(r->cap.baud_events[0], 921600 - 1500, 921600 + 1500);
    assert_true(r->cap.len_at_baud[0] > 0); /* the reply left before the switch */
    reply(r, 0x0F, NULL, st);
    assert_int_equal(st[0], 0);
    /* the stub keeps its divider whatever speed a host syncs at; the ROM's auto-baud would
     * take it */
    vchip_autobaud(&r->vc, 115200);
    assert_int_equal(r->cap.n_baud, 1);
    vchip_reboot(&r->vc, 1, RESET_SW);
    r->cap.n_baud = 0;
    vchip_autobaud(&r->vc, 460800);
    assert_int_equal(r->cap.n_baud, 1);
    assert_in_range(r->cap.baud_events[0], 460800 - 500, 460800 + 500);
    rig_free(r);
}

/* A compressed write through the stub and, separately, the ROM; the Adler-32 check. */
static void deflate_write(const char *chip, int stub, int corrupt_adler)
{
    struct rig *r = rig_new(chip, 1);
    clear(r);
    if (stub)
        enter_stub(r);
    uint32_t size = 100000;
    uint8_t *img = malloc(size);
    for (uint32_t i = 0; i < size; i++)
        img[i] = (uint8_t)((i * 2654435761u) >> 24 & ((i / 1000) % 2 ? 0xFF : 0x0F));
    uLongf zlen = compressBound(size);
    uint8_t *z = malloc(zlen);
    assert_int_equal(compress2(z, &zlen, img, size, 9), Z_OK);
    if (corrupt_adler)
        z[zlen - 1] ^= 0x01;
    uint32_t bs = 0x4000, blocks = (uint32_t)((zlen + bs - 1) / bs);
    uint32_t write_size = stub ? size : (size + bs - 1) / bs * bs;
    uint8_t d[20], st[16];
    words(d, 4, write_size, blocks, bs, 0x20000u);
    send_cmd(r, 0x10, d, 16, 0);
    reply(r, 0x10, NULL, st);
    assert_int_equal(st[0], 0);
    int failed = 0;
    for (uint32_t s = 0; s < blocks; s++) {
        uint32_t n = s + 1 == blocks ? (uint32_t)(zlen - s * bs) : bs;
        send_data(r, 0x11, s, z + s * bs, n, 0);
        reply(r, 0x11, NULL, st);
        if (st[0]) {
            assert_false(stub); /* the stub acknowledges on receipt */
            assert_int_equal(st[0], 1);
            assert_int_equal(st[1], 0x0C);
            failed = 1;
        }
    }
    if (stub) {
        uint8_t one[4];
        put_le32(one, 1);
        send_cmd(r, 0x12, one, 4, 0);
        reply(r, 0x12, NULL, st);
        assert_int_equal(st[0], corrupt_adler ? 0xC7 : 0);
    } else {
        assert_int_equal(failed, corrupt_adler);
    }
    assert_memory_equal(r->flash.data + 0x20000, img, size); /* data before the check is there */
    free(img);
    free(z);
    rig_free(r);
}

static void deflate_writes_and_adler_check(void **state)
{
    (void)state;
    deflate_write("esp32c3", 1, 0);
    deflate_write("esp32c3", 1, 1);
    deflate_write("esp32", 0, 0);
    deflate_write("esp32s2", 0, 1);
}

static void stub_write_retry_is_not_written_twice(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32", 1);
    clear(r);
    enter_stub(r);
    uint8_t d[16], st[8], a[0x4000], b[0x4000];
    memset(a, 0xA5, sizeof a);
    memset(b, 0x3C, sizeof b);
    words(d, 4, 0x8000u, 2u, 0x4000u, 0x0u);
    send_cmd(r, 0x02, d, 16, 0);
    reply(r, 0x02, NULL, st);
    send_data(r, 0x03, 0, a, sizeof a, 0);
    reply(r, 0x03, NULL, st);
    send_data(r, 0x03, 0, a, sizeof a, 0); /* repeat after a "lost" reply */
    reply(r, 0x03, NULL, st);
    assert_int_equal(st[0], 0);
    send_data(r, 0x03, 1, b, sizeof b, 0);
    reply(r, 0x03, NULL, st);
    assert_int_equal(st[0], 0);
    assert_memory_equal(r->flash.data, a, sizeof a);
    assert_memory_equal(r->flash.data + 0x4000, b, sizeof b);
    send_data(r, 0x03, 5, b, sizeof b, 0); /* beyond the announced blocks */
    reply(r, 0x03, NULL, st);
    assert_int_not_equal(st[0], 0);
    rig_free(r);
}

static void stub_read_flash_streams_with_acks(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32s2", 1);
    for (uint32_t i = 0; i < 10000; i++)
        r->flash.data[0x3000 + i] = (uint8_t)(i ^ (i >> 8));
    clear(r);
    enter_stub(r);
    uint8_t d[16], st[8];
    words(d, 4, 0x3000u, 10000u, 4096u, 64u);
    send_cmd(r, 0xD2, d, 16, 0);
    struct frames *f = frames_of(r);
    /* the reply and one data packet: the stub keeps one packet in flight */
    assert_int_equal(f->n, 2);
    assert_int_equal(f->data[0][1], 0xD2);
    assert_int_equal(f->len[1], 4096);
    assert_memory_equal(f->data[1], r->flash.data + 0x3000, 4096);
    free(f);
    clear(r);
    uint32_t got = 4096;
    while (got < 10000) {
        uint8_t ack[4];
        put_le32(ack, got);
        send_raw_frame(r, ack, 4);
        f = frames_of(r);
        assert_int_equal(f->n, 1);
        assert_memory_equal(f->data[0], r->flash.data + 0x3000 + got, f->len[0]);
        got += (uint32_t)f->len[0];
        free(f);
        clear(r);
    }
    assert_int_equal(got, 10000);
    uint8_t ack[4], m[16];
    put_le32(ack, got);
    send_raw_frame(r, ack, 4);
    f = frames_of(r);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->len[0], 16);
    md5(r->flash.data + 0x3000, 10000, m);
    assert_memory_equal(f->data[0], m, 16);
    free(f);
    clear(r);
    /* back to commands */
    uint8_t a[4];
    put_le32(a, 0x40001000);
    send_cmd(r, 0x0A, a, 4, 0);
    uint32_t v;
    reply(r, 0x0A, &v, st);
    assert_int_equal(v, 0x7C6);
    rig_free(r);
}

static void erase_commands_in_the_stub(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32c3", 1);
    uint8_t zero[0x3000] = {0};
    nor_program(&r->flash, 0x10000, zero, sizeof zero);
    clear(r);
    enter_stub(r);
    uint8_t d[8], st[8];
    words(d, 2, 0x11000u, 0x1000u);
    send_cmd(r, 0xD1, d, 8, 0);
    reply(r, 0xD1, NULL, st);
    assert_int_equal(st[0], 0);
    assert_int_equal(r->flash.data[0x10FFF], 0x00);
    assert_int_equal(r->flash.data[0x11000], 0xFF);
    assert_int_equal(r->flash.data[0x11FFF], 0xFF);
    assert_int_equal(r->flash.data[0x12000], 0x00);
    words(d, 2, 0x11001u, 0x1000u); /* unaligned */
    send_cmd(r, 0xD1, d, 8, 0);
    reply(r, 0xD1, NULL, st);
    assert_int_not_equal(st[0], 0);
    send_cmd(r, 0xD0, NULL, 0, 0);
    reply(r, 0xD0, NULL, st);
    assert_int_equal(st[0], 0);
    assert_int_equal(r->flash.data[0x10000], 0xFF);
    assert_int_equal(r->flash.data[0x12000], 0xFF);
    rig_free(r);
}

static void classic_reset_sequences(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32", 0); /* power-on into the app */
    assert_int_equal(r->vc.mode, VCHIP_APP);
    /* SLIP is ignored by the app */
    clear(r);
    uint8_t s[36];
    sync_packet(s);
    send_cmd(r, 0x08, s, 36, 0);
    assert_int_equal(r->cap.len, 0);
    /* esptool classic: (D0,R1) reset; (D1,R1) then (D1,R0) in quick succession; sampled 5 ms later */
    vchip_set_lines(&r->vc, 0, 1, 1000);
    assert_int_equal(r->vc.mode, VCHIP_OFF);
    vchip_set_lines(&r->vc, 1, 1, 1100);
    vchip_set_lines(&r->vc, 1, 0, 1100);
    assert_int_equal(vchip_tick(&r->vc, 1102), 1105);
    assert_int_equal(r->vc.mode, VCHIP_OFF);
    vchip_tick(&r->vc, 1105);
    assert_int_equal(r->vc.mode, VCHIP_ROM);
    assert_non_null(memmem(r->cap.buf, r->cap.len, "waiting for download", 20));
    vchip_set_lines(&r->vc, 0, 0, 1150); /* releasing IO0 later changes nothing */
    assert_int_equal(r->vc.mode, VCHIP_ROM);
    /* hard reset: RTS pulse with IO0 high boots the app (empty flash) */
    clear(r);
    vchip_set_lines(&r->vc, 0, 1, 2000);
    vchip_set_lines(&r->vc, 0, 0, 2100);
    vchip_tick(&r->vc, 2105);
    assert_int_equal(r->vc.mode, VCHIP_APP);
    assert_non_null(memmem(r->cap.buf, r->cap.len, "SPI_FAST_FLASH_BOOT", 19));
    assert_non_null(memmem(r->cap.buf, r->cap.len, "invalid header: 0xffffffff", 26));
    /* EN released and pulled again before the strap is sampled: no boot */
    vchip_set_lines(&r->vc, 0, 1, 3000);
    vchip_set_lines(&r->vc, 1, 0, 3100);
    vchip_set_lines(&r->vc, 0, 1, 3102);
    vchip_tick(&r->vc, 3110);
    assert_int_equal(r->vc.mode, VCHIP_OFF);
    rig_free(r);
}

static void usb_jtag_reset_sequence(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof *r);
    char err[64];
    assert_int_equal(nor_open(&r->flash, NULL, 1u << 20, err, sizeof err), 0);
    struct vchip_config cfg = {0};
    cfg.chip = chip_by_name("esp32c3");
    cfg.usb_jtag = 1;
    struct vchip_io io = {.ctx = &r->cap, .send = cap_send, .set_baud = cap_baud};
    vchip_init(&r->vc, &cfg, &io, &r->flash);
    vchip_power_on(&r->vc, 0);
    /* esptool's USB-JTAG sequence (§4.4) */
    uint64_t t = 100;
    vchip_set_lines(&r->vc, 0, 0, t);
    vchip_set_lines(&r->vc, 1, 0, t += 100);
    vchip_set_lines(&r->vc, 1, 1, t += 100);
    vchip_set_lines(&r->vc, 0, 1, t);
    vchip_set_lines(&r->vc, 0, 1, t);
    vchip_tick(&r->vc, t += 100);
    vchip_set_lines(&r->vc, 0, 0, t);
    assert_int_equal(r->vc.mode, VCHIP_ROM);
    /* RTS pulse from idle: not armed, runs the app */
    vchip_set_lines(&r->vc, 0, 1, t += 100);
    vchip_tick(&r->vc, t += 200);
    vchip_set_lines(&r->vc, 0, 0, t);
    assert_int_equal(r->vc.mode, VCHIP_APP);
    rig_free(r);
}

static void mem_end_outside_upload_hangs(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32", 1);
    clear(r);
    uint8_t d[16], code[16] = {0}, st[8];
    words(d, 4, 16u, 1u, 0x1800u, 0x40080000u);
    send_cmd(r, 0x05, d, 16, 0);
    reply(r, 0x05, NULL, st);
    send_data(r, 0x07, 0, code, 16, 0);
    reply(r, 0x07, NULL, st);
    words(d, 2, 0u, 0x50000000u);
    send_cmd(r, 0x06, d, 8, 0);
    reply(r, 0x06, NULL, st); /* the ROM's reply leaves before the jump */
    assert_int_equal(r->vc.mode, VCHIP_HUNG);
    uint8_t s[36];
    sync_packet(s);
    send_cmd(r, 0x08, s, 36, 0);
    assert_int_equal(r->cap.len, 0);
    rig_free(r);
}

static void injected_command_faults(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof *r);
    char err[64];
    assert_int_equal(nor_open(&r->flash, NULL, 1u << 20, err, sizeof err), 0);
    struct vchip_config cfg = {0};
    cfg.chip = chip_by_name("esp32s3");
    cfg.cmd_faults[0] = (struct vchip_cmd_fault){0x0A, 2, CMD_FAULT_FAIL};
    cfg.cmd_faults[1] = (struct vchip_cmd_fault){0x0A, 3, CMD_FAULT_NO_REPLY};
    cfg.n_cmd_faults = 2;
    struct vchip_io io = {.ctx = &r->cap, .send = cap_send, .set_baud = cap_baud};
    vchip_init(&r->vc, &cfg, &io, &r->flash);
    vchip_power_on(&r->vc, 1);
    clear(r);
    uint8_t a[4], st[8];
    uint32_t v;
    put_le32(a, 0x40001000);
    send_cmd(r, 0x0A, a, 4, 0);
    reply(r, 0x0A, &v, st);
    assert_int_equal(st[0], 0);
    send_cmd(r, 0x0A, a, 4, 0);
    reply(r, 0x0A, &v, st);
    assert_int_equal(st[0], 1);
    send_cmd(r, 0x0A, a, 4, 0);
    assert_int_equal(r->cap.len, 0);
    send_cmd(r, 0x0A, a, 4, 0);
    reply(r, 0x0A, &v, st);
    assert_int_equal(v, 9);
    rig_free(r);
}

static void nor_flash_model(void **state)
{
    (void)state;
    struct nor n;
    char err[128];
    char path[] = "/tmp/vchip-nor-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x12\x34", 2), 2); /* an existing short file keeps its bytes */
    close(fd);
    assert_int_equal(nor_open(&n, path, 0x10000, err, sizeof err), 0);
    assert_int_equal(n.data[0], 0x12);
    assert_int_equal(n.data[2], 0xFF);
    uint8_t a = 0xF0, b = 0x0F, out;
    assert_int_equal(nor_program(&n, 0x100, &a, 1), 0);
    assert_int_equal(nor_program(&n, 0x100, &b, 1), 0);
    nor_read(&n, 0x100, &out, 1);
    assert_int_equal(out, 0x00); /* programming only clears bits */
    assert_int_equal(nor_erase(&n, 0x101, 1), 0); /* the whole sector */
    nor_read(&n, 0x100, &out, 1);
    assert_int_equal(out, 0xFF);
    assert_int_equal(n.data[0], 0xFF);
    assert_int_equal(nor_program(&n, 0xFFFF, &a, 2), -1);
    assert_int_equal(nor_read(&n, 0x10000, &out, 1), -1);
    nor_program(&n, 0x2000, &b, 1);
    nor_close(&n);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), 0x10000); /* extended to the flash size */
    fseek(f, 0x2000, SEEK_SET);
    assert_int_equal(fgetc(f), 0x0F);
    fclose(f);
    unlink(path);
}

static uint32_t rd(struct rig *r, uint32_t addr)
{
    uint8_t a[4], st[8];
    uint32_t v;
    put_le32(a, addr);
    send_cmd(r, 0x0A, a, 4, 0);
    reply(r, 0x0A, &v, st);
    assert_int_equal(st[0], 0);
    return v;
}

static struct rig *rig_with(const struct vchip_config *cfg)
{
    struct rig *r = calloc(1, sizeof *r);
    char err[64];
    assert_int_equal(nor_open(&r->flash, NULL, 1u << 20, err, sizeof err), 0);
    struct vchip_io io = {.ctx = &r->cap, .send = cap_send, .set_baud = cap_baud};
    vchip_init(&r->vc, cfg, &io, &r->flash);
    vchip_power_on(&r->vc, 1);
    clear(r);
    return r;
}

/* The eFuse words of a production chip as esptool decodes them (§8): revision, package,
 * features; the C6's MAC_EXT. */
static void efuse_words_of_production_chips(void **state)
{
    (void)state;
    static const struct {
        const char *chip;
        uint32_t addr, value;
    } t[] = {
        /* ESP32-D0WD-V3 v3.1: package 1, 240 MHz rated, rev bits word3.15 word5.20 date.31 */
        {"esp32", 0x3FF5A00C, 1u << 9 | 1u << 13 | 1u << 15},
        {"esp32", 0x3FF5A014, 1u << 20 | 1u << 24},
        {"esp32", 0x3FF6607C, 1u << 31},
        {"esp32", 0x3FF5A010, 51u | 3u << 8}, /* CK8M_FREQ, ADC VRef */
        /* ESP32-S2FNR2 v0.0 */
        {"esp32s2", 0x3F41A050, 2u << 21 | 1u << 28},
        {"esp32s2", 0x3F41A054, 0},
        /* ESP32-S3 (QFN56) v0.2 */
        {"esp32s3", 0x60007050, 3u << 24 | 2u << 18},
        {"esp32s3", 0x60007058, 0},
        /* ESP32-C3 (QFN32) v0.4 */
        {"esp32c3", 0x60008850, 4u << 18},
        {"esp32c3", 0x60008858, 0},
        /* ESP32-C6 (QFN40) v0.1, MAC_EXT ff:fe above the MAC's first two bytes */
        {"esp32c6", 0x600B0850, 1u << 18},
        {"esp32c6", 0x600B0848, 0xFFFE240Au},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct rig *r = rig_new(t[i].chip, 1);
        clear(r);
        uint32_t v = rd(r, t[i].addr);
        if (v != t[i].value)
            fail_msg("%s 0x%08x: 0x%08x, expected 0x%08x", t[i].chip, t[i].addr, v, t[i].value);
        rig_free(r);
    }
}

/* --revision and --efuse change what the chip reads; the ESP32 major revision is unary. */
static void revision_and_efuse_words_are_settable(void **state)
{
    (void)state;
    struct vchip_config cfg = {0};
    cfg.chip = chip_by_name("esp32c3");
    cfg.revision_set = 1;
    cfg.rev_major = 1;
    cfg.rev_minor = 9; /* minor 9 = hi bit 1, lo 1 */
    cfg.efuse_words[0].addr = 0x60008854;
    cfg.efuse_words[0].value = 0x1234;
    cfg.n_efuse_words = 1;
    struct rig *r = rig_with(&cfg);
    assert_int_equal(rd(r, 0x60008850), 1u << 18);
    assert_int_equal(rd(r, 0x60008858), 1u << 24 | 1u << 23);
    assert_int_equal(rd(r, 0x60008854), 0x1234);
    rig_free(r);
    cfg.chip = chip_by_name("esp32");
    cfg.rev_major = 1;
    cfg.rev_minor = 0;
    cfg.n_efuse_words = 0;
    r = rig_with(&cfg);
    assert_int_equal(rd(r, 0x3FF5A00C), 1u << 9 | 1u << 13 | 1u << 15);
    assert_int_equal(rd(r, 0x3FF5A014), 0);
    assert_int_equal(rd(r, 0x3FF6607C), 0);
    rig_free(r);
}

/* The ESP32 ROM divides its own crystal estimate (RTC calibration x 15625 x CK8M / 40) by
 * the baud it is asked for; a client that scales its request by estimate / 40 MHz gets the
 * speed it wants, one that does not is 0.9 % off (§6.7). */
static void esp32_rom_baud_follows_its_crystal_estimate(void **state)
{
    (void)state;
    struct rig *r = rig_new("esp32", 1);
    clear(r);
    uint32_t cali = (rd(r, 0x3FF5F06C) >> 7) & 0x1FFFFFF;
    uint32_t ck8m = rd(r, 0x3FF5A010) & 0xFF;
    double estimate = (double)cali * 15625.0 * ck8m / 40.0;
    assert_true(estimate > 39e6 && estimate < 40e6);
    /* boot: divider 40 MHz / 115200 = 347 and 4/16 */
    assert_int_equal(rd(r, 0x3FF40014), 347u | 4u << 20);
    uint8_t d[8], st[8];
    words(d, 2, (uint32_t)(921600.0 * estimate / 40e6), 0u);
    r->cap.n_baud = 0;
    send_cmd(r, 0x0F, d, 8, 0);
    reply(r, 0x0F, NULL, st);
    assert_int_equal(r->cap.n_baud, 1);
    double got = r->cap.baud_events[0];
    assert_true(got > 921600 * 0.998 && got < 921600 * 1.002);
    rig_free(r);
    r = rig_new("esp32", 1);
    clear(r);
    r->cap.n_baud = 0;
    words(d, 2, 921600u, 0u);
    send_cmd(r, 0x0F, d, 8, 0);
    reply(r, 0x0F, NULL, st);
    got = r->cap.baud_events[0];
    assert_true(got > 921600 * 1.005 && got < 921600 * 1.015);
    rig_free(r);
}

/* The ROM records which port its download mode runs on (esptool 4 reads it to tell a
 * USB-Serial/JTAG connection). */
static void rom_records_the_usb_jtag_port(void **state)
{
    (void)state;
    struct vchip_config cfg = {0};
    cfg.chip = chip_by_name("esp32c3");
    struct rig *r = rig_with(&cfg);
    assert_int_equal(rd(r, 0x3FCDF07C), 0);
    rig_free(r);
    cfg.usb_jtag = 1;
    r = rig_with(&cfg);
    assert_int_equal(rd(r, 0x3FCDF07C), 3);
    rig_free(r);
}

/* A fake clock for --flash-time: waits jump the clock and record where output stood. */
struct clock {
    struct capture *cap;
    uint64_t now;
    uint64_t waited;       /* total waited */
    size_t output_at_wait; /* output length when the last wait began */
};

static uint64_t clk_now(void *ctx)
{
    return ((struct clock *)ctx)->now;
}

static void clk_wait(void *ctx, uint64_t t)
{
    struct clock *c = ctx;
    c->output_at_wait = c->cap->len;
    c->waited += t - c->now;
    c->now = t;
}

static struct clock timing;

static void timed_send(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    cap_send(timing.cap, b, n);
}

static void timed_baud(void *ctx, uint32_t baud)
{
    (void)ctx;
    cap_baud(timing.cap, baud);
}

/* --flash-time: the ROM erases a 64 KiB block (150 ms) before it answers FLASH_BEGIN and
 * programs a block (0.4 ms a page) before it answers FLASH_DATA; the stub answers a data block
 * at once and makes the next command wait for its write; ERASE_REGION answers after the
 * erase (sectors to the block boundary, then blocks). */
static void flash_time_delays_replies(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof *r);
    char err[64];
    assert_int_equal(nor_open(&r->flash, NULL, 1u << 20, err, sizeof err), 0);
    memset(&timing, 0, sizeof timing);
    timing.cap = &r->cap;
    timing.now = 1000;
    struct vchip_config cfg = {0};
    cfg.chip = chip_by_name("esp32s3");
    struct vchip_io io = {.ctx = &timing,
                          .send = timed_send,
                          .set_baud = timed_baud,
                          .now_us = clk_now,
                          .wait_until_us = clk_wait};
    vchip_init(&r->vc, &cfg, &io, &r->flash);
    vchip_power_on(&r->vc, 1);
    clear(r);
    uint8_t d[20], st[8], blk[0x400];
    memset(blk, 0x5A, sizeof blk);
    words(d, 5, 0x10000u, 64u, 0x400u, 0x20000u, 0u);
    send_cmd(r, 0x02, d, 20, 0);
    assert_int_equal(timing.waited, 150000);
    assert_int_equal(timing.output_at_wait, 0); /* nothing before the erase ended */
    reply(r, 0x02, NULL, st);
    assert_int_equal(st[0], 0);
    timing.waited = 0;
    send_data(r, 0x03, 0, blk, sizeof blk, 0);
    assert_int_equal(timing.waited, 4 * 400); /* 4 pages */
    reply(r, 0x03, NULL, st);
    rig_free(r);

    r = calloc(1, sizeof *r);
    assert_int_equal(nor_open(&r->flash, NULL, 1u << 20, err, sizeof err), 0);
    memset(&timing, 0, sizeof timing);
    timing.cap = &r->cap;
    timing.now = 1000;
    vchip_init(&r->vc, &cfg, &io, &r->flash);
    vchip_power_on(&r->vc, 1);
    clear(r);
    enter_stub(r);
    uint8_t big[0x4000];
    memset(big, 0x5A, sizeof big);
    words(d, 4, 0x10000u, 4u, 0x4000u, 0x20000u);
    send_cmd(r, 0x02, d, 16, 0);
    reply(r, 0x02, NULL, st);
    timing.waited = 0;
    send_data(r, 0x03, 0, big, sizeof big, 0);
    assert_int_equal(timing.waited, 0); /* acknowledged on receipt */
    reply(r, 0x03, NULL, st);
    timing.now += 50000; /* the next block arrives 50 ms later */
    send_data(r, 0x03, 1, big, sizeof big, 0);
    /* block erase 150 ms + 64 pages of the first block, less the 50 ms that passed */
    assert_int_equal(timing.waited, 150000 + 64 * 400 - 50000);
    assert_int_equal(timing.output_at_wait, 0);
    reply(r, 0x03, NULL, st);
    words(d, 2, 0x3F000u, 0x12000u); /* one sector, one block, one sector */
    timing.waited = 0;
    timing.now += 1000000; /* long after the writes */
    send_cmd(r, 0xD1, d, 8, 0);
    assert_int_equal(timing.waited, 45000 + 150000 + 45000);
    reply(r, 0xD1, NULL, st);
    assert_int_equal(st[0], 0);
    rig_free(r);
}

/* ---------------------------------------------------------------- RFC 2217 reset sequencer */

struct line_log {
    int dtr[16], rts[16];
    uint64_t at[16];
    size_t n;
};

static void log_lines(void *ctx, int dtr, int rts, uint64_t at)
{
    struct line_log *l = ctx;
    assert_true(l->n < 16);
    l->dtr[l->n] = dtr;
    l->rts[l->n] = rts;
    l->at[l->n++] = at;
}

/* Feed (time, dtr, rts) requests, running the sequencer up to each time, then to `until`. */
static void drive(struct reset_seq *s, struct line_log *out, const int (*req)[3], size_t n,
                  uint64_t until)
{
    for (size_t i = 0; i < n; i++) {
        reset_seq_run(s, (uint64_t)req[i][0], log_lines, out);
        reset_seq_request(s, req[i][1], req[i][2], (uint64_t)req[i][0]);
        reset_seq_run(s, (uint64_t)req[i][0], log_lines, out);
    }
    reset_seq_run(s, until, log_lines, out);
}

static void reset_sequencer_on_a_bridge_board(void **state)
{
    (void)state;
    struct reset_seq s;
    reset_seq_init(&s, 0);
    struct line_log out = {0};
    /* pyserial's open (DTR, RTS on) and esptool's classic sequence, one change per message;
     * the client's last DTR release comes early (a busy server reads it with the rest) */
    static const int classic[][3] = {{0, 1, 0},   {50, 1, 1},  {100, 0, 1},
                                     {300, 1, 1}, {301, 1, 0}, {302, 0, 0}};
    drive(&s, &out, classic, 6, 1000);
    assert_int_equal(out.n, 5);
    /* (1,0) (1,1) (0,1) pass; the release is applied as DTR on, RTS off at once */
    assert_int_equal(out.dtr[3], 1);
    assert_int_equal(out.rts[3], 0);
    assert_int_equal(out.at[3], 300);
    /* ... and held 50 ms before the client's (0,0) applies */
    assert_int_equal(out.dtr[4], 0);
    assert_int_equal(out.rts[4], 0);
    assert_int_equal(out.at[4], 350);
    /* a hard reset (RTS pulse) passes through as it is */
    memset(&out, 0, sizeof out);
    static const int pulse[][3] = {{2000, 0, 1}, {2100, 0, 0}};
    drive(&s, &out, pulse, 2, 3000);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.rts[0], 1);
    assert_int_equal(out.at[1], 2100);
}

static void reset_sequencer_on_a_usb_jtag_port(void **state)
{
    (void)state;
    struct reset_seq s;
    reset_seq_init(&s, 1);
    struct line_log out = {0};
    static const int classic[][3] = {{0, 0, 1}, {100, 1, 1}, {150, 1, 0}, {200, 0, 0}};
    drive(&s, &out, classic, 4, 1000);
    /* (0,1) passes; the release runs the USB-JTAG download sequence: arm, (1,1), (0,1), idle;
     * then the lines follow the client again: its (1,1), its later changes */
    static const int want[][3] = {{0, 0, 1},   {100, 1, 0}, {110, 1, 1}, {110, 0, 1},
                                  {120, 0, 0}, {120, 1, 1}, {150, 1, 0}, {200, 0, 0}};
    assert_int_equal(out.n, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(out.at[i], want[i][0]);
        assert_int_equal(out.dtr[i], want[i][1]);
        assert_int_equal(out.rts[i], want[i][2]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boot_log_then_eight_sync_replies),
        cmocka_unit_test(noise_and_double_delimiters_are_tolerated),
        cmocka_unit_test(magic_values_and_mac_per_chip),
        cmocka_unit_test(security_info_per_chip),
        cmocka_unit_test(spi_engine_runs_flash_commands),
        cmocka_unit_test(rom_write_erases_up_front_and_checks),
        cmocka_unit_test(stub_status_bytes_and_errors),
        cmocka_unit_test(stub_baud_change_replies_first),
        cmocka_unit_test(deflate_writes_and_adler_check),
        cmocka_unit_test(stub_write_retry_is_not_written_twice),
        cmocka_unit_test(stub_read_flash_streams_with_acks),
        cmocka_unit_test(erase_commands_in_the_stub),
        cmocka_unit_test(classic_reset_sequences),
        cmocka_unit_test(usb_jtag_reset_sequence),
        cmocka_unit_test(mem_end_outside_upload_hangs),
        cmocka_unit_test(injected_command_faults),
        cmocka_unit_test(nor_flash_model),
        cmocka_unit_test(efuse_words_of_production_chips),
        cmocka_unit_test(revision_and_efuse_words_are_settable),
        cmocka_unit_test(esp32_rom_baud_follows_its_crystal_estimate),
        cmocka_unit_test(rom_records_the_usb_jtag_port),
        cmocka_unit_test(flash_time_delays_replies),
        cmocka_unit_test(reset_sequencer_on_a_bridge_board),
        cmocka_unit_test(reset_sequencer_on_a_usb_jtag_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
