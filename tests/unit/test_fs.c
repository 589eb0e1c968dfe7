/* Unit tests of the fs commands on littlefs: the Python tool's fs tests (seed-spec §12.4)
 * replayed as library calls on a mock device built here (§12.2, §16), the fixed defects
 * (§10.5, §14 items 10-13 and 27), path safety with crafted images, the computed vfs region. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "fs/fs.h"
#include "util/alloc.h"
#include "util/digest.h"
#include "test_lfs_dev.h"
#include "test_shared.h"

/* ---------------------------------------------------------------- output collector */

struct collect {
    char *lines[512];
    enum log_level kinds[512];
    int n;
    uint8_t data[65536];
    size_t data_len;
    struct fs_usage usage[8];
    int n_usage;
};

static void collect_line(void *ctx, enum log_level kind, const char *text)
{
    struct collect *c = ctx;
    if (c->n < 512) {
        c->kinds[c->n] = kind;
        c->lines[c->n++] = strdup(text);
    }
}

static void collect_data(void *ctx, const void *buf, size_t len)
{
    struct collect *c = ctx;
    assert_true(c->data_len + len <= sizeof c->data);
    memcpy(c->data + c->data_len, buf, len);
    c->data_len += len;
}

static void collect_usage(void *ctx, const struct fs_usage *u)
{
    struct collect *c = ctx;
    if (c->n_usage < 8)
        c->usage[c->n_usage++] = *u;
}

static void collect_reset(struct collect *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
    c->data_len = 0;
    c->n_usage = 0;
}

/* The LOG_OUTPUT lines, joined by newlines. */
static char *out_text(const struct collect *c)
{
    static char buf[16384];
    buf[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        if (c->kinds[i] != LOG_OUTPUT)
            continue;
        strcat(buf, c->lines[i]);
        strcat(buf, "\n");
    }
    return buf;
}

static int has_line(const struct collect *c, enum log_level kind, const char *text)
{
    for (int i = 0; i < c->n; i++)
        if (c->kinds[i] == kind && strcmp(c->lines[i], text) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- mock device (§12.2) */

static const struct {
    const char *path;
    uint32_t size;
} mock_files[] = {
    {"ota/blockdev_writer.mpy", 2029},
    {"ota/rollback.mpy", 375},
    {"ota/status.mpy", 2594},
    {"ota/update.mpy", 2048},
};

/* Deterministic contents for a mock file: a xorshift stream seeded by its name. */
static uint8_t *mock_contents(const char *path, uint32_t size)
{
    uint32_t x = 2166136261u;
    for (const char *p = path; *p; p++)
        x = (x ^ (uint8_t)*p) * 16777619u;
    uint8_t *buf = malloc(size ? size : 1);
    for (uint32_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    return buf;
}

struct mock {
    struct flash_image img;
    struct ptable table;
    struct fs_partitions parts;
    struct collect out;
    struct log log;
    struct fs_output output;
    struct fs_env env;
    char tmp[256]; /* a scratch local directory, removed afterwards */
    char cwd[1024];
};

static void add_part(struct ptable *t, const char *name, uint8_t type, uint8_t subtype,
                     uint32_t offset, uint32_t size)
{
    struct partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
}

static void env_init(struct mock *m)
{
    m->log = (struct log){collect_line, &m->out};
    m->output.log = &m->log;
    m->output.data = collect_data;
    m->output.usage = collect_usage;
    m->output.ctx = &m->out;
    fs_partitions_from_table(&m->table, m->table.flash_size, &m->parts);
    memset(&m->env, 0, sizeof m->env);
    m->env.flash = &m->img.flash;
    m->env.parts = &m->parts;
    m->env.micropython_version = "v1.23.0";
    m->env.flush = FS_FLUSH_AT_SYNC;
    m->env.out = &m->output;
}

static int run(struct mock *m, const char *cmd, int argc, const char *const argv[],
               struct error *err)
{
    collect_reset(&m->out);
    return fs_run(&m->env, cmd, argc, argv, err);
}

#define RUN_OK(m, cmd, ...)                                                                      \
    do {                                                                                         \
        const char *const argv_[] = {__VA_ARGS__, NULL};                                         \
        struct error err_;                                                                       \
        int rc_ = run(m, cmd, (int)(sizeof argv_ / sizeof argv_[0]) - 2, argv_ + 1, &err_);      \
        if (rc_)                                                                                 \
            fail_msg("%s failed: %s", cmd, err_.msg);                                            \
    } while (0)

/* A firmware-like file as the Python tests use: stock firmware bytes (when /work/shared is
 * there, else erased bytes), 0xFF up to flash 0x200000, then a 2 MiB littlefs with boot.py
 * and ota/ (4 MiB - 4 KiB, starting at flash 0x1000). */
static int mock_setup(void **state)
{
    struct mock *m = calloc(1, sizeof *m);
    uint32_t len = 0x400000 - 0x1000;
    uint8_t *data = malloc(len);
    memset(data, 0xFF, len);
    size_t fwlen;
    uint8_t *fw = test_read_shared("firmware/ESP32_GENERIC-20240602-v1.23.0.bin", &fwlen);
    if (fw && fwlen < 0x1F0000)
        memcpy(data, fw, fwlen);
    free(fw);
    struct error err;
    assert_int_equal(
        flash_image_open(&m->img, data, len, 0x1000, 0x800000, "mock_esp32_device.bin", &err), 0);
    free(data);
    m->table.flash_size = 0x400000;
    add_part(&m->table, "nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, 0x6000);
    add_part(&m->table, "phy_init", PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, 0xF000, 0x1000);
    add_part(&m->table, "factory", PART_TYPE_APP, PART_SUBTYPE_FACTORY, 0x10000, 0x1F0000);
    add_part(&m->table, "vfs", PART_TYPE_DATA, PART_SUBTYPE_DATA_FAT, 0x200000, 0x200000);
    env_init(m);

    /* the filesystem, written by our own code */
    const struct fs_partition *vfs = fs_partitions_find(&m->parts, "vfs");
    struct flash_window w;
    fs_window_open(&w, &m->img.flash, vfs);
    if (fs_mkfs(&w.flash, vfs, FS_DISK_VERSION_2_1, FS_FLUSH_AT_UNMOUNT, NULL, &err))
        fail_msg("mkfs: %s", err.msg);
    struct fs *fs;
    if (fs_mount(&fs, &w.flash, vfs, FS_FLUSH_AT_UNMOUNT, &err))
        fail_msg("mount: %.400s", err.msg);
    assert_int_equal(fs_mkdir(fs, "ota", &err), 0);
    for (size_t i = 0; i < sizeof mock_files / sizeof mock_files[0]; i++) {
        uint8_t *c = mock_contents(mock_files[i].path, mock_files[i].size);
        if (fs_write_file(fs, mock_files[i].path, c, mock_files[i].size, &err))
            fail_msg("write %s: %s", mock_files[i].path, err.msg);
        free(c);
    }
    assert_int_equal(fs_unmount(fs, &err), 0);

    snprintf(m->tmp, sizeof m->tmp, "/tmp/test_fs.XXXXXX");
    assert_non_null(mkdtemp(m->tmp));
    assert_non_null(getcwd(m->cwd, sizeof m->cwd));
    /* the Python tests run in their temporary directory: so do these */
    assert_int_equal(chdir(m->tmp), 0);
    *state = m;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int mock_teardown(void **state)
{
    struct mock *m = *state;
    collect_reset(&m->out);
    if (chdir(m->cwd) != 0)
        return -1;
    nftw(m->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    flash_close(&m->img.flash);
    free(m);
    return 0;
}

static void write_local(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void assert_local_equals(const char *path, const void *data, size_t len)
{
    size_t got;
    uint8_t *buf = test_read_file(path, &got);
    if (!buf)
        fail_msg("missing local file %s", path);
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    free(buf);
}

/* Write the mock tree to a local directory (the Python tests' tests/data/mock-fs). */
static void write_local_mock_tree(const char *dir)
{
    char path[512];
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/boot.py", dir);
    write_local(path, FS_BOOT_PY, strlen(FS_BOOT_PY));
    snprintf(path, sizeof path, "%s/ota", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    for (size_t i = 0; i < sizeof mock_files / sizeof mock_files[0]; i++) {
        uint8_t *c = mock_contents(mock_files[i].path, mock_files[i].size);
        snprintf(path, sizeof path, "%s/%s", dir, mock_files[i].path);
        write_local(path, c, mock_files[i].size);
        free(c);
    }
}

/* A local tree equals the mock tree: same 6 entries, same bytes. */
static void assert_local_mock_tree(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/boot.py", dir);
    assert_local_equals(path, FS_BOOT_PY, strlen(FS_BOOT_PY));
    int entries = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        entries += de->d_name[0] != '.';
    closedir(d);
    snprintf(path, sizeof path, "%s/ota", dir);
    d = opendir(path);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 6);
    for (size_t i = 0; i < sizeof mock_files / sizeof mock_files[0]; i++) {
        uint8_t *c = mock_contents(mock_files[i].path, mock_files[i].size);
        snprintf(path, sizeof path, "%s/%s", dir, mock_files[i].path);
        assert_local_equals(path, c, mock_files[i].size);
        free(c);
    }
}

/* ---------------------------------------------------------------- §12.4 replays */

#define MOCK_LS                                                                                  \
    "boot.py\nota/\nota/blockdev_writer.mpy\nota/rollback.mpy\nota/status.mpy\nota/update.mpy\n"

static void ls_lists_files_then_dirs_recursively(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), MOCK_LS);
    assert_true(has_line(&m->out, LOG_INFO, "ls 'vfs:.'"));
    RUN_OK(m, "ls", "", "ota");
    assert_string_equal(out_text(&m->out),
                        "blockdev_writer.mpy\nrollback.mpy\nstatus.mpy\nupdate.mpy\n");
    /* root spelled every way lists the same */
    RUN_OK(m, "ls", "", "/", "vfs:.", "vfs:");
    assert_string_equal(out_text(&m->out), MOCK_LS MOCK_LS MOCK_LS);
}

static void dot_dot_in_device_paths_goes_up(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "cat", "", "ota/../boot.py");
    assert_int_equal(m->out.data_len, 139);
    RUN_OK(m, "ls", "", "/../ota/./");
    assert_string_equal(out_text(&m->out),
                        "blockdev_writer.mpy\nrollback.mpy\nstatus.mpy\nupdate.mpy\n");
    RUN_OK(m, "mkdir", "", "a/b/../c"); /* resolved first: a/c */
    RUN_OK(m, "ls", "", "a");
    assert_string_equal(out_text(&m->out), "c/\n");
}

static void ls_errors_name_the_path(void **state)
{
    struct mock *m = *state;
    struct error err;
    const char *const missing[] = {"nothere"};
    assert_int_equal(run(m, "ls", 1, missing, &err), -ENOENT);
    assert_int_equal(err.kind, ERROR_LITTLEFS);
    assert_non_null(strstr(err.msg, "LittleFSError -2: LFS_ERR_NOENT"));
    assert_non_null(strstr(err.msg, "vfs:/nothere"));
    const char *const file[] = {"boot.py"};
    assert_int_equal(run(m, "ls", 1, file, &err), -ENOTDIR);
    assert_non_null(strstr(err.msg, "LittleFSError -20: LFS_ERR_NOTDIR"));
    const char *const nopart[] = {"vfs9:/"};
    assert_int_equal(run(m, "ls", 1, nopart, &err), -1);
    assert_int_equal(err.kind, ERROR_PARTITION);
    assert_string_equal(err.msg, "Partition 'vfs9' not found.");
    /* a partition without a filesystem is skipped by ls, with a log line */
    const char *const nvs[] = {"nvs:/"};
    assert_int_equal(run(m, "ls", 1, nvs, &err), 0);
    assert_string_equal(out_text(&m->out), "");
    assert_true(m->out.n >= 1);
    assert_int_equal(m->out.kinds[0], LOG_INFO);
}

static void cat_prints_boot_py(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "cat", "", "boot.py");
    assert_int_equal(m->out.data_len, 139);
    assert_memory_equal(m->out.data, FS_BOOT_PY, 139);
    struct error err;
    const char *const dir[] = {"ota"};
    assert_int_equal(run(m, "cat", 1, dir, &err), -1);
    assert_int_equal(err.kind, ERROR_FILE);
    assert_string_equal(err.msg, "ota is not a file.");
    const char *const missing[] = {"nope.py"};
    assert_int_equal(run(m, "cat", 1, missing, &err), -1);
    assert_non_null(strstr(err.msg, "LFS_ERR_NOENT"));
}

static void rename_then_ls(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "rename", "", "boot.py", "boot.bak");
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), "boot.bak\nota/\nota/blockdev_writer.mpy\n"
                                           "ota/rollback.mpy\nota/status.mpy\nota/update.mpy\n");
    /* directories rename too */
    RUN_OK(m, "rename", "", "vfs:ota", "vfs:lib");
    RUN_OK(m, "ls", "", "lib");
    assert_string_equal(out_text(&m->out),
                        "blockdev_writer.mpy\nrollback.mpy\nstatus.mpy\nupdate.mpy\n");
    struct error err;
    const char *const one[] = {"boot.bak"};
    assert_int_equal(run(m, "rename", 1, one, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    assert_string_equal(err.msg, "'--fs rename' requires two arguments");
    const char *const two_parts[] = {"vfs:a", "nvs:b"};
    assert_int_equal(run(m, "rename", 2, two_parts, &err), -1);
    assert_string_equal(err.msg, "'--fs rename' Both partitions must be the same");
}

static void mkdir_then_ls(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "mkdir", "", "data");
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out),
                        "boot.py\ndata/\nota/\nota/blockdev_writer.mpy\n"
                        "ota/rollback.mpy\nota/status.mpy\nota/update.mpy\n");
    /* existing is fine, parents are made, a file in the way is an error */
    RUN_OK(m, "mkdir", "", "data", "a/b/c");
    RUN_OK(m, "ls", "", "a");
    assert_string_equal(out_text(&m->out), "b/\nb/c/\n");
    struct error err;
    const char *const onfile[] = {"boot.py/x"};
    assert_int_equal(run(m, "mkdir", 1, onfile, &err), -EEXIST);
    assert_int_equal(err.kind, ERROR_LITTLEFS);
}

