/* Names: code page 437, long names in UTF-16, and the 8.3 names FatFs derives from them
 * (fat.md §5). */
#include <string.h>

#include "fat/fat_int.h"

const uint8_t fat_lfn_offsets[LFN_CHARS] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

/* Unicode of CP437 bytes 0x80..0xFF (the IBM PC character set). */
static const uint16_t cp437_high[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8,
    0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2,
    0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1,
    0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD,
    0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562,
    0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534,
    0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560,
    0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x00DF, 0x0393,
    0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6,
    0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0,
    0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

/* Upper case of CP437 bytes 0x80..0xFF as FatFs folds them for 8.3 names: accented lower-case
 * letters become their capital where CP437 has one, else the plain ASCII capital. */
static const uint8_t cp437_upper_high[48] = {
    0x80, 0x9A, 0x45, 0x41, 0x8E, 0x41, 0x8F, 0x80, 0x45, 0x45, 0x45, 0x49,
    0x49, 0x49, 0x8E, 0x8F, 0x90, 0x92, 0x92, 0x4F, 0x99, 0x4F, 0x55, 0x55,
    0x59, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0x41, 0x49, 0x4F, 0x55,
    0xA5, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF,
};

uint16_t fat_cp437_to_uni(uint8_t b)
{
    return b < 0x80 ? b : cp437_high[b - 0x80];
}

uint8_t fat_uni_to_cp437(uint16_t u)
{
    if (u < 0x80)
        return (uint8_t)u;
    for (int i = 0; i < 128; i++)
        if (cp437_high[i] == u)
            return (uint8_t)(0x80 + i);
    return 0;
}

uint8_t fat_sfn_checksum(const uint8_t sfn[11])
{
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + sfn[i]);
    return sum;
}

/* Upper case for comparing names: ASCII and Latin-1 letters (enough for the names CP437 can
 * carry; FatFs folds more of Unicode, but only CP437 characters reach it from MicroPython). */
static uint16_t wupper(uint16_t c)
{
    if (c >= 'a' && c <= 'z')
        return (uint16_t)(c - 0x20);
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return (uint16_t)(c - 0x20);
    if (c == 0xFF)
        return 0x178;
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) /* Greek */
        return (uint16_t)(c - 0x20);
    return c;
}

int fat_lfn_equal(const uint16_t *a, const uint16_t *b)
{
    for (;; a++, b++) {
        if (wupper(*a) != wupper(*b))
            return 0;
        if (!*a)
            return 1;
    }
}

static int in_set(uint16_t c, const char *set)
{
    for (; *set; set++)
        if (c == (uint8_t)*set)
            return 1;
    return 0;
}

