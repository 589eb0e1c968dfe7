/* Unit tests of the loader's framing against a scripted peer on a socketpair: the peer's
 * replies are written before the call (the socket buffers them), and what the loader sent is
 * read back afterwards. A small threaded fake stub covers the compressed write and its MD5
 * check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "loader/loader.h"
#include "serial/slip.h"
#include "util/bytes.h"

struct rig {
    struct loader *l;
    int peer; /* the chip's end */
};

static struct rig make_rig(int stub, const char *chip)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct port *p;
    struct error err;
    assert_int_equal(port_fd_wrap(sv[0], "test", &p, &err), 0);
    struct rig r;
    assert_int_equal(loader_new(p, NULL, &r.l, &err), 0);
    r.l->stub = stub;
    r.l->chip = chip_by_name(chip);
    r.l->attached = 1;
    r.peer = sv[1];
    return r;
}

static void free_rig(struct rig *r)
{
    loader_close(r->l, 0);
    close(r->peer);
}

/* Peer sends one SLIP packet built from a hex-free byte list. */
static void peer_send(int fd, const uint8_t *payload, size_t len)
{
    uint8_t out[SLIP_ENCODED_MAX(256)];
    size_t n = slip_encode(payload, len, out);
    assert_int_equal(write(fd, out, n), (ssize_t)n);
}

static void peer_reply(int fd, uint8_t op, uint32_t value, const uint8_t *data, size_t dlen)
{
    uint8_t p[256] = {0x01, op, (uint8_t)dlen, (uint8_t)(dlen >> 8)};
    put_le32(p + 4, value);
    if (dlen)
        memcpy(p + 8, data, dlen);
    peer_send(fd, p, 8 + dlen);
}

/* Read the packets the loader sent (decoded); returns how many, the last one in out. */
static int peer_collect(int fd, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t buf[70000];
    struct slip_decoder d;
    slip_decoder_init(&d, out, cap);
    int packets = 0;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            break;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (slip_decode_byte(&d, buf[i]) == SLIP_PACKET) {
                packets++;
                *len = d.len;
            }
    }
    return packets;
}

static void rom_read_reg_value_and_4_status_bytes(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32");
    /* §3.3 wire example: ROM READ_REG of 0x40001000 on ESP32. */
    static const uint8_t reply[] = {0x01, 0x0a, 0x04, 0x00, 0x83, 0x1d, 0xf0, 0x00,
                                    0x00, 0x00, 0x00, 0x00};
    peer_send(r.peer, reply, sizeof reply);
    uint32_t v = 0;
    struct error err;
    assert_int_equal(loader_read_reg(r.l, 0x40001000, &v, &err), 0);
    assert_int_equal(v, 0x00F01D83);
    uint8_t sent[64];
    size_t n = 0;
    assert_int_equal(peer_collect(r.peer, sent, sizeof sent, &n), 1);
    static const uint8_t want[] = {0x00, 0x0a, 0x04, 0x00, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x40};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(sent, want, sizeof want);
    free_rig(&r);
}

static void rom_error_status_names_the_code(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32s3");
    /* §3.3: ESP32-S3 ROM rejecting FLASH_BEGIN with status 1, error 0x64. */
    static const uint8_t st[] = {0x01, 0x64, 0x00, 0x00};
    peer_reply(r.peer, 0x02, 0, st, 4);
    struct error err;
    uint8_t d[16] = {0};
    struct loader_cmd c = {.op = LOADER_FLASH_BEGIN,
                           .data = d,
                           .len = 16,
                           .timeout_ms = 500,
                           .retries = 2};
    int rc = loader_command(r.l, &c, &err);
    assert_int_equal(rc, LOADER_E_FAIL);
    assert_non_null(strstr(err.msg, "FLASH_BEGIN"));
    assert_non_null(strstr(err.msg, "0x0164"));
    assert_non_null(strstr(err.msg, "invalid parameter"));
    free_rig(&r);
}