static void mkdir_several_paths_all_apply(void **state)
{
    struct mock *m = *state;
    /* the Python tool produced d1/, d1/d3/, d4/ and no d2 here (seed-spec §10.5) */
    RUN_OK(m, "mkdir", "", "d1", "d2/d3", "d4");
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out),
                        "boot.py\nd1/\nd2/\nd4/\nota/\nd2/d3/\nota/blockdev_writer.mpy\n"
                        "ota/rollback.mpy\nota/status.mpy\nota/update.mpy\n");
}

static void rm_file_and_tree(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "rm", "", "ota/blockdev_writer.mpy");
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out),
                        "boot.py\nota/\nota/rollback.mpy\nota/status.mpy\nota/update.mpy\n");
    RUN_OK(m, "rm", "", "ota");
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), "boot.py\n");
    struct error err;
    const char *const missing[] = {"ota"};
    assert_int_equal(run(m, "rm", 1, missing, &err), -1);
    assert_int_equal(err.kind, ERROR_FILE);
    assert_string_equal(err.msg, "[LittleFSError -2] No such file or directory: 'ota'.");
}

static void rm_several_paths_all_apply(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "rm", "", "ota/rollback.mpy", "ota/status.mpy", "boot.py");
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), "ota/\nota/blockdev_writer.mpy\nota/update.mpy\n");
}

static void mkfs_leaves_boot_py(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "mkfs", "", "vfs");
    assert_true(has_line(&m->out, LOG_ACTION, "Erasing partition 'vfs' from 0x0..."));
    assert_true(has_line(&m->out, LOG_INFO, "mkfs on partition 'vfs'..."));
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), "boot.py\n");
    RUN_OK(m, "cat", "", "boot.py");
    assert_int_equal(m->out.data_len, 139);
    assert_memory_equal(m->out.data, FS_BOOT_PY, 139);
    /* superblock magic at byte 8 of block 0 of the partition (littlefs.md §5.1) */
    uint8_t magic[8];
    struct error err;
    assert_int_equal(flash_read(&m->img.flash, 0x200000 + 8, magic, 8, &err), 0);
    assert_memory_equal(magic, "littlefs", 8);
    /* nothing outside the partition changed: the byte before it is still erased */
    uint8_t b;
    assert_int_equal(flash_read(&m->img.flash, 0x1FFFFF, &b, 1, &err), 0);
    assert_int_equal(b, 0xFF);
}

/* Blocks the mock filesystem uses with MicroPython's geometry: the root pair, the ota pair and
 * one block for each of the 5 files (all larger than the 128-byte inline limit, none above
 * 4 KiB; littlefs.md §7). The Python tool's own geometry inlined more and counted 7. */
#define MOCK_BLOCKS 9

static void df_reports_blocks(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "df", "", "vfs");
    assert_int_equal(m->out.n_usage, 1);
    const struct fs_usage *u = &m->out.usage[0];
    assert_string_equal(u->part, "vfs");
    assert_int_equal(u->block_count, 512);
    assert_int_equal(u->blocks_used, MOCK_BLOCKS);
    assert_int_equal(u->total_kb, 2048);
    assert_int_equal(u->used_kb, MOCK_BLOCKS * 4);
    assert_int_equal(u->free_kb, 2048 - MOCK_BLOCKS * 4);
    assert_int_equal(u->used_percent, fs_percent_half_even(MOCK_BLOCKS, 512));
    assert_int_equal(u->used_percent, 2);
    /* no argument: every fat/littlefs data partition; after mkfs: root pair + boot.py */
    RUN_OK(m, "mkfs", "");
    RUN_OK(m, "df", "");
    assert_int_equal(m->out.n_usage, 1);
    assert_int_equal(m->out.usage[0].blocks_used, 3);
    assert_int_equal(m->out.usage[0].used_kb, 12);
    assert_int_equal(m->out.usage[0].used_percent, 1);
}

static void info_lines(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "info", "");
    char expect[1024];
    snprintf(expect, sizeof expect,
             "Filesystem 'vfs': LittleFS\n"
             "  Disk Version:      2.1\n"
             "  Name Max:          255\n"
             "  Image Size:    2097152  /  0x200000\n"
             "  Block Size:       4096  /  0x1000\n"
             "  Blocks Total:      512\n"
             "  Blocks Used:  %8d\n"
             "  Blocks Free:  %8d\n",
             MOCK_BLOCKS, 512 - MOCK_BLOCKS);
    assert_string_equal(out_text(&m->out), expect);
}

/* A stand-in for the command line's SIZE parser: a number with an optional K (x1024). */
static int test_parse_size(const char *text, int64_t *value, struct error *err)
{
    char *end;
    *value = strtoll(text, &end, 10);
    if (*end == 'K' && end[1] == '\0')
        *value *= 1024;
    else if (*end)
        return error_setk(err, ERROR_VALUE, "bad size '%s'", text);
    return 0;
}

