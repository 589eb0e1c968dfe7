/* The virtual chip's core: output framing, boot and the reset lines (§4), RAM download and the
 * small commands, and the table that dispatches every command to its handler. */
#include "vchip_internal.h"
#include "util/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- output */

static void send_raw(struct vchip *vc, const void *bytes, size_t len)
{
    if (vc->mode == VCHIP_OFF || len == 0)
        return;
    vc->io.send(vc->io.ctx, bytes, len);
}

static void send_text(struct vchip *vc, const char *text)
{
    send_raw(vc, text, strlen(text));
}

void vchip_send_frame(struct vchip *vc, const uint8_t *payload, size_t len)
{
    uint8_t stackbuf[2 * 128 + 2];
    size_t need = SLIP_ENCODED_MAX(len);
    uint8_t *out = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!out)
        return;
    uint32_t epoch = vc->epoch;
    size_t n = slip_encode(payload, len, out);
    if (epoch == vc->epoch)
        send_raw(vc, out, n);
    if (out != stackbuf)
        free(out);
}

/* A response (§3.2): status bytes appended per loader (§3.3). */
void vchip_respond(struct vchip *vc, uint8_t op, uint32_t value, const uint8_t *data, size_t dlen,
                   struct fail f)
{
    uint8_t buf[8 + 64 + 4];
    int stub = vc->mode == VCHIP_STUB;
    size_t status_len = stub ? 2 : 4;
    if (dlen > 64)
        dlen = 64;
    buf[0] = 0x01;
    buf[1] = op;
    buf[2] = (uint8_t)(dlen + status_len);
    buf[3] = 0;
    if (stub) {
        put_le32(buf + 4, op == LOADER_READ_REG ? value : 0);
    } else {
        /* The ROM leaves a stale value in the field except for READ_REG and SYNC. */
        if (op == LOADER_READ_REG || op == LOADER_SYNC)
            vc->last_value = value;
        put_le32(buf + 4, vc->last_value);
    }
    if (dlen)
        memcpy(buf + 8, data, dlen);
    uint8_t *st = buf + 8 + dlen;
    if (stub) {
        st[0] = f.stub;
        st[1] = 0;
    } else {
        st[0] = is_ok(f) ? 0 : 1;
        st[1] = f.rom;
        st[2] = 0;
        st[3] = 0;
    }
    vchip_send_frame(vc, buf, 8 + dlen + status_len);
}

/* An opcode the running loader does not know: the stub echoes it with "invalid command"; the
 * ROM answers status 1 / 0x05 under a different opcode byte, repeated 8 times (§3.6). */
void vchip_respond_unsupported(struct vchip *vc, uint8_t op)
{
    if (in_stub(vc)) {
        vchip_respond(vc, op, 0, NULL, 0, E_INVALID_CMD);
        return;
    }
    uint8_t buf[12] = {0x01, 0x00, 0x04, 0x00};
    put_le32(buf + 4, vc->last_value);
    buf[8] = 1;
    buf[9] = ROM_E_BAD_MESSAGE;
    for (int i = 0; i < 8; i++)
        vchip_send_frame(vc, buf, sizeof buf);
}

/* ---------------------------------------------------------------- boot and reset */

const char *vchip_mode_name(enum vchip_mode m)
{
    switch (m) {
    case VCHIP_OFF: return "reset";
    case VCHIP_APP: return "app";
    case VCHIP_ROM: return "rom";
    case VCHIP_STUB: return "stub";
    case VCHIP_HUNG: return "hung";
    }
    return "?";
}

static void clear_state(struct vchip *vc)
{
    vchip_end_write(vc);
    vchip_end_read(vc);
    memset(&vc->mem, 0, sizeof vc->mem);
    vc->n_segments = 0;
    vc->n_regs = 0;
    vc->flash_wel = 0;
    vc->flash_limit = vc->flash->size;
    vc->last_value = 0;
    slip_decoder_init(&vc->slip, vc->packet, sizeof vc->packet);
}

static void set_baud(struct vchip *vc, uint32_t baud)
{
    vc->baud = baud;
    if (vc->io.set_baud)
        vc->io.set_baud(vc->io.ctx, baud);
}