static void stub_status_is_two_bytes_and_its_code_is_first(void **state)
{
    (void)state;
    struct rig r = make_rig(1, "esp32c3");
    static const uint8_t ok[] = {0x00, 0x00};
    peer_reply(r.peer, 0xD1, 0, ok, 2);
    struct error err;
    uint8_t d[8] = {0};
    struct loader_cmd c = {.op = LOADER_ERASE_REGION, .data = d, .len = 8, .timeout_ms = 500};
    assert_int_equal(loader_command(r.l, &c, &err), 0);
    static const uint8_t bad[] = {0xC4, 0x00};
    peer_reply(r.peer, 0xD1, 0, bad, 2);
    assert_int_equal(loader_command(r.l, &c, &err), LOADER_E_FAIL);
    assert_non_null(strstr(err.msg, "SPI operation failed"));
    free_rig(&r);
}

static void md5_reply_formats_rom_hex_and_stub_raw(void **state)
{
    (void)state;
    uint8_t md[16];
    for (int i = 0; i < 16; i++)
        md[i] = (uint8_t)(0xA0 + i);
    struct error err;
    uint8_t got[16];

    struct rig r = make_rig(0, "esp32");
    uint8_t rom[36];
    for (int i = 0; i < 16; i++)
        snprintf((char *)rom + 2 * i, 3, "%02x", md[i]);
    memset(rom + 32, 0, 4);
    peer_reply(r.peer, 0x13, 0x20120707, rom, 36);
    assert_int_equal(loader_flash_md5(r.l, 0x1000, 0x2000, got, &err), 0);
    assert_memory_equal(got, md, 16);
    uint8_t sent[64];
    size_t n = 0;
    assert_int_equal(peer_collect(r.peer, sent, sizeof sent, &n), 1);
    assert_int_equal(n, 8 + 16);
    assert_int_equal(sent[1], 0x13);
    free_rig(&r);

    r = make_rig(1, "esp32c6");
    uint8_t stub[18];
    memcpy(stub, md, 16);
    stub[16] = stub[17] = 0;
    peer_reply(r.peer, 0x13, 0, stub, 18);
    memset(got, 0, 16);
    assert_int_equal(loader_flash_md5(r.l, 0, 0x1000, got, &err), 0);
    assert_memory_equal(got, md, 16);
    free_rig(&r);
}

