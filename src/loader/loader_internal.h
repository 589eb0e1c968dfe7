/* Shared between the loader's source files (not a public interface). */
#ifndef MP_LOADER_INTERNAL_H
#define MP_LOADER_INTERNAL_H

#include "loader/loader.h"
#include "util/bytes.h"

#define ROM_BAUD 115200
#define STUB_BLOCK 0x4000   /* stub FLASH_WRITE_SIZE (§9) */
#define ROM_BLOCK 0x400     /* ROM flash block (§6.1) */
#define RAM_BLOCK 0x1800    /* MEM_DATA block (§6.3) */

/* A *_DATA command (§3.4): buf[0..16) gets the header (size, seq, 0, 0), buf[16..16+n) the
 * block (copied unless it is already there); the checksum covers the block. */
struct loader_cmd loader_data_cmd(uint8_t op, uint8_t *buf, uint32_t seq, const uint8_t *block,
                                  size_t n);
/* What flash work may take, so that a lost reply is noticed soon after the work would have
 * ended whatever the data (the ms_per_mb timeouts of §3.7 allow minutes for a large or very
 * compressible region). Three times the typical figures of a 4 MB SPI NOR: 64 KiB block erase
 * 150 ms, 4 KiB sector 45 ms, 256-byte page 0.4 ms; MD5 at 2 s per MiB. */
uint32_t loader_erase_ms(uint32_t bytes);
uint32_t loader_program_ms(uint32_t bytes);
uint32_t loader_md5_ms(uint32_t bytes);
/* Bytes that take one millisecond on the wire at the port's baud, at least 1. */
uint32_t loader_wire_bytes_per_ms(const struct loader *l);
void loader_sleep_ms(int ms);
int64_t loader_now_ms(void); /* monotonic */
/* SLIP-frame head + data as one packet and send it. */
int loader_send_frame(struct loader *l, const uint8_t *head, size_t hlen, const uint8_t *data,
                      size_t dlen, struct error *err);
/* Receive one SLIP packet into l->pkt: 1 = packet (length in l->dec.len), 0 = timeout,
 * LOADER_E_LINK on a port error. */
int loader_recv_packet(struct loader *l, int timeout_ms, struct error *err);
/* SLIP-frame and send a raw payload (READ_FLASH acknowledgements). */
int loader_send_raw(struct loader *l, const uint8_t *data, size_t len, struct error *err);
/* Discard everything received so far, in the port and in our buffer. */
int loader_flush(struct loader *l, struct error *err);
/* After a failure: make the chip answer again with the same loader (stub re-uploaded and baud
 * restored when the chip was reset, port reopened after a disconnect). */
int loader_recover(struct loader *l, struct error *err);
/* Attach the flash in ROM mode (SPI_ATTACH) and send SPI_SET_PARAMS once. */
int loader_prepare_flash(struct loader *l, struct error *err);

/* SPI user command without saving/restoring USR and USR2 (bulk reads do that once). */
int loader_spi_command_raw(struct loader *l, uint8_t cmd, const uint8_t *mosi, uint32_t mosi_bits,
                           uint32_t addr, uint32_t addr_bits, uint32_t dummy, uint32_t miso_bits,
                           uint8_t *out, struct error *err);
int loader_spi_save(struct loader *l, uint32_t saved[2], struct error *err);
int loader_spi_restore(struct loader *l, const uint32_t saved[2], struct error *err);

#endif
