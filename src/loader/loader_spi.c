/* Registers and the SPI flash behind them: READ_REG/WRITE_REG, the SPI user-command engine
 * (§10), flash id and size, flash attach and parameters. */
#include "loader/loader.h"
#include "loader/loader_internal.h"

/* ------------------------------------------------------------------ registers */

int loader_read_reg(struct loader *l, uint32_t addr, uint32_t *value, struct error *err)
{
    uint8_t d[4];
    struct loader_cmd c = {.op = LOADER_READ_REG,
                           .data = d,
                           .len = loader_pack(d, (uint32_t[]){addr}, 1),
                           .retries = 2};
    int r = loader_command(l, &c, err);
    *value = c.value; /* 0 when no reply came */
    if (r != 0)
        return error_wrap(err, r, "reading register 0x%08x", addr);
    return 0;
}

int loader_write_reg(struct loader *l, uint32_t addr, uint32_t value, uint32_t mask,
                     uint32_t delay_us, struct error *err)
{
    uint8_t d[16];
    struct loader_cmd c = {.op = LOADER_WRITE_REG,
                           .data = d,
                           .len = loader_pack(d, (uint32_t[]){addr, value, mask, delay_us}, 4),
                           .retries = 2};
    int r = loader_command(l, &c, err);
    if (r != 0)
        error_prefix(err, "writing register 0x%08x", addr);
    return r;
}

int loader_read_mac(struct loader *l, uint8_t mac[6], struct error *err)
{
    /* Two eFuse words (§8): bytes 2..5 big-endian in the first, bytes 0..1 in bits 15..0 of
     * the next. */
    uint32_t low, high;
    uint32_t addr = l->chip->efuse.mac_addr;
    if (!addr)
        return error_setk(err, ERROR_VALUE, "no MAC address known for %s", l->chip->name);
    if (loader_read_reg(l, addr, &low, err) || loader_read_reg(l, addr + 4, &high, err))
        return -1;
    mac[0] = (uint8_t)(high >> 8);
    mac[1] = (uint8_t)high;
    mac[2] = (uint8_t)(low >> 24);
    mac[3] = (uint8_t)(low >> 16);
    mac[4] = (uint8_t)(low >> 8);
    mac[5] = (uint8_t)low;
    return 0;
}

/* ------------------------------------------------------------------ SPI user commands (§10) */

/* Several WRITE_REG records travel in one packet and run in order (§6.4). */
struct reg_batch {
    uint8_t d[16 * 32];
    size_t n;
};

static void batch_add(struct reg_batch *b, uint32_t addr, uint32_t value)
{
    loader_pack(b->d + 16 * b->n++, (uint32_t[]){addr, value, 0xFFFFFFFF, 0}, 4);
}

static int batch_send(struct loader *l, struct reg_batch *b, struct error *err)
{
    struct loader_cmd c = {.op = LOADER_WRITE_REG, .data = b->d, .len = 16 * b->n, .retries = 2};
    int r = loader_command(l, &c, err);
    if (r != 0)
        error_prefix(err, "writing SPI registers");
    b->n = 0;
    return r;
}

int loader_spi_command_raw(struct loader *l, uint8_t cmd, const uint8_t *mosi, uint32_t mosi_bits,
                           uint32_t addr, uint32_t addr_bits, uint32_t dummy, uint32_t miso_bits,
                           uint8_t *out, struct error *err)
{
    const struct chip *c = l->chip;
    if (!c || !c->spi_reg_base)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x: chip not known", cmd);
    if (mosi_bits > 512 || miso_bits > 512)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x: at most 64 data bytes",
                          cmd);
    uint32_t base = c->spi_reg_base, w0 = base + c->spi_w0_offs;
    struct reg_batch b = {.n = 0};
    if (mosi_bits)
        batch_add(&b, base + c->spi_mosi_dlen_offs, mosi_bits - 1);
    if (miso_bits)
        batch_add(&b, base + c->spi_miso_dlen_offs, miso_bits - 1);
    if (dummy || addr_bits)
        batch_add(&b, base + c->spi_usr1_offs,
                  (dummy ? dummy - 1 : 0) | (addr_bits ? (addr_bits - 1) << 26 : 0));
    uint32_t usr = 1u << 31;
    if (miso_bits)
        usr |= 1u << 28;
    if (mosi_bits)
        usr |= 1u << 27;
    if (addr_bits)
        usr |= 1u << 30;
    if (dummy)
        usr |= 1u << 29;
    batch_add(&b, base + c->spi_usr_offs, usr);
    batch_add(&b, base + c->spi_usr2_offs, (7u << 28) | cmd);
    if (addr_bits)
        batch_add(&b, base + 0x04,
                  c->spi_addr_msb_aligned && addr_bits < 32 ? addr << (32 - addr_bits) : addr);
    if (!mosi_bits) {
        batch_add(&b, w0, 0);
    } else {
        for (uint32_t i = 0; i < (mosi_bits + 31) / 32; i++) {
            uint8_t w[4] = {0};
            for (uint32_t k = 0; k < 4 && i * 4 + k < (mosi_bits + 7) / 8; k++)
                w[k] = mosi[i * 4 + k];
            batch_add(&b, w0 + 4 * i, get_le32(w));
        }
    }
    batch_add(&b, base, 1u << 18); /* start the user command last */
    int r = batch_send(l, &b, err);
    if (r != 0)
        return r;
    int done = 0;
    for (int i = 0; i < 10 && !done; i++) {
        uint32_t v;
        if ((r = loader_read_reg(l, base, &v, err)) != 0)
            return r;
        done = !(v & (1u << 18));
    }
    if (!done)
        return error_fail(err, LOADER_E_FAIL, ERROR_DEVICE,
                          "SPI flash command 0x%02x did not complete", cmd);
    for (uint32_t i = 0; i < (miso_bits + 31) / 32; i++) {
        uint32_t v;
        if ((r = loader_read_reg(l, w0 + 4 * i, &v, err)) != 0)
            return r;
        uint8_t w[4];
        put_le32(w, v);
        for (uint32_t k = 0; k < 4 && i * 4 + k < (miso_bits + 7) / 8; k++)
            out[i * 4 + k] = w[k];
    }
    return 0;
}

