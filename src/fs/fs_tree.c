/* Files and directories inside a mounted filesystem: paths, listings, reading and writing
 * files, mkdir, rm and rename. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/alloc.h"

/* ---------------------------------------------------------------- paths */

/* The littlefs form of a command-line path: absolute (so messages name it from the root),
 * "." and empty components dropped, ".." taking away the component before it (never above
 * the root), as upstream littlefs resolves paths; the engine itself does not. Caller frees. */
char *fs_lfs_path(const char *path)
{
    size_t n = strlen(path) + 2;
    char *p = mp_malloc(n);
    if (!p)
        return NULL;
    size_t o = 0;
    const char *c = path;
    while (*c) {
        while (*c == '/')
            c++;
        const char *start = c;
        while (*c && *c != '/')
            c++;
        size_t len = (size_t)(c - start);
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            while (o > 0 && p[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the '/' before the dropped component */
            continue;
        }
        p[o++] = '/';
        memcpy(p + o, start, len);
        o += len;
    }
    if (o == 0)
        p[o++] = '/';
    p[o] = '\0';
    return p;
}

char *fs_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = mp_malloc(n);
    if (p)
        fs_path_join(a, b, p, n);
    return p;
}

/* ---------------------------------------------------------------- directories */

void fs_entries_free(struct fs_entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].name);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int entries_add(struct fs_entries *e, const char *name, uint32_t size)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct fs_entry *v = mp_realloc(e->v, cap * sizeof *v);
        if (!v)
            return -1;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n].name = mp_strdup(name);
    if (!e->v[e->n].name)
        return -1;
    e->v[e->n].size = size;
    e->n++;
    return 0;
}

/* A name from an image as it may be shown in a message: bytes outside printable ASCII (and
 * the backslash) as \xNN, so a crafted name cannot carry terminal control sequences. */
static void escape_name(const char *name, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < size; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

/* The entries of a directory in littlefs order, files and subdirectories apart. Names that are
 * not one safe path component are refused here, before anything uses them as a path. */
int fs_read_dir(struct fs *fs, const char *path, struct fs_entries *files,
                struct fs_entries *dirs, struct error *err)
{
    /* Every directory owns a metadata pair (two blocks), so a walk meeting more directories
     * than half the blocks is going round a cycle of a corrupt or crafted image. */
    if (++fs->dirs_walked > fs->cache.block_count / 2 + 1)
        return error_setk(err, ERROR_LITTLEFS,
                          "'%s:%s': more directories than the filesystem can hold (corrupt "
                          "directory structure)",
                          fs->name, path);
    lfs_dir_t dir;
    int rc = lfs_dir_open(&fs->lfs, &dir, path);
    if (rc)
        return fs_lfs_fail(fs, rc, path, err);
    int result = 0;
    struct lfs_info info;
    for (;;) {
        /* littlefs fills the rest of the name buffer with zeros: a byte after the first NUL
         * means the stored name itself holds a NUL */
        memset(&info, 0, sizeof info);
        if ((rc = lfs_dir_read(&fs->lfs, &dir, &info)) <= 0)
            break;
        size_t len = sizeof info.name;
        while (len > 0 && info.name[len - 1] == '\0')
            len--;
        /* the engine hands out stored entries only (no "." or ".."): each must be a plain
         * name to be used as a path component */
        if (!fs_name_is_safe(info.name, len)) {
            char shown[4 * (LFS_NAME_MAX + 1) + 1];
            escape_name(info.name, len, shown, sizeof shown);
            result = error_setk(err, ERROR_LITTLEFS,
                                "Refusing entry '%s' in '%s:%s': not a plain file name", shown,
                                fs->name, path);
            break;
        }
        struct fs_entries *e = info.type == LFS_TYPE_DIR ? dirs : files;
        if (entries_add(e, info.name, info.size)) {
            result = fs_oom(err);
            break;
        }
    }
    if (rc < 0 && result == 0)
        result = fs_lfs_fail(fs, rc, path, err);
    lfs_dir_close(&fs->lfs, &dir);
    if (result) {
        fs_entries_free(files);
        fs_entries_free(dirs);
    }
    return result;
}

int fs_stat_path(struct fs *fs, const char *path, struct lfs_info *info, struct error *err)
{
    int rc = lfs_stat(&fs->lfs, path, info);
    return rc ? fs_lfs_fail(fs, rc, path, err) : 0;
}

/* ---------------------------------------------------------------- ls */

static int ls_dir(struct fs *fs, const char *path, const char *rel, int depth,
                  const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", fs->name,
                          path);
    struct fs_entries files = {0}, dirs = {0};
    if (fs_read_dir(fs, path, &files, &dirs, err))
        return -1;
    int result = 0;
    /* this level's files, then its directories with a '/' */
    const struct fs_entries *level[2] = {&files, &dirs};
    for (int k = 0; k < 2 && !result; k++)
        for (size_t i = 0; i < level[k]->n && !result; i++) {
            char *p = fs_join(rel, level[k]->v[i].name);
            if (!p)
                result = fs_oom(err);
            else
                log_printf(fs_log(out), LOG_OUTPUT, "%s%s", p, k ? "/" : "");
            free(p);
        }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = fs_join(path, dirs.v[i].name);
        char *subrel = fs_join(rel, dirs.v[i].name);
        if (!sub || !subrel)
            result = fs_oom(err);
        else
            result = ls_dir(fs, sub, subrel, depth + 1, out, err);
        free(sub);
        free(subrel);
    }
    fs_entries_free(&files);
    fs_entries_free(&dirs);
    return result;
}

