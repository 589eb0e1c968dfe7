/* What esptool's chip_id and flash_id tell about a connected chip: the revision, MAC address
 * and crystal from eFuse and UART registers (esp-serial-protocol §8), and the flash chip. */
#include "loader/loader.h"

#include <stdio.h>
#include <string.h>

static int read_field(struct loader *l, struct chip_bits f, uint32_t *value, struct error *err)
{
    *value = 0;
    if (!f.width)
        return 0;
    uint32_t word;
    int rc = loader_read_reg(l, f.addr, &word, err);
    if (rc == 0)
        *value = chip_bits_get(word, f);
    return rc;
}

static int read_revision(struct loader *l, unsigned *major, unsigned *minor, struct error *err)
{
    const struct chip_efuse *e = &l->chip->efuse;
    uint32_t v;
    if (e->rev_major[1].width) {
        /* one bit per field, the revision in unary: 0, 1, 3, 7 for v0..v3 */
        uint32_t bits = 0;
        for (int k = 0; k < 3; k++) {
            if (read_field(l, e->rev_major[k], &v, err))
                return -1;
            bits |= v << k;
        }
        *major = bits == 7 ? 3 : bits == 3 ? 2 : bits == 1 ? 1 : 0;
    } else {
        if (read_field(l, e->rev_major[0], &v, err))
            return -1;
        *major = v;
    }
    uint32_t hi, lo;
    if (read_field(l, e->rev_minor_hi, &hi, err) || read_field(l, e->rev_minor_lo, &lo, err))
        return -1;
    *minor = hi << e->rev_minor_lo.width | lo;
    return 0;
}

/* The crystal from the UART divider: the UART runs from it, so baud x divider is its
 * frequency; snapped to the crystals ESP chips use. */
static uint32_t crystal_mhz(struct loader *l)
{
    uint32_t div;
    struct error e;
    if (!l->chip->rom.uart_clkdiv_reg ||
        loader_read_reg(l, l->chip->rom.uart_clkdiv_reg, &div, &e) != 0)
        return 0;
    uint64_t div16 = (uint64_t)(div & 0xFFFFF) * 16 + (div >> 20 & 0xF);
    uint64_t hz = (uint64_t)l->port->baud * div16 / 16;
    static const uint32_t known[] = {26, 32, 40, 48};
    uint32_t best = 0;
    uint64_t best_diff = UINT64_MAX;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        uint64_t want = (uint64_t)known[i] * 1000000u;
        uint64_t diff = hz > want ? hz - want : want - hz;
        if (diff < best_diff) {
            best_diff = diff;
            best = known[i];
        }
    }
    /* more than 10 % away from any: the divider is not the ROM's (a changed clock) */
    return best_diff * 10 < (uint64_t)best * 1000000u ? best : 0;
}

/* The chip's fixed features, then those its eFuse fields show (esptool's list). */
static int read_features(struct loader *l, char *out, size_t size, struct error *err)
{
    snprintf(out, size, "%s", l->chip->features ? l->chip->features : "");
    const struct chip_feature *f = l->chip->efuse_features;
    for (; f && f->text; f++) {
        uint32_t v;
        if (read_field(l, f->field, &v, err))
            return -1;
        if (f->nonzero ? v == 0 : v != f->value)
            continue;
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? ", " : "", f->text);
    }
    return 0;
}

int loader_chip_info(struct loader *l, struct loader_chip_info *info, struct error *err)
{
    memset(info, 0, sizeof *info);
    info->chip = l->chip;
    info->flash_id = l->flash_id;
    info->flash_size = l->flash_size;
    info->security_flags = l->security_flags;
    info->stub = l->stub;
    snprintf(info->features, sizeof info->features, "%s",
             l->chip->features ? l->chip->features : "");
    if (l->secure_download)
        return 0; /* registers cannot be read */
    if (read_features(l, info->features, sizeof info->features, err))
        return -1;
    if (read_revision(l, &info->rev_major, &info->rev_minor, err))
        return -1;
    info->have_revision = 1;
    if (l->chip->efuse.mac_addr) {
        if (loader_read_mac(l, info->mac, err))
            return -1;
        info->have_mac = 1;
        /* MAC_EXT: bits 16-31 of the word after the MAC's first (§8) */
        uint32_t w1;
        if (l->chip->mac_ext) {
            if (loader_read_reg(l, l->chip->efuse.mac_addr + 4, &w1, err))
                return -1;
            info->mac_ext[0] = (uint8_t)(w1 >> 24);
            info->mac_ext[1] = (uint8_t)(w1 >> 16);
            info->have_mac_ext = 1;
        }
    }
    info->crystal_mhz = crystal_mhz(l);
    return 0;
}