/* A new UART divider: the line runs at crystal x 16 / divider. */
static void set_divider(struct vchip *vc, uint64_t div16)
{
    if (div16 < 16)
        div16 = 16;
    if (div16 > 0xFFFFFF)
        div16 = 0xFFFFFF;
    vc->uart_div16 = (uint32_t)div16;
    set_baud(vc, (uint32_t)(((uint64_t)vchip_xtal_hz(vc) * 16 + div16 / 2) / div16));
}

/* What the application prints when the chip boots from flash: the second-stage bootloader's
 * view of the image at the bootloader offset, or the ROM's complaint about an empty flash. */
static void app_banner(struct vchip *vc)
{
    uint8_t hdr[24];
    char line[400];
    uint32_t off = vc->cfg.chip->bootloader_offset;
    if (nor_read(vc->flash, off, hdr, sizeof hdr) != 0 || hdr[0] != 0xE9) {
        snprintf(line, sizeof line, "invalid header: 0x%08x\r\n", get_le32(hdr));
        send_text(vc, line);
        return;
    }
    snprintf(line, sizeof line,
             "I (27) boot: ESP-IDF 2nd stage bootloader (virtual chip)\r\n"
             "I (27) boot: chip %s, image at 0x%x: %u segments, entry 0x%08x\r\n"
             "I (31) boot: Loaded app from flash\r\n"
             "virtual app: running, serial download protocol is ignored until the next reset\r\n",
             vc->cfg.chip->description, off, hdr[1], get_le32(hdr + 4));
    send_text(vc, line);
}

static void boot(struct vchip *vc, int download, uint32_t reason)
{
    const struct chip_rom *rom = &vc->cfg.chip->rom;
    char line[200];
    vc->epoch++;
    clear_state(vc);
    vc->busy_until_us = 0;
    vc->boot_download = download;
    vc->mode = download ? VCHIP_ROM : VCHIP_APP;
    /* The ROM's auto-baud locks on the host's 115200 against the real crystal. */
    vc->uart_div16 = (uint32_t)(((uint64_t)vchip_xtal_hz(vc) * 16 + 57600) / 115200);
    set_baud(vc, 115200);
    const char *rname = reason == RESET_SW ? rom->sw_reset_name : rom->poweron_name;
    send_text(vc, rom->banner);
    snprintf(line, sizeof line, "rst:0x%x (%s),boot:0x%x (%s)\r\n", reason, rname,
             download ? rom->strap_download : rom->strap_flash,
             download ? rom->download_boot : "SPI_FAST_FLASH_BOOT");
    send_text(vc, line);
    if (download)
        send_text(vc, "waiting for download\r\n");
    else
        app_banner(vc);
    log_printf(&vc->io.log, LOG_INFO, "boot: %s", download ? "download mode" : "flash (app)");
}

void vchip_init(struct vchip *vc, const struct vchip_config *cfg, const struct vchip_io *io,
                struct nor *flash)
{
    memset(vc, 0, sizeof *vc);
    vc->cfg = *cfg;
    if (vc->cfg.read_in_flight == 0)
        vc->cfg.read_in_flight = 1;
    vc->io = *io;
    vc->flash = flash;
    vc->mode = VCHIP_OFF;
    vc->baud = 115200;
    vc->uart_div16 = (uint32_t)(((uint64_t)vchip_xtal_hz(vc) * 16 + 57600) / 115200);
    vc->en = 1;
    vc->flash_status[1] = 0x02; /* QE set, as on quad-capable parts in QIO boards */
    vchip_efuse_init(vc);
    clear_state(vc);
}

void vchip_free(struct vchip *vc)
{
    vchip_end_write(vc);
    vchip_end_read(vc);
}

void vchip_power_on(struct vchip *vc, int download)
{
    boot(vc, download, RESET_POWERON);
}

void vchip_reboot(struct vchip *vc, int force_download, uint32_t reason)
{
    boot(vc, force_download || vc->boot_download, reason);
}

void vchip_autobaud(struct vchip *vc, uint32_t baud)
{
    if (vc->mode != VCHIP_ROM || baud == 0)
        return;
    uint32_t was = vc->baud;
    set_divider(vc, ((uint64_t)vchip_xtal_hz(vc) * 16 + baud / 2) / baud);
    log_printf(&vc->io.log, LOG_INFO, "auto-baud: %u -> %u", was, vc->baud);
}

