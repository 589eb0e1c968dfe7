/* Flash operations over the bootloader protocol: compressed writes verified by MD5, streamed
 * reads, MD5 of a region, erase; each with the ROM fallback and the retry policy:
 * a lost reply to an idempotent command repeats the command, a broken write or read stream
 * recovers the connection and restarts that segment, and a write is only reported done after
 * the chip's MD5 of the region matches ours. */
#include "loader/loader.h"
#include "loader/loader_internal.h"
#include "util/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define SEGMENT (256u * 1024)     /* unit of write retry and verify (uncompressed bytes) */
#define READ_CHUNK (1024u * 1024) /* unit of streamed read retry */
#define READ_PACKET 0x1000      /* largest READ_FLASH packet a stub accepts (§6.13) */
#define READ_IN_FLIGHT 64
#define ATTEMPTS 4              /* tries per segment / chunk, reconnecting in between */
#define ERASE_CHUNK (256u * 1024) /* bytes one erase command erases */

static void hex16(const uint8_t md[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void progress(struct loader *l, const char *what, uint32_t done, uint32_t total)
{
    if (l->opt.progress)
        l->opt.progress(l->opt.progress_ctx, what, done, total);
}

static int check_range(struct loader *l, const char *what, uint32_t addr, uint32_t len,
                       struct error *err)
{
    uint64_t end = (uint64_t)addr + len;
    if (end > 0x10000000u || (l->flash_size && end > l->flash_size))
        return error_fail(err, LOADER_E_FAIL, ERROR_DEVICE,
                          "%s 0x%08x-0x%08x: beyond the end of the %u KiB flash", what, addr,
                          (uint32_t)(end - 1), l->flash_size / 1024);
    return 0;
}

/* ------------------------------------------------------------------ MD5 */

/* One SPI_FLASH_MD5 command (§6.8): the stub answers 16 raw bytes, the ROM 32 lowercase hex
 * characters. */
static int md5_once(struct loader *l, uint32_t addr, uint32_t len, uint8_t md5[16],
                    struct error *err)
{
    uint8_t d[16], resp[32];
    struct loader_cmd c = {.op = LOADER_SPI_FLASH_MD5,
                           .data = d,
                           .len = loader_pack(d, (uint32_t[]){addr, len, 0, 0}, 4),
                           .resp_expect = l->stub ? 16 : 32,
                           .resp = resp,
                           .resp_cap = sizeof resp,
                           .work_ms = loader_md5_ms(len),
                           .retries = 1};
    int r = loader_command(l, &c, err);
    if (r != 0)
        return r;
    if (l->stub) {
        memcpy(md5, resp, 16);
        return 0;
    }
    for (int i = 0; i < 16; i++) {
        unsigned int b;
        char two[3] = {(char)resp[2 * i], (char)resp[2 * i + 1], 0};
        if (sscanf(two, "%2x", &b) != 1)
            return error_fail(err, LOADER_E_VERIFY, ERROR_DEVICE,
                              "SPI_FLASH_MD5: reply is not hexadecimal");
        md5[i] = (uint8_t)b;
    }
    return 0;
}

int loader_flash_md5(struct loader *l, uint32_t addr, uint32_t len, uint8_t md5[16],
                     struct error *err)
{
    int r = check_range(l, "MD5 of", addr, len, err);
    if (r != 0)
        return r;
    /* A reply that does not come (the chip was reset, the line dropped) costs its bounded
     * timeout, then the connection is recovered and the question asked again. */
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (attempt && (r = loader_recover(l, err)) != 0)
            break;
        if ((r = loader_prepare_flash(l, err)) == 0 &&
            (r = md5_once(l, addr, len, md5, err)) == 0)
            return 0;
        if (r == LOADER_E_FAIL)
            break; /* the chip refused */
    }
    return error_wrap(err, r, "MD5 of flash 0x%08x-0x%08x", addr, addr + len - 1);
}

/* ------------------------------------------------------------------ erase */

static int rom_flash_begin(struct loader *l, uint8_t op, uint32_t erase_size, uint32_t blocks,
                           uint32_t block_size, uint32_t addr, uint32_t work_ms,
                           struct error *err)
{
    uint8_t d[20];
    /* §6.1: the ESP32 ROM takes 4 words; later ROMs and the stubs also the "encrypted" word. */
    size_t words = l->stub || l->chip->rom.begin_encrypt_word ? 5 : 4;
    struct loader_cmd c = {
        .op = op,
        .data = d,
        .work_ms = work_ms,
        .len = loader_pack(d, (uint32_t[]){erase_size, blocks, block_size, addr, 0}, words)};
    return loader_command(l, &c, err);
}

static int verify_erased(struct loader *l, uint32_t addr, uint32_t len, struct error *err)
{
    static uint8_t want[16];
    static uint32_t want_len;
    if (want_len != len) {
        uint8_t *ff = malloc(len ? len : 1);
        if (!ff)
            return error_setk(err, ERROR_OS, "out of memory");
        memset(ff, 0xFF, len);
        digest_md5(ff, len, want);
        free(ff);
        want_len = len;
    }
    uint8_t got[16];
    int r = loader_flash_md5(l, addr, len, got, err);
    if (r != 0)
        return r;
    if (memcmp(want, got, 16) != 0)
        return error_fail(err, LOADER_E_MISMATCH, ERROR_DEVICE,
                          "erase 0x%08x-0x%08x: flash is not blank afterwards", addr,
                          addr + len - 1);
    return 0;
}

/* One erase command of at most ERASE_CHUNK bytes, verified blank. */
static int erase_chunk(struct loader *l, uint32_t addr, uint32_t len, struct error *err)
{
    int r = LOADER_E_FAIL;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (attempt && (r = loader_recover(l, err)) != 0)
            return r;
        if ((r = loader_prepare_flash(l, err)) != 0)
            continue;
        if (l->stub) {
            uint8_t d[8];
            struct loader_cmd c = {.op = LOADER_ERASE_REGION,
                                   .data = d,
                                   .len = loader_pack(d, (uint32_t[]){addr, len}, 2),
                                   .work_ms = loader_erase_ms(len),
                                   .retries = 1};
            r = loader_command(l, &c, err);
        } else {
            /* The ROM has no erase command; FLASH_BEGIN erases the range up front (§6.1). */
            r = rom_flash_begin(l, LOADER_FLASH_BEGIN, len, 0, ROM_BLOCK, addr,
                                loader_erase_ms(len), err);
        }
        if (r == 0)
            r = verify_erased(l, addr, len, err);
        if (r == 0 || r == LOADER_E_FAIL)
            return r; /* done, or the chip refused: repeating will not help */
    }
    return r;
}