static void grow_to_the_resized_partition(void **state)
{
    struct mock *m = *state;
    /* the Python test: append 2 MiB of 0xFF, -f 6M --resize vfs=0, --fs grow, --fs df */
    uint8_t *ff = malloc(0x200000);
    memset(ff, 0xFF, 0x200000);
    struct error err;
    assert_int_equal(flash_write(&m->img.flash, 0x400000, ff, 0x200000, &err), 0);
    free(ff);
    m->table.flash_size = 0x600000;
    m->table.parts[3].size = 0x400000;
    env_init(m);
    RUN_OK(m, "df", "");
    assert_int_equal(m->out.usage[0].block_count, 512);
    assert_int_equal(m->out.usage[0].partition_blocks, 1024);
    assert_true(has_line(&m->out, LOG_INFO,
                         "Warning: the filesystem on 'vfs' has 512 blocks, the partition 1024: "
                         "MicroPython mounts it only when they are equal (use grow)"));
    RUN_OK(m, "grow", "");
    assert_true(has_line(&m->out, LOG_INFO, "fs: grow 'vfs' from 512 to 1024 blocks"));
    RUN_OK(m, "df", "");
    assert_int_equal(m->out.n_usage, 1);
    assert_int_equal(m->out.usage[0].total_kb, 4096);
    assert_int_equal(m->out.usage[0].used_kb, MOCK_BLOCKS * 4);
    assert_int_equal(m->out.usage[0].free_kb, 4096 - MOCK_BLOCKS * 4);
    assert_int_equal(m->out.usage[0].used_percent, fs_percent_half_even(MOCK_BLOCKS, 1024));
    /* contents survive */
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), MOCK_LS);
    /* equal is a no-op; smaller and beyond the partition are refused */
    RUN_OK(m, "grow", "", "vfs", "1024");
    m->env.parse_size = test_parse_size; /* BLOCKS in the SIZE syntax: "1K" blocks */
    RUN_OK(m, "grow", "", "vfs", "1K");
    assert_true(has_line(&m->out, LOG_INFO, "fs: grow 'vfs' from 1024 to 1024 blocks"));
    const char *const negative[] = {"vfs", "-1"};
    assert_int_equal(run(m, "grow", 2, negative, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    m->env.parse_size = NULL;
    const char *const smaller[] = {"vfs", "600"};
    assert_int_equal(run(m, "grow", 2, smaller, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    assert_string_equal(err.msg,
                        "Supplied block_count='600' cannot be smaller than current block_count "
                        "1024");
    const char *const beyond[] = {"vfs", "1025"};
    assert_int_equal(run(m, "grow", 2, beyond, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    assert_non_null(strstr(err.msg, "the partition holds 1024 blocks"));
    const char *const notfs[] = {"nvs"};
    assert_int_equal(run(m, "grow", 1, notfs, &err), -1);
    assert_non_null(strstr(err.msg, "LFS_ERR_CORRUPT"));
}

static void grow_beyond_partition_refused_on_stock_table(void **state)
{
    struct mock *m = *state;
    struct error err;
    const char *const beyond[] = {"vfs", "513"};
    assert_int_equal(run(m, "grow", 2, beyond, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    /* nothing was changed */
    RUN_OK(m, "df", "");
    assert_int_equal(m->out.usage[0].block_count, 512);
}

static void get_file_copies_bytes(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "get", "", "boot.py");
    assert_local_equals("boot.py", FS_BOOT_PY, 139);
    /* to a new name, and into an existing directory under its own name */
    RUN_OK(m, "get", "", "ota/rollback.mpy", "r.bin");
    uint8_t *c = mock_contents("ota/rollback.mpy", 375);
    assert_local_equals("r.bin", c, 375);
    assert_int_equal(mkdir("into", 0777), 0);
    RUN_OK(m, "get", "", "ota/rollback.mpy", "boot.py", "into");
    assert_local_equals("into/rollback.mpy", c, 375);
    assert_local_equals("into/boot.py", FS_BOOT_PY, 139);
    free(c);
    assert_string_equal(out_text(&m->out), ""); /* file copies print nothing */
}

static void put_then_get_round_trip(void **state)
{
    struct mock *m = *state;
    uint8_t data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (uint8_t)i;
    write_local("input.data", data, sizeof data);
    RUN_OK(m, "put", "", "input.data");
    assert_string_equal(out_text(&m->out), "input.data -> input.data\n");
    RUN_OK(m, "get", "", "input.data", "output.data");
    assert_local_equals("output.data", data, sizeof data);
    /* the local modification time went along as MicroPython's mtime attribute */
    struct stat st;
    assert_int_equal(stat("input.data", &st), 0);
    const struct fs_partition *vfs = fs_partitions_find(&m->parts, "vfs");
    struct flash_window w;
    fs_window_open(&w, &m->img.flash, vfs);
    struct fs *fs;
    struct error err;
    assert_int_equal(fs_mount(&fs, &w.flash, vfs, FS_FLUSH_AT_SYNC, &err), 0);
    struct fs_stat fst;
    assert_int_equal(fs_stat(fs, "input.data", &fst, &err), 0);
    assert_false(fst.is_dir);
    assert_int_equal(fst.size, 4096);
    assert_true(fst.has_mtime);
    assert_true(fst.mtime_ns == (uint64_t)st.st_mtim.tv_sec * 1000000000u + st.st_mtim.tv_nsec);
    assert_int_equal(fs_stat(fs, "boot.py", &fst, &err), 0);
    assert_false(fst.has_mtime);
    assert_int_equal(fs_stat(fs, "ota", &fst, &err), 0);
    assert_true(fst.is_dir);
    assert_int_equal(fs_unmount(fs, &err), 0);
    /* overwrite with something smaller */
    write_local("input.data", "short", 5);
    RUN_OK(m, "put", "", "input.data", "/");
    RUN_OK(m, "cat", "", "input.data");
    assert_int_equal(m->out.data_len, 5);
    assert_memory_equal(m->out.data, "short", 5);
}

static void put_file_to_new_name(void **state)
{
    struct mock *m = *state;
    write_local("main.py", "print(1)\n", 9);
    /* the Python tool failed with LFS_ERR_NOENT here (seed-spec §14 item 11) */
    RUN_OK(m, "put", "", "main.py", "app.py");
    assert_string_equal(out_text(&m->out), "main.py -> app.py\n");
    RUN_OK(m, "cat", "", "app.py");
    assert_int_equal(m->out.data_len, 9);
    assert_memory_equal(m->out.data, "print(1)\n", 9);
    /* into a directory under its own name, and into a new name inside a directory */
    RUN_OK(m, "put", "", "main.py", "ota");
    RUN_OK(m, "put", "", "main.py", "vfs:ota/x.py");
    RUN_OK(m, "ls", "", "ota");
    assert_string_equal(out_text(&m->out), "blockdev_writer.mpy\nmain.py\nrollback.mpy\n"
                                           "status.mpy\nupdate.mpy\nx.py\n");
    /* a file onto a directory of the same name is refused, the directory kept */
    RUN_OK(m, "mkdir", "", "ota/sub/main.py");
    struct error err;
    const char *const args[] = {"main.py", "ota/sub"};
    assert_int_equal(run(m, "put", 2, args, &err), -EISDIR);
    assert_non_null(strstr(err.msg, "LFS_ERR_ISDIR"));
    RUN_OK(m, "ls", "", "ota/sub");
    assert_string_equal(out_text(&m->out), "main.py/\n");
}

static void put_missing_source_is_an_error(void **state)
{
    struct mock *m = *state;
    struct error err;
    const char *const missing[] = {"no-such-file", "/"};
    assert_int_equal(run(m, "put", 2, missing, &err), -1);
    assert_int_equal(err.kind, ERROR_FILE);
    assert_string_equal(err.msg, "No such file or directory: 'no-such-file'");
    const char *const glob[] = {"src/*"};
    assert_int_equal(run(m, "put", 1, glob, &err), -1);
    /* no empty directory was created (seed-spec §14 item 11) */
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), MOCK_LS);
}

static void put_follows_file_links_but_not_directory_links(void **state)
{
    struct mock *m = *state;
    assert_int_equal(mkdir("src", 0777), 0);
    assert_int_equal(mkdir("outside", 0777), 0);
    write_local("outside/secret.txt", "s", 1);
    write_local("src/real.txt", "real", 4);
    assert_int_equal(symlink("real.txt", "src/alias.txt"), 0);
    assert_int_equal(symlink("../outside", "src/linkdir"), 0);
    RUN_OK(m, "put", "", "src", "/");
    RUN_OK(m, "ls", "", "src");
    assert_string_equal(out_text(&m->out), "alias.txt\nreal.txt\nlinkdir/\n");
    RUN_OK(m, "cat", "", "src/alias.txt");
    assert_int_equal(m->out.data_len, 4);
    /* a fifo is neither a file nor a directory */
    assert_int_equal(mkfifo("src/pipe", 0666), 0);
    struct error err;
    const char *const args[] = {"src", "/again"};
    assert_int_equal(run(m, "put", 2, args, &err), -1);
    assert_non_null(strstr(err.msg, "src/pipe"));
}

static void put_several_files_all_apply(void **state)
{
    struct mock *m = *state;
    write_local("a.txt", "A", 1);
    write_local("b.txt", "BB", 2);
    RUN_OK(m, "put", "", "a.txt", "b.txt", "ota");
    RUN_OK(m, "cat", "", "ota/a.txt", "ota/b.txt");
    assert_int_equal(m->out.data_len, 3);
    assert_memory_equal(m->out.data, "ABB", 3);
}

static void get_directory_copies_contents(void **state)
{
    struct mock *m = *state;
    RUN_OK(m, "get", "", ".", "rootfs");
    assert_local_mock_tree("rootfs");
    assert_string_equal(out_text(&m->out),
                        ". -> rootfs\n"
                        "boot.py -> rootfs/boot.py\n"
                        "ota/ -> rootfs/ota/\n"
                        "ota/blockdev_writer.mpy -> rootfs/ota/blockdev_writer.mpy\n"
                        "ota/rollback.mpy -> rootfs/ota/rollback.mpy\n"
                        "ota/status.mpy -> rootfs/ota/status.mpy\n"
                        "ota/update.mpy -> rootfs/ota/update.mpy\n");
    /* again into the same (now existing) directory */
    RUN_OK(m, "get", "", "/", "rootfs");
    assert_local_mock_tree("rootfs");
}

static void put_directory_then_get(void **state)
{
    struct mock *m = *state;
    char src[512];
    snprintf(src, sizeof src, "%s/mock-fs", m->tmp);
    write_local_mock_tree(src);
    RUN_OK(m, "mkdir", "", "rootfs");
    RUN_OK(m, "put", "", src, "rootfs");
    char line[1100];
    snprintf(line, sizeof line, "%s -> rootfs/mock-fs", src);
    assert_true(has_line(&m->out, LOG_OUTPUT, line));
    snprintf(line, sizeof line, "%s/ota/ -> rootfs/mock-fs/ota/", src);
    assert_true(has_line(&m->out, LOG_OUTPUT, line));
    /* get copies the directory's contents: rootfs/mock-fs/... locally (seed behaviour) */
    RUN_OK(m, "get", "", "rootfs", "rootfs");
    assert_local_mock_tree("rootfs/mock-fs");
    /* put of "." copies the contents (it has no name of its own) */
    assert_int_equal(chdir("mock-fs"), 0);
    RUN_OK(m, "put", "", ".", "copy");
    assert_int_equal(chdir(".."), 0);
    RUN_OK(m, "ls", "", "copy");
    assert_string_equal(out_text(&m->out), "boot.py\nota/\nota/blockdev_writer.mpy\n"
                                           "ota/rollback.mpy\nota/status.mpy\nota/update.mpy\n");
}

static void commands_on_a_second_partition(void **state)
{
    struct mock *m = *state;
    /* split vfs: a second filesystem in a partition of its own */
    m->table.parts[3].size = 0x100000;
    add_part(&m->table, "vfs2", PART_TYPE_DATA, PART_SUBTYPE_DATA_LITTLEFS, 0x300000, 0x100000);
    env_init(m);
    struct error err;
    /* the old 2 MiB filesystem does not fit the 1 MiB partition: commands say so */
    const char *const old[] = {"/z"};
    assert_int_equal(run(m, "mkdir", 1, old, &err), -1);
    assert_non_null(strstr(err.msg, "Partition 'vfs' holds 256 blocks: too small for its "
                                     "filesystem"));
    RUN_OK(m, "mkfs", "", "vfs2", "vfs");
    /* a prefix stays in force for the following paths */
    RUN_OK(m, "mkdir", "", "vfs2:/x", "/y", "vfs:/z");
    RUN_OK(m, "ls", "", "vfs2:");
    assert_string_equal(out_text(&m->out), "boot.py\nx/\ny/\n");
    RUN_OK(m, "ls", "", "vfs:/z");
    assert_string_equal(out_text(&m->out), "");
    RUN_OK(m, "df", "");
    assert_int_equal(m->out.n_usage, 2);
    assert_string_equal(m->out.usage[0].part, "vfs");
    assert_string_equal(m->out.usage[1].part, "vfs2");
    assert_int_equal(m->out.usage[1].block_count, 256);
    assert_int_equal(m->out.usage[1].partition_blocks, 256);
    assert_int_equal(m->out.usage[0].partition_blocks, 256);
    assert_int_equal(m->out.usage[0].block_count, 256);
}

static void commands_tell_whether_flash_changed(void **state)
{
    struct mock *m = *state;
    int changed = 0;
    m->env.changed = &changed;
    RUN_OK(m, "ls", "");
    RUN_OK(m, "cat", "", "boot.py");
    RUN_OK(m, "df", "");
    RUN_OK(m, "info", "");
    RUN_OK(m, "get", "", "boot.py");
    RUN_OK(m, "grow", "", "vfs", "512");
    assert_int_equal(changed, 0);
    RUN_OK(m, "mkdir", "", "x");
    assert_int_equal(changed, 1);
    changed = 0;
    RUN_OK(m, "mkfs", "");
    assert_int_equal(changed, 1);
}

static void partition_beyond_the_firmware_file(void **state)
{
    struct mock *m = *state;
    /* a firmware file that stops before the vfs partition, as a release .bin does */
    struct error err;
    assert_int_equal(flash_image_truncate(&m->img, 0x1C0000, &err), 0);
    uint32_t len;
    /* reading commands skip it and add nothing to the file */
    RUN_OK(m, "ls", "");
    assert_string_equal(out_text(&m->out), "");
    RUN_OK(m, "df", "");
    assert_int_equal(m->out.n_usage, 0);
    flash_image_bytes(&m->img, &len);
    assert_int_equal(len, 0x1C0000 - 0x1000);
    /* changing ones extend the file with erased flash over the whole partition: no
     * filesystem there yet for mkdir, a new one from mkfs */
    const struct fs_partition *vfs = fs_partitions_find(m->env.parts, "vfs");
    assert_non_null(vfs);
    const char *const dir[] = {"x"};
    assert_int_equal(run(m, "mkdir", 1, dir, &err), -1);
    const uint8_t *bytes = flash_image_bytes(&m->img, &len);
    assert_int_equal(len, vfs->offset + vfs->size - 0x1000);
    for (uint32_t i = 0x1C0000 - 0x1000; i < len; i++)
        if (bytes[i] != 0xFF)
            fail_msg("byte 0x%x of the extension is not erased", i);
    RUN_OK(m, "mkfs", "");
    RUN_OK(m, "mkdir", "", "x");
    RUN_OK(m, "ls", "");
    assert_non_null(strstr(out_text(&m->out), "x/"));
}

static void unknown_command(void **state)
{
    struct mock *m = *state;
    struct error err;
    assert_int_equal(run(m, "format", 0, NULL, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    assert_string_equal(err.msg, "Unknown --fs command 'format'");
}

/* ---------------------------------------------------------------- disk version */

static void mkfs_version_follows_firmware_and_changes_keep_it(void **state)
{
    struct mock *m = *state;
    m->env.micropython_version = "v1.21.0";
    RUN_OK(m, "mkfs", "");
    RUN_OK(m, "info", "");
    assert_true(has_line(&m->out, LOG_OUTPUT, "  Disk Version:      2.0"));
    /* superblock record: version LE32 at data offset 0 (littlefs.md §5.1) */
    RUN_OK(m, "mkdir", "", "lib");
    write_local("m.py", "x=1\n", 4);
    RUN_OK(m, "put", "", "m.py", "lib");
    RUN_OK(m, "info", "");
    assert_true(has_line(&m->out, LOG_OUTPUT, "  Disk Version:      2.0"));
    m->env.micropython_version = NULL;
    RUN_OK(m, "mkfs", "");
    RUN_OK(m, "info", "");
    assert_true(has_line(&m->out, LOG_OUTPUT, "  Disk Version:      2.0"));
    m->env.micropython_version = "v1.24.1";
    RUN_OK(m, "mkfs", "");
    RUN_OK(m, "info", "");
    assert_true(has_line(&m->out, LOG_OUTPUT, "  Disk Version:      2.1"));
}

static void mkfs_superblock_is_micropythons(void **state)
{
    struct mock *m = *state;
    size_t len;
    uint8_t *ref = test_read_shared("littlefs-vectors/mp-empty-2m.img", &len);
    if (!ref) {
        TEST_SKIP("littlefs-vectors not found");
        return;
    }
    RUN_OK(m, "mkfs", "");
    /* bytes 4..43 of a superblock block: NAME tag, "littlefs", INLINESTRUCT tag, the record
     * (version, block size, count, name/file/attr max; littlefs.md §5.1) exactly as a board's
     * own mkfs writes them for a 2 MiB partition */
    uint8_t blocks[2][48];
    struct error err;
    assert_int_equal(flash_read(&m->img.flash, 0x200000, blocks[0], 48, &err), 0);
    assert_int_equal(flash_read(&m->img.flash, 0x201000, blocks[1], 48, &err), 0);
    int matched = 0;
    for (int b = 0; b < 2; b++)
        matched += memcmp(blocks[b] + 4, ref + 4, 40) == 0;
    assert_true(matched >= 1);
    free(ref);
}

static void v20_image_stays_v20(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = test_read_shared("littlefs-vectors/ref-v20-512k.img", &len);
    if (!img) {
        TEST_SKIP("littlefs-vectors not found");
        return;
    }
    struct flash_image fi;
    struct error err;
    assert_int_equal(flash_image_open(&fi, img, (uint32_t)len, 0, (uint32_t)len, "v20", &err), 0);
    free(img);
    struct fs_partition p = {.name = "vfs", .type = PART_TYPE_DATA,
                             .subtype = PART_SUBTYPE_DATA_FAT, .offset = 0,
                             .size = (uint32_t)len};
    struct fs *fs;
    if (fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err))
        fail_msg("mount: %.400s", err.msg);
    assert_int_equal(fs_mkdir(fs, "newdir", &err), 0);
    assert_int_equal(fs_write_file(fs, "newdir/f.txt", "hello", 5, &err), 0);
    assert_int_equal(fs_unmount(fs, &err), 0);
    assert_int_equal(fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err), 0);
    struct fs_usage u;
    assert_int_equal(fs_usage(fs, &u, &err), 0);
    assert_int_equal(u.disk_version, FS_DISK_VERSION_2_0);
    uint8_t *data;
    size_t n;
    assert_int_equal(fs_read_file(fs, "newdir/f.txt", &data, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    assert_int_equal(fs_unmount(fs, &err), 0);
    flash_close(&fi.flash);
}

/* ---------------------------------------------------------------- shared vectors */

/* The next JSON string value after `key` in text (escapes \" and \\ undone), or NULL. */
static const char *json_string(const char *text, const char *key, char *out, size_t size)
{
    const char *p = strstr(text, key);
    if (!p)
        return NULL;
    p = strchr(p + strlen(key), '"');
    if (!p)
        return NULL;
    p++;
    size_t o = 0;
    while (*p && *p != '"' && o + 1 < size) {
        if (*p == '\\' && p[1])
            p++;
        out[o++] = *p++;
    }
    out[o] = '\0';
    return p;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    SHA256(data, len, md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* get "/" of every image in littlefs-vectors, then compare the local tree with the manifest:
 * each entry there with its type and SHA-256, and nothing else. */
static void get_of_vector_images_matches_manifests(void **state)
{
    struct mock *m = *state;
    static const char *const images[] = {
        "mp-bootlib-1m",        "mp-churn-1m",         "mp-ctz-1m",
        "mp-deep-1m",           "mp-empty-2m",         "mp-rename-pending-512k",
        "mp-rename-pending-sibling-512k", "mp-rmdir-pending-512k", "mp-sbexpand-512k",
        "mp-torn-commit-512k",  "ref-ctz-1m",          "ref-grown-512k",
        "ref-pregrow-512k",     "ref-v20-512k",
    };
    int tested = 0;
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        char rel[128];
        size_t len, jlen;
        snprintf(rel, sizeof rel, "littlefs-vectors/%s.img", images[i]);
        uint8_t *img = test_read_shared(rel, &len);
        snprintf(rel, sizeof rel, "littlefs-vectors/%s.json", images[i]);
        char *json = (char *)test_read_shared(rel, &jlen);
        if (!img || !json) {
            free(img);
            free(json);
            continue;
        }
        json[jlen] = '\0';
        struct flash_image fi;
        struct error err;
        assert_int_equal(flash_image_open(&fi, img, (uint32_t)len, 0, (uint32_t)len, rel, &err),
                         0);
        free(img);
        char num[32];
        uint32_t fs_size = (uint32_t)len;
        const char *fsz = strstr(json, "\"fs_size\":");
        if (fsz)
            fs_size = (uint32_t)strtoul(fsz + 10, NULL, 10);
        (void)num;
        struct fs_partition p = {.name = "vfs", .type = PART_TYPE_DATA,
                                 .subtype = PART_SUBTYPE_DATA_FAT, .size = fs_size};
        struct fs *fs;
        if (fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err))
            fail_msg("%s: mount: %s", images[i], err.msg);
        char dest[512];
        snprintf(dest, sizeof dest, "%s/v-%s", m->tmp, images[i]);
        collect_reset(&m->out);
        if (fs_get(fs, "/", dest, &m->output, &err))
            fail_msg("%s: get: %s", images[i], err.msg);
        /* one copy line per entry plus the first ". -> dest" line */
        int entries = 0;
        const char *cur = strstr(json, "\"entries\"");
        assert_non_null(cur);
        char path[1024], type[16], sha[80];
        while ((cur = json_string(cur, "\"path\"", path, sizeof path)) != NULL) {
            const char *next_path = strstr(cur, "\"path\"");
            assert_non_null(json_string(cur, "\"type\"", type, sizeof type));
            char local[2048];
            snprintf(local, sizeof local, "%s%s", dest, path);
            struct stat st;
            if (lstat(local, &st) != 0)
                fail_msg("%s: %s missing locally", images[i], path);
            if (strcmp(type, "dir") == 0) {
                assert_true(S_ISDIR(st.st_mode));
            } else {
                assert_true(S_ISREG(st.st_mode));
                const char *h = json_string(cur, "\"sha256\"", sha, sizeof sha);
                assert_non_null(h);
                assert_true(!next_path || h < next_path);
                size_t n;
                uint8_t *data = test_read_file(local, &n);
                assert_non_null(data);
                char hex[65];
                sha256_hex(data, n, hex);
                if (strcmp(hex, sha) != 0)
                    fail_msg("%s: %s differs", images[i], path);
                free(data);
            }
            entries++;
        }
        if (m->out.n != entries + 1)
            fail_msg("%s: %d lines for %d manifest entries", images[i], m->out.n, entries);
        assert_int_equal(fs_unmount(fs, &err), 0);
        flash_close(&fi.flash);
        free(json);
        tested++;
    }
    if (!tested) {
        TEST_SKIP("littlefs-vectors not found");
    }
}

/* ---------------------------------------------------------------- computed vfs region */

static void no_vfs_board_uses_computed_region(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = test_read_shared("littlefs-vectors/ref-flash-4m.bin", &len);
    if (!img) {
        TEST_SKIP("littlefs-vectors not found");
        return;
    }
    /* its table at 0x8000 has no vfs row (nvs, phy_init, factory): MicroPython >= v1.26 */
    struct ptable t;
    struct error err;
    assert_int_equal(ptable_parse(img + PTABLE_OFFSET, PTABLE_SIZE, &t, &err), 0);
    assert_int_equal(t.count, 3);
    t.flash_size = 0x400000;
    struct flash_image fi;
    assert_int_equal(flash_image_open(&fi, img, (uint32_t)len, 0, 0x400000, "flash", &err), 0);
    free(img);
    struct fs_partitions parts;
    fs_partitions_from_table(&t, t.flash_size, &parts);
    struct collect out = {0};
    struct log log = {collect_line, &out};
    struct fs_output o = {&log, collect_data, collect_usage, &out, NULL, NULL, NULL};
    struct fs_env env = {.flash = &fi.flash,
                         .parts = &parts,
                         .micropython_version = "v1.26.0",
                         .flush = FS_FLUSH_AT_SYNC,
                         .out = &o};
    /* ls with no argument reaches the filesystem at 0x200000 through "vfs" */
    assert_int_equal(fs_run(&env, "ls", 0, NULL, &err), 0);
    assert_non_null(strstr(out_text(&out), "boot.py\n"));
    assert_non_null(strstr(out_text(&out), "lib/"));
    collect_reset(&out);
    assert_int_equal(fs_run(&env, "df", 0, NULL, &err), 0);
    assert_int_equal(out.n_usage, 1);
    assert_string_equal(out.usage[0].part, "vfs");
    assert_int_equal(out.usage[0].block_count, 512);
    assert_int_equal(out.usage[0].partition_blocks, 512);
    /* mkfs with no argument formats that region and nothing before it */
    uint8_t before[16];
    assert_int_equal(flash_read(&fi.flash, 0x1F0000, before, 16, &err), 0);
    collect_reset(&out);
    assert_int_equal(fs_run(&env, "mkfs", 0, NULL, &err), 0);
    collect_reset(&out);
    assert_int_equal(fs_run(&env, "ls", 0, NULL, &err), 0);
    assert_string_equal(out_text(&out), "boot.py\n");
    uint8_t after[16];
    assert_int_equal(flash_read(&fi.flash, 0x1F0000, after, 16, &err), 0);
    assert_memory_equal(before, after, 16);
    uint8_t magic[8];
    assert_int_equal(flash_read(&fi.flash, 0x200008, magic, 8, &err), 0);
    assert_memory_equal(magic, "littlefs", 8);
    collect_reset(&out);
    flash_close(&fi.flash);
}

/* ---------------------------------------------------------------- crafted images */

/* littlefs's CRC: zlib's CRC-32 without the final inversion, chained (littlefs.md §1). */
static uint32_t lfs_crc(uint32_t crc, const void *data, size_t len)
{
    return (uint32_t)crc32(crc ^ 0xFFFFFFFFu, data, (uInt)len) ^ 0xFFFFFFFFu;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* In one metadata block, replace the data of every tag of type3 type_a or type_b that holds
 * `from` (any data of that length when from is NULL) by `to`, and recompute every commit CRC
 * (littlefs.md §3, §4.1, §4.5). Returns the tags changed. */
static int patch_tags(uint8_t *block, uint32_t bsize, uint32_t type_a, uint32_t type_b,
                      const void *from, const void *to, size_t len)
{
    int replaced = 0;
    uint32_t off = 4, prev = 0xFFFFFFFFu;
    uint32_t crc = lfs_crc(0xFFFFFFFFu, block, 4);
    /* first pass: patch (CRCs are recomputed in a second pass over the patched bytes) */
    for (int pass = 0; pass < 2; pass++) {
        off = 4;
        prev = 0xFFFFFFFFu;
        crc = lfs_crc(0xFFFFFFFFu, block, 4);
        while (off + 4 <= bsize) {
            uint32_t tag = be32(block + off) ^ prev;
            if (tag & 0x80000000u)
                break;
            uint32_t type3 = (tag >> 20) & 0x7FF, size = tag & 0x3FF;
            uint32_t dsize = 4 + (size == 0x3FF ? 0 : size);
            if (off + dsize > bsize)
                break;
            crc = lfs_crc(crc, block + off, 4);
            if ((type3 >> 8) == 5 && type3 != 0x5FF) {
                if (pass == 1) {
                    uint8_t *c = block + off + 4;
                    c[0] = (uint8_t)crc;
                    c[1] = (uint8_t)(crc >> 8);
                    c[2] = (uint8_t)(crc >> 16);
                    c[3] = (uint8_t)(crc >> 24);
                }
                prev = tag ^ (((tag >> 20) & 1u) << 31);
                crc = 0xFFFFFFFFu;
            } else {
                if (pass == 0 && (type3 == type_a || type3 == type_b) && size == len &&
                    (!from || memcmp(block + off + 4, from, len) == 0)) {
                    memcpy(block + off + 4, to, len);
                    replaced++;
                }
                if (size != 0x3FF)
                    crc = lfs_crc(crc, block + off + 4, size);
                prev = tag;
            }
            off += dsize;
        }
    }
    return replaced;
}

/* A 64-block filesystem holding /d/<marker> (a file) and /d/keep.txt, then the marker's name
 * replaced on disk by `name`. */
static void crafted_image(struct flash_image *fi, struct fs_partition *p, const char *marker,
                          const void *name, size_t len, int as_dir)
{
    struct error err;
    uint8_t *erased = malloc(64 * 4096);
    memset(erased, 0xFF, 64 * 4096);
    assert_int_equal(flash_image_open(fi, erased, 64 * 4096, 0, 64 * 4096, "crafted", &err), 0);
    free(erased);
    memset(p, 0, sizeof *p);
    strcpy(p->name, "vfs");
    p->type = PART_TYPE_DATA;
    p->subtype = PART_SUBTYPE_DATA_FAT;
    p->size = 64 * 4096;
    assert_int_equal(fs_mkfs(&fi->flash, p, FS_DISK_VERSION_2_1, FS_FLUSH_AT_SYNC, NULL, &err),
                     0);
    struct fs *fs;
    assert_int_equal(fs_mount(&fs, &fi->flash, p, FS_FLUSH_AT_SYNC, &err), 0);
    assert_int_equal(fs_mkdir(fs, "d", &err), 0);
    assert_int_equal(fs_write_file(fs, "d/keep.txt", "keep", 4, &err), 0);
    char path[64];
    snprintf(path, sizeof path, "d/%s", marker);
    if (as_dir)
        assert_int_equal(fs_mkdir(fs, path, &err), 0);
    else
        assert_int_equal(fs_write_file(fs, path, "evil", 4, &err), 0);
    assert_int_equal(fs_unmount(fs, &err), 0);
    uint32_t n;
    uint8_t *bytes = (uint8_t *)flash_image_bytes(fi, &n);
    int replaced = 0;
    for (uint32_t b = 0; b + 4096 <= n; b += 4096)
        replaced += patch_tags(bytes + b, 4096, 0x001, 0x002, marker, name, len);
    assert_true(replaced >= 1);
}

static void get_refuses_crafted_names(void **state)
{
    struct mock *m = *state;
    static const struct {
        const char *marker;
        const char *name;
        size_t len;
        int as_dir;
        const char *shown; /* how the error names it */
    } cases[] = {
        {"Q7", "..", 2, 0, "'..'"},          {"Q", ".", 1, 0, "'.'"},
        {"Q7Q", "a/b", 3, 0, "'a/b'"},       {"Q7Q7", "/etc", 4, 0, "'/etc'"},
        {"Q7Q", "a\0b", 3, 0, "'a\\x00b'"},  {"Q7", "..", 2, 1, "'..'"},
        {"Q7Q7Q7", "../../", 6, 1, "'../../'"}, {"Q7Q7", "a/\033[", 4, 0, "'a/\\x1b['"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct flash_image fi;
        struct fs_partition p;
        crafted_image(&fi, &p, cases[i].marker, cases[i].name, cases[i].len, cases[i].as_dir);
        struct fs *fs;
        struct error err;
        if (fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err))
            fail_msg("case %zu: mount: %s", i, err.msg);
        char dest[64];
        snprintf(dest, sizeof dest, "out%zu", i);
        collect_reset(&m->out);
        int rc = fs_get(fs, "/", dest, &m->output, &err);
        if (rc == 0)
            fail_msg("case %zu ('%s'): get accepted the crafted name", i, cases[i].name);
        /* the error names the entry and where it is */
        assert_non_null(strstr(err.msg, "vfs:/d"));
        const char *shown = cases[i].shown;
        if (!strstr(err.msg, shown))
            fail_msg("case %zu: '%s' does not name the entry %s", i, err.msg, shown);
        /* nothing landed outside dest: the scratch directory holds only the dest dirs */
        assert_int_equal(access("etc", F_OK), -1);
        assert_int_equal(access("a", F_OK), -1);
        assert_int_equal(access("../etc", F_OK), -1);
        /* ls refuses the same entry rather than printing a misleading path */
        collect_reset(&m->out);
        assert_int_equal(fs_ls(fs, "/", &m->output, &err), -1);
        assert_non_null(strstr(err.msg, shown));
        /* the rest of the image is still readable */
        uint8_t *data;
        size_t n;
        assert_int_equal(fs_read_file(fs, "d/keep.txt", &data, &n, &err), 0);
        assert_int_equal(n, 4);
        free(data);
        assert_int_equal(fs_unmount(fs, &err), 0);
        flash_close(&fi.flash);
    }
}

static void directory_cycle_in_image_ends_with_an_error(void **state)
{
    struct mock *m = *state;
    struct flash_image fi;
    struct fs_partition p;
    crafted_image(&fi, &p, "sub", "sub", 3, 1);
    /* point /d (the root's only DIRSTRUCT, littlefs.md §3.3) back at the root pair {0, 1} */
    uint32_t n;
    uint8_t *bytes = (uint8_t *)flash_image_bytes(&fi, &n);
    static const uint8_t root_pair[8] = {0, 0, 0, 0, 1, 0, 0, 0};
    int patched = 0;
    for (int b = 0; b < 2; b++)
        patched += patch_tags(bytes + b * 4096, 4096, 0x200, 0x200, NULL, root_pair, 8);
    assert_true(patched >= 1);
    struct fs *fs;
    struct error err;
    assert_int_equal(fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err), 0);
    collect_reset(&m->out);
    assert_int_equal(fs_ls(fs, "/", &m->output, &err), -1);
    assert_non_null(strstr(err.msg, "more directories than the filesystem can hold"));
    assert_int_equal(fs_get(fs, "/", "cycle", &m->output, &err), -1);
    assert_int_equal(fs_rm(fs, "/", &err), -1);
    assert_int_equal(fs_unmount(fs, &err), 0);
    flash_close(&fi.flash);
}

static void get_never_writes_through_local_symlinks(void **state)
{
    struct mock *m = *state;
    write_local("victim", "keep", 4);
    assert_int_equal(mkdir("out", 0777), 0);
    assert_int_equal(symlink("../victim", "out/boot.py"), 0);
    struct error err;
    const char *const args[] = {".", "out"};
    assert_int_equal(run(m, "get", 2, args, &err), -1);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_non_null(strstr(err.msg, "out/boot.py"));
    assert_local_equals("victim", "keep", 4);
    /* a single-file get onto a symlink is refused too */
    const char *const one[] = {"boot.py", "out/boot.py"};
    assert_int_equal(run(m, "get", 2, one, &err), -1);
    assert_local_equals("victim", "keep", 4);
    /* a hard link in the destination is replaced, not written through */
    write_local("victim2", "keep", 4);
    assert_int_equal(mkdir("out3", 0777), 0);
    assert_int_equal(link("victim2", "out3/boot.py"), 0);
    RUN_OK(m, "get", "", "boot.py", "out3");
    assert_local_equals("victim2", "keep", 4);
    assert_local_equals("out3/boot.py", FS_BOOT_PY, 139);
    RUN_OK(m, "get", "", "boot.py", "out3/new.py"); /* to a path naming the file */
    assert_local_equals("out3/new.py", FS_BOOT_PY, 139);
    /* no temporary files are left behind */
    DIR *d3 = opendir("out3");
    int n = 0;
    for (struct dirent *de; (de = readdir(d3));)
        n += de->d_name[0] != '.' || strstr(de->d_name, ".tmp") != NULL;
    closedir(d3);
    assert_int_equal(n, 2);
    /* a symlinked directory inside the destination is not followed */
    assert_int_equal(mkdir("elsewhere", 0777), 0);
    assert_int_equal(mkdir("out2", 0777), 0);
    assert_int_equal(symlink("../elsewhere", "out2/ota"), 0);
    const char *const dir[] = {".", "out2"};
    assert_int_equal(run(m, "get", 2, dir, &err), -1);
    assert_non_null(strstr(err.msg, "out2/ota"));
    assert_int_equal(access("elsewhere/rollback.mpy", F_OK), -1);
}

/* ---------------------------------------------------------------- the block cache under littlefs */

static void flush_modes_write_the_same_bytes(void **state)
{
    struct mock *m = *state;
    char src[512];
    snprintf(src, sizeof src, "%s/tree", m->tmp);
    write_local_mock_tree(src);
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&m->img, &len);
    uint8_t *start = malloc(len);
    memcpy(start, bytes, len);

    const struct fs_partition *vfs = fs_partitions_find(&m->parts, "vfs");
    uint8_t *result[2];
    uint32_t writes[2];
    for (int mode = 0; mode < 2; mode++) {
        struct flash_image fi;
        struct error err;
        assert_int_equal(flash_image_open(&fi, start, len, 0x1000, 0x400000, "m", &err), 0);
        struct flash_window w;
        fs_window_open(&w, &fi.flash, vfs);
        struct fs *fs;
        assert_int_equal(fs_mount(&fs, &w.flash, vfs, (enum fs_flush_mode)mode, &err), 0);
        assert_int_equal(fs_put(fs, src, "/", NULL, &err), 0);
        assert_int_equal(fs_rm(fs, "ota", &err), 0);
        const struct fs_cache *c = fs_cache_of(fs);
        /* every block read from flash at most once */
        uint32_t loaded = 0;
        for (uint32_t b = 0; b < c->block_count; b++)
            loaded += c->loaded[b];
        assert_true(c->flash_reads <= loaded);
        if (mode == FS_FLUSH_AT_UNMOUNT)
            assert_int_equal(c->flash_writes, 0);
        else
            assert_true(c->flash_writes > 0);
        assert_int_equal(fs_unmount(fs, &err), 0);
        uint32_t n;
        result[mode] = malloc(len);
        memcpy(result[mode], flash_image_bytes(&fi, &n), len);
        writes[mode] = 0;
        flash_close(&fi.flash);
    }
    /* littlefs cannot tell the modes apart: the images are identical */
    assert_memory_equal(result[0], result[1], len);
    assert_memory_not_equal(result[0], start, len);
    (void)writes;
    free(result[0]);
    free(result[1]);
    free(start);
}

static void replacing_a_file_without_room_for_both_copies(void **state)
{
    (void)state;
    /* 16 blocks: the root pair and a 40000-byte file (10 blocks) leave too little room to
     * write a new 40000-byte version beside the old one */
    uint8_t *erased = malloc(16 * 4096);
    memset(erased, 0xFF, 16 * 4096);
    struct flash_image fi;
    struct error err;
    assert_int_equal(flash_image_open(&fi, erased, 16 * 4096, 0, 16 * 4096, "small", &err), 0);
    free(erased);
    struct fs_partition p = {.name = "vfs", .type = PART_TYPE_DATA,
                             .subtype = PART_SUBTYPE_DATA_FAT, .size = 16 * 4096};
    assert_int_equal(fs_mkfs(&fi.flash, &p, FS_DISK_VERSION_2_1, FS_FLUSH_AT_SYNC, NULL, &err),
                     0);
    struct fs *fs;
    assert_int_equal(fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err), 0);
    uint8_t *v1 = mock_contents("v1", 40000), *v2 = mock_contents("v2", 40000);
    assert_int_equal(fs_write_file(fs, "data.bin", v1, 40000, &err), 0);
    if (fs_write_file(fs, "data.bin", v2, 40000, &err))
        fail_msg("replace: %s", err.msg);
    uint8_t *data;
    size_t n;
    assert_int_equal(fs_read_file(fs, "data.bin", &data, &n, &err), 0);
    assert_int_equal(n, 40000);
    assert_memory_equal(data, v2, 40000);
    free(data);
    /* a file larger than the whole filesystem fails and names where */
    uint8_t *huge = mock_contents("huge", 80000);
    assert_int_equal(fs_write_file(fs, "huge.bin", huge, 80000, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "LFS_ERR_NOSPC"));
    assert_non_null(strstr(err.msg, "vfs:/huge.bin"));
    struct fs_stat st;
    assert_int_equal(fs_stat(fs, "huge.bin", &st, &err), -ENOENT); /* no empty leftover */
    assert_non_null(strstr(err.msg, "LFS_ERR_NOENT"));
    assert_int_equal(fs_unmount(fs, &err), 0);
    flash_close(&fi.flash);
    free(v1);
    free(v2);
    free(huge);
}

/* ---------------------------------------------------------------- cut-off transfers */

/* A flash that stops working at its n-th write: that write lands only in part (its first half,
 * the rest of its range erased, as when a device had erased the region before the link
 * dropped), every later write fails. */
struct cut_flash {
    struct flash_image img;
    struct flash_ops ops;
    const struct flash_ops *inner;
    int writes, cut_at;
    /* like a board: writes wait in a copy of the flash until flush, which sends the changed
     * 4 KiB blocks in address order (as src/device does) */
    uint8_t *shadow;
    uint8_t dirty[0x200000 / 4096];
    uint64_t bytes_read; /* board: what crossed the "line" (256-byte pieces, each once) */
    uint8_t seen[0x200000 / 256];
    int reads; /* board: read requests */
    int md5s;  /* board: comparisons the chip made */
};

static int cut_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    struct cut_flash *c = (struct cut_flash *)f;
    int n = c->writes++;
    if (n < c->cut_at)
        return c->inner->write(f, addr, buf, len, err);
    if (n == c->cut_at) {
        uint32_t half = len / 2;
        uint8_t *torn = malloc(len);
        memcpy(torn, buf, half);
        memset(torn + half, 0xFF, len - half);
        c->inner->write(f, addr, torn, len, err);
        free(torn);
    }
    return error_setk(err, ERROR_DEVICE, "link lost");
}

static int board_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    (void)err;
    struct cut_flash *c = (struct cut_flash *)f;
    memcpy(buf, c->shadow + addr, len);
    c->reads++;
    for (uint32_t p = addr / 256; p <= (addr + len - 1) / 256; p++)
        if (!c->seen[p]) {
            c->seen[p] = 1;
            c->bytes_read += 256;
        }
    return 0;
}

static int board_md5(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16],
                     struct error *err)
{
    (void)err;
    struct cut_flash *c = (struct cut_flash *)f;
    digest_md5(c->shadow + addr, len, out);
    c->md5s++;
    return 0;
}

static int board_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                       struct error *err)
{
    (void)err;
    struct cut_flash *c = (struct cut_flash *)f;
    memcpy(c->shadow + addr, buf, len);
    memset(c->dirty + addr / 4096, 1, (addr + len - 1) / 4096 - addr / 4096 + 1);
    return 0;
}

