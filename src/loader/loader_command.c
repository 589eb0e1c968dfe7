/* The command transport of the bootloader client: SLIP framing on the port, one command and
 * its matching response (§3), payload helpers. */
#include "loader/loader.h"
#include "loader/loader_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ small helpers */

void loader_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int64_t loader_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t loader_erase_ms(uint32_t bytes)
{
    uint32_t sectors = (bytes + 0xFFF) / 0x1000;
    return 3 * (sectors / 16 * 150 + sectors % 16 * 45);
}

uint32_t loader_program_ms(uint32_t bytes)
{
    uint32_t pages = (uint32_t)(((uint64_t)bytes + 255) / 256);
    return pages * 12 / 10 + 1; /* 3 x 0.4 ms a page */
}

uint32_t loader_md5_ms(uint32_t bytes)
{
    return (uint32_t)((uint64_t)bytes * 2000 / (1u << 20));
}

uint32_t loader_wire_bytes_per_ms(const struct loader *l)
{
    uint32_t b = l->port->baud / 10000; /* 10 bits a byte */
    return b ? b : 1;
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
    struct loader_cmd c = {.op = op,
                           .data = buf,
                           .len = 16 + n,
                           .checksum = loader_checksum(buf + 16, n)};
    return c;
}

/* ------------------------------------------------------------------ framing */

int loader_recv_packet(struct loader *l, int timeout_ms, struct error *err)
{
    int64_t deadline = loader_now_ms() + timeout_ms;
    for (;;) {
        while (l->rx_pos < l->rx_len) {
            enum slip_result r = slip_decode_byte(&l->dec, l->rx[l->rx_pos++]);
            if (r == SLIP_PACKET)
                return 1;
            /* Noise between packets (boot text, a corrupted delimiter) and broken packets are
             * dropped; the caller's timeout and retry deal with what is lost. */
        }
        int64_t left = deadline - loader_now_ms();
        if (left < 0)
            left = 0;
        int n = port_read(l->port, l->rx, sizeof l->rx, (int)left, err);
        if (n < 0)
            return LOADER_E_LINK;
        if (n == 0) {
            if (loader_now_ms() >= deadline)
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

int loader_send_frame(struct loader *l, const uint8_t *head, size_t hlen, const uint8_t *data,
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
    return loader_send_frame(l, data, len, NULL, 0, err);
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
    /* SLIP may double every byte of the request; the reply is the expected data + 12. */
    size_t wire = 2 * (len + 10) + cmd->resp_expect + 12;
    int timeout_ms = cmd->timeout_ms > 0 ? cmd->timeout_ms
                                         : (int)(LOADER_REPLY_MS + cmd->work_ms +
                                                 wire / loader_wire_bytes_per_ms(l));
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
        int r = loader_send_frame(l, head, 8, cmd->data, len, err);
        if (r != 0)
            return error_wrap(err, LOADER_E_LINK, "%s", loader_op_name(op));
        int64_t deadline = loader_now_ms() + timeout_ms;
        for (;;) {
            int64_t left = deadline - loader_now_ms();
            if (left < 0)
                break;
            r = loader_recv_packet(l, (int)left, err);
            if (r < 0)
                return error_wrap(err, LOADER_E_LINK, "%s", loader_op_name(op));
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
                    return error_fail(err, LOADER_E_UNSUPPORTED, ERROR_DEVICE,
                                      "%s: not supported by the %s loader", loader_op_name(op),
                                      l->stub ? "stub" : "ROM");
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
                    return error_fail(err, LOADER_E_UNSUPPORTED, ERROR_DEVICE,
                                      "%s: not supported by the stub", loader_op_name(op));
                if (!l->stub && s1 == ROM_E_BAD_MESSAGE &&
                    (op >= LOADER_ERASE_FLASH || op == LOADER_GET_SECURITY_INFO))
                    return error_fail(err, LOADER_E_UNSUPPORTED, ERROR_DEVICE,
                                      "%s: not supported by the ROM loader", loader_op_name(op));
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
        return error_fail(err, LOADER_E_TIMEOUT, ERROR_DEVICE,
                          "%s: no valid reply within %d ms (last reply: %s)", loader_op_name(op),
                          timeout_ms, garbled);
    return error_fail(err, LOADER_E_TIMEOUT, ERROR_DEVICE,
                      "%s: timed out after %d ms waiting for the reply%s", loader_op_name(op),
                      timeout_ms, cmd->retries ? " (retried)" : "");
}
