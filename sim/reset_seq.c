#include "reset_seq.h"

/* USB-Serial/JTAG download sequence (esp-serial-protocol.md §4.4): arm with DTR=1/RTS=0, pass
 * through DTR=1/RTS=1 into DTR=0/RTS=1 (the reset), back to idle. The peripheral acts on each
 * line state as it arrives; the steps are 10 ms apart. */
#define USB_STEP_MS 10
/* How long the server holds the strap low after releasing EN on a bridge board (esptool's
 * reset delay): later client changes wait, so a client's own release of DTR that reaches a
 * busy server together with the rest of its sequence cannot precede the strap sampling. */
#define STRAP_HOLD_MS 50

static void push(struct reset_seq *s, uint64_t at, int dtr, int rts)
{
    if (s->n_steps == RESET_SEQ_MAX_STEPS) {
        /* nothing is pending but this one: start the queue over */
        if (s->next < s->n_steps)
            return;
        s->n_steps = s->next = 0;
    }
    s->steps[s->n_steps].at = at;
    s->steps[s->n_steps].dtr = dtr;
    s->steps[s->n_steps].rts = rts;
    s->n_steps++;
}

void reset_seq_init(struct reset_seq *s, int usb_jtag)
{
    *s = (struct reset_seq){.usb_jtag = usb_jtag};
}

void reset_seq_request(struct reset_seq *s, int dtr, int rts, uint64_t now_ms)
{
    int was_dtr = s->req_dtr, was_rts = s->req_rts;
    s->req_dtr = dtr;
    s->req_rts = rts;
    int performing = s->next < s->n_steps && s->steps[s->n_steps - 1].at > now_ms;
    if (performing)
        return; /* the client's own steps of the sequence the server performs */
    if (s->next == s->n_steps)
        s->n_steps = s->next = 0;
    /* DTR asserted while RTS holds the chip in reset: a classic or tight download reset
     * releasing EN with the strap low. */
    if (dtr && rts && !was_dtr && was_rts) {
        s->resync = 1;
        if (!s->usb_jtag) {
            push(s, now_ms, 1, 0);
            push(s, now_ms + STRAP_HOLD_MS, 1, 0);
        } else {
            push(s, now_ms, 1, 0);
            push(s, now_ms + USB_STEP_MS, 1, 1);
            push(s, now_ms + USB_STEP_MS, 0, 1);
            push(s, now_ms + 2 * USB_STEP_MS, 0, 0);
        }
        return;
    }
    push(s, now_ms, dtr, rts);
}

uint64_t reset_seq_run(struct reset_seq *s, uint64_t now_ms,
                       void (*set)(void *ctx, int dtr, int rts, uint64_t at_ms), void *ctx)
{
    while (s->next < s->n_steps && s->steps[s->next].at <= now_ms) {
        int dtr = s->steps[s->next].dtr, rts = s->steps[s->next].rts;
        uint64_t at = s->steps[s->next].at;
        s->next++;
        if (dtr != s->dtr || rts != s->rts) {
            s->dtr = dtr;
            s->rts = rts;
            set(ctx, dtr, rts, at);
        }
        if (s->next == s->n_steps && s->resync) {
            /* a performed sequence ended: the lines follow the client again */
            s->resync = 0;
            if (s->req_dtr != s->dtr || s->req_rts != s->rts) {
                s->dtr = s->req_dtr;
                s->rts = s->req_rts;
                set(ctx, s->dtr, s->rts, at);
            }
        }
    }
    return s->next < s->n_steps ? s->steps[s->next].at : UINT64_MAX;
}
