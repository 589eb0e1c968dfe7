/* The virtual chip's flash commands: write sessions (FLASH_* and FLASH_DEFL_*: the ROM erases
 * up front and writes before replying, the stub erases sector by sector ahead of the data and
 * reports write errors with the next command), streamed and 64-byte reads, erase and MD5. */
#include "vchip_internal.h"
#include "util/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUB_MAX_BLOCK 0x4000u

static int flash_range_ok(const struct vchip *vc, uint32_t addr, uint32_t len)
{
    return addr <= vc->flash_limit && len <= vc->flash_limit - addr && addr <= vc->flash->size &&
           len <= vc->flash->size - addr;
}

struct fail vchip_data_header(const uint8_t *d, size_t len, uint32_t checksum, uint32_t *seq,
                              const uint8_t **payload, uint32_t *plen)
{
    if (len < 16)
        return E_BAD_LEN;
    uint32_t n = get_le32(d);
    *seq = get_le32(d + 4);
    if (n != len - 16)
        return E_BAD_LEN;
    uint8_t x = 0xEF; /* §3.4: XOR of the payload, seed 0xEF */
    for (uint32_t i = 0; i < n; i++)
        x ^= d[16 + i];
    if (x != (checksum & 0xFF))
        return E_CHECKSUM;
    *payload = d + 16;
    *plen = n;
    return OK;
}

/* Erase lazily ahead of a stub write: the stub erases as the data reaches new sectors, a whole
 * 64 KiB block at once where the rest of the write covers it. */
static struct fail stub_erase_to(struct vchip *vc, uint32_t end)
{
    uint64_t write_end = (uint64_t)vc->w.offset + vc->w.size;
    while (vc->w.erased_to < end) {
        uint32_t from = vc->w.erased_to;
        int block = (from & (NOR_BLOCK_SIZE - 1)) == 0 && write_end >= from + NOR_BLOCK_SIZE;
        uint32_t unit = block ? NOR_BLOCK_SIZE : NOR_SECTOR_SIZE;
        if (from + (uint64_t)unit > vc->flash->size)
            unit = vc->flash->size - from;
        if (unit == 0 || nor_erase(vc->flash, from, unit) != 0)
            return E_FLASH_WRITE;
        vc->w.erased_to = from + unit;
    }
    return OK;
}

static struct fail program(struct vchip *vc, const uint8_t *data, uint32_t len)
{
    uint32_t addr = vc->w.offset + vc->w.written;
    if (!flash_range_ok(vc, addr, len))
        return E_TOO_MUCH;
    if (vc->mode == VCHIP_STUB) {
        struct fail f = stub_erase_to(vc, addr + len);
        if (!is_ok(f))
            return f;
    }
    if (nor_program(vc->flash, addr, data, len) != 0)
        return E_FLASH_WRITE;
    vc->w.written += len;
    return OK;
}

struct fail vchip_cmd_flash_begin(struct vchip *vc, struct vchip_cmd *c)
{
    const uint8_t *d = c->d;
    size_t len = c->len;
    int compressed = c->op == LOADER_FLASH_DEFL_BEGIN;
    int stub = vc->mode == VCHIP_STUB;
    if (len != 16 && len != 20)
        return E_BAD_LEN;
    uint32_t size = get_le32(d), blocks = get_le32(d + 4), bsize = get_le32(d + 8),
             offset = get_le32(d + 12);
    if (len == 20 && get_le32(d + 16) != 0)
        return E_EXEC; /* flash encryption is not modelled */
    vchip_end_write(vc);
    if (stub && bsize > STUB_MAX_BLOCK)
        return E_BLOCK_SIZE;
    if (!flash_range_ok(vc, offset, size))
        return E_TOO_MUCH;
    if (!stub && size && (offset & (NOR_SECTOR_SIZE - 1)))
        return E_PARAM; /* the ROM erases from a sector boundary only */
    vc->w.active = 1;
    vc->w.compressed = compressed;
    vc->w.offset = offset;
    vc->w.size = size;
    vc->w.num_blocks = blocks;
    vc->w.block_size = bsize;
    vc->w.erased_to = offset & ~(NOR_SECTOR_SIZE - 1);
    if (!stub) {
        /* The ROM erases the whole range up front (§6.1). */
        if (nor_erase(vc->flash, offset, size) != 0)
            return E_FLASH_WRITE;
        vc->w.erased_to = offset + size;
    }
    if (compressed) {
        memset(&vc->w.z, 0, sizeof vc->w.z);
        if (inflateInit(&vc->w.z) != Z_OK)
            return E_INFLATE;
        vc->w.z_init = 1;
    }
    log_printf(&vc->io.log, LOG_INFO, "%s begin: offset 0x%x size %u blocks %u x %u",
               compressed ? "deflate" : "flash", offset, size, blocks, bsize);
    return OK;
}