static void data_command_carries_checksum_in_header(void **state)
{
    (void)state;
    struct rig r = make_rig(1, "esp32");
    uint8_t d[16 + 5] = {5, 0, 0, 0, 7, 0, 0, 0};
    static const uint8_t payload[5] = {0x01, 0x02, 0xC0, 0xDB, 0xFF};
    memcpy(d + 16, payload, 5);
    uint8_t chk = loader_checksum(payload, 5);
    assert_int_equal(chk, 0xEF ^ 0x01 ^ 0x02 ^ 0xC0 ^ 0xDB ^ 0xFF);
    static const uint8_t ok[] = {0, 0};
    peer_reply(r.peer, 0x11, 0, ok, 2);
    struct error err;
    struct loader_cmd c = {.op = LOADER_FLASH_DEFL_DATA,
                           .data = d,
                           .len = sizeof d,
                           .checksum = chk,
                           .timeout_ms = 500};
    assert_int_equal(loader_command(r.l, &c, &err), 0);
    uint8_t sent[64];
    size_t n = 0;
    assert_int_equal(peer_collect(r.peer, sent, sizeof sent, &n), 1);
    assert_int_equal(n, 8 + sizeof d); /* SLIP escapes were undone: lengths match */
    assert_int_equal(sent[2] | sent[3] << 8, sizeof d);
    assert_int_equal(sent[4], chk);
    assert_int_equal(sent[5] | sent[6] | sent[7], 0);
    assert_memory_equal(sent + 8 + 16, payload, 5);
    free_rig(&r);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void timeout_retries_then_reports(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32");
    struct error err;
    double t0 = now_s();
    uint8_t d[4] = {0};
    struct loader_cmd c = {.op = LOADER_READ_REG,
                           .data = d,
                           .len = 4,
                           .timeout_ms = 100,
                           .retries = 2};
    int rc = loader_command(r.l, &c, &err);
    double dt = now_s() - t0;
    assert_int_equal(rc, LOADER_E_TIMEOUT);
    assert_non_null(strstr(err.msg, "READ_REG"));
    assert_non_null(strstr(err.msg, "timed out"));
    assert_true(dt >= 0.29 && dt < 2.0);
    uint8_t sent[64];
    size_t n = 0;
    assert_int_equal(peer_collect(r.peer, sent, sizeof sent, &n), 3); /* 1 + 2 retries */
    free_rig(&r);
}

static void stale_replies_and_noise_are_skipped(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32");
    static const uint8_t st[] = {0, 0, 0, 0};
    static const uint8_t noise[] = "ets Jun  8 2016 00:22:57\r\n";
    assert_int_equal(write(r.peer, noise, sizeof noise - 1), (ssize_t)(sizeof noise - 1));
    peer_reply(r.peer, 0x09, 0x11111111, st, 4); /* late WRITE_REG reply */
    static const uint8_t bad_len[] = {0x01, 0x0a, 0x09, 0x00, 1, 2, 3, 4, 0, 0, 0, 0};
    peer_send(r.peer, bad_len, sizeof bad_len); /* size field does not match: garbled */
    peer_reply(r.peer, 0x0a, 0x12345678, st, 4);
    uint32_t v = 0;
    struct error err;
    assert_int_equal(loader_read_reg(r.l, 0x3FF5A000, &v, &err), 0);
    assert_int_equal(v, 0x12345678);
    free_rig(&r);
}

static void security_info_detects_chip_and_flags(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32");
    r.l->chip = NULL;
    /* §6.9: flags (secure boot + secure download), crypt count, key purposes, chip id 5,
     * then 4 ROM status bytes. Non-zero flag bytes must not be taken for a status. */
    uint8_t info[24] = {0x05, 0x01, 0, 0, 0x01, 1, 2, 3, 4, 5, 6, 7, 5, 0, 0, 0, 9, 0, 0, 0};
    peer_reply(r.peer, 0x14, 0, info, 24);
    struct error err;
    assert_int_equal(loader_detect_chip(r.l, &err), 0);
    assert_non_null(r.l->chip);
    assert_string_equal(r.l->chip->name, "esp32c3");
    assert_int_equal(r.l->security_flags, 0x105);
    assert_int_equal(r.l->secure_download, 1);
    free_rig(&r);

    /* ESP32-S2: 12 bytes without a chip id, then the magic register. */
    r = make_rig(0, "esp32");
    r.l->chip = NULL;
    uint8_t s2[16] = {0};
    peer_reply(r.peer, 0x14, 0, s2, 16);
    static const uint8_t st[] = {0, 0, 0, 0};
    peer_reply(r.peer, 0x0a, 0x000007C6, st, 4);
    assert_int_equal(loader_detect_chip(r.l, &err), 0);
    assert_string_equal(r.l->chip->name, "esp32s2");
    assert_int_equal(r.l->secure_download, 0);
    free_rig(&r);
}

static void unsupported_command_is_recognised(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32");
    /* §3.6: reply with a different opcode and status 1/0x05. */
    static const uint8_t st[] = {1, 5, 0, 0};
    peer_reply(r.peer, 0x00, 0, st, 4);
    peer_reply(r.peer, 0x00, 0, st, 4);
    struct error err;
    uint8_t info[32];
    struct loader_cmd c = {.op = LOADER_GET_SECURITY_INFO,
                           .resp = info,
                           .resp_cap = sizeof info,
                           .timeout_ms = 500,
                           .retries = 1};
    int rc = loader_command(r.l, &c, &err);
    assert_int_equal(rc, LOADER_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "not supported"));
    free_rig(&r);
}