int loader_erase_region(struct loader *l, uint32_t addr, uint32_t len, struct error *err)
{
    if ((addr | len) & 0xFFF)
        return error_fail(err, LOADER_E_FAIL, ERROR_VALUE,
                          "erase 0x%08x+0x%x: address and size must be multiples of 4096", addr,
                          len);
    int r = check_range(l, "erase", addr, len, err);
    /* Chunks keep each command's flash work, and so its timeout, short. */
    for (uint32_t off = 0; r == 0 && off < len; off += ERASE_CHUNK) {
        uint32_t n = len - off < ERASE_CHUNK ? len - off : ERASE_CHUNK;
        if ((r = erase_chunk(l, addr + off, n, err)) == 0)
            progress(l, "erase", off + n, len);
    }
    if (r != 0)
        error_prefix(err, "erasing 0x%08x-0x%08x", addr, addr + len - 1);
    return r;
}

int loader_erase_flash(struct loader *l, struct error *err)
{
    /* Region by region rather than ERASE_FLASH: a 64 KiB block erase is as fast as the chip
     * erase per byte, and a lost reply costs seconds instead of minutes. */
    if (!l->flash_size)
        return error_fail(err, LOADER_E_FAIL, ERROR_DEVICE, "erase flash: flash size unknown");
    int r = loader_erase_region(l, 0, l->flash_size, err);
    if (r != 0)
        error_prefix(err, "erasing the whole flash");
    return r;
}

/* ------------------------------------------------------------------ read */

