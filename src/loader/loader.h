/* Client of the ESP serial bootloader protocol (docs/esp-serial-protocol.md): command/response
 * framing over SLIP, reset into and out of download mode, sync, chip detection, flash id/size,
 * flasher stub upload, baud change, compressed writes, streamed reads, MD5, erase, and ROM-only
 * fallbacks. Every write is verified by MD5 before it is reported done. */
#ifndef MP_LOADER_LOADER_H
#define MP_LOADER_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "esp/chip.h"
#include "serial/port.h"
#include "serial/slip.h"
#include "loader/protocol.h"
#include "util/error.h"
#include "util/log.h"

/* Negative return values of loader functions (err holds the message). */
enum loader_result {
    LOADER_E_FAIL = -1,        /* the chip answered with a failure status, or a local error */
    LOADER_E_TIMEOUT = -2,     /* no (valid) reply in time, after retries */
    LOADER_E_LINK = -3,        /* the port failed (disconnect, I/O error) */
    LOADER_E_UNSUPPORTED = -4, /* the loader does not know the command (§3.6) */
    LOADER_E_VERIFY = -5,      /* a malformed data stream, or data garbled on the line */
    /* the flash does not hold what was written or erased (its MD5 differs after retries),
     * or it cannot be checked (secure download mode) */
    LOADER_E_MISMATCH = ERROR_VERIFY,
};

/* How to get the chip into download mode. */
enum loader_reset {
    LOADER_RESET_AUTO,     /* USB-Serial/JTAG sequence for 303a:1001 ports, else classic */
    LOADER_RESET_CLASSIC,  /* DTR/RTS through the two-transistor circuit (§4.3) */
    LOADER_RESET_USB_JTAG, /* §4.4 */
    LOADER_RESET_NONE,     /* the chip is already in download mode */
};

struct loader_options {
    uint32_t baud;               /* working baud after connecting; 0 = stay at 115200 */
    enum loader_reset before;
    int no_stub;                 /* stay with the ROM loader even when a stub is embedded */
    int no_compress;             /* write with FLASH_BEGIN/DATA instead of FLASH_DEFL_* */
    const char *expect_chip;     /* chip name the user asked for, NULL = any */
    int connect_attempts;        /* resets (each with up to 5 syncs); 0 = 7 */
    /* Progress of long operations: what ("write", "read", "erase"), bytes done of total. */
    void (*progress)(void *ctx, const char *what, uint32_t done, uint32_t total);
    void *progress_ctx;
    /* Narration ("Stub flasher running.", "using the ROM loader"); NULL = silent. */
    const struct log *log;
};

#define LOADER_MAX_PACKET (0x4000 + 16 + 8 + 64)

struct loader {
    struct port *port;           /* owned */
    char port_name[256];         /* to reopen after a disconnect ("" when not reopenable) */
    struct loader_options opt;
    const struct chip *chip;
    int stub;                    /* the flasher stub is running */
    uint32_t security_flags;     /* GET_SECURITY_INFO flags, 0 if unavailable */
    int secure_download;         /* secure download mode: no register access, no stub */
    uint32_t flash_id;           /* JEDEC id (manufacturer | type << 8 | capacity << 16) */
    uint32_t flash_size;         /* detected flash size in bytes, 0 if unknown */
    int attached;                /* ROM: SPI_ATTACH sent */
    uint32_t params_size;        /* SPI_SET_PARAMS total size sent, 0 if not yet */
    int rom_read_spi;    /* the ROM refused READ_FLASH_SLOW: read through the SPI engine */
    int rom_baud_failed; /* a ROM baud change did not take: the ROM stays at 115200 */
    /* Statistics for reports and benchmarks. */
    uint64_t wire_tx, wire_rx;   /* bytes on the wire (SLIP encoded) */
    uint32_t retries;            /* commands repeated, writes restarted, reconnects */
    /* Receive state: bytes read from the port but not yet decoded. */
    uint8_t rx[16384];
    size_t rx_pos, rx_len;
    struct slip_decoder dec;
    uint8_t pkt[LOADER_MAX_PACKET];
    uint8_t tx[SLIP_ENCODED_MAX(LOADER_MAX_PACKET)];
};

/* Open the port by name (see port_open), reset the chip into download mode, sync, detect the
 * chip, upload the stub when one is embedded for it (unless no_stub), change to opt->baud and
 * detect the flash. On success *out is ready for flash operations; free it with loader_close. */
int loader_open(const char *port_name, const struct loader_options *opt, struct loader **out,
                struct error *err);
/* The same on an already open port (owned by the loader from now on, also on failure). */
int loader_open_port(struct port *port, const struct loader_options *opt, struct loader **out,
                     struct error *err);
/* A loader on an open port (owned from now on, also on failure) without talking to the chip:
 * for callers that drive the lower-level functions themselves (and tests). l->chip and l->stub
 * describe what the caller knows. */
int loader_new(struct port *port, const struct loader_options *opt, struct loader **out,
               struct error *err);
/* Leave the loader: hard_reset = 1 pulses RTS to run the application (§4.3 "hard reset");
 * otherwise, and on a port without reset lines, a running stub reboots into the ROM loader so
 * the next connection at 115200 finds the chip. Closes the port and frees l. NULL allowed. */
void loader_close(struct loader *l, int hard_reset);

/* ---- flash operations (addresses and sizes in bytes) ---- */

/* Write data at addr (compressed unless opt.no_compress or secure download mode) and verify
 * with SPI_FLASH_MD5; retries lost blocks and restarts the write after a reconnect. Bytes of
 * partly covered 4 KiB sectors are read first and written back unchanged. In secure download
 * mode nothing can be verified: the data is written, and LOADER_E_MISMATCH says so. */