static int board_flush(struct flash *f, struct error *err)
{
    struct cut_flash *c = (struct cut_flash *)f;
    for (uint32_t b = 0; b < sizeof c->dirty;) {
        uint32_t end = b;
        while (end < sizeof c->dirty && c->dirty[end])
            end++;
        if (end == b) {
            b++;
            continue;
        }
        memset(c->dirty + b, 0, end - b);
        if (cut_write(f, b * 4096, c->shadow + b * 4096, (end - b) * 4096, err))
            return -1;
        b = end;
    }
    return 0;
}

/* A cut flash over a copy of the 2 MiB partition at part; board: writes wait until flush. */
static void cut_open(struct cut_flash *c, const uint8_t *part, int board, int cut_at)
{
    memset(c, 0, sizeof *c);
    struct error err;
    assert_int_equal(flash_image_open(&c->img, part, 0x200000, 0, 0x200000, "cut", &err), 0);
    c->inner = c->img.flash.ops;
    c->ops = *c->inner;
    c->ops.write = cut_write;
    c->cut_at = cut_at;
    if (board) {
        c->shadow = malloc(0x200000);
        assert_non_null(c->shadow);
        memcpy(c->shadow, part, 0x200000);
        c->ops.read = board_read;
        c->ops.write = board_write;
        c->ops.flush = board_flush;
        c->ops.md5 = board_md5;
        c->ops.map = NULL;
        c->img.flash.caps |= FLASH_CAP_LIVE;
    }
    c->img.flash.ops = &c->ops;
}