int fs_ls(struct fs *fs, const char *path, const struct fs_output *out, struct error *err)
{
    fs->dirs_walked = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct lfs_info info;
    int result = fs_stat_path(fs, p, &info, err);
    if (!result && info.type != LFS_TYPE_DIR)
        result = fs_lfs_fail(fs, LFS_ERR_NOTDIR, p, err);
    if (!result)
        result = ls_dir(fs, p, ".", 0, out, err);
    free(p);
    return result;
}

/* ---------------------------------------------------------------- files */

int fs_cat(struct fs *fs, const char *path, const struct fs_output *out, struct error *err)
{
    uint8_t *data;
    size_t len;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct lfs_info info;
    int result = fs_stat_path(fs, p, &info, err);
    if (!result && info.type != LFS_TYPE_REG)
        result = error_setk(err, ERROR_FILE, "%s is not a file.", path);
    free(p);
    if (result || fs_read_file(fs, path, &data, &len, err))
        return -1;
    if (out && out->data && len)
        out->data(out->ctx, data, len);
    free(data);
    return 0;
}

int fs_read_file(struct fs *fs, const char *path, uint8_t **data, size_t *len, struct error *err)
{
    *data = NULL;
    *len = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    lfs_file_t file;
    int rc = lfs_file_open(&fs->lfs, &file, p, LFS_O_RDONLY);
    if (rc) {
        fs_lfs_fail(fs, rc, p, err);
        free(p);
        return -1;
    }
    int result = 0;
    lfs_soff_t size = lfs_file_size(&fs->lfs, &file);
    uint64_t room = (uint64_t)fs->cache.block_count * FS_BLOCK_SIZE;
    uint8_t *buf = size >= 0 && (uint64_t)size <= room ? mp_malloc((size_t)size + 1) : NULL;
    if (size < 0)
        result = fs_lfs_fail(fs, (int)size, p, err);
    else if ((uint64_t)size > room)
        result = error_setk(err, ERROR_LITTLEFS,
                            "'%s:%s': recorded size %ld is larger than the filesystem (corrupt)",
                            fs->name, p, (long)size);
    else if (!buf)
        result = fs_oom(err);
    size_t got = 0;
    while (!result && got < (size_t)size) {
        lfs_ssize_t n = lfs_file_read(&fs->lfs, &file, buf + got, (lfs_size_t)size - got);
        if (n < 0)
            result = fs_lfs_fail(fs, (int)n, p, err);
        else if (n == 0)
            break;
        else
            got += (size_t)n;
    }
    /* the size the directory records must be the bytes the file holds */
    if (!result && got != (size_t)size)
        result = error_setk(err, ERROR_LITTLEFS, "'%s:%s': read %zu of %ld bytes", fs->name, p,
                            got, (long)size);
    lfs_file_close(&fs->lfs, &file);
    free(p);
    if (result) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = got;
    return 0;
}

/* One try at writing path: open with truncation, copy, close. littlefs commits the new contents
 * at close in one step, so an interrupted transfer leaves the old file. *nospc tells a failure
 * for want of free blocks. */
