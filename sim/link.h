/* The virtual chip's serial line: a pty and/or an RFC 2217 (telnet COM-PORT-OPTION) server on
 * 127.0.0.1, with optional wire timing (10 bits per byte at the chip's baud, both directions),
 * byte-level fault injection on the chip's output, and DTR/RTS delivered as events. */
#ifndef SIM_LINK_H
#define SIM_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

enum link_fault_kind { LF_DROP, LF_CORRUPT, LF_STALL, LF_DISCONNECT, LF_RESET, LF_DROP_RX };
struct link_fault {
    enum link_fault_kind kind;
    uint64_t n;    /* 1-based index of the byte (sent by the chip; for LF_DROP_RX received) */
    int64_t ms;    /* LF_STALL: duration, -1 = until the next reset */
    int fired;
};
#define LINK_MAX_FAULTS 32

struct link_events {
    void *ctx;
    void (*lines)(void *ctx, int dtr, int rts);        /* DTR/RTS changed (asserted = 1) */
    void (*fault)(void *ctx, enum link_fault_kind kind); /* LF_RESET and endless LF_STALL */
    void (*client_gone)(void *ctx);                   /* the host closed its side */
    void (*pty_reopened)(void *ctx, const char *path); /* a disconnect fault made a new pty */
    /* The host sent a SYNC at baud while the chip listens at another speed: a ROM's auto-baud
     * takes the new speed (through link_set_baud); may be NULL. */
    void (*autobaud)(void *ctx, uint32_t baud);
    struct log log; /* what the line does, LOG_INFO */
};

struct rx_chunk {
    uint8_t *data;
    size_t len;
    double ready; /* monotonic seconds when its last byte has crossed the wire */
};

struct link {
    struct link_events ev;
    int wire_time;
    int baud_check;           /* garble bytes while host and chip bauds disagree */
    uint32_t baud;            /* chip UART baud */
    uint32_t host_baud;       /* RFC 2217 SET-BAUDRATE from the host; 0 = unknown */

    int pty_fd;               /* master, -1 if unused */
    char pty_path[128];
    int pty_open;             /* a client has the slave open (last read did not fail) */

    int listen_fd, client_fd;
    uint16_t port;
    /* telnet receive state */
    int tn_state;
    uint8_t sb[64];
    size_t sb_len;
    int dtr, rts;
    uint8_t we_on[256], they_on[256]; /* telnet options in force, per connection */

    double tx_free_at, rx_free_at;
    uint64_t tx_count, rx_count;
    struct link_fault faults[LINK_MAX_FAULTS];
    size_t n_faults;
    int stalled_forever;
    int muted;                /* after a disconnect fault: output lost until the host speaks */

    struct rx_chunk *q;
    size_t q_head, q_len, q_cap;
};

int link_init(struct link *l, const struct link_events *ev, char *err, size_t errlen);
int link_open_pty(struct link *l, char *err, size_t errlen);
int link_listen(struct link *l, uint16_t port, char *err, size_t errlen);
void link_close(struct link *l);

double link_now(void);
/* Wait until `deadline` (monotonic seconds) or input arrives, servicing every endpoint:
 * accepts, telnet, DTR/RTS events, received bytes into the queue. */
void link_service(struct link *l, double deadline);
/* Sleep until `deadline` while servicing input (used for wire timing and stalls). */
void link_wait_until(struct link *l, double deadline);
/* Bytes from the chip to the host, paced and subject to faults. */
void link_send(struct link *l, const uint8_t *bytes, size_t len);
void link_set_baud(struct link *l, uint32_t baud);
/* Cut the line as a disconnect fault does: the RFC 2217 client is dropped, a pty replaced;
 * output is lost until a host speaks again. */
void link_disconnect(struct link *l);
/* Oldest received chunk if its bytes have fully arrived by `now`; the caller frees data. */
int link_pop(struct link *l, double now, struct rx_chunk *out);
double link_next_ready(const struct link *l); /* 1e300 when the queue is empty */
void link_flush_rx(struct link *l);
/* A reset ends an endless stall. */
void link_chip_reset(struct link *l);
int link_has_client(const struct link *l);

#endif