static void cut_close(struct cut_flash *c)
{
    c->img.flash.ops = c->inner;
    c->img.flash.caps &= ~(unsigned)FLASH_CAP_LIVE;
    flash_close(&c->img.flash);
    free(c->shadow);
}

struct version {
    const char *path;
    const uint8_t *old; /* NULL: absent before */
    size_t old_len;
    const uint8_t *new; /* NULL: absent after */
    size_t new_len;
};

/* 0 when path holds its old or new contents (or is absent/empty where that is allowed), else
 * -1 with why in msg. */
static int check_file(struct fs *fs, const struct version *v, char *msg, size_t size)
{
    struct error err;
    uint8_t *data;
    size_t len;
    if (fs_read_file(fs, v->path, &data, &len, &err) != 0) {
        if (strstr(err.msg, "LFS_ERR_NOENT") && (!v->old || !v->new))
            return 0; /* absent is one of its two states */
        snprintf(msg, size, "%s: %.400s", v->path, err.msg);
        return -1;
    }
    /* littlefs commits a new file, empty, when it is opened (littlefs.md §11.6) */
    int ok = !v->old && len == 0;
    ok |= v->old && len == v->old_len && memcmp(data, v->old, len) == 0;
    ok |= v->new && len == v->new_len && memcmp(data, v->new, len) == 0;
    free(data);
    if (!ok)
        snprintf(msg, size, "%s holds neither its old nor its new contents", v->path);
    return ok ? 0 : -1;
}