/* One READ_FLASH stream (§6.13), checked against the stub's trailing MD5. */
static int stub_read_stream(struct loader *l, uint32_t addr, uint8_t *buf, uint32_t len,
                            uint32_t done_before, uint32_t total, struct error *err)
{
    uint8_t d[16];
    struct loader_cmd c = {
        .op = LOADER_READ_FLASH,
        .data = d,
        .len = loader_pack(d, (uint32_t[]){addr, len, READ_PACKET, READ_IN_FLIGHT}, 4)};
    int r = loader_command(l, &c, err);
    if (r != 0)
        return r;
    /* each packet follows the previous acknowledgement within its wire time */
    int packet_ms = (int)(LOADER_REPLY_MS + 2 * READ_PACKET / loader_wire_bytes_per_ms(l));
    uint32_t got = 0;
    while (got < len) {
        r = loader_recv_packet(l, packet_ms, err);
        if (r < 0)
            return r;
        if (r == 0)
            return error_fail(err, LOADER_E_TIMEOUT, ERROR_DEVICE,
                              "READ_FLASH: timed out after %u of %u bytes", got, len);
        uint32_t want = len - got < READ_PACKET ? len - got : READ_PACKET;
        if (l->dec.len != want)
            return error_fail(err, LOADER_E_VERIFY, ERROR_DEVICE,
                              "READ_FLASH: a %zu-byte data packet where %u were due (byte lost "
                              "or garbled on the line)",
                              l->dec.len, want);
        memcpy(buf + got, l->pkt, want);
        got += want;
        uint8_t ack[4];
        put_le32(ack, got);
        if (loader_send_raw(l, ack, 4, err) != 0)
            return LOADER_E_LINK;
        progress(l, "read", done_before + got, total);
    }
    r = loader_recv_packet(l, LOADER_REPLY_MS, err);
    if (r < 0)
        return r;
    if (r == 0 || l->dec.len != 16)
        return error_setk(err, ERROR_DEVICE, "READ_FLASH: no MD5 digest after the data"),
               r == 0 ? LOADER_E_TIMEOUT : LOADER_E_VERIFY;
    uint8_t md[16];
    digest_md5(buf, len, md);
    if (memcmp(md, l->pkt, 16) != 0) {
        char a[33], b[33];
        hex16(md, a);
        hex16(l->pkt, b);
        return error_fail(err, LOADER_E_VERIFY, ERROR_DEVICE,
                          "READ_FLASH: MD5 mismatch (received data %s, chip says %s)", a, b);
    }
    return 0;
}

/* 64 bytes through the SPI user-command engine (READ 0x03, 24-bit address, up to 512 bits,
 * §10): about 18 register commands where READ_FLASH_SLOW takes one. */
static int spi_read(struct loader *l, uint32_t addr, uint8_t *buf, uint32_t len,
                    uint32_t done_before, uint32_t total, struct error *err)
{
    uint32_t saved[2];
    int r = loader_spi_save(l, saved, err);
    for (uint32_t off = 0; r == 0 && off < len; off += 64) {
        uint32_t n = len - off < 64 ? len - off : 64;
        if (addr + off >= (1u << 24))
            return error_fail(err, LOADER_E_FAIL, ERROR_DEVICE,
                              "reading 0x%08x without the stub: only the first 16 MB can be "
                              "read through the ROM",
                              addr + off);
        uint8_t out[64];
        r = loader_spi_command_raw(l, 0x03, NULL, 0, addr + off, 24, 0, n * 8, out, err);
        if (r == 0) {
            memcpy(buf + off, out, n);
            progress(l, "read", done_before + off + n, total);
        }
    }
    return r == 0 ? loader_spi_restore(l, saved, err) : r;
}

/* The ROM reads 64 bytes per READ_FLASH_SLOW (§6.10), on every chip of the family, as esptool
 * --no-stub does; a ROM that does not know the command is read through the SPI engine. */
static int rom_read(struct loader *l, uint32_t addr, uint8_t *buf, uint32_t len,
                    uint32_t done_before, uint32_t total, struct error *err)
{
    if (l->rom_read_spi)
        return spi_read(l, addr, buf, len, done_before, total, err);
    for (uint32_t off = 0; off < len; off += 64) {
        uint32_t n = len - off < 64 ? len - off : 64;
        uint8_t d[8], resp[64];
        struct loader_cmd c = {.op = LOADER_READ_FLASH_SLOW,
                               .data = d,
                               .len = loader_pack(d, (uint32_t[]){addr + off, n}, 2),
                               .resp_expect = 64,
                               .resp = resp,
                               .resp_cap = sizeof resp,
                               .retries = 2};
        int r = loader_command(l, &c, err);
        if (r == LOADER_E_UNSUPPORTED && off == 0) {
            l->rom_read_spi = 1;
            return spi_read(l, addr, buf, len, done_before, total, err);
        }
        if (r != 0)
            return r;
        memcpy(buf + off, resp, n);
        progress(l, "read", done_before + off + n, total);
    }
    return 0;
}

