#include "serial/slip.h"

size_t slip_encode(const uint8_t *payload, size_t len, uint8_t *out)
{
    size_t n = 0;
    out[n++] = SLIP_END;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = payload[i];
        if (b == SLIP_END) {
            out[n++] = SLIP_ESC;
            out[n++] = SLIP_ESC_END;
        } else if (b == SLIP_ESC) {
            out[n++] = SLIP_ESC;
            out[n++] = SLIP_ESC_ESC;
        } else {
            out[n++] = b;
        }
    }
    out[n++] = SLIP_END;
    return n;
}

void slip_decoder_init(struct slip_decoder *d, uint8_t *buf, size_t capacity)
{
    d->state = SLIP_WAIT_START;
    d->buf = buf;
    d->capacity = capacity;
    d->len = 0;
    d->overflow = 0;
}

static void put(struct slip_decoder *d, uint8_t b)
{
    if (d->len < d->capacity)
        d->buf[d->len++] = b;
    else
        d->overflow = 1;
}

enum slip_result slip_decode_byte(struct slip_decoder *d, uint8_t b)
{
    switch (d->state) {
    case SLIP_WAIT_START:
        if (b != SLIP_END)
            return SLIP_NOISE;
        d->state = SLIP_IN_PACKET;
        d->len = 0;
        d->overflow = 0;
        return SLIP_MORE;
    case SLIP_IN_PACKET:
        if (b == SLIP_END) {
            /* "C0 C0": an empty packet is the closing END of nothing; treat the second C0
             * as the start of the next packet. */
            if (d->len == 0 && !d->overflow)
                return SLIP_MORE;
            d->state = SLIP_WAIT_START;
            if (d->overflow)
                return SLIP_OVERFLOW;
            return SLIP_PACKET;
        }
        if (b == SLIP_ESC)
            d->state = SLIP_IN_ESCAPE;
        else
            put(d, b);
        return SLIP_MORE;
    case SLIP_IN_ESCAPE:
        d->state = SLIP_IN_PACKET;
        if (b == SLIP_ESC_END) {
            put(d, SLIP_END);
        } else if (b == SLIP_ESC_ESC) {
            put(d, SLIP_ESC);
        } else {
            d->state = SLIP_WAIT_START;
            return SLIP_BAD_ESCAPE;
        }
        return SLIP_MORE;
    }
    return SLIP_MORE;
}