/* After a cut: mounts, lists, every file in one of its states, takes a change. */
static int check_after_cut(struct mock *m, struct flash *flash, const struct fs_partition *p,
                           const struct version *files, size_t n, char *msg, size_t size)
{
    struct fs *fs;
    struct error err;
    if (fs_mount(&fs, flash, p, FS_FLUSH_AT_SYNC, &err)) {
        snprintf(msg, size, "mount: %.400s", err.msg);
        return -1;
    }
    int rc = 0;
    collect_reset(&m->out);
    if (fs_ls(fs, "/", &m->output, &err)) {
        snprintf(msg, size, "ls: %.400s", err.msg);
        rc = -1;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = check_file(fs, &files[i], msg, size);
    if (!rc && fs_mkdir(fs, "after", &err)) {
        snprintf(msg, size, "mkdir: %.400s", err.msg);
        rc = -1;
    }
    if (fs_unmount(fs, &err) && !rc) {
        snprintf(msg, size, "unmount: %.400s", err.msg);
        rc = -1;
    }
    return rc;
}

/* Run put/rm/put against a flash cut off at every write in turn: what is left always mounts,
 * every file holds its old or its new contents, and the filesystem takes changes again. */
static void cut_off_at_every_write_leaves_a_consistent_filesystem(void **state)
{
    struct mock *m = *state;
    uint8_t *big = mock_contents("big", 9000), *mid = mock_contents("mid", 5000);
    uint8_t *small = mock_contents("small", 300);
    assert_int_equal(mkdir("t", 0777), 0);
    write_local("t/big.bin", big, 9000);
    write_local("t/mid.bin", mid, 5000);
    write_local("t/small.bin", small, 300);
    static const char boot2[] = "import machine\n";
    write_local("boot.py", boot2, sizeof boot2 - 1);
    uint8_t *status = mock_contents("ota/status.mpy", 2594);
    const struct version files[] = {
        {"t/big.bin", NULL, 0, big, 9000},
        {"t/mid.bin", NULL, 0, mid, 5000},
        {"t/small.bin", NULL, 0, small, 300},
        {"ota/status.mpy", status, 2594, NULL, 0},
        {"boot.py", (const uint8_t *)FS_BOOT_PY, 139, (const uint8_t *)boot2, sizeof boot2 - 1},
    };
    /* the vfs partition alone, as a flash of its own */
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&m->img, &len);
    const uint8_t *part = bytes + (0x200000 - 0x1000);
    struct fs_partition p = {.name = "vfs", .type = PART_TYPE_DATA,
                             .subtype = PART_SUBTYPE_DATA_FAT, .size = 0x200000};
    /* how the changes reach the flash: straight, or through a board's own cache */
    static const struct {
        const char *name;
        enum fs_flush_mode mode;
        int board, safe;
    } ways[] = {
        {"flush at sync", FS_FLUSH_AT_SYNC, 0, 1},
        {"flush at sync, board", FS_FLUSH_AT_SYNC, 1, 1},
        {"batched", FS_FLUSH_BATCHED, 0, 1},
        {"batched, board", FS_FLUSH_BATCHED, 1, 1},
        {"flush at unmount", FS_FLUSH_AT_UNMOUNT, 0, 0},
    };
    uint32_t sync_flushes = 0;
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        int total = -1, bad = 0;
        for (int cut = 0; total < 0 || cut <= total; cut++) {
            struct cut_flash c;
            struct error err;
            cut_open(&c, part, ways[w].board, total < 0 ? 1 << 30 : cut);
            struct fs *fs;
            int batched = ways[w].mode == FS_FLUSH_BATCHED;
            assert_int_equal(
                fs_mount(&fs, &c.img.flash, &p, batched ? FS_FLUSH_AT_SYNC : ways[w].mode, &err),
                0);
            if (batched)
                assert_int_equal(fs_batch(fs, &err), 0);
            /* ends with changes in a new directory: its pair is written after the root's */
            int rc = fs_put(fs, "boot.py", "/", NULL, &err);
            if (!rc)
                rc = fs_rm(fs, "ota/status.mpy", &err);
            if (!rc)
                rc = fs_put(fs, "t", "/", NULL, &err);
            uint32_t flushes = fs_cache_of(fs)->flushes;
            if (fs_unmount(fs, rc ? NULL : &err))
                rc = -1;
            c.img.flash.ops = c.inner; /* what reached the flash, seen directly */
            c.img.flash.caps &= ~(unsigned)FLASH_CAP_LIVE;
            if (total < 0) {
                /* the uncut run: count the writes, then cut at each of them */
                assert_int_equal(rc, 0);
                total = c.writes;
                cut = -1;
                print_message("%s: %u flushes before unmount\n", ways[w].name, flushes);
                if (!batched && ways[w].mode == FS_FLUSH_AT_SYNC)
                    sync_flushes = flushes;
                else if (batched) /* only when the directory changed changes */
                    assert_true(flushes * 3 <= sync_flushes);
            } else {
                assert_true(cut < total ? rc != 0 : rc == 0);
                c.cut_at = 1 << 30; /* the link is back */
                char msg[600];
                if (check_after_cut(m, &c.img.flash, &p, files, sizeof files / sizeof files[0],
                                    msg, sizeof msg)) {
                    if (ways[w].safe)
                        fail_msg("%s: cut at write %d of %d: %s", ways[w].name, cut, total, msg);
                    bad++;
                }
            }
            cut_close(&c);
        }
        /* flushing at unmount is not interruption-safe; the count is for information */
        print_message("%s: %d flash writes, %d cut points leave an inconsistent filesystem\n",
                      ways[w].name, total, bad);
    }
    free(big);
    free(mid);
    free(small);
    free(status);
}

/* A tree put again leaves every file alone; a file changed in place (same size) is written
 * again, alone; a file whose bytes match but whose local modification time changed keeps its
 * bytes and gets the new time. On a firmware file (bytes compared in memory) and on a board
 * (compared by the chip's MD5, the files' blocks never read). */
