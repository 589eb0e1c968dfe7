/* The virtual ESP chip's protocol engine: ROM download mode and flasher stub behaviour
 * (docs/esp-serial-protocol.md §3-§13), reset/strap model (§4), register and SPI flash model
 * (§8-§10). It knows nothing about ptys or sockets: bytes come in through vchip_feed, go out
 * through the io callbacks, and DTR/RTS changes through vchip_set_lines. */
#ifndef SIM_VCHIP_H
#define SIM_VCHIP_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include <openssl/evp.h>

#include "esp/chip.h"
#include "serial/slip.h"
#include "util/log.h"
#include "nor.h"

enum vchip_mode {
    VCHIP_OFF,  /* held in reset (EN low) */
    VCHIP_APP,  /* running the application from flash: ignores SLIP */
    VCHIP_ROM,  /* ROM serial download mode */
    VCHIP_STUB, /* the uploaded flasher stub is running */
    VCHIP_HUNG, /* jumped to code that does not answer (bad entry point, stall fault) */
};

struct vchip_io {
    void *ctx;
    /* Raw wire bytes from the chip (already SLIP framed when they are packets). */
    void (*send)(void *ctx, const uint8_t *bytes, size_t len);
    /* The chip's UART now runs at this baud (boot: 115200; CHANGE_BAUDRATE). */
    void (*set_baud)(void *ctx, uint32_t baud);
    /* Diagnostics for the operator: LOG_INFO for events, LOG_DEBUG for SPI commands. */
    struct log log;
    /* Flash timing: a monotonic clock and a wait that keeps the line serviced. NULL: erase
     * and program take no time. */
    uint64_t (*now_us)(void *ctx);
    void (*wait_until_us)(void *ctx, uint64_t t);
    /* A disconnect-cmd fault cuts the line; may be NULL. */
    void (*disconnect)(void *ctx);
};

/* Per-command fault: the Kth time OPCODE arrives (1-based), do ACTION. */
enum vchip_cmd_fault_kind {
    CMD_FAULT_FAIL,
    CMD_FAULT_NO_REPLY,
    CMD_FAULT_DISCONNECT,
    CMD_FAULT_HANG
};
struct vchip_cmd_fault {
    uint8_t opcode;
    uint32_t k;
    enum vchip_cmd_fault_kind kind;
};
#define VCHIP_MAX_CMD_FAULTS 16
#define VCHIP_MAX_EFUSE_WORDS 8

struct vchip_config {
    const struct chip *chip;
    uint8_t mac[6];
    uint32_t jedec_id;   /* RDID answer: manufacturer | type << 8 | capacity << 16 */
    int usb_jtag;        /* the port is the chip's USB-Serial/JTAG: §4.4 reset model */
    uint32_t read_in_flight; /* READ_FLASH packets the stub keeps unacknowledged (real: 1) */
    uint32_t xtal_hz;        /* crystal; 0 = 40 MHz (the ESP32 also comes with 26 MHz) */
    int revision_set;        /* rev_major.rev_minor replaces the chip table's revision */
    uint8_t rev_major, rev_minor;
    struct {
        uint32_t addr, value;
    } efuse_words[VCHIP_MAX_EFUSE_WORDS]; /* whole words set */
    size_t n_efuse_words;
    struct vchip_cmd_fault cmd_faults[VCHIP_MAX_CMD_FAULTS];
    size_t n_cmd_faults;
};

#define VCHIP_MAX_REGS 256
#define VCHIP_MAX_FIXED 32
#define VCHIP_MAX_SEGMENTS 8
#define VCHIP_PACKET_MAX (0x4000 + 16 + 8 + 64)

struct vchip_write {
    int active, compressed;
    uint32_t offset, size, num_blocks, block_size, next_seq;
    uint32_t written;      /* bytes programmed so far (uncompressed) */
    uint32_t erased_to;    /* stub: flash erased lazily up to this address */
    int deferred_error;    /* stub: a write error reported with the next command */
    int stream_end;        /* compressed: the zlib stream ended */
    z_stream z;
    int z_init;
};

struct vchip_read {
    int active;
    uint32_t offset, length, packet_size, in_flight;
    uint32_t sent, acked;
    EVP_MD_CTX *md5;
};

struct vchip {
    struct vchip_config cfg;
    struct vchip_io io;
    struct nor *flash;
    enum vchip_mode mode;
    int boot_download;     /* strap latched at the last chip reset */
    uint32_t baud;         /* the UART's actual speed */
    uint32_t uart_div16;   /* its clock divider in sixteenths (UART_CLKDIV) */
    uint32_t flash_limit;  /* SPI_SET_PARAMS total size, bounds loader flash access */
    uint32_t last_value;   /* ROM replies carry a stale value field (§3.2) */
    uint32_t epoch;        /* incremented at every reset: output of an older epoch is void */

    /* line state (DTR/RTS asserted = true) and reset model */
    int dtr, rts, en;
    int usb_armed;
    int boot_pending;
    uint64_t boot_at_ms;
    uint32_t reset_reason;

    struct slip_decoder slip;
    uint8_t packet[VCHIP_PACKET_MAX];

    struct { uint32_t addr, value; } regs[VCHIP_MAX_REGS];
    size_t n_regs;
    struct {
        uint32_t addr, value;
    } fixed[VCHIP_MAX_FIXED]; /* read-only words (eFuses) */
    size_t n_fixed;
    uint8_t flash_status[3]; /* status registers 1..3 */
    int flash_wel;

    struct vchip_write w;
    struct vchip_read r;
    struct { int active; uint32_t addr, size, num_blocks, block_size, next_seq, received; } mem;
    struct { uint32_t addr, len; } segments[VCHIP_MAX_SEGMENTS];
    size_t n_segments;

    uint32_t cmd_count[256];
    uint64_t busy_until_us; /* the stub is still writing the data it acknowledged */
};

void vchip_init(struct vchip *vc, const struct vchip_config *cfg, const struct vchip_io *io,
                struct nor *flash);
void vchip_free(struct vchip *vc);
/* Power on: boot into download mode or from flash, emitting the boot log. */
void vchip_power_on(struct vchip *vc, int download);
/* DTR/RTS as the host set them (true = asserted); now_ms is a monotonic clock. */
void vchip_set_lines(struct vchip *vc, int dtr, int rts, uint64_t now_ms);
/* Run deferred actions (a boot after EN was released). Returns the next time it needs a call,
 * or UINT64_MAX. */
uint64_t vchip_tick(struct vchip *vc, uint64_t now_ms);
/* Bytes received from the host. */
void vchip_feed(struct vchip *vc, const uint8_t *bytes, size_t len);
/* Reboot now (fault injection, software reset): download or flash boot per the latched strap
 * unless force_download is set. */
void vchip_reboot(struct vchip *vc, int force_download, uint32_t reason);
/* Stop answering until the next reset. */
void vchip_hang(struct vchip *vc);
/* The host syncs at another baud: the ROM's auto-baud measures the SYNC's 0x55 bytes and
 * takes that speed (§1); the stub does not (it keeps its divider). */
void vchip_autobaud(struct vchip *vc, uint32_t baud);
const char *vchip_mode_name(enum vchip_mode m);

/* ROM boot strap values and reset reasons printed in the boot log (§4.2). */
#define RESET_POWERON 0x1
#define RESET_SW 0x3

#endif