int loader_read_flash(struct loader *l, uint32_t addr, uint8_t *buf, uint32_t len,
                      struct error *err)
{
    int r = check_range(l, "read", addr, len, err);
    if (r != 0)
        return r;
    for (uint32_t off = 0; off < len;) {
        uint32_t n = len - off < READ_CHUNK ? len - off : READ_CHUNK;
        for (int attempt = 0;; attempt++) {
            if (attempt && (r = loader_recover(l, err)) != 0)
                return error_wrap(err, r, "reading 0x%08x-0x%08x", addr + off,
                                  addr + off + n - 1);
            r = loader_prepare_flash(l, err);
            if (r == 0)
                r = l->stub ? stub_read_stream(l, addr + off, buf + off, n, off, len, err)
                            : rom_read(l, addr + off, buf + off, n, off, len, err);
            if (r == 0)
                break;
            if (r == LOADER_E_FAIL || attempt + 1 >= ATTEMPTS)
                return error_wrap(err, r, "reading 0x%08x-0x%08x", addr + off,
                                  addr + off + n - 1);
        }
        off += n;
    }
    return 0;
}

/* ------------------------------------------------------------------ write */

/* The uncompressed bytes each compressed block stands for, as the loader's inflater will
 * produce them: what the flash work behind a block's reply is made of. NULL on no memory. */
static uint32_t *block_sizes(const uint8_t *z, size_t zlen, uint32_t block, uint32_t blocks)
{
    uint32_t *sizes = calloc(blocks ? blocks : 1, sizeof *sizes);
    uint8_t *scratch = malloc(0x10000);
    z_stream s = {0};
    if (!sizes || !scratch || inflateInit(&s) != Z_OK) {
        free(sizes);
        free(scratch);
        return NULL;
    }
    for (uint32_t i = 0; i < blocks; i++) {
        s.next_in = (Bytef *)z + (size_t)i * block;
        s.avail_in = (uInt)(zlen - (size_t)i * block < block ? zlen - (size_t)i * block : block);
        int rc = Z_OK;
        while (rc == Z_OK && (s.avail_in > 0 || s.avail_out == 0)) {
            s.next_out = scratch;
            s.avail_out = 0x10000;
            rc = inflate(&s, Z_NO_FLUSH);
            sizes[i] += 0x10000 - s.avail_out;
        }
    }
    inflateEnd(&s);
    free(scratch);
    return sizes;
}

