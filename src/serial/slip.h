/* SLIP framing as used by the ESP serial bootloader: packets are 0xC0 <escaped payload> 0xC0,
 * with 0xC0 sent as DB DC and 0xDB as DB DD. Shared by our loader client and the virtual chip. */
#ifndef MP_SERIAL_SLIP_H
#define MP_SERIAL_SLIP_H

#include <stddef.h>
#include <stdint.h>

#define SLIP_END 0xC0
#define SLIP_ESC 0xDB
#define SLIP_ESC_END 0xDC
#define SLIP_ESC_ESC 0xDD

/* Bytes needed to encode len payload bytes in the worst case (both delimiters included). */
#define SLIP_ENCODED_MAX(len) (2 * (size_t)(len) + 2)

/* Encode one packet into out (which holds SLIP_ENCODED_MAX(len) bytes); returns its length. */
size_t slip_encode(const uint8_t *payload, size_t len, uint8_t *out);

/* Incremental decoder: feed received bytes one at a time. */
enum slip_state { SLIP_WAIT_START, SLIP_IN_PACKET, SLIP_IN_ESCAPE };

struct slip_decoder {
    enum slip_state state;
    uint8_t *buf;    /* caller-owned packet buffer */
    size_t capacity;
    size_t len;      /* bytes of the packet collected so far */
    int overflow;    /* the packet being collected did not fit */
};

enum slip_result {
    SLIP_MORE = 0,         /* byte consumed, no packet yet */
    SLIP_PACKET = 1,       /* a complete packet of d->len bytes is in d->buf */
    SLIP_NOISE = -1,       /* a byte outside a packet (clients treat this as a protocol error) */
    SLIP_BAD_ESCAPE = -2,  /* 0xDB followed by something other than DC/DD */
    SLIP_OVERFLOW = -3,    /* a packet longer than the buffer (the packet is dropped) */
};

void slip_decoder_init(struct slip_decoder *d, uint8_t *buf, size_t capacity);
enum slip_result slip_decode_byte(struct slip_decoder *d, uint8_t byte);

#endif
