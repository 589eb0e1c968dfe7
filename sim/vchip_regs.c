/* The virtual chip's register file: a sparse map of written words, the words it reads as
 * constants (magic value, UART divider, eFuses) and the SPI flash controller's user-command
 * engine (§10), which runs flash commands against the NOR model. */
#include "vchip_internal.h"
#include "util/bytes.h"

#include <string.h>

#define MAGIC_REG 0x40001000u /* CHIP_DETECT_MAGIC_REG (§8) */
#define CMD_USR (1u << 18)    /* SPI CMD register: start the user command */

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
    if (addr == c->rom.uart_clkdiv_reg) {
        /* integer part in bits 0-19, sixteenths in bits 20-23: clients turn it back into a
         * crystal estimate (§8) */
        *value = (vc->uart_div16 >> 4) | (vc->uart_div16 & 0xF) << 20;
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
    if (addr == 0)
        return;
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

static void fixed_set(struct vchip *vc, uint32_t addr, uint32_t value)
{
    for (size_t i = 0; i < vc->n_fixed; i++)
        if (vc->fixed[i].addr == addr) {
            vc->fixed[i].value = value;
            return;
        }
    fixed_or(vc, addr, value);
}

/* The words the chip reads as constants (§8): eFuses (MAC: bytes 2..5 big-endian in one word,
 * bytes 0..1 in the next; the production defaults of the chip table; the revision), the ROM's
 * RTC calibration and its record of the port it runs on. --efuse words replace them last. */
void vchip_efuse_init(struct vchip *vc)
{
    const struct chip_efuse *e = &vc->cfg.chip->efuse;
    const struct chip_rom *rom = &vc->cfg.chip->rom;
    const uint8_t *mac = vc->cfg.mac;
    vc->n_fixed = 0;
    fixed_or(vc, e->mac_addr,
             (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5]);
    fixed_or(vc, e->mac_addr + 4, (uint32_t)mac[0] << 8 | mac[1]);
    for (size_t i = 0; i < CHIP_MAX_EFUSE_DEFAULTS && e->defaults[i].addr; i++)
        fixed_or(vc, e->defaults[i].addr, e->defaults[i].value);
    uint32_t major = e->default_major, minor = e->default_minor;
    if (vc->cfg.revision_set) {
        major = vc->cfg.rev_major;
        minor = vc->cfg.rev_minor;
    }
    if (e->rev_major[1].width) {
        for (uint32_t k = 0; k < 3; k++) /* unary: one bit per field */
            fixed_field(vc, e->rev_major[k], k < major);
    } else {
        fixed_field(vc, e->rev_major[0], major);
    }
    fixed_field(vc, e->rev_minor_lo, minor);
    fixed_field(vc, e->rev_minor_hi, minor >> e->rev_minor_lo.width);
    if (rom->rtc_cali.width) {
        /* the calibration counts crystal cycles: it scales with the crystal */
        uint64_t cali = (uint64_t)rom->rtc_cali_value * vchip_xtal_hz(vc) / 40000000u;
        fixed_field(vc, rom->rtc_cali, (uint32_t)cali);
    }
    if (vc->cfg.usb_jtag && rom->uartdev_buf_no_addr)
        fixed_set(vc, rom->uartdev_buf_no_addr, rom->uartdev_usb_jtag);
    for (size_t i = 0; i < vc->cfg.n_efuse_words; i++)
        fixed_set(vc, vc->cfg.efuse_words[i].addr, vc->cfg.efuse_words[i].value);
}

uint32_t vchip_xtal_hz(const struct vchip *vc)
{
    return vc->cfg.xtal_hz ? vc->cfg.xtal_hz : 40000000u;
}

uint32_t vchip_rom_xtal_estimate(struct vchip *vc)
{
    const struct chip_rom *rom = &vc->cfg.chip->rom;
    if (!rom->baud_from_xtal_estimate || !rom->rtc_cali.width)
        return vchip_xtal_hz(vc);
    uint32_t cali = (vchip_read_reg(vc, rom->rtc_cali.addr) >> rom->rtc_cali.shift) &
                    ((1u << rom->rtc_cali.width) - 1);
    uint32_t ck8m = (vchip_read_reg(vc, rom->ck8m_freq.addr) >> rom->ck8m_freq.shift) &
                    ((1u << rom->ck8m_freq.width) - 1);
    return (uint32_t)((uint64_t)cali * 15625u * ck8m / 40u);
}

uint32_t vchip_read_reg(struct vchip *vc, uint32_t addr)
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
    t[4] = 6;
    t[5] = 1;
    t[6] = 0;
    t[7] = 0xFF;
    t[8] = 0x00;
    t[9] = 6;
    t[10] = 1;
    t[11] = 16; /* BFPT id, rev 1.6, 16 dwords */
    t[12] = 0x30;
    t[13] = 0;
    t[14] = 0;
    t[15] = 0xFF;
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
    uint32_t miso_bits = (usr & (1u << 28))
                             ? (reg_get(vc, spi_reg(vc, c->spi_miso_dlen_offs)) & 0x3FF) + 1
                             : 0;
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
    case 0x35: out[0] = vc->flash_status[1]; break;
    case 0x15: out[0] = vc->flash_status[2]; break;
    case 0x06: /* WREN */
    case 0x50: /* volatile status write enable */ vc->flash_wel = 1; break;
    case 0x04: /* WRDI */ vc->flash_wel = 0; break;
    case 0x01: /* WRSR (one or two bytes) */
        if (vc->flash_wel) {
            vc->flash_status[0] = (uint8_t)(mosi_word & 0xFC);
            if ((usr & (1u << 27)) &&
                (reg_get(vc, spi_reg(vc, c->spi_mosi_dlen_offs)) & 0x3FF) + 1 >= 16)
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
    case 0x99: vc->flash_wel = 0; break;
    default: break;
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

void vchip_write_reg(struct vchip *vc, uint32_t addr, uint32_t value, uint32_t mask)
{
    uint32_t old = vchip_read_reg(vc, addr);
    uint32_t v = mask == 0xFFFFFFFFu ? value : ((value & mask) | (old & ~mask));
    if (addr == spi_reg(vc, 0x00) && (v & CMD_USR)) {
        reg_set(vc, addr, v);
        spi_execute(vc);
        reg_set(vc, addr, v & ~CMD_USR); /* the engine is done when bit 18 reads 0 */
        return;
    }
    reg_set(vc, addr, v);
}