static void damaged_packet_status_is_retried(void **state)
{
    (void)state;
    struct rig r = make_rig(0, "esp32");
    static const uint8_t bad[] = {1, 0x07, 0, 0}; /* ROM: checksum error */
    static const uint8_t ok[] = {0, 0, 0, 0};
    peer_reply(r.peer, 0x09, 0, bad, 4);
    peer_reply(r.peer, 0x09, 0, ok, 4);
    struct error err;
    assert_int_equal(loader_write_reg(r.l, 0x60000078, 0, 0, 0, &err), 0);
    uint8_t sent[64];
    size_t n = 0;
    assert_int_equal(peer_collect(r.peer, sent, sizeof sent, &n), 2);
    free_rig(&r);
}

/* Replies after the loader's command arrived (SYNC flushes its input before sending). */
struct responder {
    int fd;
    uint32_t value;
    size_t status_len;
    uint8_t got[128];
    size_t got_len;
};

static void *responder_main(void *arg)
{
    struct responder *r = arg;
    struct slip_decoder d;
    slip_decoder_init(&d, r->got, sizeof r->got);
    uint8_t b;
    while (read(r->fd, &b, 1) == 1)
        if (slip_decode_byte(&d, b) == SLIP_PACKET)
            break;
    r->got_len = d.len;
    static const uint8_t st[] = {0, 0, 0, 0};
    for (int i = 0; i < 8; i++) /* §5: eight replies */
        peer_reply(r->fd, 0x08, r->value, st, r->status_len);
    return NULL;
}

static void sync_tells_rom_from_stub(void **state)
{
    (void)state;
    struct error err;
    for (int stub = 0; stub <= 1; stub++) {
        struct rig r = make_rig(!stub, "esp32");
        struct responder resp = {r.peer, stub ? 0 : 0x20120707, stub ? 2 : 4, {0}, 0};
        pthread_t t;
        pthread_create(&t, NULL, responder_main, &resp);
        assert_int_equal(loader_sync(r.l, &err), 0);
        pthread_join(t, NULL);
        assert_int_equal(r.l->stub, stub);
        assert_int_equal(resp.got_len, 8 + 36);
        assert_int_equal(resp.got[1], 0x08);
        assert_int_equal(resp.got[8], 0x07);
        assert_int_equal(resp.got[8 + 35], 0x55);
        free_rig(&r);
    }
}

static void flash_size_from_jedec_id(void **state)
{
    (void)state;
    assert_int_equal(loader_flash_size_from_id(0x1640EF), 4u << 20);
    assert_int_equal(loader_flash_size_from_id(0x1840EF), 16u << 20);
    assert_int_equal(loader_flash_size_from_id(0x2040C8), 64u << 20);
    assert_int_equal(loader_flash_size_from_id(0x3925C2 & 0xFFFFFF), 32u << 20);
    assert_int_equal(loader_flash_size_from_id(0x00081F), 8u << 20); /* Adesto: type byte */
    assert_int_equal(loader_flash_size_from_id(0xFFFFFF), 0);
    assert_int_equal(loader_flash_size_from_id(0), 0);
    assert_string_equal(loader_error_text(1, 0xC1), "bad data checksum");
    assert_string_equal(loader_error_text(0, 0x0C), "deflate Adler-32 error");
}

/* ---------------------------------------------------------------- a fake stub for writes */

struct fake_stub {
    int fd;
    uint8_t flash[0x40000];
    int lie_md5;       /* answer SPI_FLASH_MD5 with a wrong digest */
    int drop_reply_at; /* FLASH_DEFL_DATA sequence whose first reply is lost (-1: none) */
    int bad_checksums; /* packets whose checksum did not match */
    int data_packets;
};