static void put_again_writes_only_what_changed(void **state)
{
    struct mock *m = *state;
    uint8_t *a = mock_contents("a", 30000), *b = mock_contents("b", 300);
    uint8_t *big = mock_contents("c", 60000);
    assert_int_equal(mkdir("s", 0777), 0);
    write_local("s/a.bin", a, 30000);
    write_local("s/b.bin", b, 300);
    write_local("s/c.bin", big, 60000);
    uint32_t len;
    const uint8_t *part = flash_image_bytes(&m->img, &len) + (0x200000 - 0x1000);
    struct fs_partitions parts = {.count = 1};
    parts.parts[0] = (struct fs_partition){.name = "vfs",
                                           .type = PART_TYPE_DATA,
                                           .subtype = PART_SUBTYPE_DATA_FAT,
                                           .size = 0x200000};
    const char *const args[] = {"s", "/"};
    for (int run = 0; run < 4; run++) {
        int board = run & 1, fat = run >> 1;
        struct cut_flash c;
        cut_open(&c, part, board, 1 << 30);
        struct fs_env env = m->env;
        env.flash = &c.img.flash;
        env.parts = &parts;
        int changed = 0;
        env.changed = &changed;
        struct error err;
        if (fat && fs_mkfs_fat(&c.img.flash, &parts.parts[0], FS_FLUSH_AT_SYNC, NULL, &err))
            fail_msg("mkfs FAT: %s", err.msg);
        collect_reset(&m->out);
        if (fs_run(&env, "put", 2, args, &err))
            fail_msg("first put: %s", err.msg);
        assert_true(changed);
        /* again: nothing written, nothing of the files read */
        int writes = c.writes;
        c.bytes_read = 0;
        memset(c.seen, 0, sizeof c.seen);
        changed = 0;
        collect_reset(&m->out);
        if (fs_run(&env, "put", 2, args, &err))
            fail_msg("second put: %s", err.msg);
        assert_false(changed);
        assert_int_equal(c.writes, writes);
        assert_true(has_line(&m->out, LOG_INFO,
                             "3 files already held the same bytes: not written again"));
        if (board) {
            assert_true(c.md5s >= 2); /* a and c compared on the chip (b too on FAT) */
            if (c.bytes_read >= 30000)
                fail_msg("run %d: %llu bytes read", run, (unsigned long long)c.bytes_read);
        }
        /* one byte of c changed: c alone is written */
        big[12345] ^= 0x5A;
        write_local("s/c.bin", big, 60000);
        collect_reset(&m->out);
        if (fs_run(&env, "put", 2, args, &err))
            fail_msg("third put: %s", err.msg);
        assert_true(changed);
        assert_true(has_line(&m->out, LOG_INFO,
                             "2 files already held the same bytes: not written again"));
        /* only the modification time of b changed: it alone is recorded */
        time_t when = 1700000000 + 2 * run;
        struct timespec ts[2] = {{when, 0}, {when, 0}};
        assert_int_equal(utimensat(AT_FDCWD, "s/b.bin", ts, 0), 0);
        collect_reset(&m->out);
        int before = c.writes;
        if (fs_run(&env, "put", 2, args, &err))
            fail_msg("fourth put: %s", err.msg);
        assert_true(has_line(&m->out, LOG_INFO,
                             "3 files already held the same bytes: not written again"));
        if (board) { /* a directory block (FAT: a sector), not b's contents again */
            print_message("%s: time of one file changed: %d writes\n", fat ? "FAT" : "littlefs",
                          c.writes - before);
            assert_true(c.writes - before >= 1 && c.writes - before <= 2);
        }
        /* what the flash holds, read from it directly */
        c.img.flash.ops = c.inner;
        c.img.flash.caps &= ~(unsigned)FLASH_CAP_LIVE;
        struct fs *fs;
        assert_int_equal(fs_mount(&fs, &c.img.flash, &parts.parts[0], FS_FLUSH_NEVER, &err), 0);
        static const struct {
            const char *path;
            size_t len;
        } want[] = {{"s/a.bin", 30000}, {"s/b.bin", 300}, {"s/c.bin", 60000}};
        const uint8_t *bytes[] = {a, b, big};
        for (int i = 0; i < 3; i++) {
            uint8_t *data;
            size_t n;
            assert_int_equal(fs_read_file(fs, want[i].path, &data, &n, &err), 0);
            assert_int_equal(n, want[i].len);
            assert_memory_equal(data, bytes[i], n);
            free(data);
        }
        struct fs_stat st;
        assert_int_equal(fs_stat(fs, "s/b.bin", &st, &err), 0);
        assert_true(st.has_mtime);
        assert_true(st.mtime_ns == (uint64_t)when * 1000000000u);
        assert_int_equal(fs_unmount(fs, &err), 0);
        cut_close(&c);
        big[12345] ^= 0x5A;
        write_local("s/c.bin", big, 60000);
    }
    free(a);
    free(b);
    free(big);
}

/* get from a board reads each directory's files ahead, in a read per run of blocks instead of
 * a read per block (littlefs and FAT); the files come back whole. */
static void get_from_a_board_reads_files_ahead(void **state)
{
    struct mock *m = *state;
    uint32_t len;
    const uint8_t *part = flash_image_bytes(&m->img, &len) + (0x200000 - 0x1000);
    struct fs_partitions parts = {.count = 1};
    parts.parts[0] = (struct fs_partition){.name = "vfs",
                                           .type = PART_TYPE_DATA,
                                           .subtype = PART_SUBTYPE_DATA_FAT,
                                           .size = 0x200000};
    assert_int_equal(mkdir("g", 0777), 0);
    for (int i = 0; i < 40; i++) {
        char path[32];
        snprintf(path, sizeof path, "g/f%02d.bin", i);
        uint8_t *data = mock_contents(path, i == 7 ? 50000 : 4000);
        write_local(path, data, i == 7 ? 50000 : 4000);
        free(data);
    }
    for (int fat = 0; fat < 2; fat++) {
        struct cut_flash c;
        cut_open(&c, part, 1, 1 << 30);
        struct fs_env env = m->env;
        env.flash = &c.img.flash;
        env.parts = &parts;
        struct error err;
        if (fat && fs_mkfs_fat(&c.img.flash, &parts.parts[0], FS_FLUSH_AT_SYNC, NULL, &err))
            fail_msg("mkfs FAT: %s", err.msg);
        const char *const put_args[] = {"g", "/"};
        if (fs_run(&env, "put", 2, put_args, &err))
            fail_msg("put: %s", err.msg);
        /* a fresh board connection: nothing of the filesystem known yet */
        free(c.shadow);
        uint32_t n;
        const uint8_t *now = flash_image_bytes(&c.img, &n);
        c.shadow = malloc(0x200000);
        memcpy(c.shadow, now, 0x200000);
        c.reads = 0;
        char out[32];
        snprintf(out, sizeof out, "back%d", fat);
        const char *const get_args[] = {"g", out};
        if (fs_run(&env, "get", 2, get_args, &err))
            fail_msg("get: %s", err.msg);
        print_message("%s: get of 40 files (55 blocks): %d reads\n", fat ? "FAT" : "littlefs",
                      c.reads);
        assert_true(c.reads < 25);
        for (int i = 0; i < 40; i++) {
            char path[32], back[48];
            snprintf(path, sizeof path, "g/f%02d.bin", i);
            snprintf(back, sizeof back, "%s/f%02d.bin", out, i);
            uint8_t *data = mock_contents(path, i == 7 ? 50000 : 4000);
            assert_local_equals(back, data, i == 7 ? 50000 : 4000);
            free(data);
        }
        cut_close(&c);
    }
}

/* A file littlefs did not write into consecutive blocks (appended to after another file was
 * written, as on a board) is still recognised as unchanged on a board: its blocks are found along
 * the skip pointers and compared run by run on the chip. A changed byte is still written. */
static void put_again_follows_the_blocks_of_a_fragmented_file(void **state)
{
    struct mock *m = *state;
    uint32_t len;
    uint8_t *part = malloc(0x200000);
    memcpy(part, flash_image_bytes(&m->img, &len) + (0x200000 - 0x1000), 0x200000);
    uint8_t *data = mock_contents("frag", 20000), *other = mock_contents("other", 5000);
    struct ramdev d;
    ramdev_init(&d, part, 4096, 512);
    lfs_t lfs;
    assert_int_equal(lfs_mount(&lfs, &d.cfg), 0);
    lfs_file_t f;
    assert_int_equal(lfs_file_open(&lfs, &f, "/frag.bin", LFS_O_WRONLY | LFS_O_CREAT), 0);
    assert_int_equal(lfs_file_write(&lfs, &f, data, 10000), 10000);
    assert_int_equal(lfs_file_close(&lfs, &f), 0);
    assert_int_equal(lfs_file_open(&lfs, &f, "/other.bin", LFS_O_WRONLY | LFS_O_CREAT), 0);
    assert_int_equal(lfs_file_write(&lfs, &f, other, 5000), 5000);
    assert_int_equal(lfs_file_close(&lfs, &f), 0);
    assert_int_equal(lfs_file_open(&lfs, &f, "/frag.bin", LFS_O_WRONLY | LFS_O_APPEND), 0);
    assert_int_equal(lfs_file_write(&lfs, &f, data + 10000, 10000), 10000);
    assert_int_equal(lfs_file_close(&lfs, &f), 0);
    lfs_block_t head;
    lfs_size_t size;
    assert_int_equal(lfs_file_where(&lfs, "/frag.bin", &head, &size), 0);
    lfs_block_t blocks[5];
    assert_int_equal(lfs_ctz_block_count(4096, size), 5);
    assert_int_equal(lfs_ctz_blocks(&lfs, head, blocks, 5), 0);
    int apart = 0;
    for (int i = 1; i < 5; i++)
        apart |= blocks[i] != blocks[i - 1] + 1;
    assert_true(apart); /* the case under test: not consecutive */
    assert_int_equal(lfs_unmount(&lfs), 0);

    write_local("frag.bin", data, 20000);
    struct fs_partitions parts = {.count = 1};
    parts.parts[0] = (struct fs_partition){.name = "vfs",
                                           .type = PART_TYPE_DATA,
                                           .subtype = PART_SUBTYPE_DATA_FAT,
                                           .size = 0x200000};
    struct cut_flash c;
    cut_open(&c, part, 1, 1 << 30);
    struct fs_env env = m->env;
    env.flash = &c.img.flash;
    env.parts = &parts;
    struct error err;
    const char *const args[] = {"frag.bin", "/"};
    collect_reset(&m->out);
    if (fs_run(&env, "put", 2, args, &err))
        fail_msg("put: %s", err.msg);
    assert_true(
        has_line(&m->out, LOG_INFO, "1 file already held the same bytes: not written again"));
    assert_true(c.md5s >= 2);
    data[15000] ^= 1;
    write_local("frag.bin", data, 20000);
    collect_reset(&m->out);
    if (fs_run(&env, "put", 2, args, &err))
        fail_msg("put: %s", err.msg);
    assert_false(
        has_line(&m->out, LOG_INFO, "1 file already held the same bytes: not written again"));
    c.img.flash.ops = c.inner;
    c.img.flash.caps &= ~(unsigned)FLASH_CAP_LIVE;
    struct fs *fs;
    assert_int_equal(fs_mount(&fs, &c.img.flash, &parts.parts[0], FS_FLUSH_NEVER, &err), 0);
    uint8_t *back;
    size_t n;
    assert_int_equal(fs_read_file(fs, "frag.bin", &back, &n, &err), 0);
    assert_int_equal(n, 20000);
    assert_memory_equal(back, data, n);
    free(back);
    assert_int_equal(fs_unmount(fs, &err), 0);
    cut_close(&c);
    free(part);
    free(data);
    free(other);
}

/* Many batched puts through a board-like flash (writes wait for flush, then go in address
 * order): rounds of a tree of 240 files in 12 directories, each round changing, growing,
 * shrinking and emptying some files, with a directory removed in between; afterwards the flash
 * (read directly) holds exactly the last round's files. Compactions and directory splits make
 * batches end early; every batch must leave the right bytes. */
