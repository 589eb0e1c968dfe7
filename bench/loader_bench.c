/* Benchmark of our loader client against the virtual chip in wire-time mode (every byte costs
 * 10 bit times at the chip's baud): connect + stub + baud change, a compressed write of a
 * MicroPython-sized image with MD5 verify, and a 2 MB streamed read. Prints times, bytes on the
 * wire and the line-rate floor (wire bytes / (baud / 10) bytes per second).
 *
 * usage: loader_bench [--chip esp32] [--baud 921600] [--image FILE] [--rfc2217] [--no-stub]
 *                     [--no-wire-time] [--flash-time] [--read BYTES] [--no-write]
 * The chip program comes from $MP_VCHIP (or --vchip PATH); the default image is
 * $MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin, else 1.7 MB of synthetic data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loader/loader.h"
#include "vchip_proc.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *load_image(const char *path, uint32_t *len, char *name, size_t namelen)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *d = malloc((size_t)n);
        if (fread(d, 1, (size_t)n, f) != (size_t)n) {
            fclose(f);
            free(d);
            return NULL;
        }
        fclose(f);
        *len = (uint32_t)n;
        const char *slash = strrchr(path, '/');
        snprintf(name, namelen, "%.200s", slash ? slash + 1 : path);
        return d;
    }
    /* Synthetic: code-like runs and pseudo-random bytes, compressing to about 60 %. */
    *len = 1734240;
    uint8_t *d = malloc(*len);
    uint32_t x = 17;
    for (uint32_t i = 0; i < *len; i++) {
        x = x * 1103515245u + 12345u;
        d[i] = (i / 48) % 2 ? (uint8_t)(x >> 16) : (uint8_t)("\x36\x41\x00\x0c\x02\x1d\xf0"[i % 7]);
    }
    snprintf(name, namelen, "synthetic %u bytes", *len);
    return d;
}

struct row {
    const char *label;
    uint32_t bytes;
    double sec;
    uint64_t wire;
};

int main(int argc, char **argv)
{
    const char *chip = "esp32", *image_path = NULL, *vchip = getenv("MP_VCHIP");
    uint32_t baud = 921600;
    int rfc = 0, no_stub = 0, wire_time = 1, flash_time = 0, no_write = 0;
    uint32_t read_len = 2u << 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--chip") && i + 1 < argc)
            chip = argv[++i];
        else if (!strcmp(argv[i], "--baud") && i + 1 < argc)
            baud = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--image") && i + 1 < argc)
            image_path = argv[++i];
        else if (!strcmp(argv[i], "--vchip") && i + 1 < argc)
            vchip = argv[++i];
        else if (!strcmp(argv[i], "--rfc2217"))
            rfc = 1;
        else if (!strcmp(argv[i], "--no-stub"))
            no_stub = 1;
        else if (!strcmp(argv[i], "--no-wire-time"))
            wire_time = 0; /* shows the client's own overhead */
        else if (!strcmp(argv[i], "--flash-time"))
            flash_time = 1; /* erase and program cost what a NOR flash takes */
        else if (!strcmp(argv[i], "--read") && i + 1 < argc)
            read_len = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--no-write"))
            no_write = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--chip C] [--baud B] [--image FILE] [--rfc2217] "
                    "[--no-stub] [--no-wire-time] [--flash-time] [--read BYTES] "
                    "[--no-write] [--vchip PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!vchip) {
        fprintf(stderr, "loader_bench: set MP_VCHIP or --vchip to the esp-virtual-chip program\n");
        return 2;
    }
    char default_image[512];
    if (!image_path) {
        const char *shared = getenv("MP_SHARED_DIR");
        snprintf(default_image, sizeof default_image, "%s/firmware/ESP32_GENERIC-20240602-v1.23.0.bin",
                 shared ? shared : "../shared");
        image_path = default_image;
    }
    char name[256];
    uint32_t len;
    uint8_t *image = load_image(image_path, &len, name, sizeof name);
    if (!image)
        return 1;
    const struct chip *c = chip_by_name(chip);
    uint32_t addr = c ? c->bootloader_offset : 0;

    char flash[] = "/tmp/mp-loader-bench-XXXXXX";
    int fd = mkstemp(flash);
    close(fd);
    unlink(flash);
    struct vchip_proc vp;
    char msg[300];
    const char *extra[5] = {"--flash-size", "4M"};
    int ne = 2;
    if (wire_time)
        extra[ne++] = "--wire-time";
    if (flash_time)
        extra[ne++] = "--flash-time";
    extra[ne] = NULL;
    if (vchip_start(&vp, vchip, chip, flash, rfc, extra, msg, sizeof msg) != 0) {
        fprintf(stderr, "loader_bench: %s\n", msg);
        return 1;
    }
    struct row rows[3];
    struct loader_options opt = {0};
    opt.baud = baud;
    opt.no_stub = no_stub;
    struct loader *l = NULL;
    struct error err = {0};
    int rc = 1;
    uint8_t *back = malloc(read_len);

    double t0 = now_s();
    if (loader_open(vp.port, &opt, &l, &err) != 0)
        goto fail;
    rows[0] = (struct row){"connect + stub + baud change", 0, now_s() - t0, l->wire_tx + l->wire_rx};

    uint64_t w0 = l->wire_tx + l->wire_rx;
    t0 = now_s();
    if (no_write)
        len = 0;
    else if (loader_write_flash(l, addr, image, len, &err) != 0)
        goto fail;
    rows[1] = (struct row){"write (compressed, MD5 verify)", len, now_s() - t0,
                           l->wire_tx + l->wire_rx - w0};

    w0 = l->wire_tx + l->wire_rx;
    t0 = now_s();
    if (loader_read_flash(l, 0, back, read_len, &err) != 0)
        goto fail;
    rows[2] = (struct row){l->stub ? "read (streamed)" : "read (64-byte commands)", read_len,
                           now_s() - t0, l->wire_tx + l->wire_rx - w0};
    uint32_t cmp = read_len <= addr ? 0 : len < read_len - addr ? len : read_len - addr;
    if (memcmp(back + addr, image, cmp) != 0) {
        snprintf(err.msg, sizeof err.msg, "read-back differs from the written image");
        goto fail;
    }
    rc = 0;
    double rate = baud / 10.0;
    printf("our loader -> esp-virtual-chip --chip %s%s%s, %u baud, %s, %s\n", chip,
           wire_time ? " --wire-time" : " (no wire time)", flash_time ? " --flash-time" : "",
           baud, rfc ? "RFC 2217" : "pty", l->stub ? "stub" : "ROM");
    printf("image: %s (%u bytes) at 0x%x\n", name, len, addr);
    printf("| operation | bytes | seconds | bytes on the wire | line-rate floor s | of line rate |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < 3; i++) {
        if (i == 1 && no_write)
            continue;
        double floor_s = rows[i].wire / rate;
        printf("| %s | %u | %.2f | %llu | %.2f | %.1f %% |\n", rows[i].label, rows[i].bytes,
               rows[i].sec, (unsigned long long)rows[i].wire, floor_s,
               100.0 * floor_s / rows[i].sec);
    }
    printf("(floor: bytes on the wire in both directions / %.0f B/s; retries: %u)\n", rate,
           l->retries);
fail:
    if (rc)
        fprintf(stderr, "loader_bench: %s\n", err.msg);
    loader_close(l, 0);
    vchip_stop(&vp);
    unlink(flash);
    free(back);
    free(image);
    return rc;
}
