/* littlefs engine benchmark: format a 2 MiB image in RAM, put a tree of 300 files (1.5 MB,
 * deterministic contents, several directories), list it, read it all back. Prints the median
 * of N runs per phase.  Usage: lfs_bench [runs]  (default 11) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lfs/lfs.h"

#define BLOCK 4096u
#define BLOCKS 512u /* 2 MiB */
#define NFILES 300

struct ram {
    uint8_t *data;
    uint32_t progs, erases;
};

static int rd(const struct lfs_config *c, lfs_block_t b, lfs_off_t off, void *buf, lfs_size_t n)
{
    struct ram *r = c->context;
    memcpy(buf, r->data + (size_t)b * BLOCK + off, n);
    return 0;
}

static int pr(const struct lfs_config *c, lfs_block_t b, lfs_off_t off, const void *buf,
              lfs_size_t n)
{
    struct ram *r = c->context;
    memcpy(r->data + (size_t)b * BLOCK + off, buf, n);
    r->progs++;
    return 0;
}

static int er(const struct lfs_config *c, lfs_block_t b)
{
    struct ram *r = c->context;
    memset(r->data + (size_t)b * BLOCK, 0xFF, BLOCK);
    r->erases++;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *dirs[] = {"/lib", "/lib/net", "/lib/drivers", "/lib/drivers/sensors",
                             "/data", "/data/logs", "/www", "/www/static", "/cfg", "/tests"};
#define NDIRS (sizeof dirs / sizeof dirs[0])

/* File i: its directory, name and size; sizes sum to TOTAL. */
static uint32_t file_size(int i)
{
    /* a mix: inline files, one-block and two-block CTZ files; 1.5 MB in all */
    static const uint32_t pattern[10] = {60, 120, 3000, 4090, 4090, 8180, 8180, 8180, 8180, 6122};
    return pattern[i % 10];
}

static void file_path(int i, char *out, size_t n)
{
    snprintf(out, n, "%s/file%03d.%s", dirs[i % NDIRS], i, i % 3 ? "py" : "bin");
}

static void fill(uint8_t *buf, uint32_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u | 1;
    for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)(x >> 24);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "lfs_bench: %s: %s\n", what, lfs_err_name(err));
    exit(1);
}

static int walk(lfs_t *lfs, const char *path, uint64_t *bytes)
{
    lfs_dir_t d;
    int err = lfs_dir_open(lfs, &d, path);
    if (err)
        die("dir_open", err);
    struct lfs_info info;
    int n = 0;
    char sub[16][300];
    int nsub = 0;
    while ((err = lfs_dir_read(lfs, &d, &info)) > 0) {
        n++;
        if (info.type == LFS_TYPE_DIR && nsub < 16)
            snprintf(sub[nsub++], sizeof sub[0], "%s/%s", strcmp(path, "/") ? path : "",
                     info.name);
        else
            *bytes += info.size;
    }
    lfs_dir_close(lfs, &d);
    for (int i = 0; i < nsub; i++)
        n += walk(lfs, sub[i], bytes);
    return n;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 11;
    if (runs < 1)
        runs = 1;
    uint32_t total = 0;
    for (int i = 0; i < NFILES; i++)
        total += file_size(i);
    uint8_t *content = malloc(16384);
    uint8_t *rbuf = malloc(16384);
    struct ram ram = {malloc((size_t)BLOCK * BLOCKS), 0, 0};
    struct lfs_config cfg;
    lfs_config_default(&cfg); /* MicroPython ESP32 geometry */
    cfg.context = &ram;
    cfg.read = rd;
    cfg.prog = pr;
    cfg.erase = er;
    cfg.block_count = BLOCKS;
    enum { FORMAT, PUT, BUILD, LIST, READ, NPHASE };
    static const char *names[NPHASE] = {"format (2 MiB)", "put 300 files + 10 dirs",
                                        "build = format + put", "list (walk + sizes)",
                                        "read all back"};
    double *t[NPHASE];
    for (int p = 0; p < NPHASE; p++)
        t[p] = calloc((size_t)runs, sizeof(double));
    lfs_ssize_t used = 0;
    for (int r = 0; r < runs; r++) {
        memset(ram.data, 0xFF, (size_t)BLOCK * BLOCKS);
        ram.progs = ram.erases = 0;
        lfs_t lfs;
        double t0 = now();
        int err = lfs_format(&lfs, &cfg);
        if (err)
            die("format", err);
        double t1 = now();
        if ((err = lfs_mount(&lfs, &cfg)) != 0)
            die("mount", err);
        for (size_t d = 0; d < NDIRS; d++)
            if ((err = lfs_mkdir(&lfs, dirs[d])) != 0)
                die("mkdir", err);
        for (int i = 0; i < NFILES; i++) {
            char path[64];
            file_path(i, path, sizeof path);
            uint32_t n = file_size(i);
            fill(content, n, (uint32_t)i);
            lfs_file_t f;
            if ((err = lfs_file_open(&lfs, &f, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC)))
                die("open", err);
            if (lfs_file_write(&lfs, &f, content, n) != (lfs_ssize_t)n)
                die("write", LFS_ERR_IO);
            if ((err = lfs_file_close(&lfs, &f)) != 0)
                die("close", err);
        }
        double t2 = now();
        uint64_t bytes = 0;
        int entries = walk(&lfs, "/", &bytes);
        double t3 = now();
        if (entries != NFILES + (int)NDIRS || bytes != total)
            die("listing does not match", LFS_ERR_CORRUPT);
        for (int i = 0; i < NFILES; i++) {
            char path[64];
            file_path(i, path, sizeof path);
            uint32_t n = file_size(i);
            lfs_file_t f;
            if ((err = lfs_file_open(&lfs, &f, path, LFS_O_RDONLY)))
                die("open for reading", err);
            if (lfs_file_read(&lfs, &f, rbuf, 16384) != (lfs_ssize_t)n)
                die("read", LFS_ERR_IO);
            lfs_file_close(&lfs, &f);
            fill(content, n, (uint32_t)i);
            if (memcmp(content, rbuf, n))
                die("contents differ", LFS_ERR_CORRUPT);
        }
        double t4 = now();
        used = lfs_fs_size(&lfs);
        lfs_unmount(&lfs);
        t[FORMAT][r] = t1 - t0;
        t[PUT][r] = t2 - t1;
        t[BUILD][r] = t2 - t0;
        t[LIST][r] = t3 - t2;
        t[READ][r] = t4 - t3;
    }
    printf("littlefs engine, 2 MiB image (%u x %u B blocks), %d files in %zu dirs, %u bytes; "
           "median of %d runs\n", BLOCKS, BLOCK, NFILES, NDIRS, total, runs);
    printf("| %-26s | %10s | %10s | %10s |\n", "phase", "median ms", "min ms", "max ms");
    printf("|%.28s|%.12s|%.12s|%.12s|\n", "----------------------------", "------------",
           "------------", "------------");
    for (int p = 0; p < NPHASE; p++) {
        qsort(t[p], (size_t)runs, sizeof(double), cmp_double);
        printf("| %-26s | %10.2f | %10.2f | %10.2f |\n", names[p], t[p][runs / 2] * 1e3,
               t[p][0] * 1e3, t[p][runs - 1] * 1e3);
        free(t[p]);
    }
    printf("blocks in use: %d of %u; last run: %u programs, %u erases\n", (int)used, BLOCKS,
           ram.progs, ram.erases);
    free(content);
    free(rbuf);
    free(ram.data);
    return 0;
}
