/* What an ESP-aware RFC 2217 server does with a client's DTR/RTS changes (the role of
 * Espressif's esp_rfc2217_server in front of a real board).
 *
 * RFC 2217 carries one line change per SET-CONTROL, and clients such as pyserial wait for the
 * server's acknowledgement of each (50 ms or more). A reset sequence that a local port
 * performs in a millisecond then passes through states that last long enough to matter: on a
 * bridge board, "DTR asserted, RTS released" arrives as DTR asserted first, both lines
 * asserted (EN high, boot strap high) for 50 ms, and the chip boots its application before
 * the strap is pulled low. So the server recognises the sequences and applies them to the
 * board with its timing:
 *
 *  - Bridge board (EN/strap through the two-transistor circuit): the classic and Unix-tight
 *    sequences release the reset by asserting DTR while RTS holds EN low. The server applies
 *    "DTR asserted, RTS released" at once, so EN rises with the strap low (download mode),
 *    and holds it 50 ms while the chip samples the strap; the client's own changes of that
 *    time apply afterwards.
 *  - USB-Serial/JTAG port: the same recognised release runs the USB-JTAG download sequence
 *    (arm with DTR, reset through DTR=0/RTS=1, idle). Clients cannot tell a USB-JTAG port
 *    behind RFC 2217 (no USB ids), so they send the classic sequence.
 *
 * Every other change (hard reset by an RTS pulse, the USB-JTAG sequence itself, line release
 * when a client leaves) passes through unchanged. */
#ifndef SIM_RESET_SEQ_H
#define SIM_RESET_SEQ_H

#include <stddef.h>
#include <stdint.h>

#define RESET_SEQ_MAX_STEPS 8

struct reset_seq {
    int usb_jtag;         /* the chip's port is its USB-Serial/JTAG */
    int dtr, rts;         /* what the board sees (asserted = 1) */
    int req_dtr, req_rts; /* what the client asked for last */
    /* a sequence the server performs: line states due at given times (ms) */
    struct {
        uint64_t at;
        int dtr, rts;
    } steps[RESET_SEQ_MAX_STEPS];
    size_t n_steps, next;
    int resync; /* when the performed steps end, apply the client's state */
};

void reset_seq_init(struct reset_seq *s, int usb_jtag);
/* The client set the lines to (dtr, rts) at now_ms. */
void reset_seq_request(struct reset_seq *s, int dtr, int rts, uint64_t now_ms);
/* Deliver the board line states due by now_ms through set(ctx, dtr, rts), in order; returns
 * when the next one is due (UINT64_MAX: none). */
uint64_t reset_seq_run(struct reset_seq *s, uint64_t now_ms,
                       void (*set)(void *ctx, int dtr, int rts, uint64_t at_ms), void *ctx);

#endif