/* One compressed write session (FLASH_DEFL_BEGIN/DATA/END) of a sector-aligned segment. */
static int write_segment(struct loader *l, uint32_t addr, const uint8_t *data, uint32_t len,
                         uint32_t done_before, uint32_t total, struct error *err)
{
    uLongf zlen = compressBound(len);
    uint8_t *z = malloc(zlen);
    if (!z)
        return error_setk(err, ERROR_OS, "out of memory");
    /* §6.2: one zlib stream per session; level 9 as esptool. */
    if (compress2(z, &zlen, data, len, 9) != Z_OK) {
        free(z);
        return error_setk(err, ERROR_DEVICE, "deflate failed");
    }
    uint32_t block = l->stub ? STUB_BLOCK : ROM_BLOCK;
    uint32_t blocks = (uint32_t)((zlen + block - 1) / block);
    uint32_t *sizes = block_sizes(z, zlen, block, blocks);
    if (!sizes) {
        free(z);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    /* Stub: exact size, erased as the data arrives; ROM: rounded up to whole blocks, erased
     * before the reply (§6.2). */
    uint32_t erase_size = l->stub ? len : (len + block - 1) / block * block;
    int r = rom_flash_begin(l, LOADER_FLASH_DEFL_BEGIN, erase_size, blocks, block, addr,
                            l->stub ? 0 : loader_erase_ms(erase_size), err);
    uint8_t *pkt = r == 0 ? malloc(16 + block) : NULL;
    if (r == 0 && !pkt)
        r = error_setk(err, ERROR_OS, "out of memory");
    for (uint32_t seq = 0; r == 0 && seq < blocks; seq++) {
        uint32_t off = seq * block;
        uint32_t n = (uint32_t)(zlen - off < block ? zlen - off : block);
        /* A lost reply repeats the same block: loaders acknowledge a repeat of the block they
         * just took without writing it twice; anything else surfaces as an error status and
         * the caller restarts the segment. The reply waits for the flash work of this block
         * (ROM: programmed before the reply) or of the previous one (the stub acknowledges
         * on receipt, then erases and programs while the next block arrives). */
        struct loader_cmd c = loader_data_cmd(LOADER_FLASH_DEFL_DATA, pkt, seq, z + off, n);
        c.work_ms = l->stub ? (seq ? loader_erase_ms(sizes[seq - 1]) +
                                         loader_program_ms(sizes[seq - 1])
                                   : 0)
                            : loader_program_ms(sizes[seq]);
        c.retries = 1;
        r = loader_command(l, &c, err);
        if (r == 0)
            progress(l, "write",
                     done_before + (uint32_t)((uint64_t)len * (off + n) / zlen), total);
    }
    if (r == 0 && l->stub) {
        /* FLASH_DEFL_END(1): stay in the loader; the reply comes after the last block is
         * written (§6.1). The ROM is not sent FLASH_END: it would leave download mode. */
        uint8_t d[4];
        uint32_t last = blocks ? sizes[blocks - 1] : 0;
        struct loader_cmd c = {.op = LOADER_FLASH_DEFL_END,
                               .data = d,
                               .len = loader_pack(d, (uint32_t[]){1}, 1),
                               .work_ms = loader_erase_ms(last) + loader_program_ms(last),
                               .retries = 1};
        r = loader_command(l, &c, err);
    }
    free(sizes);
    free(pkt);
    free(z);
    return r;
}

/* One uncompressed write session (FLASH_BEGIN/DATA[/END]); every block is full size, the
 * last one padded with 0xFF (§6.1). */
static int write_segment_plain(struct loader *l, uint32_t addr, const uint8_t *data,
                               uint32_t len, uint32_t done_before, uint32_t total,
                               struct error *err)
{
    uint32_t block = l->stub ? STUB_BLOCK : ROM_BLOCK;
    uint32_t blocks = (len + block - 1) / block;
    int r = rom_flash_begin(l, LOADER_FLASH_BEGIN, len, blocks, block, addr,
                            l->stub ? 0 : loader_erase_ms(len), err);
    uint8_t *pkt = r == 0 ? malloc(16 + block) : NULL;
    if (r == 0 && !pkt)
        r = error_setk(err, ERROR_OS, "out of memory");
    /* as for compressed blocks: the ROM programs this block, the stub the previous one */
    uint32_t work = loader_program_ms(block) + (l->stub ? loader_erase_ms(block) : 0);
    for (uint32_t seq = 0; r == 0 && seq < blocks; seq++) {
        uint32_t off = seq * block;
        uint32_t n = len - off < block ? len - off : block;
        memcpy(pkt + 16, data + off, n);
        memset(pkt + 16 + n, 0xFF, block - n);
        struct loader_cmd c = loader_data_cmd(LOADER_FLASH_DATA, pkt, seq, pkt + 16, block);
        c.work_ms = work;
        c.retries = 1;
        r = loader_command(l, &c, err);
        if (r == 0)
            progress(l, "write", done_before + off + n, total);
    }
    if (r == 0 && l->stub) {
        uint8_t d[4];
        struct loader_cmd c = {.op = LOADER_FLASH_END,
                               .data = d,
                               .len = loader_pack(d, (uint32_t[]){1}, 1),
                               .work_ms = work,
                               .retries = 1};
        r = loader_command(l, &c, err);
    }
    free(pkt);
    return r;
}

/* Segment s of a write of len bytes at addr: offset into the data and length. */
static void segment_of(uint32_t addr, uint32_t len, uint32_t s, uint32_t *off, uint32_t *n)
{
    uint32_t head = SEGMENT - addr % SEGMENT;
    uint32_t start = s == 0 ? 0 : head + (s - 1) * SEGMENT;
    uint32_t end = s == 0 ? head : start + SEGMENT;
    *off = start;
    *n = (end < len ? end : len) - start;
}

int loader_write_flash(struct loader *l, uint32_t addr, const uint8_t *data, uint32_t len,
                       struct error *err)
{
    if (len == 0)
        return 0;
    int r = check_range(l, "write", addr, len, err);
    if (r != 0)
        return r;
    if ((addr | len) & 0xFFF) {
        /* Loaders erase whole sectors: keep the neighbours' bytes by writing whole sectors
         * made of the current flash content around the data. */
        uint32_t start = addr & ~0xFFFu;
        uint32_t end = (uint32_t)(((uint64_t)addr + len + 0xFFF) & ~(uint64_t)0xFFF);
        if (l->flash_size && end > l->flash_size)
            end = l->flash_size;
        uint8_t *buf = malloc(end - start);
        if (!buf)
            return error_setk(err, ERROR_OS, "out of memory");
        r = 0;
        if (addr > start)
            r = loader_read_flash(l, start, buf, addr - start, err);
        uint32_t tail = addr + len;
        if (r == 0 && end > tail)
            r = loader_read_flash(l, tail, buf + (tail - start), end - tail, err);
        if (r == 0) {
            memcpy(buf + (addr - start), data, len);
            r = loader_write_flash(l, start, buf, end - start, err);
        }
        free(buf);
        return r;
    }
    /* Secure download mode refuses compressed writes and MD5 (§7). */
    int plain = l->opt.no_compress || l->secure_download;
    /* Segments end on SEGMENT boundaries of the flash, so all but the first start on a 64 KiB
     * block, which the flash erases in one step instead of sixteen sector erases. */
    uint32_t head = SEGMENT - addr % SEGMENT;
    uint32_t nseg = len <= head ? 1 : 1 + (len - head + SEGMENT - 1) / SEGMENT;
    uint8_t *pending = malloc(nseg);
    if (!pending)
        return error_setk(err, ERROR_OS, "out of memory");
    memset(pending, 1, nseg);
    uint8_t want[16], got[16], bad_got[16] = {0};
    uint32_t bad_off = 0, bad_n = 0;
    r = 0;
    for (int round = 0; round < 3; round++) {
        for (uint32_t s = 0; s < nseg; s++) {
            if (!pending[s])
                continue;
            uint32_t off, n;
            segment_of(addr, len, s, &off, &n);
            for (int attempt = 0;; attempt++) {
                if (attempt && (r = loader_recover(l, err)) != 0)
                    goto fail_segment;
                r = loader_prepare_flash(l, err);
                if (r == 0)
                    r = plain ? write_segment_plain(l, addr + off, data + off, n, off, len, err)
                              : write_segment(l, addr + off, data + off, n, off, len, err);
                if (r == 0)
                    break;
                if (attempt + 1 >= ATTEMPTS)
                    goto fail_segment;
                l->retries++;
            }
            pending[s] = 0;
            continue;
        fail_segment:
            free(pending);
            return error_wrap(err, r, "writing 0x%08x-0x%08x", addr + off, addr + off + n - 1);
        }
        if (l->secure_download) {
            free(pending);
            return error_fail(err, LOADER_E_MISMATCH, ERROR_DEVICE,
                              "wrote 0x%08x-0x%08x, but secure download mode allows no MD5 "
                              "check: the write is not verified",
                              addr, addr + len - 1);
        }
        /* Verify segment by segment (each MD5 reply then waits for a bounded amount of
         * flash reading); the ones that differ are written again. */
        int all_match = 1;
        for (uint32_t s = 0; s < nseg; s++) {
            uint32_t off, n;
            segment_of(addr, len, s, &off, &n);
            digest_md5(data + off, n, want);
            r = loader_flash_md5(l, addr + off, n, got, err);
            if (r != 0) {
                free(pending);
                return error_wrap(err, r, "verifying 0x%08x-0x%08x", addr, addr + len - 1);
            }
            if (memcmp(want, got, 16) != 0) {
                pending[s] = 1;
                all_match = 0;
                bad_off = off;
                bad_n = n;
                memcpy(bad_got, got, 16);
            }
        }
        if (all_match) {
            free(pending);
            return 0;
        }
        l->retries++;
    }
    free(pending);
    char a[33], b[33];
    digest_md5(data + bad_off, bad_n, want);
    hex16(want, a);
    hex16(bad_got, b);
    return error_fail(err, LOADER_E_MISMATCH, ERROR_DEVICE,
                      "writing 0x%08x-0x%08x: MD5 mismatch after the write (data %s, flash %s)",
                      addr + bad_off, addr + bad_off + bad_n - 1, a, b);
}