void vchip_hang(struct vchip *vc)
{
    vc->epoch++;
    vc->mode = VCHIP_HUNG;
}

/* EN and the boot strap from DTR/RTS through the usual two-transistor circuit (§4.3). */
void vchip_set_lines(struct vchip *vc, int dtr, int rts, uint64_t now_ms)
{
    int was_dtr = vc->dtr, was_rts = vc->rts;
    vc->dtr = dtr;
    vc->rts = rts;
    if (vc->cfg.usb_jtag) {
        /* USB-Serial/JTAG (§4.4): DTR=1/RTS=0 arms download, 0/0 disarms, entering DTR=0/RTS=1
         * resets the chip (booting in download mode if armed). */
        if (dtr && !rts)
            vc->usb_armed = 1;
        else if (!dtr && !rts)
            vc->usb_armed = 0;
        if (!dtr && rts && !(!was_dtr && was_rts)) {
            vc->epoch++;
            vc->mode = VCHIP_OFF;
            vc->boot_pending = 1;
            vc->boot_at_ms = now_ms + 1;
            vc->reset_reason = vc->usb_armed ? 0x80 : 0x15; /* recorded as "download armed" */
        }
        return;
    }
    int en = !(rts && !dtr);
    if (!en && vc->en) {
        vc->epoch++;
        vc->mode = VCHIP_OFF;
        vc->boot_pending = 0;
    } else if (en && !vc->en) {
        /* The RC delay on EN: the strap is sampled a few ms after release, which is what
         * lets DTR go low "at the same time" as RTS is released. */
        vc->boot_pending = 1;
        vc->boot_at_ms = now_ms + 5;
        vc->reset_reason = RESET_POWERON;
    }
    vc->en = en;
}

uint64_t vchip_tick(struct vchip *vc, uint64_t now_ms)
{
    if (!vc->boot_pending)
        return UINT64_MAX;
    if (now_ms < vc->boot_at_ms)
        return vc->boot_at_ms;
    vc->boot_pending = 0;
    int download;
    if (vc->cfg.usb_jtag)
        download = vc->reset_reason == 0x80;
    else
        download = vc->dtr && !vc->rts; /* IO0 held low while EN rises */
    boot(vc, download, RESET_POWERON);
    return UINT64_MAX;
}

/* ---------------------------------------------------------------- RAM download (§6.3) */

static struct fail cmd_mem_begin(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 16)
        return E_BAD_LEN;
    const uint8_t *d = c->d;
    uint32_t size = get_le32(d), blocks = get_le32(d + 4), bsize = get_le32(d + 8);
    uint32_t addr = get_le32(d + 12);
    if (size > 0x80000 || bsize == 0)
        return E_RAM_SIZE;
    vc->mem.active = 1;
    vc->mem.addr = addr;
    vc->mem.size = size;
    vc->mem.num_blocks = blocks;
    vc->mem.block_size = bsize;
    vc->mem.next_seq = 0;
    vc->mem.received = 0;
    return OK;
}

static struct fail cmd_mem_data(struct vchip *vc, struct vchip_cmd *c)
{
    uint32_t seq, plen;
    const uint8_t *payload;
    struct fail f = vchip_data_header(c->d, c->len, c->checksum, &seq, &payload, &plen);
    if (!is_ok(f))
        return f;
    if (!vc->mem.active)
        return E_NOT_FLASH_MODE;
    if (vc->mode == VCHIP_STUB && (plen & 3))
        return E_BAD_LEN;
    if (seq != vc->mem.next_seq)
        return seq + 1 == vc->mem.next_seq ? OK : E_SEQ;
    if (vc->mem.received + plen > vc->mem.size)
        return E_TOO_MUCH;
    vc->mem.received += plen;
    vc->mem.next_seq++;
    if (vc->mem.received == vc->mem.size && vc->n_segments < VCHIP_MAX_SEGMENTS) {
        vc->segments[vc->n_segments].addr = vc->mem.addr;
        vc->segments[vc->n_segments].len = vc->mem.size;
        vc->n_segments++;
        vc->mem.active = 0;
    }
    return OK;
}

/* MEM_END (§6.3): an entry point inside an uploaded segment starts the program, taken to be
 * the flasher stub, which greets with "OHAI"; anywhere else the chip hangs. */