static int write_attempt(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                         const char *what, int *nospc, struct error *err)
{
    *nospc = 0;
    /* a local file's modification time goes with it, as MicroPython records one */
    uint8_t mtime[8];
    struct lfs_attr attr = {.type = FS_ATTR_MTIME, .buffer = mtime, .size = sizeof mtime};
    struct lfs_file_config fcfg;
    memset(&fcfg, 0, sizeof fcfg);
    struct stat st;
#ifdef _WIN32
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_mtime >= 0) {
        uint64_t ns = (uint64_t)st.st_mtime * 1000000000u;
#else
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_sec >= 0) {
        uint64_t ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
#endif
        for (int i = 0; i < 8; i++)
            mtime[i] = (uint8_t)(ns >> (8 * i));
        fcfg.attrs = &attr;
        fcfg.attr_count = 1;
    }
    /* the buffer before the file: once opened with truncation, closing commits what it holds */
    uint8_t *buf = fd >= 0 ? mp_malloc(FS_COPY_CHUNK) : NULL;
    if (fd >= 0 && !buf)
        return fs_oom(err);
    lfs_file_t file;
    int rc = lfs_file_opencfg(&fs->lfs, &file, p, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC,
                              &fcfg);
    if (rc) {
        free(buf);
        *nospc = rc == LFS_ERR_NOSPC && !fs->io_failed;
        return fs_lfs_fail(fs, rc, p, err);
    }
    int result = 0;
    uint64_t total = 0;
    while (!result) {
        const void *chunk = data;
        ssize_t n = (ssize_t)len;
        if (fd >= 0) {
            n = read(fd, buf, FS_COPY_CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                result = error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
                break;
            }
            chunk = buf;
        }
        if (n == 0)
            break;
        lfs_ssize_t w = lfs_file_write(&fs->lfs, &file, chunk, (lfs_size_t)n);
        if (w < 0) {
            *nospc = w == LFS_ERR_NOSPC && !fs->io_failed;
            result = fs_lfs_fail(fs, (int)w, p, err);
        }
        total += (uint64_t)n;
        if (fd < 0)
            break;
    }
    free(buf);
    /* after a failed write the engine drops the file's changes at close */
    rc = lfs_file_close(&fs->lfs, &file);
    if (rc && !result) {
        *nospc = rc == LFS_ERR_NOSPC && !fs->io_failed;
        result = fs_lfs_fail(fs, rc, p, err);
    }
    if (!result) {
        struct lfs_info info;
        rc = lfs_stat(&fs->lfs, p, &info);
        if (rc)
            result = fs_lfs_fail(fs, rc, p, err);
        else if (info.size != total)
            result = error_setk(err, ERROR_LITTLEFS, "'%s:%s': wrote %llu bytes, holds %lu",
                                fs->name, p, (unsigned long long)total, (unsigned long)info.size);
    }
    return result;
}

/* Create or replace path's contents (from fd when fd >= 0, else from data). A replacement is
 * atomic (the old contents stay until the new are complete) when there is room for both; when
 * there is not, the old file is removed first, as the Python tool always did. */
int fs_write_file_from(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                       const char *what, struct error *err)
{
    struct lfs_info info;
    int rc = lfs_stat(&fs->lfs, p, &info);
    if (rc == 0 && info.type == LFS_TYPE_DIR)
        return fs_lfs_fail(fs, LFS_ERR_ISDIR, p, err);
    if (rc && rc != LFS_ERR_NOENT)
        return fs_lfs_fail(fs, rc, p, err);
    int existed = rc == 0, nospc;
    int result = write_attempt(fs, p, fd, data, len, what, &nospc, err);
    if (result && nospc && existed) {
        if ((rc = lfs_remove(&fs->lfs, p)) != 0)
            return fs_lfs_fail(fs, rc, p, err);
        if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0)
            return error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
        result = write_attempt(fs, p, fd, data, len, what, &nospc, err);
    }
    /* a new file is committed empty at open: do not leave that behind after a failure */
    if (result && !existed && !fs->io_failed)
        lfs_remove(&fs->lfs, p);
    return result;
}

int fs_write_file(struct fs *fs, const char *path, const void *data, size_t len,
                  struct error *err)
{
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    int result = fs_write_file_from(fs, p, -1, data, len, path, err);
    free(p);
    return result;
}