static void fs_reply(struct fake_stub *s, uint8_t op, uint8_t status, const uint8_t *data,
                     size_t n)
{
    uint8_t p[64] = {0x01, op, (uint8_t)(n + 2), 0};
    if (n)
        memcpy(p + 8, data, n);
    p[8 + n] = status;
    p[9 + n] = 0;
    uint8_t out[SLIP_ENCODED_MAX(64)];
    size_t k = slip_encode(p, 10 + n, out);
    if (write(s->fd, out, k) != (ssize_t)k)
        return;
}

static void *fake_stub_main(void *arg)
{
    struct fake_stub *s = arg;
    static uint8_t pkt[0x5000];
    uint8_t buf[4096];
    struct slip_decoder d;
    slip_decoder_init(&d, pkt, sizeof pkt);
    z_stream z;
    int z_on = 0;
    uint32_t offset = 0, written = 0, next_seq = 0;
    int dropped = 0;
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (slip_decode_byte(&d, buf[i]) != SLIP_PACKET)
                continue;
            uint8_t op = pkt[1];
            const uint8_t *dd = pkt + 8;
            uint32_t chk = pkt[4];
            switch (op) {
            case LOADER_FLASH_DEFL_BEGIN:
                offset = dd[12] | dd[13] << 8 | dd[14] << 16 | (uint32_t)dd[15] << 24;
                written = 0;
                next_seq = 0;
                if (z_on)
                    inflateEnd(&z);
                memset(&z, 0, sizeof z);
                inflateInit(&z);
                z_on = 1;
                fs_reply(s, op, 0, NULL, 0);
                break;
            case LOADER_FLASH_DEFL_DATA: {
                uint32_t len = dd[0] | dd[1] << 8;
                uint32_t seq = dd[4] | dd[5] << 8;
                s->data_packets++;
                if (loader_checksum(dd + 16, len) != chk) {
                    s->bad_checksums++;
                    fs_reply(s, op, 0xC1, NULL, 0);
                    break;
                }
                if (seq + 1 == next_seq) { /* a repeat after a lost reply */
                    fs_reply(s, op, 0, NULL, 0);
                    break;
                }
                uint8_t out[0x10000];
                z.next_in = (Bytef *)dd + 16;
                z.avail_in = len;
                do {
                    z.next_out = out;
                    z.avail_out = sizeof out;
                    inflate(&z, Z_NO_FLUSH);
                    uint32_t got = (uint32_t)(sizeof out - z.avail_out);
                    memcpy(s->flash + offset + written, out, got);
                    written += got;
                } while (z.avail_in > 0);
                next_seq = seq + 1;
                if ((int)seq == s->drop_reply_at && !dropped) {
                    dropped = 1;
                    break;
                }
                fs_reply(s, op, 0, NULL, 0);
                break;
            }
            case LOADER_FLASH_DEFL_END:
                fs_reply(s, op, 0, NULL, 0);
                break;
            case LOADER_SPI_FLASH_MD5: {
                uint32_t a = dd[0] | dd[1] << 8 | dd[2] << 16 | (uint32_t)dd[3] << 24;
                uint32_t l = dd[4] | dd[5] << 8 | dd[6] << 16 | (uint32_t)dd[7] << 24;
                uint8_t md[16];
                unsigned int k = 16;
                EVP_Digest(s->flash + a, l, md, &k, EVP_md5(), NULL);
                if (s->lie_md5)
                    md[0] ^= 1;
                fs_reply(s, op, 0, md, 16);
                break;
            }
            default:
                fs_reply(s, op, 0xC3, NULL, 0);
            }
        }
    }
    if (z_on)
        inflateEnd(&z);
    return NULL;
}