static struct fail cmd_mem_end(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 8)
        return E_BAD_LEN;
    if (vc->mem.active)
        return E_NOT_ENOUGH;
    uint32_t no_exec = get_le32(c->d), entry = get_le32(c->d + 4);
    vchip_respond(vc, c->op, 0, NULL, 0, OK);
    c->replied = 1;
    if (no_exec)
        return OK;
    int inside = 0;
    for (size_t i = 0; i < vc->n_segments; i++)
        if (entry >= vc->segments[i].addr && entry < vc->segments[i].addr + vc->segments[i].len)
            inside = 1;
    if (!inside) {
        log_printf(&vc->io.log, LOG_INFO,
                   "MEM_END: entry 0x%08x is outside the uploaded code: chip hangs", entry);
        vchip_hang(vc);
        return OK;
    }
    vc->mode = VCHIP_STUB;
    vc->n_regs = 0;
    static const uint8_t ohai[4] = {'O', 'H', 'A', 'I'};
    vchip_send_frame(vc, ohai, 4);
    log_printf(&vc->io.log, LOG_INFO, "stub running (entry 0x%08x)", entry);
    return OK;
}

/* SYNC (§5): eight replies; the ROM's auto-baud does not lock on a malformed SYNC (no answer),
 * the stub calls it a bad length. */
static struct fail cmd_sync(struct vchip *vc, struct vchip_cmd *c)
{
    static const uint8_t head[4] = {0x07, 0x07, 0x12, 0x20};
    c->replied = 1;
    if (c->len != 36 || memcmp(c->d, head, 4) != 0) {
        if (in_stub(vc))
            vchip_respond(vc, c->op, 0, NULL, 0, E_BAD_LEN);
        return OK;
    }
    for (size_t i = 4; i < 36; i++)
        if (c->d[i] != 0x55)
            return OK;
    uint32_t v = in_stub(vc) ? 0 : LOADER_SYNC_VALUE;
    for (int i = 0; i < 8; i++)
        vchip_respond(vc, c->op, v, NULL, 0, OK);
    return OK;
}

static struct fail cmd_read_reg(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 4)
        return E_BAD_LEN;
    c->value = vchip_read_reg(vc, get_le32(c->d));
    return OK;
}

/* WRITE_REG (§6.4): records of address, value, mask, delay, run in order. */
static struct fail cmd_write_reg(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len == 0 || c->len % 16)
        return E_BAD_LEN;
    for (size_t i = 0; i < c->len; i += 16)
        vchip_write_reg(vc, get_le32(c->d + i), get_le32(c->d + i + 4), get_le32(c->d + i + 8));
    return OK;
}

static struct fail cmd_spi_attach(struct vchip *vc, struct vchip_cmd *c)
{
    if (in_stub(vc) ? c->len != 4 : (c->len != 8 && c->len != 4))
        return E_BAD_LEN;
    return OK;
}

static struct fail cmd_spi_set_params(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 24)
        return E_BAD_LEN;
    uint32_t total = get_le32(c->d + 4);
    if (total == 0 || total > 0x10000000u)
        return E_PARAM;
    vc->flash_limit = total;
    return OK;
}

/* CHANGE_BAUDRATE (§6.7): reply at the old speed, then switch. The ROM computes the divider
 * from the crystal frequency it believes in (on the ESP32 its RTC calibration, a little off);
 * the stub scales its current divider by old/new, so a wrong "old" baud (the ROM convention
 * 0) gives a wrong new speed. */
static struct fail cmd_change_baudrate(struct vchip *vc, struct vchip_cmd *c)
{
    if (c->len != 8)
        return E_BAD_LEN;
    uint32_t want = get_le32(c->d), old = get_le32(c->d + 4);
    if (want < 300 || want > 5000000)
        return E_PARAM;
    uint64_t div16;
    if (in_stub(vc)) {
        if (old == 0)
            return E_PARAM;
        div16 = ((uint64_t)vc->uart_div16 * old + want / 2) / want;
    } else {
        div16 = ((uint64_t)vchip_rom_xtal_estimate(vc) * 16 + want / 2) / want;
    }
    vchip_respond(vc, c->op, 0, NULL, 0, OK);
    c->replied = 1;
    uint32_t was = vc->baud;
    set_divider(vc, div16);
    log_printf(&vc->io.log, LOG_INFO, "baud %u -> %u (asked for %u)", was, vc->baud, want);
    return OK;
}