static struct fail inflate_block(struct vchip *vc, const uint8_t *in, uint32_t len)
{
    uint8_t out[0x4000];
    z_stream *z = &vc->w.z;
    z->next_in = (Bytef *)in;
    z->avail_in = len;
    while (z->avail_in > 0 && !vc->w.stream_end) {
        z->next_out = out;
        z->avail_out = sizeof out;
        int rc = inflate(z, Z_NO_FLUSH);
        uint32_t produced = (uint32_t)(sizeof out - z->avail_out);
        if (produced) {
            if (vc->w.written + produced > vc->w.size)
                return E_TOO_MUCH;
            struct fail f = program(vc, out, produced);
            if (!is_ok(f))
                return f;
        }
        if (rc == Z_STREAM_END) {
            vc->w.stream_end = 1;
            break;
        }
        if (rc == Z_DATA_ERROR)
            return z->msg && strstr(z->msg, "check") ? E_ADLER : E_INFLATE;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return E_INFLATE;
        if (rc == Z_BUF_ERROR && produced == 0)
            break;
    }
    return OK;
}

struct fail vchip_cmd_flash_data(struct vchip *vc, struct vchip_cmd *c)
{
    int compressed = c->op == LOADER_FLASH_DEFL_DATA;
    int stub = vc->mode == VCHIP_STUB;
    uint32_t seq, plen;
    const uint8_t *payload;
    struct fail f = vchip_data_header(c->d, c->len, c->checksum, &seq, &payload, &plen);
    if (!is_ok(f))
        return f;
    if (!vc->w.active || vc->w.compressed != compressed)
        return E_NOT_FLASH_MODE;
    if (stub && vc->w.deferred_error) {
        struct fail e = {0, (uint8_t)vc->w.deferred_error};
        return e;
    }
    if (seq >= vc->w.num_blocks)
        return E_TOO_MUCH;
    if (compressed || stub) {
        /* A streamed write must see its blocks in order; a repeat of the previous block (the
         * host retrying after a lost reply) is acknowledged without writing it twice. */
        if (seq + 1 == vc->w.next_seq)
            return OK;
        if (seq != vc->w.next_seq)
            return E_SEQ;
    }
    if (compressed) {
        f = inflate_block(vc, payload, plen);
    } else {
        if (!stub) {
            /* ROM: every block lands at offset + seq * block_size, written before the reply. */
            vc->w.written = seq * vc->w.block_size;
        }
        uint32_t n = plen;
        if (stub && vc->w.written + n > vc->w.size)
            n = vc->w.size > vc->w.written ? vc->w.size - vc->w.written : 0; /* padding */
        f = program(vc, payload, n);
    }
    vc->w.next_seq = seq + 1;
    if (stub && !is_ok(f)) {
        /* The stub acknowledges on receipt; the failure shows up with the next command. */
        vc->w.deferred_error = f.stub;
        return OK;
    }
    return f;
}

struct fail vchip_cmd_flash_end(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 4)
        return E_BAD_LEN;
    uint32_t stay = get_le32(c->d);
    struct fail f = OK;
    if (vc->mode == VCHIP_STUB) {
        if (vc->w.deferred_error)
            f = (struct fail){0, (uint8_t)vc->w.deferred_error};
        else if (!vc->w.active)
            f = E_NOT_FLASH_MODE;
        else if (vc->w.compressed && vc->w.written < vc->w.size && !vc->w.stream_end)
            f = E_NOT_ENOUGH;
        vchip_end_write(vc);
        if (stay == 0)
            c->after = AFTER_REBOOT;
        return f;
    }
    vchip_end_write(vc);
    /* ROM: 0 reboots, 1 runs the application from flash (§6.1). */
    c->after = stay == 0 ? AFTER_REBOOT : AFTER_RUN_APP;
    return f;
}

static void send_read_packets(struct vchip *vc)
{
    struct vchip_read *r = &vc->r;
    uint8_t buf[4096];
    while (r->active && r->sent < r->length) {
        uint32_t outstanding = (r->sent - r->acked + r->packet_size - 1) / r->packet_size;
        if (outstanding >= r->in_flight)
            return;
        uint32_t n = r->length - r->sent;
        if (n > r->packet_size)
            n = r->packet_size;
        uint32_t epoch = vc->epoch;
        nor_read(vc->flash, r->offset + r->sent, buf, n);
        EVP_DigestUpdate(r->md5, buf, n);
        r->sent += n;
        vchip_send_frame(vc, buf, n);
        if (epoch != vc->epoch)
            return;
    }
}