static void stub_write(struct fake_stub *s, int expect_rc)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s->fd = sv[1];
    pthread_t t;
    pthread_create(&t, NULL, fake_stub_main, s);
    struct port *p;
    struct error err;
    struct loader *l;
    assert_int_equal(port_fd_wrap(sv[0], "fake-stub", &p, &err), 0);
    assert_int_equal(loader_new(p, NULL, &l, &err), 0);
    l->stub = 1;
    l->attached = 1;
    l->chip = chip_by_name("esp32s3");
    uint32_t len = 0x30000;
    uint8_t *data = malloc(len);
    uint32_t x = 1;
    for (uint32_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = i % 3 ? (uint8_t)(x >> 16) : (uint8_t)i;
    }
    int rc = loader_write_flash(l, 0x4000, data, len, &err);
    assert_int_equal(rc, expect_rc);
    if (rc == 0)
        assert_memory_equal(s->flash + 0x4000, data, len);
    else
        assert_non_null(strstr(err.msg, "MD5 mismatch"));
    loader_close(l, 0); /* closes our end: the fake stub sees EOF */
    pthread_join(t, NULL);
    close(sv[1]);
    free(data);
}

static void compressed_write_lands_and_is_verified(void **state)
{
    (void)state;
    struct fake_stub *s = calloc(1, sizeof *s);
    s->drop_reply_at = -1;
    stub_write(s, 0);
    assert_int_equal(s->bad_checksums, 0);
    assert_true(s->data_packets >= 2);
    free(s);
}

static void lost_data_reply_is_repeated(void **state)
{
    (void)state;
    struct fake_stub *s = calloc(1, sizeof *s);
    s->drop_reply_at = 1;
    stub_write(s, 0);
    free(s);
}

static void md5_mismatch_is_never_success(void **state)
{
    (void)state;
    struct fake_stub *s = calloc(1, sizeof *s);
    s->drop_reply_at = -1;
    s->lie_md5 = 1;
    /* The write is repeated, then reported as a mismatch: never as done. */
    stub_write(s, LOADER_E_MISMATCH);
    free(s);
}

static void embedded_stubs_and_licence(void **state)
{
    (void)state;
    if (!loader_stubs_available()) {
        /* A build without npm: ROM mode only, and nothing claims otherwise. */
        print_message("no flasher stubs in this build: checking the ROM-only answers\n");
        assert_null(loader_stub_for("esp32"));
        assert_string_equal(loader_stub_source(), "");
        return;
    }
    static const char *chips[] = {"esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6"};
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        const struct loader_stub *st = loader_stub_for(chips[i]);
        assert_non_null(st);
        assert_string_equal(st->chip, chips[i]);
        /* The entry point lies in the uploaded code. */
        size_t text_bytes = strlen(st->text_b64) / 4 * 3;
        assert_true(st->entry >= st->text_start && st->entry < st->text_start + text_bytes);
        assert_true(strlen(st->text_b64) % 4 == 0);
    }
    assert_null(loader_stub_for("esp8266"));
    assert_non_null(strstr(loader_stub_source(), "esptool-js 0.7.0"));
    assert_non_null(strstr(loader_stub_license(), "Apache License"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rom_read_reg_value_and_4_status_bytes),
        cmocka_unit_test(rom_error_status_names_the_code),
        cmocka_unit_test(stub_status_is_two_bytes_and_its_code_is_first),
        cmocka_unit_test(md5_reply_formats_rom_hex_and_stub_raw),
        cmocka_unit_test(data_command_carries_checksum_in_header),
        cmocka_unit_test(timeout_retries_then_reports),
        cmocka_unit_test(stale_replies_and_noise_are_skipped),
        cmocka_unit_test(security_info_detects_chip_and_flags),
        cmocka_unit_test(unsupported_command_is_recognised),
        cmocka_unit_test(damaged_packet_status_is_retried),
        cmocka_unit_test(sync_tells_rom_from_stub),
        cmocka_unit_test(flash_size_from_jedec_id),
        cmocka_unit_test(compressed_write_lands_and_is_verified),
        cmocka_unit_test(lost_data_reply_is_repeated),
        cmocka_unit_test(md5_mismatch_is_never_success),
        cmocka_unit_test(embedded_stubs_and_licence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