/* GET_SECURITY_INFO (§6.9): flags 0, the chip id and API version where the ROM has them. */
static struct fail cmd_security_info(struct vchip *vc, struct vchip_cmd *c)
{
    const struct chip_rom *rom = &vc->cfg.chip->rom;
    if (rom->security_info_len == 0) {
        vchip_respond_unsupported(vc, c->op);
        c->replied = 1;
        return OK;
    }
    if (c->len != 0)
        return E_BAD_LEN;
    memset(c->out, 0, 20);
    put_le32(c->out + 12, vc->cfg.chip->image_id);
    put_le32(c->out + 16, rom->api_version);
    c->outlen = rom->security_info_len;
    return OK;
}

static struct fail cmd_run_user_code(struct vchip *vc, struct vchip_cmd *c)
{
    c->replied = 1; /* no reply: the stub returns into the boot path */
    vchip_reboot(vc, 0, RESET_SW);
    return OK;
}

/* ---------------------------------------------------------------- command dispatch */

enum { IN_ROM = 1, IN_STUB = 2, IN_BOTH = 3 };

static const struct {
    uint8_t op;
    uint8_t where; /* which loaders know the command (§7) */
    struct fail (*run)(struct vchip *vc, struct vchip_cmd *c);
} commands[] = {
    {LOADER_SYNC, IN_BOTH, cmd_sync},
    {LOADER_READ_REG, IN_BOTH, cmd_read_reg},
    {LOADER_WRITE_REG, IN_BOTH, cmd_write_reg},
    {LOADER_SPI_ATTACH, IN_BOTH, cmd_spi_attach},
    {LOADER_SPI_SET_PARAMS, IN_BOTH, cmd_spi_set_params},
    {LOADER_CHANGE_BAUDRATE, IN_BOTH, cmd_change_baudrate},
    {LOADER_GET_SECURITY_INFO, IN_BOTH, cmd_security_info},
    {LOADER_FLASH_BEGIN, IN_BOTH, vchip_cmd_flash_begin},
    {LOADER_FLASH_DEFL_BEGIN, IN_BOTH, vchip_cmd_flash_begin},
    {LOADER_FLASH_DATA, IN_BOTH, vchip_cmd_flash_data},
    {LOADER_FLASH_DEFL_DATA, IN_BOTH, vchip_cmd_flash_data},
    {LOADER_FLASH_END, IN_BOTH, vchip_cmd_flash_end},
    {LOADER_FLASH_DEFL_END, IN_BOTH, vchip_cmd_flash_end},
    {LOADER_MEM_BEGIN, IN_BOTH, cmd_mem_begin},
    {LOADER_MEM_DATA, IN_BOTH, cmd_mem_data},
    {LOADER_MEM_END, IN_BOTH, cmd_mem_end},
    {LOADER_SPI_FLASH_MD5, IN_BOTH, vchip_cmd_md5},
    {LOADER_READ_FLASH_SLOW, IN_ROM, vchip_cmd_read_flash_slow},
    {LOADER_ERASE_FLASH, IN_STUB, vchip_cmd_erase_flash},
    {LOADER_ERASE_REGION, IN_STUB, vchip_cmd_erase_region},
    {LOADER_READ_FLASH, IN_STUB, vchip_cmd_read_flash},
    {LOADER_RUN_USER_CODE, IN_STUB, cmd_run_user_code},
};

static int cmd_fault(struct vchip *vc, uint8_t op, enum vchip_cmd_fault_kind *kind)
{
    uint32_t n = vc->cmd_count[op];
    for (size_t i = 0; i < vc->cfg.n_cmd_faults; i++)
        if (vc->cfg.cmd_faults[i].opcode == op && vc->cfg.cmd_faults[i].k == n) {
            *kind = vc->cfg.cmd_faults[i].kind;
            return 1;
        }
    return 0;
}

static void run_command(struct vchip *vc, struct vchip_cmd *c, size_t size);

/* Wait for the flash (--flash-time) until t; false when the chip was reset meanwhile. */
static int flash_wait(struct vchip *vc, uint64_t t, uint32_t epoch)
{
    if (vc->io.wait_until_us && t > vc->io.now_us(vc->io.ctx))
        vc->io.wait_until_us(vc->io.ctx, t);
    return vc->epoch == epoch;
}