void vchip_read_flash_ack(struct vchip *vc, const uint8_t *p, size_t len)
{
    struct vchip_read *r = &vc->r;
    if (len != 4) {
        log_printf(&vc->io.log, LOG_INFO,
                   "read-flash: unexpected %zu-byte packet instead of an acknowledgement", len);
        vchip_end_read(vc);
        return;
    }
    uint32_t acked = get_le32(p);
    if (acked > r->sent || acked < r->acked) {
        log_printf(&vc->io.log, LOG_INFO, "read-flash: bad acknowledgement %u (sent %u)", acked,
                   r->sent);
        vchip_end_read(vc);
        return;
    }
    r->acked = acked;
    if (r->acked == r->length) {
        uint8_t md[16];
        unsigned int mdlen = 0;
        EVP_DigestFinal_ex(r->md5, md, &mdlen);
        vchip_end_read(vc);
        vchip_send_frame(vc, md, 16); /* trailing binary MD5 (§6.13 step 6) */
        return;
    }
    send_read_packets(vc);
}

static struct fail md5_of(struct vchip *vc, uint32_t addr, uint32_t size, uint8_t md[16])
{
    if (!flash_range_ok(vc, addr, size))
        return E_FLASH_READ;
    unsigned int mdlen = 0;
    if (!EVP_Digest(vc->flash->data + addr, size, md, &mdlen, EVP_md5(), NULL))
        return E_FLASH_READ;
    return OK;
}

struct fail vchip_cmd_md5(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 16)
        return E_BAD_LEN;
    uint8_t md[16];
    struct fail f = md5_of(vc, get_le32(c->d), get_le32(c->d + 4), md);
    if (!is_ok(f))
        return f;
    if (in_stub(vc)) {
        memcpy(c->out, md, 16);
        c->outlen = 16;
    } else {
        for (int i = 0; i < 16; i++) /* ROM: 32 lowercase hex characters */
            snprintf((char *)c->out + 2 * i, 3, "%02x", md[i]);
        c->outlen = 32;
    }
    return OK;
}

struct fail vchip_cmd_read_flash_slow(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 8)
        return E_BAD_LEN;
    uint32_t addr = get_le32(c->d), n = get_le32(c->d + 4);
    if (n > 64)
        return E_READ_LEN;
    memset(c->out, 0xFF, 64);
    if (!flash_range_ok(vc, addr, n))
        return E_FLASH_READ;
    nor_read(vc->flash, addr, c->out, n);
    c->outlen = 64; /* always 64 data bytes (§6.10) */
    return OK;
}

struct fail vchip_cmd_erase_flash(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 0)
        return E_BAD_LEN;
    nor_erase_all(vc->flash);
    return OK;
}

struct fail vchip_cmd_erase_region(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 8)
        return E_BAD_LEN;
    uint32_t addr = get_le32(c->d), n = get_le32(c->d + 4);
    if ((addr | n) & (NOR_SECTOR_SIZE - 1))
        return E_PARAM;
    if (!flash_range_ok(vc, addr, n))
        return E_TOO_MUCH;
    nor_erase(vc->flash, addr, n);
    return OK;
}

/* READ_FLASH (§6.13): a normal reply, then packets paced by the host's acknowledgements. */
struct fail vchip_cmd_read_flash(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 16)
        return E_BAD_LEN;
    const uint8_t *d = c->d;
    uint32_t addr = get_le32(d), n = get_le32(d + 4), psize = get_le32(d + 8);
    uint32_t inflight = get_le32(d + 12);
    if (psize == 0 || psize > 4096 || inflight == 0)
        return E_PARAM;
    if (!flash_range_ok(vc, addr, n))
        return E_FLASH_READ;
    vchip_end_read(vc);
    vchip_respond(vc, c->op, 0, NULL, 0, OK);
    c->replied = 1;
    vc->r.active = 1;
    vc->r.offset = addr;
    vc->r.length = n;
    vc->r.packet_size = psize;
    vc->r.in_flight = inflight < vc->cfg.read_in_flight ? inflight : vc->cfg.read_in_flight;
    vc->r.md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(vc->r.md5, EVP_md5(), NULL);
    if (n == 0) {
        uint8_t md[16];
        unsigned int mdlen;
        EVP_DigestFinal_ex(vc->r.md5, md, &mdlen);
        vchip_end_read(vc);
        vchip_send_frame(vc, md, 16);
        return OK;
    }
    send_read_packets(vc);
    return OK;
}

void vchip_end_write(struct vchip *vc)
{
    if (vc->w.z_init)
        inflateEnd(&vc->w.z);
    memset(&vc->w, 0, sizeof vc->w);
}

void vchip_end_read(struct vchip *vc)
{
    if (vc->r.md5)
        EVP_MD_CTX_free(vc->r.md5);
    memset(&vc->r, 0, sizeof vc->r);
}
