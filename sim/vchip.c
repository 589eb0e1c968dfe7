#include "vchip.h"
#include "loader/protocol.h"
#include "util/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_REG 0x40001000u
#define CMD_USR (1u << 18)
#define STUB_MAX_BLOCK 0x4000u

/* One failure, expressed for both loaders: the ROM's error byte (after status 1) and the
 * stub's status byte (§3.5). */
struct fail {
    uint8_t rom, stub;
};
static const struct fail OK = {0, 0};
static const struct fail E_BAD_LEN = {ROM_E_BAD_MESSAGE, STUB_E_BAD_DATA_LEN};
static const struct fail E_CHECKSUM = {ROM_E_CHECKSUM, STUB_E_BAD_CHECKSUM};
static const struct fail E_BLOCK_SIZE = {ROM_E_BAD_PARAM, STUB_E_BAD_BLOCKSIZE};
static const struct fail E_INVALID_CMD = {ROM_E_BAD_MESSAGE, STUB_E_INVALID_COMMAND};
static const struct fail E_NOT_FLASH_MODE = {ROM_E_BAD_MESSAGE, STUB_E_NOT_IN_FLASH_MODE};
static const struct fail E_INFLATE = {ROM_E_INFLATE, STUB_E_INFLATE};
static const struct fail E_ADLER = {ROM_E_ADLER, STUB_E_INFLATE};
static const struct fail E_NOT_ENOUGH = {ROM_E_RAM_SIZE, STUB_E_NOT_ENOUGH_DATA};
static const struct fail E_TOO_MUCH = {ROM_E_BAD_PARAM, STUB_E_TOO_MUCH_DATA};
static const struct fail E_PARAM = {ROM_E_BAD_PARAM, STUB_E_BAD_DATA_LEN};
static const struct fail E_FLASH_WRITE = {ROM_E_FLASH_WRITE, STUB_E_FAILED_SPI_OP};
static const struct fail E_FLASH_READ = {ROM_E_FLASH_READ, STUB_E_FAILED_SPI_OP};
static const struct fail E_READ_LEN = {ROM_E_READ_LENGTH, STUB_E_BAD_DATA_LEN};
static const struct fail E_RAM_SIZE = {ROM_E_RAM_SIZE, STUB_E_TOO_MUCH_DATA};
static const struct fail E_EXEC = {ROM_E_EXEC, STUB_E_FAILED_SPI_OP};
static const struct fail E_SEQ = {ROM_E_BAD_MESSAGE, STUB_E_BAD_DATA_LEN};
static const struct fail E_INJECTED = {ROM_E_EXEC, STUB_E_FAILED_SPI_OP};

static int is_ok(struct fail f) { return f.rom == 0 && f.stub == 0; }

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