static void handle_command(struct vchip *vc, const uint8_t *p, size_t plen)
{
    if (plen < 8 || p[0] != 0x00)
        return; /* not a command: ignored, as the loaders do */
    struct vchip_cmd c = {.op = p[1], .d = p + 8, .len = plen - 8, .checksum = get_le32(p + 4)};
    size_t size = (size_t)p[2] | (size_t)p[3] << 8;
    vc->cmd_count[c.op]++;

    enum vchip_cmd_fault_kind fk;
    /* a hang models the ROM's own trouble: it does not touch the stub */
    if (cmd_fault(vc, c.op, &fk) && !(fk == CMD_FAULT_HANG && in_stub(vc))) {
        static const char *const what[] = {
            [CMD_FAULT_FAIL] = "fails",
            [CMD_FAULT_NO_REPLY] = "gets no reply",
            [CMD_FAULT_DISCONNECT] = "is answered, then the connection ends",
            [CMD_FAULT_HANG] = "is answered, then the chip hangs"};
        log_printf(&vc->io.log, LOG_INFO, "fault: command 0x%02x #%u %s", c.op,
                   vc->cmd_count[c.op], what[fk]);
        if (fk == CMD_FAULT_DISCONNECT || fk == CMD_FAULT_HANG) {
            run_command(vc, &c, size);
            if (fk == CMD_FAULT_HANG)
                vchip_hang(vc); /* until the next reset */
            else if (vc->io.disconnect)
                vc->io.disconnect(vc->io.ctx);
            return;
        }
        if (fk == CMD_FAULT_FAIL)
            vchip_respond(vc, c.op, 0, NULL, 0, E_INJECTED);
        return;
    }
    run_command(vc, &c, size);
}

/* One command, answered unless its handler answers itself. */
static void run_command(struct vchip *vc, struct vchip_cmd *c, size_t size)
{
    if (size != c->len) {
        vchip_respond(vc, c->op, 0, NULL, 0, E_BAD_LEN);
        return;
    }
    int where = in_stub(vc) ? IN_STUB : IN_ROM;
    size_t i = 0, n = sizeof commands / sizeof commands[0];
    while (i < n && commands[i].op != c->op)
        i++;
    if (i == n || !(commands[i].where & where)) {
        vchip_respond_unsupported(vc, c->op);
        return;
    }
    uint32_t epoch = vc->epoch;
    if (!flash_wait(vc, vc->busy_until_us, epoch))
        return; /* reset while the stub finished an earlier write */
    uint64_t work = vc->flash->busy_us;
    struct fail f = commands[i].run(vc, c);
    work = vc->flash->busy_us - work;
    if (c->replied)
        return;
    if (work && vc->io.now_us) {
        /* The stub acknowledges a data block on receipt and writes it while the next one
         * arrives; every other command (and the ROM always) finishes its flash work before
         * it replies. */
        uint64_t done = vc->io.now_us(vc->io.ctx) + work;
        int deferred = in_stub(vc) &&
                       (c->op == LOADER_FLASH_DATA || c->op == LOADER_FLASH_DEFL_DATA);
        if (deferred)
            vc->busy_until_us = done;
        else if (!flash_wait(vc, done, epoch))
            return;
    }
    vchip_respond(vc, c->op, c->value, c->out, c->outlen, f);
    if (c->after == AFTER_REBOOT) {
        nor_flush(vc->flash);
        vchip_reboot(vc, 0, RESET_SW);
    } else if (c->after == AFTER_RUN_APP) {
        nor_flush(vc->flash);
        vc->epoch++;
        vc->mode = VCHIP_APP;
        app_banner(vc);
    }
}

void vchip_feed(struct vchip *vc, const uint8_t *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (vc->mode != VCHIP_ROM && vc->mode != VCHIP_STUB)
            return; /* in reset, running the app or hung: the download protocol is not heard */
        enum slip_result r = slip_decode_byte(&vc->slip, bytes[i]);
        if (r != SLIP_PACKET)
            continue; /* noise outside packets and broken packets are dropped silently */
        if (vc->r.active) {
            vchip_read_flash_ack(vc, vc->slip.buf, vc->slip.len);
            continue;
        }
        handle_command(vc, vc->slip.buf, vc->slip.len);
    }
}