int loader_spi_save(struct loader *l, uint32_t saved[2], struct error *err)
{
    const struct chip *c = l->chip;
    int r = loader_read_reg(l, c->spi_reg_base + c->spi_usr_offs, &saved[0], err);
    if (r == 0)
        r = loader_read_reg(l, c->spi_reg_base + c->spi_usr2_offs, &saved[1], err);
    return r;
}

int loader_spi_restore(struct loader *l, const uint32_t saved[2], struct error *err)
{
    const struct chip *c = l->chip;
    struct reg_batch b = {.n = 0};
    batch_add(&b, c->spi_reg_base + c->spi_usr_offs, saved[0]);
    batch_add(&b, c->spi_reg_base + c->spi_usr2_offs, saved[1]);
    return batch_send(l, &b, err);
}

int loader_spi_command(struct loader *l, uint8_t cmd, const uint8_t *mosi, uint32_t mosi_bits,
                       uint32_t addr, uint32_t addr_bits, uint32_t dummy, uint32_t miso_bits,
                       uint8_t *out, struct error *err)
{
    if (!l->chip || !l->chip->spi_reg_base)
        return error_setk(err, ERROR_DEVICE, "SPI flash command 0x%02x: chip not known", cmd);
    /* The ROM's own flash routines use USR/USR2 too: put them back afterwards (§10). */
    uint32_t saved[2];
    int r = loader_spi_save(l, saved, err);
    if (r == 0)
        r = loader_spi_command_raw(l, cmd, mosi, mosi_bits, addr, addr_bits, dummy, miso_bits,
                                   out, err);
    if (r == 0)
        r = loader_spi_restore(l, saved, err);
    return r;
}

uint32_t loader_flash_size_from_id(uint32_t jedec)
{
    uint8_t manufacturer = (uint8_t)jedec, type = (uint8_t)(jedec >> 8),
            cap = (uint8_t)(jedec >> 16);
    if (jedec == 0xFFFFFF || jedec == 0 || jedec == 0xFFFF3F || (jedec & 0xFFFFFF) == 0xFFFFFF)
        return 0;
    /* §10: capacity byte = log2(size) for 0x12..0x1C; 0x20..0x22 = 64..256 MB; 0x32..0x3A =
     * 256 KB..64 MB; Adesto: low 5 bits of the type byte. */
    if (manufacturer == 0x1F) {
        uint8_t a = type & 0x1F;
        return a >= 0x04 && a <= 0x09 ? 512u * 1024 << (a - 0x04) : 0;
    }
    if (cap >= 0x12 && cap <= 0x1C)
        return 1u << cap;
    if (cap >= 0x20 && cap <= 0x22)
        return (64u << 20) << (cap - 0x20);
    if (cap >= 0x32 && cap <= 0x3A)
        return (256u << 10) << (cap - 0x32);
    return 0;
}

/* ROM: attach the default SPI flash pins before any flash access (§6.6); the ROM takes 4
 * extra bytes. The stub attaches the flash itself. */
static int rom_attach(struct loader *l, struct error *err)
{
    if (l->stub || l->attached)
        return 0;
    uint8_t d[8] = {0};
    struct loader_cmd c = {.op = LOADER_SPI_ATTACH, .data = d, .len = 8, .retries = 2};
    int r = loader_command(l, &c, err);
    if (r == 0)
        l->attached = 1;
    return r;
}

int loader_prepare_flash(struct loader *l, struct error *err)
{
    int r = rom_attach(l, err);
    if (r != 0)
        return r;
    if (l->flash_size && l->params_size != l->flash_size) {
        /* id, total size, block, sector, page, status mask (§6.5) */
        uint8_t d[24];
        struct loader_cmd c = {
            .op = LOADER_SPI_SET_PARAMS,
            .data = d,
            .retries = 2,
            .len = loader_pack(d, (uint32_t[]){0, l->flash_size, 0x10000, 0x1000, 0x100, 0xFFFF},
                               6)};
        r = loader_command(l, &c, err);
        if (r != 0)
            return r;
        l->params_size = l->flash_size;
    }
    return 0;
}

int loader_flash_id(struct loader *l, uint32_t *jedec, struct error *err)
{
    int r = rom_attach(l, err);
    if (r != 0)
        return error_wrap(err, r, "attaching the SPI flash");
    uint8_t id[4] = {0};
    r = loader_spi_command(l, 0x9F, NULL, 0, 0, 0, 0, 24, id, err);
    if (r != 0)
        return error_wrap(err, r, "reading the flash id");
    *jedec = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16;
    return 0;
}
