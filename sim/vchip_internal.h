/* Shared between the virtual chip's source files (not a public interface): vchip.c (boot,
 * reset lines, command dispatch, RAM download), vchip_regs.c (registers, eFuses, SPI flash
 * command engine) and vchip_flash.c (flash write, read, erase and MD5 commands). */
#ifndef SIM_VCHIP_INTERNAL_H
#define SIM_VCHIP_INTERNAL_H

#include "loader/protocol.h"
#include "vchip.h"

/* One outcome, expressed for both loaders: the ROM's error byte (after status 1) and the
 * stub's status byte (§3.5). */
struct fail {
    uint8_t rom, stub;
};

#define OK ((struct fail){0, 0})
#define E_BAD_LEN ((struct fail){ROM_E_BAD_MESSAGE, STUB_E_BAD_DATA_LEN})
#define E_CHECKSUM ((struct fail){ROM_E_CHECKSUM, STUB_E_BAD_CHECKSUM})
#define E_BLOCK_SIZE ((struct fail){ROM_E_BAD_PARAM, STUB_E_BAD_BLOCKSIZE})
#define E_INVALID_CMD ((struct fail){ROM_E_BAD_MESSAGE, STUB_E_INVALID_COMMAND})
#define E_NOT_FLASH_MODE ((struct fail){ROM_E_BAD_MESSAGE, STUB_E_NOT_IN_FLASH_MODE})
#define E_INFLATE ((struct fail){ROM_E_INFLATE, STUB_E_INFLATE})
#define E_ADLER ((struct fail){ROM_E_ADLER, STUB_E_INFLATE})
#define E_NOT_ENOUGH ((struct fail){ROM_E_RAM_SIZE, STUB_E_NOT_ENOUGH_DATA})
#define E_TOO_MUCH ((struct fail){ROM_E_BAD_PARAM, STUB_E_TOO_MUCH_DATA})
#define E_PARAM ((struct fail){ROM_E_BAD_PARAM, STUB_E_BAD_DATA_LEN})
#define E_FLASH_WRITE ((struct fail){ROM_E_FLASH_WRITE, STUB_E_FAILED_SPI_OP})
#define E_FLASH_READ ((struct fail){ROM_E_FLASH_READ, STUB_E_FAILED_SPI_OP})
#define E_READ_LEN ((struct fail){ROM_E_READ_LENGTH, STUB_E_BAD_DATA_LEN})
#define E_RAM_SIZE ((struct fail){ROM_E_RAM_SIZE, STUB_E_TOO_MUCH_DATA})
#define E_EXEC ((struct fail){ROM_E_EXEC, STUB_E_FAILED_SPI_OP})
#define E_SEQ ((struct fail){ROM_E_BAD_MESSAGE, STUB_E_BAD_DATA_LEN})
#define E_INJECTED ((struct fail){ROM_E_EXEC, STUB_E_FAILED_SPI_OP})

static inline int is_ok(struct fail f)
{
    return f.rom == 0 && f.stub == 0;
}

/* One received command while it is being handled. */
struct vchip_cmd {
    uint8_t op;
    const uint8_t *d; /* data field */
    size_t len;
    uint32_t checksum; /* the header's checksum word (§3.4) */
    /* the answer */
    uint8_t out[64];
    size_t outlen;
    uint32_t value;
    int replied; /* the handler sent its own answer (or deliberately none) */
    enum { AFTER_NOTHING, AFTER_REBOOT, AFTER_RUN_APP } after;
};

static inline int in_stub(const struct vchip *vc)
{
    return vc->mode == VCHIP_STUB;
}

/* ---- vchip.c: output */
void vchip_send_frame(struct vchip *vc, const uint8_t *payload, size_t len);
void vchip_respond(struct vchip *vc, uint8_t op, uint32_t value, const uint8_t *data, size_t dlen,
                   struct fail f);
/* What the running loader answers to a command it does not know (§3.6). */
void vchip_respond_unsupported(struct vchip *vc, uint8_t op);

/* ---- vchip_regs.c */
uint32_t vchip_read_reg(struct vchip *vc, uint32_t addr);
void vchip_write_reg(struct vchip *vc, uint32_t addr, uint32_t value, uint32_t mask);
void vchip_efuse_init(struct vchip *vc);
uint32_t vchip_xtal_hz(const struct vchip *vc);
/* What the ROM believes the crystal runs at, from its RTC calibration (§6.7). */
uint32_t vchip_rom_xtal_estimate(struct vchip *vc);

/* ---- vchip_flash.c: command handlers and session state */
struct fail vchip_cmd_flash_begin(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_flash_data(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_flash_end(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_md5(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_read_flash_slow(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_erase_flash(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_erase_region(struct vchip *vc, struct vchip_cmd *c);
struct fail vchip_cmd_read_flash(struct vchip *vc, struct vchip_cmd *c);
/* A READ_FLASH acknowledgement from the host. */
void vchip_read_flash_ack(struct vchip *vc, const uint8_t *p, size_t len);
/* Checks a *_DATA header (size, seq, 0, 0) and the payload's checksum. */
struct fail vchip_data_header(const uint8_t *d, size_t len, uint32_t checksum, uint32_t *seq,
                              const uint8_t **payload, uint32_t *plen);
void vchip_end_write(struct vchip *vc);
void vchip_end_read(struct vchip *vc);

#endif
