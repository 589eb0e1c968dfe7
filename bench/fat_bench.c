/* FAT engine benchmark, the workload of lfs_bench: make a 2 MiB volume in RAM as
 * vfs.VfsFat.mkfs does (4096-byte sectors), put a tree of 300 files (1.5 MB, deterministic
 * contents, 10 directories), list it, read it all back. Prints the median of N runs per phase
 * and the device writes of the last run.  Usage: fat_bench [runs]  (default 11) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fat/fat.h"

#define SIZE (2u << 20)
#define NFILES 300

struct ram {
    uint8_t *data;
    uint32_t writes;
    uint64_t bytes;
};

static int rd(void *ctx, uint32_t off, void *buf, uint32_t n)
{
    struct ram *r = ctx;
    memcpy(buf, r->data + off, n);
    return 0;
}

static int wr(void *ctx, uint32_t off, const void *buf, uint32_t n)
{
    struct ram *r = ctx;
    memcpy(r->data + off, buf, n);
    r->writes++;
    r->bytes += n;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *dirs[] = {"/lib",  "/lib/net",   "/lib/drivers", "/lib/drivers/sensors",
                             "/data", "/data/logs", "/www",         "/www/static",
                             "/cfg",  "/tests"};
#define NDIRS (sizeof dirs / sizeof dirs[0])

static uint32_t file_size(int i)
{
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
    fprintf(stderr, "fat_bench: %s: %s\n", what, fat_err_name(err));
    exit(1);
}

struct walk {
    struct fat *fs;
    const char *path;
    int entries;
    uint64_t bytes;
};

static int visit(void *ctx, const struct fat_info *info)
{
    struct walk *w = ctx;
    w->entries++;
    if (info->is_dir) {
        char sub[300];
        snprintf(sub, sizeof sub, "%s/%s", strcmp(w->path, "/") ? w->path : "", info->name);
        struct walk inner = {w->fs, sub, 0, 0};
        int err = fat_dir_list(w->fs, sub, visit, &inner);
        if (err)
            die("dir_list", err);
        w->entries += inner.entries;
        w->bytes += inner.bytes;
    } else {
        w->bytes += info->size;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 11;
    if (runs < 1)
        runs = 1;
    uint32_t total = 0;
    for (int i = 0; i < NFILES; i++)
        total += file_size(i);
    uint8_t *content = malloc(16384), *rbuf = malloc(16384);
    struct ram ram = {malloc(SIZE), 0, 0};
    struct fat_dev dev = {&ram, rd, wr, NULL, SIZE};
    enum { FORMAT, PUT, BUILD, LIST, READ, NPHASE };
    static const char *names[NPHASE] = {"mkfs (2 MiB)", "put 300 files + 10 dirs",
                                        "build = mkfs + put", "list (walk + sizes)",
                                        "read all back"};
    double *t[NPHASE];
    for (int p = 0; p < NPHASE; p++)
        t[p] = calloc((size_t)runs, sizeof(double));
    struct fat_volinfo vi = {0};
    for (int r = 0; r < runs; r++) {
        memset(ram.data, 0xFF, SIZE);
        ram.writes = 0;
        ram.bytes = 0;
        double t0 = now();
        struct fat_mkfs_opts o = {4096, 1706933106};
        int err = fat_mkfs(&dev, &o);
        if (err)
            die("mkfs", err);
        double t1 = now();
        struct fat *fs;
        if ((err = fat_mount(&fs, &dev)) != 0)
            die("mount", err);
        for (size_t d = 0; d < NDIRS; d++)
            if ((err = fat_mkdir(fs, dirs[d], 1706933106)) != 0)
                die("mkdir", err);
        for (int i = 0; i < NFILES; i++) {
            char path[64];
            file_path(i, path, sizeof path);
            uint32_t n = file_size(i);
            fill(content, n, (uint32_t)i);
            if ((err = fat_write_file(fs, path, content, n, 1706933106)) != 0)
                die("write", err);
        }
        double t2 = now();
        struct walk w = {fs, "/", 0, 0};
        if ((err = fat_dir_list(fs, "/", visit, &w)) != 0)
            die("list", err);
        double t3 = now();
        if (w.entries != NFILES + (int)NDIRS || w.bytes != total)
            die("listing does not match", FAT_ERR_CORRUPT);
        for (int i = 0; i < NFILES; i++) {
            char path[64];
            file_path(i, path, sizeof path);
            uint32_t n = file_size(i);
            struct fat_file f;
            if ((err = fat_file_open(fs, path, &f)) != 0)
                die("open", err);
            if (fat_file_read(fs, &f, rbuf, 16384) != (int)n)
                die("read", FAT_ERR_IO);
            fill(content, n, (uint32_t)i);
            if (memcmp(content, rbuf, n))
                die("contents differ", FAT_ERR_CORRUPT);
        }
        double t4 = now();
        fat_volinfo(fs, &vi);
        fat_unmount(fs);
        t[FORMAT][r] = t1 - t0;
        t[PUT][r] = t2 - t1;
        t[BUILD][r] = t2 - t0;
        t[LIST][r] = t3 - t2;
        t[READ][r] = t4 - t3;
    }
    printf("FAT engine, 2 MiB volume (FAT%d, %u-byte clusters), %d files in %zu dirs, %u bytes; "
           "median of %d runs\n",
           (int)vi.type, vi.cluster_size, NFILES, NDIRS, total, runs);
    printf("| %-26s | %10s | %10s | %10s |\n", "phase", "median ms", "min ms", "max ms");
    printf("|%.28s|%.12s|%.12s|%.12s|\n", "----------------------------", "------------",
           "------------", "------------");
    for (int p = 0; p < NPHASE; p++) {
        qsort(t[p], (size_t)runs, sizeof(double), cmp_double);
        printf("| %-26s | %10.2f | %10.2f | %10.2f |\n", names[p], t[p][runs / 2] * 1e3,
               t[p][0] * 1e3, t[p][runs - 1] * 1e3);
        free(t[p]);
    }
    printf("clusters in use: %u of %u; last run: %u device writes, %llu bytes written\n",
           vi.clusters - vi.free_clusters, vi.clusters, ram.writes,
           (unsigned long long)ram.bytes);
    free(content);
    free(rbuf);
    free(ram.data);
    return 0;
}