static void batched_puts_on_a_board_hold_every_round(void **state)
{
    struct mock *m = *state;
    uint32_t len;
    const uint8_t *part = flash_image_bytes(&m->img, &len) + (0x200000 - 0x1000);
    struct fs_partitions parts = {.count = 1};
    parts.parts[0] = (struct fs_partition){.name = "vfs",
                                           .type = PART_TYPE_DATA,
                                           .subtype = PART_SUBTYPE_DATA_FAT,
                                           .size = 0x200000};
    struct cut_flash c;
    cut_open(&c, part, 1, 1 << 30);
    struct fs_env env = m->env;
    env.flash = &c.img.flash;
    env.parts = &parts;
    assert_int_equal(mkdir("r", 0777), 0);
    static uint32_t sizes[12][20];
    uint32_t x = 12345;
    struct error err;
    for (int round = 0; round < 4; round++) {
        for (int d = 0; d < 12; d++) {
            char dir[32];
            snprintf(dir, sizeof dir, "r/d%02d", d);
            mkdir(dir, 0777);
            for (int f = 0; f < 20; f++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                if (round > 0 && x % 3 != 0)
                    continue; /* a third of the files change in each later round */
                sizes[d][f] = x % 7 == 0 ? 0 : (x >> 8) % 12000;
                char path[64], seed[96];
                snprintf(path, sizeof path, "%s/f%02d.bin", dir, f);
                snprintf(seed, sizeof seed, "%s#%d", path, round);
                uint8_t *data = mock_contents(seed, sizes[d][f]);
                write_local(path, data, sizes[d][f]);
                free(data);
            }
        }
        const char *const put_args[] = {"r", "/"};
        if (fs_run(&env, "put", 2, put_args, &err))
            fail_msg("round %d: put: %s", round, err.msg);
        if (round == 1) {
            /* a directory removed on the board and put again in the next round */
            const char *const rm_args[] = {"/r/d05"};
            if (fs_run(&env, "rm", 1, rm_args, &err))
                fail_msg("rm: %s", err.msg);
        }
    }
    c.img.flash.ops = c.inner;
    c.img.flash.caps &= ~(unsigned)FLASH_CAP_LIVE;
    struct fs *fs;
    assert_int_equal(fs_mount(&fs, &c.img.flash, &parts.parts[0], FS_FLUSH_NEVER, &err), 0);
    for (int d = 0; d < 12; d++)
        for (int f = 0; f < 20; f++) {
            char path[64];
            snprintf(path, sizeof path, "r/d%02d/f%02d.bin", d, f);
            size_t want_len;
            uint8_t *want = test_read_file(path, &want_len);
            assert_non_null(want);
            uint8_t *data;
            size_t n;
            if (fs_read_file(fs, path, &data, &n, &err))
                fail_msg("%s: %s", path, err.msg);
            if (n != want_len || memcmp(data, want, n) != 0)
                fail_msg("%s: %zu bytes on the flash, %zu local, or other bytes", path, n,
                         want_len);
            free(data);
            free(want);
        }
    assert_int_equal(fs_unmount(fs, &err), 0);
    print_message("4 rounds of puts: %d flash writes\n", c.writes);
    assert_true(c.writes > 8); /* batches ended early: the paths above were taken */
    cut_close(&c);
}

/* Out of memory at every allocation in turn (SQLite's out-of-memory runs): --fs commands that
 * put, remove and make directories, each allocation of the engine and the command layer failing
 * once (transient) or for good from there on (persistent). Every such run fails with a message
 * naming the cause, frees what it took (the sanitizer pass checks), and leaves a filesystem
 * that mounts with every file in its old or its new state. */
static void out_of_memory_at_every_allocation_leaves_a_consistent_filesystem(void **state)
{
    struct mock *m = *state;
    uint8_t *big = mock_contents("big", 9000), *small = mock_contents("small", 300);
    assert_int_equal(mkdir("t", 0777), 0);
    write_local("t/big.bin", big, 9000);
    write_local("t/small.bin", small, 300);
    static const char boot2[] = "import machine\n";
    write_local("boot.py", boot2, sizeof boot2 - 1);
    uint8_t *status = mock_contents("ota/status.mpy", 2594);
    const struct version files[] = {
        {"t/big.bin", NULL, 0, big, 9000},
        {"t/small.bin", NULL, 0, small, 300},
        {"ota/status.mpy", status, 2594, NULL, 0},
        {"boot.py", (const uint8_t *)FS_BOOT_PY, 139, (const uint8_t *)boot2, sizeof boot2 - 1},
    };
    static const struct {
        const char *cmd;
        int argc;
        const char *argv[2];
    } steps[] = {
        {"put", 1, {"boot.py"}}, {"rm", 1, {"ota/status.mpy"}}, {"put", 1, {"t"}},
        {"mkdir", 1, {"d/e"}},   {"ls", 0, {NULL}},
    };
    /* a small filesystem of its own (64 blocks) holding boot.py and ota/status.mpy, so that
     * the hundreds of runs stay quick under the sanitizers too */
    enum { SIZE = 64 * FS_BLOCK_SIZE };
    struct fs_partitions parts = {.count = 1};
    parts.parts[0] = (struct fs_partition){.name = "vfs",
                                           .type = PART_TYPE_DATA,
                                           .subtype = PART_SUBTYPE_DATA_FAT,
                                           .size = SIZE};
    uint8_t *part = malloc(SIZE);
    {
        struct flash_image fi;
        struct error err;
        memset(part, 0xFF, SIZE);
        assert_int_equal(flash_image_open(&fi, part, SIZE, 0, SIZE, "oom", &err), 0);
        assert_int_equal(fs_mkfs(&fi.flash, &parts.parts[0], FS_DISK_VERSION_2_1,
                                 FS_FLUSH_AT_SYNC, NULL, &err),
                         0);
        struct fs *fs;
        assert_int_equal(fs_mount(&fs, &fi.flash, &parts.parts[0], FS_FLUSH_AT_SYNC, &err), 0);
        assert_int_equal(fs_mkdir(fs, "ota", &err), 0);
        assert_int_equal(fs_write_file(fs, "ota/status.mpy", status, 2594, &err), 0);
        assert_int_equal(fs_unmount(fs, &err), 0);
        uint32_t len;
        memcpy(part, flash_image_bytes(&fi, &len), SIZE);
        flash_close(&fi.flash);
    }
    for (int persistent = 0; persistent < 2; persistent++) {
        long n = 0, failing_runs = 0;
        for (;; n++) {
            struct flash_image fi;
            struct error err;
            assert_int_equal(flash_image_open(&fi, part, SIZE, 0, SIZE, "oom", &err), 0);
            struct fs_env env = m->env;
            env.flash = &fi.flash;
            env.parts = &parts;
            error_clear(&err);
            collect_reset(&m->out);
            mp_alloc_fail_at(n, persistent);
            int rc = 0;
            for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !rc; i++)
                rc = fs_run(&env, steps[i].cmd, steps[i].argc, steps[i].argv, &err);
            long failures = mp_alloc_failures();
            mp_alloc_fail_at(-1, 0);
            if (failures == 0) {
                /* past the last allocation: the commands ran to the end */
                if (rc)
                    fail_msg("without a failed allocation: %s", err.msg);
                flash_close(&fi.flash);
                break;
            }
            /* never a success (ls used to skip the partition, listing nothing) */
            if (!rc)
                fail_msg("allocation %ld failed, yet the commands succeeded", n);
            failing_runs++;
            if (!strstr(err.msg, "LFS_ERR_NOMEM") && !strstr(err.msg, "out of memory"))
                fail_msg("allocation %ld failed, but the error says: %s", n, err.msg);
            char msg[600];
            if (check_after_cut(m, &fi.flash, &parts.parts[0], files,
                                sizeof files / sizeof files[0], msg, sizeof msg))
                fail_msg("allocation %ld%s failed: %s", n, persistent ? " and on" : "", msg);
            flash_close(&fi.flash);
        }
        assert_true(n > 50);
        print_message("%s: %ld allocations, %ld runs failed\n",
                      persistent ? "persistent" : "transient", n, failing_runs);
    }
    free(part);
    free(big);
    free(small);
    free(status);
}

static int unreadable(struct flash *f, uint32_t addr, void *buf, uint32_t len,
                      struct error *err)
{
    (void)f, (void)addr, (void)buf, (void)len;
    return error_fail(err, -EIO, ERROR_DEVICE, "no reply from the chip");
}

/* A flash that cannot be read is an error for the commands that skip a partition without a
 * filesystem: ls, cat, get, df and info say why instead of listing nothing. */
static void unreadable_flash_is_an_error_not_a_partition_to_skip(void **state)
{
    struct mock *m = *state;
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&m->img, &len);
    struct cut_flash c;
    memset(&c, 0, sizeof c);
    struct error err;
    assert_int_equal(
        flash_image_open(&c.img, bytes + (0x200000 - 0x1000), 0x200000, 0, 0x200000, "dead",
                         &err),
        0);
    c.inner = c.img.flash.ops;
    c.ops = *c.inner;
    c.ops.read = unreadable;
    c.ops.map = NULL;
    c.img.flash.ops = &c.ops;
    struct fs_partitions parts = {.count = 1};
    parts.parts[0] = (struct fs_partition){.name = "vfs", .type = PART_TYPE_DATA,
                                           .subtype = PART_SUBTYPE_DATA_FAT, .size = 0x200000};
    struct fs_env env = m->env;
    env.flash = &c.img.flash;
    env.parts = &parts;
    static const char *const cmds[] = {"ls", "cat", "get", "df", "info"};
    const char *const args[] = {"boot.py"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        error_clear(&err);
        collect_reset(&m->out);
        int with_arg = !strcmp(cmds[i], "cat") || !strcmp(cmds[i], "get");
        assert_int_not_equal(fs_run(&env, cmds[i], with_arg, args, &err), 0);
        assert_non_null(strstr(err.msg, "no reply from the chip"));
    }
    flash_close(&c.img.flash);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, mock_setup, mock_teardown)
    const struct CMUnitTest tests[] = {
        T(ls_lists_files_then_dirs_recursively),
        T(ls_errors_name_the_path),
        T(dot_dot_in_device_paths_goes_up),
        T(cat_prints_boot_py),
        T(rename_then_ls),
        T(mkdir_then_ls),
        T(mkdir_several_paths_all_apply),
        T(rm_file_and_tree),
        T(rm_several_paths_all_apply),
        T(mkfs_leaves_boot_py),
        T(df_reports_blocks),
        T(info_lines),
        T(grow_to_the_resized_partition),
        T(grow_beyond_partition_refused_on_stock_table),
        T(get_file_copies_bytes),
        T(put_then_get_round_trip),
        T(put_file_to_new_name),
        T(put_missing_source_is_an_error),
        T(put_follows_file_links_but_not_directory_links),
        T(put_several_files_all_apply),
        T(get_directory_copies_contents),
        T(put_directory_then_get),
        T(commands_on_a_second_partition),
        T(commands_tell_whether_flash_changed),
        T(partition_beyond_the_firmware_file),
        T(unknown_command),
        T(mkfs_version_follows_firmware_and_changes_keep_it),
        T(get_refuses_crafted_names),
        T(directory_cycle_in_image_ends_with_an_error),
        T(get_never_writes_through_local_symlinks),
        T(flush_modes_write_the_same_bytes),
        T(put_again_writes_only_what_changed),
        T(batched_puts_on_a_board_hold_every_round),
        T(put_again_follows_the_blocks_of_a_fragmented_file),
        T(get_from_a_board_reads_files_ahead),
        cmocka_unit_test(replacing_a_file_without_room_for_both_copies),
        T(cut_off_at_every_write_leaves_a_consistent_filesystem),
        T(out_of_memory_at_every_allocation_leaves_a_consistent_filesystem),
        T(unreadable_flash_is_an_error_not_a_partition_to_skip),
    };
    const struct CMUnitTest shared_tests[] = {
        T(mkfs_superblock_is_micropythons),
        cmocka_unit_test(v20_image_stays_v20),
        cmocka_unit_test(no_vfs_board_uses_computed_region),
        T(get_of_vector_images_matches_manifests),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
