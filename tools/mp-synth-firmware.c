/* mp-synth-firmware: write a synthetic MicroPython-like firmware file for any chip and flash
 * size (see src/synth/synth.h). For tests, benchmarks and demos; the result does not boot. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth/synth.h"

static const char usage[] =
    "usage: mp-synth-firmware [--chip NAME] [--flash-size SIZE] [--ota] [--no-vfs]\n"
    "                         [--app-size N] [--app-part-size N] [--seed N] [--mp-version V]\n"
    "                         [--full-flash | --from-zero | --app-only | --bootloader-only |\n"
    "                          --table-only]\n"
    "                         -o FILE\n"
    "  --chip NAME         esp32 (default), esp32s2, esp32s3, esp32c2, esp32c3, esp32c5,\n"
    "                      esp32c6, esp32c61, esp32h2, esp32p4\n"
    "  --flash-size SIZE   1M..128M, a power of two (default 4M)\n"
    "  --ota               OTA table (nvs, otadata, phy_init, ota_0, ota_1, vfs)\n"
    "  --no-vfs            no vfs partition (like MicroPython v1.26 tables)\n"
    "  --app-size N        app image bytes incl. digest (default 1500000)\n"
    "  --app-part-size N   factory/ota_N partition size (default by flash size)\n"
    "  --seed N            content seed (default 1)\n"
    "  --mp-version V      version in the banner (default v1.99.0)\n"
    "  --full-flash        whole flash image from 0x0 to the flash size\n"
    "  --from-zero         from flash 0x0 to the end of the app\n"
    "  --app-only          the app image alone\n"
    "  --bootloader-only   the bootloader image alone\n"
    "  --table-only        the partition table alone (0xC00 bytes, as ESP-IDF's\n"
    "                      partition-table.bin)\n"
    "Sizes accept decimal, 0x hex, and K/M suffixes.\n";

static int parse_size(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s || errno)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v > 0xFFFFFFFFull)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* The encoded table cut to its 0xC00-byte data area, as gen_esp32part writes the file. */
static int table_only(const struct synth_options *opt, struct synth_buffer *buf,
                      struct error *err)
{
    memset(buf, 0, sizeof *buf);
    struct ptable table;
    if (synth_table(opt, &table, err) < 0)
        return -1;
    buf->data = malloc(PTABLE_SIZE);
    if (!buf->data)
        return error_set(err, "out of memory");
    if (ptable_encode(&table, buf->data, err) < 0) {
        synth_buffer_free(buf);
        return -1;
    }
    buf->len = PTABLE_DATA_SIZE;
    buf->base = PTABLE_OFFSET;
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_CHIP = 256, OPT_FLASH, OPT_OTA, OPT_NOVFS, OPT_APP, OPT_PART, OPT_SEED, OPT_VER,
           OPT_FULL, OPT_ZERO, OPT_APPONLY, OPT_BOOTONLY, OPT_TABLEONLY };
    static const struct option longopts[] = {
        {"chip", required_argument, 0, OPT_CHIP},
        {"flash-size", required_argument, 0, OPT_FLASH},
        {"ota", no_argument, 0, OPT_OTA},
        {"no-vfs", no_argument, 0, OPT_NOVFS},
        {"app-size", required_argument, 0, OPT_APP},
        {"app-part-size", required_argument, 0, OPT_PART},
        {"seed", required_argument, 0, OPT_SEED},
        {"mp-version", required_argument, 0, OPT_VER},
        {"full-flash", no_argument, 0, OPT_FULL},
        {"from-zero", no_argument, 0, OPT_ZERO},
        {"app-only", no_argument, 0, OPT_APPONLY},
        {"bootloader-only", no_argument, 0, OPT_BOOTONLY},
        {"table-only", no_argument, 0, OPT_TABLEONLY},
        {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct synth_options opt;
    synth_defaults(&opt);
    enum { WHOLE, APP, BOOT, TABLE } what = WHOLE;
    enum synth_layout layout = SYNTH_RELEASE;
    const char *output = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        uint32_t v;
        switch (c) {
        case OPT_CHIP:
            opt.chip = chip_by_name(optarg);
            if (!opt.chip) {
                fprintf(stderr, "mp-synth-firmware: unknown chip '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_FLASH:
        case OPT_APP:
        case OPT_PART:
        case OPT_SEED:
            if (parse_size(optarg, &v) < 0) {
                fprintf(stderr, "mp-synth-firmware: invalid number '%s'\n", optarg);
                return 2;
            }
            if (c == OPT_FLASH)
                opt.flash_size = v;
            else if (c == OPT_APP)
                opt.app_size = v;
            else if (c == OPT_PART)
                opt.app_part_size = v;
            else
                opt.seed = v;
            break;
        case OPT_OTA: opt.ota = 1; break;
        case OPT_NOVFS: opt.no_vfs = 1; break;
        case OPT_VER: opt.version = optarg; break;
        case OPT_FULL: layout = SYNTH_FULL_FLASH; break;
        case OPT_ZERO: layout = SYNTH_FROM_ZERO; break;
        case OPT_APPONLY: what = APP; break;
        case OPT_BOOTONLY: what = BOOT; break;
        case OPT_TABLEONLY: what = TABLE; break;
        case 'o': output = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!output || optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    struct synth_buffer buf;
    struct error err;
    int rc = what == APP     ? synth_app(&opt, &buf, &err)
             : what == BOOT  ? synth_bootloader(&opt, &buf, &err)
             : what == TABLE ? table_only(&opt, &buf, &err)
                             : synth_firmware(&opt, layout, &buf, &err);
    if (rc < 0) {
        fprintf(stderr, "mp-synth-firmware: %s\n", err.msg);
        return 1;
    }
    /* Write beside the target and rename, so a failed run never leaves a partial file. */
    size_t tlen = strlen(output) + 16;
    char *tmp = malloc(tlen);
    snprintf(tmp, tlen, "%s.tmp%ld", output, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf.data, 1, buf.len, f) == buf.len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, output) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "mp-synth-firmware: cannot write '%s': %s\n", output, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    synth_buffer_free(&buf);
    return ok ? 0 : 1;
}