int loader_write_flash(struct loader *l, uint32_t addr, const uint8_t *data, uint32_t len,
                       struct error *err);
/* Read flash into buf (stub: streamed READ_FLASH checked by its MD5; ROM: READ_FLASH_SLOW, 64
 * bytes a command). */
int loader_read_flash(struct loader *l, uint32_t addr, uint8_t *buf, uint32_t len,
                      struct error *err);
/* MD5 of a flash region computed by the chip. */
int loader_flash_md5(struct loader *l, uint32_t addr, uint32_t len, uint8_t md5[16],
                     struct error *err);
/* Erase a region (4 KiB aligned; the ROM has no erase command: FLASH_BEGIN erases it). */
int loader_erase_region(struct loader *l, uint32_t addr, uint32_t len, struct error *err);
int loader_erase_flash(struct loader *l, struct error *err);

/* ---- what the chip is ---- */

/* esptool's chip_id and flash_id in one: what the connection found and the eFuse words say. */
struct loader_chip_info {
    const struct chip *chip;
    int have_revision; /* 0 in secure download mode (no register reads) */
    unsigned rev_major, rev_minor;
    int have_mac;
    uint8_t mac[6]; /* the base MAC */
    int have_mac_ext;
    uint8_t mac_ext[2];      /* MAC_EXT (chips with an EUI-64 MAC) */
    char features[320];      /* the chip's own and those its eFuses show, comma separated */
    uint32_t crystal_mhz;    /* 0 when the UART divider does not tell */
    uint32_t flash_id;       /* JEDEC: manufacturer | device << 8 (type, capacity) */
    uint32_t flash_size;     /* bytes, 0 if unknown */
    uint32_t security_flags; /* GET_SECURITY_INFO, 0 if unavailable */
    int stub;
};
int loader_chip_info(struct loader *l, struct loader_chip_info *info, struct error *err);

/* ---- lower level (used by the above; exposed for tools and tests) ---- */

/* One request and what comes back (§3). */
struct loader_cmd {
    uint8_t op;
    const uint8_t *data; /* payload, len bytes (NULL when empty) */
    size_t len;
    uint32_t checksum;  /* *_DATA commands: loader_checksum of the block (§3.4) */
    size_t resp_expect; /* data bytes the reply carries before its status (MD5: 16 or 32) */
    int timeout_ms;     /* per attempt; 0 = LOADER_REPLY_MS + the wire time of request
                               and reply at the port's baud + work_ms */
    uint32_t work_ms;   /* what the loader's flash work before replying may take */
    int retries;        /* repeats after a lost or damaged reply */
    uint8_t *resp;      /* receives the reply's data (at most resp_cap bytes); may be NULL */
    size_t resp_cap;    /* 0 = as many as the reply carries */
    /* filled in on success */
    size_t resp_len; /* data bytes in the reply */
    uint32_t value;  /* the reply's value field */
};

/* A loader answers in milliseconds; this covers USB and network latency and a busy host. */
#define LOADER_REPLY_MS 1000

/* Send one command and wait for its response (§3.6 matching); repeats it cmd->retries times
 * after a lost or garbled response. */
int loader_command(struct loader *l, struct loader_cmd *cmd, struct error *err);
/* Little-endian words into a payload: returns the byte count (4 x n). */
size_t loader_pack(uint8_t *out, const uint32_t *words, size_t n);
int loader_sync(struct loader *l, struct error *err);
int loader_reset_to_bootloader(struct loader *l, enum loader_reset how, int attempt,
                               struct error *err);
int loader_hard_reset(struct loader *l, struct error *err);
int loader_read_reg(struct loader *l, uint32_t addr, uint32_t *value, struct error *err);
int loader_write_reg(struct loader *l, uint32_t addr, uint32_t value, uint32_t mask,
                     uint32_t delay_us, struct error *err);
int loader_detect_chip(struct loader *l, struct error *err);
/* The chip's factory MAC address from its eFuses (§8). */
int loader_read_mac(struct loader *l, uint8_t mac[6], struct error *err);
/* Run a SPI flash command through the user-command registers (§10); result in *out. */
int loader_spi_command(struct loader *l, uint8_t cmd, const uint8_t *mosi, uint32_t mosi_bits,
                       uint32_t addr, uint32_t addr_bits, uint32_t dummy, uint32_t miso_bits,
                       uint8_t *out, struct error *err);
int loader_flash_id(struct loader *l, uint32_t *jedec, struct error *err);
int loader_run_stub(struct loader *l, struct error *err);
int loader_change_baud(struct loader *l, uint32_t baud, struct error *err);
/* Flash size in bytes for a JEDEC id (§10), 0 when unknown. */
uint32_t loader_flash_size_from_id(uint32_t jedec);
/* XOR checksum of *_DATA payloads (§3.4). */
uint8_t loader_checksum(const uint8_t *data, size_t len);

/* ---- embedded flasher stubs ---- */

struct loader_stub {
    const char *chip;          /* chip name as in the chip table */
    uint32_t entry, text_start, data_start;
    const char *text_b64, *data_b64; /* base64 as in the JSON files */
};
/* 1 when the build embedded stubs (npm was available), else 0: ROM mode only. */
int loader_stubs_available(void);
/* The stub for a chip, NULL if none. */
const struct loader_stub *loader_stub_for(const char *chip_name);
/* Where the stubs came from and their licence text ("" when none are embedded). */
const char *loader_stub_source(void);
const char *loader_stub_license(void);

#endif