int fat_name_make(const char *name, size_t len, struct fat_name *out)
{
    memset(out, 0, sizeof *out);
    memset(out->sfn, ' ', sizeof out->sfn);
    if (len == 1 && name[0] == '.') {
        out->dot = 1;
        out->sfn[0] = '.';
        out->lfn[0] = '.';
        out->lfn_len = 1;
        return 0;
    }
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        out->dot = 2;
        out->sfn[0] = out->sfn[1] = '.';
        out->lfn[0] = out->lfn[1] = '.';
        out->lfn_len = 2;
        return 0;
    }
    if (len > FAT_NAME_MAX)
        return FAT_ERR_NAMETOOLONG;
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint16_t wc = fat_cp437_to_uni((uint8_t)name[i]);
        if (wc < ' ' || in_set(wc, "\"*:<>?|\x7F/\\"))
            return FAT_ERR_INVAL;
        out->lfn[n++] = wc;
    }
    while (n && (out->lfn[n - 1] == ' ' || out->lfn[n - 1] == '.'))
        n--;
    if (!n)
        return FAT_ERR_INVAL;
    out->lfn[n] = 0;
    out->lfn_len = n;

    /* The 8.3 form, as FatFs builds it. */
    uint8_t flags = 0;
    uint32_t si = 0;
    while (out->lfn[si] == ' ')
        si++;
    if (si || out->lfn[si] == '.') /* a leading dot stays: it starts the extension */
        flags |= NAME_LOSSY | NAME_NEEDS_LFN;
    uint32_t di = n; /* one past the last dot, 0 when none */
    while (di && out->lfn[di - 1] != '.')
        di--;
    uint32_t i = 0, ni = 8, cases = 0;
    for (;;) {
        uint16_t wc = out->lfn[si++];
        if (!wc)
            break;
        if (wc == ' ' || (wc == '.' && si != di)) {
            flags |= NAME_LOSSY | NAME_NEEDS_LFN;
            continue;
        }
        if (i >= ni || si == di) {
            if (ni == 11) { /* the extension is full */
                flags |= NAME_LOSSY | NAME_NEEDS_LFN;
                break;
            }
            if (si != di)
                flags |= NAME_LOSSY | NAME_NEEDS_LFN; /* the body is full */
            if (si > di)
                break;
            si = di;
            i = 8;
            ni = 11;
            cases <<= 2;
            continue;
        }
        if (wc >= 0x80) {
            flags |= NAME_NEEDS_LFN;
            wc = fat_uni_to_cp437(wc);
            if (wc >= 0x80 && wc < 0xB0)
                wc = cp437_upper_high[wc - 0x80];
        }
        if (wc == 0 || in_set(wc, "+,;=[]")) {
            wc = '_';
            flags |= NAME_LOSSY | NAME_NEEDS_LFN;
        } else if (wc >= 'A' && wc <= 'Z') {
            cases |= 2;
        } else if (wc >= 'a' && wc <= 'z') {
            cases |= 1;
            wc = (uint16_t)(wc - 0x20);
        }
        out->sfn[i++] = (uint8_t)wc;
    }
    if (out->sfn[0] == DIR_DELETED)
        out->sfn[0] = DIR_KANJI_E5;
    if (ni == 8)
        cases <<= 2;
    if ((cases & 0x0C) == 0x0C || (cases & 0x03) == 0x03)
        flags |= NAME_NEEDS_LFN; /* mixed case in a part */
    if (!(flags & NAME_NEEDS_LFN)) {
        if (cases & 0x01)
            out->ntres |= NT_LOWER_EXT;
        if (cases & 0x04)
            out->ntres |= NT_LOWER_BODY;
    }
    out->flags = flags;
    return 0;
}

void fat_sfn_numbered(uint8_t dst[11], const uint8_t src[11], const uint16_t *lfn, uint32_t seq)
{
    memcpy(dst, src, 11);
    if (seq > 5) { /* many collisions: a hash of the long name instead of a counter */
        uint32_t r = seq;
        for (; *lfn; lfn++) {
            uint16_t wc = *lfn;
            for (int b = 0; b < 16; b++) {
                r = (r << 1) + (wc & 1);
                wc >>= 1;
                if (r & 0x10000)
                    r ^= 0x11021;
            }
        }
        seq = r;
    }
    uint8_t tail[8];
    int i = 7;
    do {
        uint8_t c = (uint8_t)(seq % 16 + '0');
        if (c > '9')
            c += 7;
        tail[i--] = c;
        seq /= 16;
    } while (seq && i > 0);
    tail[i] = '~';
    int j = 0;
    while (j < i && dst[j] != ' ')
        j++;
    do
        dst[j++] = (uint8_t)(i < 8 ? tail[i++] : ' ');
    while (j < 8);
}

void fat_sfn_display(const uint8_t *e, char *out, int apply_case)
{
    size_t o = 0;
    for (int i = 0; i < 11; i++) {
        uint8_t c = e[i];
        if (c == ' ')
            continue;
        if (i == 0 && c == DIR_KANJI_E5)
            c = DIR_DELETED;
        if (i == 8)
            out[o++] = '.';
        if (apply_case && c >= 'A' && c <= 'Z' &&
            (e[DIR_NTRES] & (i >= 8 ? NT_LOWER_EXT : NT_LOWER_BODY)))
            c = (uint8_t)(c + 0x20);
        out[o++] = (char)c;
    }
    out[o] = 0;
}