int fs_stat(struct fs *fs, const char *path, struct fs_stat *st, struct error *err)
{
    memset(st, 0, sizeof *st);
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct lfs_info info;
    int result = fs_stat_path(fs, p, &info, err);
    if (!result) {
        st->is_dir = info.type == LFS_TYPE_DIR;
        st->size = info.size;
        uint8_t m[8];
        lfs_ssize_t n = lfs_getattr(&fs->lfs, p, FS_ATTR_MTIME, m, sizeof m);
        if (n == (lfs_ssize_t)sizeof m) {
            st->has_mtime = 1;
            for (int i = 7; i >= 0; i--)
                st->mtime_ns = st->mtime_ns << 8 | m[i];
        }
    }
    free(p);
    return result;
}

/* ---------------------------------------------------------------- mkdir, rm, rename */

int fs_mkdir_parents(struct fs *fs, const char *p, struct error *err)
{
    /* p is in normal form; create each prefix ending at a '/' and then p itself */
    size_t n = strlen(p);
    char *prefix = mp_malloc(n + 1);
    if (!prefix)
        return fs_oom(err);
    int result = 0;
    for (size_t i = 1; i <= n && !result; i++) {
        if (i < n && p[i] != '/')
            continue;
        memcpy(prefix, p, i);
        prefix[i] = '\0';
        if (strcmp(prefix, "/") == 0)
            continue;
        int rc = lfs_mkdir(&fs->lfs, prefix);
        if (rc == LFS_ERR_EXIST) {
            struct lfs_info info;
            rc = lfs_stat(&fs->lfs, prefix, &info);
            if (rc == 0 && info.type != LFS_TYPE_DIR)
                rc = LFS_ERR_EXIST;
        }
        if (rc)
            result = fs_lfs_fail(fs, rc, prefix, err);
    }
    free(prefix);
    return result;
}

int fs_mkdir(struct fs *fs, const char *path, struct error *err)
{
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    int result = fs_mkdir_parents(fs, p, err);
    free(p);
    return result;
}

static int rm_tree(struct fs *fs, const char *p, int depth, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", fs->name, p);
    struct fs_entries files = {0}, dirs = {0};
    if (fs_read_dir(fs, p, &files, &dirs, err))
        return -1;
    int result = 0;
    for (size_t i = 0; i < files.n && !result; i++) {
        char *sub = fs_join(p, files.v[i].name);
        int rc = sub ? lfs_remove(&fs->lfs, sub) : 0;
        if (!sub)
            result = fs_oom(err);
        else if (rc)
            result = fs_lfs_fail(fs, rc, sub, err);
        free(sub);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = fs_join(p, dirs.v[i].name);
        if (!sub)
            result = fs_oom(err);
        else
            result = rm_tree(fs, sub, depth + 1, err);
        free(sub);
    }
    fs_entries_free(&files);
    fs_entries_free(&dirs);
    if (!result && strcmp(p, "/") != 0) {
        int rc = lfs_remove(&fs->lfs, p);
        if (rc)
            result = fs_lfs_fail(fs, rc, p, err);
    }
    return result;
}

int fs_rm(struct fs *fs, const char *path, struct error *err)
{
    fs->dirs_walked = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct lfs_info info;
    int result = 0;
    int rc = lfs_stat(&fs->lfs, p, &info);
    if (rc == LFS_ERR_NOENT && !fs->io_failed)
        result = error_setk(err, ERROR_FILE,
                            "[LittleFSError -2] No such file or directory: '%s'.", path);
    else if (rc)
        result = fs_lfs_fail(fs, rc, p, err);
    else if (info.type == LFS_TYPE_DIR)
        result = rm_tree(fs, p, 0, err);
    else if ((rc = lfs_remove(&fs->lfs, p)) != 0)
        result = fs_lfs_fail(fs, rc, p, err);
    free(p);
    return result;
}

int fs_rename(struct fs *fs, const char *from, const char *to, struct error *err)
{
    char *a = fs_lfs_path(from), *b = fs_lfs_path(to);
    int result = 0;
    if (!a || !b)
        result = fs_oom(err);
    else {
        int rc = lfs_rename(&fs->lfs, a, b);
        if (rc)
            result = fs_lfs_fail(fs, rc, a, err);
    }
    free(a);
    free(b);
    return result;
}