static void send_frame(struct vchip *vc, const uint8_t *payload, size_t len)
{
    uint8_t stackbuf[2 * 128 + 2];
    uint8_t *out = SLIP_ENCODED_MAX(len) <= sizeof stackbuf ? stackbuf : malloc(SLIP_ENCODED_MAX(len));
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
static void respond(struct vchip *vc, uint8_t op, uint32_t value, const uint8_t *data, size_t dlen,
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
    send_frame(vc, buf, 8 + dlen + status_len);
}

/* The ROM's answer to an opcode it does not know (§3.6): status 1 / 0x05 under a different
 * opcode byte, repeated 8 times. */
static void respond_unsupported_rom(struct vchip *vc)
{
    uint8_t buf[12] = {0x01, 0x00, 0x04, 0x00};
    put_le32(buf + 4, vc->last_value);
    buf[8] = 1;
    buf[9] = ROM_E_BAD_MESSAGE;
    for (int i = 0; i < 8; i++)
        send_frame(vc, buf, sizeof buf);
}

/* ---------------------------------------------------------------- registers */

static uint32_t *reg_slot(struct vchip *vc, uint32_t addr, int create)
{
    for (size_t i = 0; i < vc->n_regs; i++)
        if (vc->regs[i].addr == addr)
            return &vc->regs[i].value;
    if (!create || vc->n_regs == VCHIP_MAX_REGS)
        return NULL;
    vc->regs[vc->n_regs].addr = addr;
    vc->regs[vc->n_regs].value = 0;
    return &vc->regs[vc->n_regs++].value;
}

static uint32_t reg_get(struct vchip *vc, uint32_t addr)
{
    uint32_t *p = reg_slot(vc, addr, 0);
    return p ? *p : 0;
}

static void reg_set(struct vchip *vc, uint32_t addr, uint32_t value)
{
    uint32_t *p = reg_slot(vc, addr, 1);
    if (p)
        *p = value;
}

static uint32_t spi_reg(const struct vchip *vc, uint32_t offs)
{
    return vc->cfg.chip->spi_reg_base + offs;
}

/* Words the chip reads as constants: magic value, UART divider, and the eFuse words built by
 * efuse_init (MAC, revision, package). */
static int reg_fixed(struct vchip *vc, uint32_t addr, uint32_t *value)
{
    const struct chip *c = vc->cfg.chip;
    if (addr == MAGIC_REG) {
        *value = c->rom.magic_values[0];
        return 1;
    }
    if (addr == c->rom.uart_clkdiv_reg || addr == 0x3FF40014u) {
        /* The ROM runs the UART from a 40 MHz clock: divider = clock / baud, which clients
         * turn back into a crystal estimate (§8). */
        *value = (uint32_t)(40000000u / (vc->baud ? vc->baud : 115200));
        return 1;
    }
    for (size_t i = 0; i < vc->n_fixed; i++)
        if (vc->fixed[i].addr == addr) {
            *value = vc->fixed[i].value;
            return 1;
        }
    return 0;
}

static void fixed_or(struct vchip *vc, uint32_t addr, uint32_t bits)
{
    for (size_t i = 0; i < vc->n_fixed; i++)
        if (vc->fixed[i].addr == addr) {
            vc->fixed[i].value |= bits;
            return;
        }
    if (vc->n_fixed < VCHIP_MAX_FIXED) {
        vc->fixed[vc->n_fixed].addr = addr;
        vc->fixed[vc->n_fixed].value = bits;
        vc->n_fixed++;
    }
}

static void fixed_field(struct vchip *vc, struct chip_bits f, uint32_t v)
{
    if (f.width)
        fixed_or(vc, f.addr, (v & ((1u << f.width) - 1)) << f.shift);
}

/* The eFuse words of the configured chip (§8): MAC (bytes 2..5 big-endian in one word, bytes
 * 0..1 in the next), the production defaults of the chip table and the revision. */
static void efuse_init(struct vchip *vc)
{
    const struct chip_efuse *e = &vc->cfg.chip->efuse;
    const uint8_t *mac = vc->cfg.mac;
    vc->n_fixed = 0;
    fixed_or(vc, e->mac_addr, (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 |
                                  (uint32_t)mac[4] << 8 | mac[5]);
    fixed_or(vc, e->mac_addr + 4, (uint32_t)mac[0] << 8 | mac[1]);
    for (size_t i = 0; i < CHIP_MAX_EFUSE_DEFAULTS && e->defaults[i].addr; i++)
        fixed_or(vc, e->defaults[i].addr, e->defaults[i].value);
    uint32_t major = e->default_major, minor = e->default_minor;
    if (e->rev_major[1].width) {
        for (uint32_t k = 0; k < 3; k++) /* unary: one bit per field */
            fixed_field(vc, e->rev_major[k], k < major);
    } else {
        fixed_field(vc, e->rev_major[0], major);
    }
    fixed_field(vc, e->rev_minor_lo, minor);
    fixed_field(vc, e->rev_minor_hi, minor >> e->rev_minor_lo.width);
}

static uint32_t read_reg(struct vchip *vc, uint32_t addr)
{
    uint32_t v;
    if (reg_fixed(vc, addr, &v))
        return v;
    return reg_get(vc, addr);
}

/* ---------------------------------------------------------------- SPI flash command engine */

/* A minimal SFDP table (JESD216): header "SFDP" rev 1.6, one parameter header pointing at a
 * basic flash parameter table whose second dword is the density in bits minus one. */
static uint8_t sfdp_byte(const struct vchip *vc, uint32_t addr)
{
    uint8_t t[0x40];
    memset(t, 0xFF, sizeof t);
    memcpy(t, "SFDP", 4);
    t[4] = 6; t[5] = 1; t[6] = 0; t[7] = 0xFF;
    t[8] = 0x00; t[9] = 6; t[10] = 1; t[11] = 16; /* BFPT id, rev 1.6, 16 dwords */
    t[12] = 0x30; t[13] = 0; t[14] = 0; t[15] = 0xFF;
    put_le32(t + 0x30, 0xFFF920E5u);
    put_le32(t + 0x34, vc->flash->size * 8u - 1u);
    return addr < sizeof t ? t[addr] : 0xFF;
}

static void spi_execute(struct vchip *vc)
{
    const struct chip *c = vc->cfg.chip;
    uint32_t usr = reg_get(vc, spi_reg(vc, c->spi_usr_offs));
    uint32_t usr1 = reg_get(vc, spi_reg(vc, c->spi_usr1_offs));
    uint32_t usr2 = reg_get(vc, spi_reg(vc, c->spi_usr2_offs));
    uint8_t cmd = (uint8_t)(usr2 & 0xFF);
    uint32_t addr = reg_get(vc, spi_reg(vc, 0x04));
    uint32_t addr_bits = ((usr1 >> 26) & 0x3F) + 1;
    if (c->spi_addr_msb_aligned && (usr & (1u << 30)) && addr_bits < 32)
        addr >>= 32 - addr_bits;
    uint32_t miso_bits = (usr & (1u << 28)) ? (reg_get(vc, spi_reg(vc, c->spi_miso_dlen_offs)) & 0x3FF) + 1 : 0;
    uint32_t mosi_word = reg_get(vc, spi_reg(vc, c->spi_w0_offs));
    uint8_t out[64];
    memset(out, 0xFF, sizeof out);
    size_t nbytes = (miso_bits + 7) / 8;
    if (nbytes > sizeof out)
        nbytes = sizeof out;

    switch (cmd) {
    case 0x9F: /* RDID */
        out[0] = (uint8_t)vc->cfg.jedec_id;
        out[1] = (uint8_t)(vc->cfg.jedec_id >> 8);
        out[2] = (uint8_t)(vc->cfg.jedec_id >> 16);
        break;
    case 0x5A: /* RDSFDP: 24-bit address, 8 dummy cycles */
        for (size_t i = 0; i < nbytes; i++)
            out[i] = sfdp_byte(vc, (addr & 0xFFFFFF) + (uint32_t)i);
        break;
    case 0x05: /* RDSR, RDSR2, RDSR3 */
        out[0] = (uint8_t)(vc->flash_status[0] | (vc->flash_wel ? 0x02 : 0));
        break;
    case 0x35:
        out[0] = vc->flash_status[1];
        break;
    case 0x15:
        out[0] = vc->flash_status[2];
        break;
    case 0x06: /* WREN */
    case 0x50: /* volatile status write enable */
        vc->flash_wel = 1;
        break;
    case 0x04: /* WRDI */
        vc->flash_wel = 0;
        break;
    case 0x01: /* WRSR (one or two bytes) */
        if (vc->flash_wel) {
            vc->flash_status[0] = (uint8_t)(mosi_word & 0xFC);
            if ((usr & (1u << 27)) && (reg_get(vc, spi_reg(vc, c->spi_mosi_dlen_offs)) & 0x3FF) + 1 >= 16)
                vc->flash_status[1] = (uint8_t)(mosi_word >> 8);
            vc->flash_wel = 0;
        }
        break;
    case 0x31:
    case 0x11:
        if (vc->flash_wel) {
            vc->flash_status[cmd == 0x31 ? 1 : 2] = (uint8_t)mosi_word;
            vc->flash_wel = 0;
        }
        break;
    case 0x03: /* READ, FAST READ */
    case 0x0B:
        if (nbytes && nor_read(vc->flash, addr & 0xFFFFFF, out, (uint32_t)nbytes) != 0)
            memset(out, 0xFF, nbytes);
        break;
    case 0x66: /* reset enable / reset, power-down release etc.: accepted, no data */
    case 0x99:
        vc->flash_wel = 0;
        break;
    default:
        break;
    }
    /* Received bytes land in W0.. from bit 0 up; bytes beyond the MISO length keep what the
     * buffer held before (the host clears W0 first). */
    for (size_t i = 0; i < (nbytes + 3) / 4; i++) {
        uint32_t reg = spi_reg(vc, c->spi_w0_offs) + 4 * (uint32_t)i;
        uint8_t word[4];
        put_le32(word, reg_get(vc, reg));
        for (size_t b = 0; b < 4 && 4 * i + b < nbytes; b++)
            word[b] = out[4 * i + b];
        reg_set(vc, reg, get_le32(word));
    }
    log_printf(&vc->io.log, LOG_DEBUG, "spi command 0x%02x addr 0x%x miso %u bits", cmd, addr,
               miso_bits);
}

static void write_reg(struct vchip *vc, uint32_t addr, uint32_t value, uint32_t mask)
{
    uint32_t old = read_reg(vc, addr);
    uint32_t v = mask == 0xFFFFFFFFu ? value : ((value & mask) | (old & ~mask));
    if (addr == spi_reg(vc, 0x00) && (v & CMD_USR)) {
        reg_set(vc, addr, v);
        spi_execute(vc);
        reg_set(vc, addr, v & ~CMD_USR); /* the engine is done when bit 18 reads 0 */
        return;
    }
    reg_set(vc, addr, v);
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

static void end_write(struct vchip *vc)
{
    if (vc->w.z_init)
        inflateEnd(&vc->w.z);
    memset(&vc->w, 0, sizeof vc->w);
}

static void end_read(struct vchip *vc)
{
    if (vc->r.md5)
        EVP_MD_CTX_free(vc->r.md5);
    memset(&vc->r, 0, sizeof vc->r);
}

static void clear_state(struct vchip *vc)
{
    end_write(vc);
    end_read(vc);
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
    vc->boot_download = download;
    vc->mode = download ? VCHIP_ROM : VCHIP_APP;
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
    vc->en = 1;
    vc->flash_status[1] = 0x02; /* QE set, as on quad-capable parts in QIO boards */
    efuse_init(vc);
    clear_state(vc);
}

void vchip_free(struct vchip *vc)
{
    end_write(vc);
    end_read(vc);
}

void vchip_power_on(struct vchip *vc, int download)
{
    boot(vc, download, RESET_POWERON);
}

void vchip_reboot(struct vchip *vc, int force_download, uint32_t reason)
{
    boot(vc, force_download || vc->boot_download, reason);
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

/* ---------------------------------------------------------------- command handlers */

static int flash_range_ok(const struct vchip *vc, uint32_t addr, uint32_t len)
{
    return addr <= vc->flash_limit && len <= vc->flash_limit - addr && addr <= vc->flash->size &&
           len <= vc->flash->size - addr;
}

static struct fail data_header(struct vchip *vc, const uint8_t *d, size_t len, uint32_t checksum,
                               uint32_t *seq, const uint8_t **payload, uint32_t *plen)
{
    if (len < 16)
        return E_BAD_LEN;
    uint32_t n = get_le32(d);
    *seq = get_le32(d + 4);
    if (n != len - 16)
        return E_BAD_LEN;
    uint8_t x = 0xEF; /* §3.4: XOR of the payload, seed 0xEF */
    for (uint32_t i = 0; i < n; i++)
        x ^= d[16 + i];
    (void)vc;
    if (x != (checksum & 0xFF))
        return E_CHECKSUM;
    *payload = d + 16;
    *plen = n;
    return OK;
}

/* Erase lazily ahead of a stub write: the stub erases as the data reaches new sectors. */
static struct fail stub_erase_to(struct vchip *vc, uint32_t end)
{
    if (end <= vc->w.erased_to)
        return OK;
    uint32_t from = vc->w.erased_to;
    uint32_t to = (end + NOR_SECTOR_SIZE - 1) & ~(NOR_SECTOR_SIZE - 1);
    if (to > vc->flash->size)
        to = vc->flash->size;
    if (nor_erase(vc->flash, from, to - from) != 0)
        return E_FLASH_WRITE;
    vc->w.erased_to = to;
    return OK;
}

static struct fail program(struct vchip *vc, const uint8_t *data, uint32_t len)
{
    uint32_t addr = vc->w.offset + vc->w.written;
    if (!flash_range_ok(vc, addr, len))
        return E_TOO_MUCH;
    if (vc->mode == VCHIP_STUB) {
        struct fail f = stub_erase_to(vc, addr + len);
        if (!is_ok(f))
            return f;
    }
    if (nor_program(vc->flash, addr, data, len) != 0)
        return E_FLASH_WRITE;
    vc->w.written += len;
    return OK;
}

static struct fail cmd_flash_begin(struct vchip *vc, const uint8_t *d, size_t len, int compressed)
{
    int stub = vc->mode == VCHIP_STUB;
    if (len != 16 && len != 20)
        return E_BAD_LEN;
    uint32_t size = get_le32(d), blocks = get_le32(d + 4), bsize = get_le32(d + 8), offset = get_le32(d + 12);
    if (len == 20 && get_le32(d + 16) != 0)
        return E_EXEC; /* flash encryption is not modelled */
    end_write(vc);
    if (stub && bsize > STUB_MAX_BLOCK)
        return E_BLOCK_SIZE;
    if (!flash_range_ok(vc, offset, size))
        return E_TOO_MUCH;
    if (!stub && size && (offset & (NOR_SECTOR_SIZE - 1)))
        return E_PARAM; /* the ROM erases from a sector boundary only */
    vc->w.active = 1;
    vc->w.compressed = compressed;
    vc->w.offset = offset;
    vc->w.size = size;
    vc->w.num_blocks = blocks;
    vc->w.block_size = bsize;
    vc->w.erased_to = offset & ~(NOR_SECTOR_SIZE - 1);
    if (!stub) {
        /* The ROM erases the whole range up front (§6.1). */
        if (nor_erase(vc->flash, offset, size) != 0)
            return E_FLASH_WRITE;
        vc->w.erased_to = offset + size;
    }
    if (compressed) {
        memset(&vc->w.z, 0, sizeof vc->w.z);
        if (inflateInit(&vc->w.z) != Z_OK)
            return E_INFLATE;
        vc->w.z_init = 1;
    }
    log_printf(&vc->io.log, LOG_INFO, "%s begin: offset 0x%x size %u blocks %u x %u",
               compressed ? "deflate" : "flash", offset, size, blocks, bsize);
    return OK;
}

static struct fail inflate_block(struct vchip *vc, const uint8_t *in, uint32_t len)
{
    uint8_t out[0x4000];
    z_stream *z = &vc->w.z;
    z->next_in = (Bytef *)in;
    z->avail_in = len;
    while (z->avail_in > 0 && !vc->w.stream_end) {
        z->next_out = out;
        z->avail_out = sizeof out;
        int rc = inflate(z, Z_NO_FLUSH);
        uint32_t produced = (uint32_t)(sizeof out - z->avail_out);
        if (produced) {
            if (vc->w.written + produced > vc->w.size)
                return E_TOO_MUCH;
            struct fail f = program(vc, out, produced);
            if (!is_ok(f))
                return f;
        }
        if (rc == Z_STREAM_END) {
            vc->w.stream_end = 1;
            break;
        }
        if (rc == Z_DATA_ERROR)
            return z->msg && strstr(z->msg, "check") ? E_ADLER : E_INFLATE;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return E_INFLATE;
        if (rc == Z_BUF_ERROR && produced == 0)
            break;
    }
    return OK;
}

static struct fail cmd_flash_data(struct vchip *vc, const uint8_t *d, size_t len, uint32_t chk,
                                  int compressed)
{
    int stub = vc->mode == VCHIP_STUB;
    uint32_t seq, plen;
    const uint8_t *payload;
    struct fail f = data_header(vc, d, len, chk, &seq, &payload, &plen);
    if (!is_ok(f))
        return f;
    if (!vc->w.active || vc->w.compressed != compressed)
        return E_NOT_FLASH_MODE;
    if (stub && vc->w.deferred_error) {
        struct fail e = {0, (uint8_t)vc->w.deferred_error};
        return e;
    }
    if (seq >= vc->w.num_blocks)
        return E_TOO_MUCH;
    if (compressed || stub) {
        /* A streamed write must see its blocks in order; a repeat of the previous block (the
         * host retrying after a lost reply) is acknowledged without writing it twice. */
        if (seq + 1 == vc->w.next_seq)
            return OK;
        if (seq != vc->w.next_seq)
            return E_SEQ;
    }
    if (compressed) {
        f = inflate_block(vc, payload, plen);
    } else {
        if (!stub) {
            /* ROM: every block lands at offset + seq * block_size, written before the reply. */
            vc->w.written = seq * vc->w.block_size;
        }
        uint32_t n = plen;
        if (stub && vc->w.written + n > vc->w.size)
            n = vc->w.size > vc->w.written ? vc->w.size - vc->w.written : 0; /* padding */
        f = program(vc, payload, n);
    }
    vc->w.next_seq = seq + 1;
    if (stub && !is_ok(f)) {
        /* The stub acknowledges on receipt; the failure shows up with the next command. */
        vc->w.deferred_error = f.stub;
        return OK;
    }
    return f;
}

static struct fail cmd_flash_end(struct vchip *vc, const uint8_t *d, size_t len, int compressed,
                                 int *reboot, int *run_app)
{
    (void)compressed;
    if (len != 4)
        return E_BAD_LEN;
    uint32_t stay = get_le32(d);
    struct fail f = OK;
    if (vc->mode == VCHIP_STUB) {
        if (vc->w.deferred_error)
            f = (struct fail){0, (uint8_t)vc->w.deferred_error};
        else if (!vc->w.active)
            f = E_NOT_FLASH_MODE;
        else if (vc->w.compressed && vc->w.written < vc->w.size && !vc->w.stream_end)
            f = E_NOT_ENOUGH;
        end_write(vc);
        if (stay == 0)
            *reboot = 1;
        return f;
    }
    end_write(vc);
    /* ROM: 0 reboots, 1 runs the application from flash (§6.1). */
    if (stay == 0)
        *reboot = 1;
    else
        *run_app = 1;
    return f;
}

static struct fail cmd_mem_begin(struct vchip *vc, const uint8_t *d, size_t len)
{
    if (len != 16)
        return E_BAD_LEN;
    uint32_t size = get_le32(d), blocks = get_le32(d + 4), bsize = get_le32(d + 8), addr = get_le32(d + 12);
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

static struct fail cmd_mem_data(struct vchip *vc, const uint8_t *d, size_t len, uint32_t chk)
{
    uint32_t seq, plen;
    const uint8_t *payload;
    struct fail f = data_header(vc, d, len, chk, &seq, &payload, &plen);
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

static void cmd_read_flash_stream(struct vchip *vc);

static void send_read_packets(struct vchip *vc)
{
    struct vchip_read *r = &vc->r;
    uint8_t buf[4096];
    while (r->active && r->sent < r->length) {
        uint32_t outstanding = (r->sent - r->acked + r->packet_size - 1) / r->packet_size;
        if (outstanding >= r->in_flight)
            return;
        uint32_t n = r->length - r->sent;
        if (n > r->packet_size)
            n = r->packet_size;
        uint32_t epoch = vc->epoch;
        nor_read(vc->flash, r->offset + r->sent, buf, n);
        EVP_DigestUpdate(r->md5, buf, n);
        r->sent += n;
        send_frame(vc, buf, n);
        if (epoch != vc->epoch)
            return;
    }
}

static void cmd_read_flash_stream(struct vchip *vc)
{
    send_read_packets(vc);
}

static void read_flash_ack(struct vchip *vc, const uint8_t *p, size_t len)
{
    struct vchip_read *r = &vc->r;
    if (len != 4) {
        log_printf(&vc->io.log, LOG_INFO,
                   "read-flash: unexpected %zu-byte packet instead of an acknowledgement", len);
        end_read(vc);
        return;
    }
    uint32_t acked = get_le32(p);
    if (acked > r->sent || acked < r->acked) {
        log_printf(&vc->io.log, LOG_INFO, "read-flash: bad acknowledgement %u (sent %u)", acked,
                   r->sent);
        end_read(vc);
        return;
    }
    r->acked = acked;
    if (r->acked == r->length) {
        uint8_t md[16];
        unsigned int mdlen = 0;
        EVP_DigestFinal_ex(r->md5, md, &mdlen);
        end_read(vc);
        send_frame(vc, md, 16); /* trailing binary MD5 (§6.13 step 6) */
        return;
    }
    send_read_packets(vc);
}

static struct fail md5_of(struct vchip *vc, uint32_t addr, uint32_t size, uint8_t md[16])
{
    if (!flash_range_ok(vc, addr, size))
        return E_FLASH_READ;
    unsigned int mdlen = 0;
    if (!EVP_Digest(vc->flash->data + addr, size, md, &mdlen, EVP_md5(), NULL))
        return E_FLASH_READ;
    return OK;
}

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

static void handle_command(struct vchip *vc, const uint8_t *p, size_t plen)
{
    int stub = vc->mode == VCHIP_STUB;
    if (plen < 8 || p[0] != 0x00)
        return; /* not a command: ignored, as the loaders do */
    uint8_t op = p[1];
    size_t size = (size_t)p[2] | (size_t)p[3] << 8;
    uint32_t chk = get_le32(p + 4);
    const uint8_t *d = p + 8;
    size_t len = plen - 8;
    vc->cmd_count[op]++;

    enum vchip_cmd_fault_kind fk;
    if (cmd_fault(vc, op, &fk)) {
        log_printf(&vc->io.log, LOG_INFO, "fault: command 0x%02x #%u %s", op, vc->cmd_count[op],
              fk == CMD_FAULT_FAIL ? "fails" : "gets no reply");
        if (fk == CMD_FAULT_FAIL)
            respond(vc, op, 0, NULL, 0, E_INJECTED);
        return;
    }
    if (size != len) {
        respond(vc, op, 0, NULL, 0, E_BAD_LEN);
        return;
    }

    struct fail f = OK;
    uint8_t out[64] = {0};
    size_t outlen = 0;
    uint32_t value = 0;
    int reboot = 0, run_app = 0;

    switch (op) {
    case LOADER_SYNC: {
        static const uint8_t head[4] = {0x07, 0x07, 0x12, 0x20};
        if (len != 36 || memcmp(d, head, 4) != 0) {
            if (stub)
                respond(vc, op, 0, NULL, 0, E_BAD_LEN);
            return; /* the ROM's auto-baud does not lock on a malformed SYNC */
        }
        for (size_t i = 4; i < 36; i++)
            if (d[i] != 0x55)
                return;
        uint32_t v = stub ? 0 : LOADER_SYNC_VALUE;
        for (int i = 0; i < 8; i++) /* §5: eight replies to one SYNC */
            respond(vc, op, v, NULL, 0, OK);
        return;
    }
    case LOADER_READ_REG:
        if (len != 4) {
            f = E_BAD_LEN;
            break;
        }
        value = read_reg(vc, get_le32(d));
        break;
    case LOADER_WRITE_REG:
        if (len == 0 || len % 16) {
            f = E_BAD_LEN;
            break;
        }
        for (size_t i = 0; i < len; i += 16)
            write_reg(vc, get_le32(d + i), get_le32(d + i + 4), get_le32(d + i + 8));
        break;
    case LOADER_SPI_ATTACH:
        if (stub ? len != 4 : (len != 8 && len != 4))
            f = E_BAD_LEN;
        break;
    case LOADER_SPI_SET_PARAMS:
        if (len != 24) {
            f = E_BAD_LEN;
            break;
        }
        if (get_le32(d + 4) == 0 || get_le32(d + 4) > 0x10000000u) {
            f = E_PARAM;
            break;
        }
        vc->flash_limit = get_le32(d + 4);
        break;
    case LOADER_CHANGE_BAUDRATE: {
        if (len != 8) {
            f = E_BAD_LEN;
            break;
        }
        uint32_t want = get_le32(d), old = get_le32(d + 4);
        if (want < 300 || want > 5000000) {
            f = E_PARAM;
            break;
        }
        uint32_t eff = want;
        if (stub) {
            /* The stub scales its current divider by old/new: a wrong "old" baud (e.g. the
             * ROM convention 0) gives a wrong new speed (§6.7). */
            if (old == 0) {
                f = E_PARAM;
                break;
            }
            eff = (uint32_t)((uint64_t)vc->baud * want / old);
        }
        respond(vc, op, 0, NULL, 0, OK); /* reply at the old speed, then switch */
        log_printf(&vc->io.log, LOG_INFO, "baud %u -> %u", vc->baud, eff);
        set_baud(vc, eff);
        return;
    }
    case LOADER_GET_SECURITY_INFO: {
        const struct chip_rom *rom = &vc->cfg.chip->rom;
        if (rom->security_info_len == 0) {
            if (stub)
                f = E_INVALID_CMD;
            else {
                respond_unsupported_rom(vc);
                return;
            }
            break;
        }
        if (len != 0) {
            f = E_BAD_LEN;
            break;
        }
        memset(out, 0, 20);
        put_le32(out + 12, vc->cfg.chip->image_id);
        put_le32(out + 16, rom->api_version);
        outlen = rom->security_info_len;
        break;
    }
    case LOADER_FLASH_BEGIN:
    case LOADER_FLASH_DEFL_BEGIN:
        f = cmd_flash_begin(vc, d, len, op == LOADER_FLASH_DEFL_BEGIN);
        break;
    case LOADER_FLASH_DATA:
    case LOADER_FLASH_DEFL_DATA:
        f = cmd_flash_data(vc, d, len, chk, op == LOADER_FLASH_DEFL_DATA);
        break;
    case LOADER_FLASH_END:
    case LOADER_FLASH_DEFL_END:
        f = cmd_flash_end(vc, d, len, op == LOADER_FLASH_DEFL_END, &reboot, &run_app);
        break;
    case LOADER_MEM_BEGIN:
        f = cmd_mem_begin(vc, d, len);
        break;
    case LOADER_MEM_DATA:
        f = cmd_mem_data(vc, d, len, chk);
        break;
    case LOADER_MEM_END: {
        if (len != 8) {
            f = E_BAD_LEN;
            break;
        }
        if (vc->mem.active) {
            f = E_NOT_ENOUGH;
            break;
        }
        uint32_t no_exec = get_le32(d), entry = get_le32(d + 4);
        respond(vc, op, 0, NULL, 0, OK);
        if (no_exec)
            return;
        int inside = 0;
        for (size_t i = 0; i < vc->n_segments; i++)
            if (entry >= vc->segments[i].addr && entry < vc->segments[i].addr + vc->segments[i].len)
                inside = 1;
        if (!inside) {
            log_printf(&vc->io.log, LOG_INFO,
                       "MEM_END: entry 0x%08x is outside the uploaded code: chip hangs", entry);
            vchip_hang(vc);
            return;
        }
        /* The uploaded program is taken to be the flasher stub: it greets with "OHAI". */
        vc->mode = VCHIP_STUB;
        vc->n_regs = 0;
        static const uint8_t ohai[4] = {'O', 'H', 'A', 'I'};
        send_frame(vc, ohai, 4);
        log_printf(&vc->io.log, LOG_INFO, "stub running (entry 0x%08x)", entry);
        return;
    }
    case LOADER_SPI_FLASH_MD5: {
        if (len != 16) {
            f = E_BAD_LEN;
            break;
        }
        uint8_t md[16];
        f = md5_of(vc, get_le32(d), get_le32(d + 4), md);
        if (!is_ok(f))
            break;
        if (stub) {
            memcpy(out, md, 16);
            outlen = 16;
        } else {
            for (int i = 0; i < 16; i++) /* ROM: 32 lowercase hex characters */
                snprintf((char *)out + 2 * i, 3, "%02x", md[i]);
            outlen = 32;
        }
        break;
    }
    case LOADER_READ_FLASH_SLOW: {
        if (stub) {
            f = E_INVALID_CMD;
            break;
        }
        if (len != 8) {
            f = E_BAD_LEN;
            break;
        }
        uint32_t addr = get_le32(d), n = get_le32(d + 4);
        if (n > 64) {
            f = E_READ_LEN;
            break;
        }
        memset(out, 0xFF, 64);
        if (!flash_range_ok(vc, addr, n)) {
            f = E_FLASH_READ;
            break;
        }
        nor_read(vc->flash, addr, out, n);
        outlen = 64; /* always 64 data bytes (§6.10) */
        break;
    }
    case LOADER_ERASE_FLASH:
        if (!stub)
            goto unsupported;
        if (len != 0) {
            f = E_BAD_LEN;
            break;
        }
        nor_erase_all(vc->flash);
        break;
    case LOADER_ERASE_REGION: {
        if (!stub)
            goto unsupported;
        if (len != 8) {
            f = E_BAD_LEN;
            break;
        }
        uint32_t addr = get_le32(d), n = get_le32(d + 4);
        if ((addr | n) & (NOR_SECTOR_SIZE - 1)) {
            f = E_PARAM;
            break;
        }
        if (!flash_range_ok(vc, addr, n)) {
            f = E_TOO_MUCH;
            break;
        }
        nor_erase(vc->flash, addr, n);
        break;
    }
    case LOADER_READ_FLASH: {
        if (!stub)
            goto unsupported;
        if (len != 16) {
            f = E_BAD_LEN;
            break;
        }
        uint32_t addr = get_le32(d), n = get_le32(d + 4), psize = get_le32(d + 8), inflight = get_le32(d + 12);
        if (psize == 0 || psize > 4096 || inflight == 0) {
            f = E_PARAM;
            break;
        }
        if (!flash_range_ok(vc, addr, n)) {
            f = E_FLASH_READ;
            break;
        }
        end_read(vc);
        respond(vc, op, 0, NULL, 0, OK);
        vc->r.active = 1;
        vc->r.offset = addr;
        vc->r.length = n;
        vc->r.packet_size = psize;
        vc->r.in_flight = inflight < vc->cfg.read_in_flight ? inflight : vc->cfg.read_in_flight;
        vc->r.md5 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(vc->r.md5, EVP_md5(), NULL);
        if (n == 0) {
            uint8_t md[16];
            unsigned int mdlen;
            EVP_DigestFinal_ex(vc->r.md5, md, &mdlen);
            end_read(vc);
            send_frame(vc, md, 16);
            return;
        }
        cmd_read_flash_stream(vc);
        return;
    }
    case LOADER_RUN_USER_CODE:
        if (!stub)
            goto unsupported;
        vchip_reboot(vc, 0, RESET_SW);
        return;
    default:
        goto unsupported;
    }
    respond(vc, op, value, out, outlen, f);
    if (reboot) {
        nor_flush(vc->flash);
        vchip_reboot(vc, 0, RESET_SW);
    } else if (run_app) {
        nor_flush(vc->flash);
        vc->epoch++;
        vc->mode = VCHIP_APP;
        app_banner(vc);
    }
    return;

unsupported:
    if (stub)
        respond(vc, op, 0, NULL, 0, E_INVALID_CMD);
    else
        respond_unsupported_rom(vc);
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
            read_flash_ack(vc, vc->slip.buf, vc->slip.len);
            continue;
        }
        handle_command(vc, vc->slip.buf, vc->slip.len);
    }
}
