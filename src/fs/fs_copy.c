/* get and put: copies between a mounted filesystem and local files and directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/atomic_write.h"
#include "util/alloc.h"

/* ---------------------------------------------------------------- get */

static int local_fail(const char *what, const char *path, struct error *err)
{
    if (errno == ELOOP)
        return error_setk(err, ERROR_OS, "Refusing to %s through the symbolic link '%s'", what,
                          path);
    return error_setk(err, ERROR_OS, "Cannot %s '%s': %s", what, path, strerror(errno));
}

/* Write a filesystem's file as name in dirfd, whole or not at all (util/atomic_write.h): nothing
 * is written through a link (a symlink in the way is refused, a hard link is replaced, not
 * written into), an interrupted copy leaves the old file, and the input firmware is never
 * replaced. */
static int get_file(struct fs *fs, const char *p, int dirfd, const char *name,
                    const char *display, struct error *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            errno = ELOOP;
            return local_fail("write", display, err);
        }
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return local_fail("write", display, err);
        }
    }
    uint8_t *data;
    size_t len;
    if (fs_read_file(fs, p, &data, &len, err))
        return -1;
    int result = atomic_write_at(dirfd, name, data, len, display, fs->protect, err);
    free(data);
#ifndef _WIN32
    /* a regular file keeps the modification time MicroPython recorded (as mcopy -m does);
     * a device or FIFO written through is left alone */
    struct fs_stat fst;
    if (!result && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        fs->eng->stat(fs, p, &fst, NULL) == 0 && fst.has_mtime) {
        struct timespec ts[2];
        ts[0].tv_sec = (time_t)(fst.mtime_ns / 1000000000u);
        ts[0].tv_nsec = (long)(fst.mtime_ns % 1000000000u);
        ts[1] = ts[0];
        utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
    }
#endif
    return result;
}

/* Make (or reuse) directory name in dirfd and open it, refusing a symlink in its place. */
static int open_subdir(int dirfd, const char *name, const char *display, struct error *err)
{
    if (mkdirat(dirfd, name, 0777) && errno != EEXIST)
        return local_fail("create directory", display, err);
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR) {
            /* O_NOFOLLOW on a symlink to a directory says ELOOP or ENOTDIR; say which */
            struct stat st;
            if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                errno = ELOOP;
        }
        return local_fail("create directory", display, err);
    }
    return fd;
}

static void file_written(const struct fs_output *out, const char *path)
{
    if (out && out->file_written)
        out->file_written(out->ctx, path);
}

static int get_tree(struct fs *fs, const char *src, int dirfd, const char *dst, int depth,
                    const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, fs->eng->error_kind, "'%s:%s': directories nest too deep",
                          fs->name, src);
    char *p = fs_lfs_path(src);
    if (!p)
        return fs_oom(err);
    struct fs_entries files = {0}, dirs = {0};
    int result = fs_read_dir(fs, p, &files, &dirs, err);
    /* on a board, the directory's files in a few streamed reads rather than block by block */
    if (!result)
        result = fs_read_ahead(fs, p, &files, err);
    for (size_t i = 0; i < files.n && !result; i++) {
        char *s = fs_join(src, files.v[i].name), *d = fs_join(dst, files.v[i].name);
        char *sp = fs_join(p, files.v[i].name);
        if (!s || !d || !sp)
            result = fs_oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, d);
            result = get_file(fs, sp, dirfd, files.v[i].name, d, err);
            if (!result)
                file_written(out, d);
        }
        free(s);
        free(d);
        free(sp);
    }
    /* each level's directories are made (and announced) first, then entered one at a time,
     * so only one descriptor per level is open */
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *s = fs_join(src, dirs.v[i].name), *d = fs_join(dst, dirs.v[i].name);
        if (!s || !d)
            result = fs_oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s/ -> %s/", s, d);
            if (mkdirat(dirfd, dirs.v[i].name, 0777) && errno != EEXIST)
                result = local_fail("create directory", d, err);
        }
        free(s);
        free(d);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *s = fs_join(src, dirs.v[i].name), *d = fs_join(dst, dirs.v[i].name);
        if (!s || !d)
            result = fs_oom(err);
        else {
            int fd = open_subdir(dirfd, dirs.v[i].name, d, err);
            if (fd < 0)
                result = -1;
            else {
                result = get_tree(fs, s, fd, d, depth + 1, out, err);
                close(fd);
            }
        }
        free(s);
        free(d);
    }
    fs_entries_free(&files);
    fs_entries_free(&dirs);
    free(p);
    return result;
}

static const char *base_name(const char *normal)
{
    const char *slash = strrchr(normal, '/');
    return slash ? slash + 1 : normal;
}

int fs_get(struct fs *fs, const char *src, const char *dest, const struct fs_output *out,
           struct error *err)
{
    fs->dirs_walked = 0;
    size_t sn = strlen(src) + 2, dn = strlen(dest) + 2;
    char *s = mp_malloc(sn), *d = mp_malloc(dn), *p = fs_lfs_path(src);
    int result = 0;
    if (!s || !d || !p) {
        result = fs_oom(err);
        goto done;
    }
    fs_path_norm(src, s, sn);
    fs_path_norm(dest, d, dn);
    struct fs_stat info;
    if ((result = fs_stat_path(fs, p, &info, err)) != 0)
        goto done;
    if (!info.is_dir) {
        /* into an existing directory under the same name, else to dest itself */
        struct stat st;
        const char *name = base_name(s);
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
            int dirfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd < 0) {
                result = local_fail("open directory", d, err);
                goto done;
            }
            char *target = fs_join(d, name);
            result = target ? get_file(fs, p, dirfd, name, target, err) : fs_oom(err);
            if (!result)
                file_written(out, target);
            free(target);
            close(dirfd);
        } else {
            /* dest names the file: write it in dest's directory */
            char *slash = strrchr(d, '/');
            const char *name = slash ? slash + 1 : d;
            char *parent = slash ? mp_strndup(d, slash == d ? 1 : (size_t)(slash - d))
                                 : mp_strdup(".");
            int dirfd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
            if (!parent)
                result = fs_oom(err);
            else if (dirfd < 0)
                result = local_fail("open directory", parent, err);
            else
                result = get_file(fs, p, dirfd, name, d, err);
            if (!result && dirfd >= 0)
                file_written(out, d);
            if (dirfd >= 0)
                close(dirfd);
            free(parent);
        }
        goto done;
    }
    log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, d);
    /* dest itself is the user's choice and may be a link to a directory; below it nothing
     * is followed */
    if (mkdir(d, 0777) && errno != EEXIST) {
        result = local_fail("create directory", d, err);
        goto done;
    }
    int dirfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        result = local_fail("open directory", d, err);
        goto done;
    }
    result = get_tree(fs, s, dirfd, d, 0, out, err);
    close(dirfd);
done:
    free(s);
    free(d);
    free(p);
    return result;
}

/* ---------------------------------------------------------------- put */

int fs_read_local(int fd, uint8_t **out, size_t *len, const char *what, struct error *err)
{
    size_t cap = FS_COPY_CHUNK, n = 0;
    uint8_t *buf = mp_malloc(cap);
    if (!buf)
        return fs_oom(err);
    for (;;) {
        if (n == cap) {
            if (cap > UINT32_MAX / 2) {
                free(buf);
                return error_setk(err, ERROR_OS, "%s: too large to copy into a filesystem", what);
            }
            uint8_t *nb = mp_realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return fs_oom(err);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_file(struct fs *fs, const char *local, const char *p, struct error *err)
{
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return local_fail("read", local, err);
    int result = fs_write_file_from(fs, p, fd, NULL, 0, local, err);
    close(fd);
    return result;
}

/* Copy the local directory src into the littlefs directory dst (which exists): like os.walk
 * top-down, files then subdirectories, names sorted so runs are repeatable. Symbolic links to
 * files are copied as files; links to directories become empty directories (not followed). */
static int put_tree(struct fs *fs, const char *src, const char *dst, int depth,
                    const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_OS, "'%s': directories nest too deep", src);
    DIR *dir = opendir(src);
    if (!dir)
        return local_fail("read directory", src, err);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int result = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = mp_realloc(names, cap * sizeof *v);
            if (!v) {
                result = fs_oom(err);
                break;
            }
            names = v;
        }
        if (!(names[n] = mp_strdup(de->d_name))) {
            result = fs_oom(err);
            break;
        }
        n++;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    /* kinds: 0 file, 1 directory to descend, 2 directory not followed */
    int *kind = mp_calloc(n + 1, sizeof *kind);
    if (!kind && !result)
        result = fs_oom(err);
    for (size_t i = 0; i < n && !result; i++) {
        char *local = fs_join(src, names[i]);
        struct stat st, lst;
        if (!local)
            result = fs_oom(err);
        else if (lstat(local, &lst) || stat(local, &st))
            result = local_fail("read", local, err);
        else if (S_ISDIR(st.st_mode))
            kind[i] = S_ISLNK(lst.st_mode) ? 2 : 1;
        else if (S_ISREG(st.st_mode))
            kind[i] = 0;
        else
            result = error_setk(err, ERROR_OS, "'%s' is not a regular file or directory", local);
        free(local);
    }
    for (size_t i = 0; i < n && !result; i++) {
        if (kind[i] != 0)
            continue;
        char *local = fs_join(src, names[i]), *target = fs_join(dst, names[i]);
        char *p = target ? fs_lfs_path(target) : NULL;
        if (!local || !target || !p)
            result = fs_oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", local, target);
            result = put_file(fs, local, p, err);
        }
        free(local);
        free(target);
        free(p);
    }
    for (size_t i = 0; i < n && !result; i++) {
        if (kind[i] == 0)
            continue;
        char *local = fs_join(src, names[i]), *target = fs_join(dst, names[i]);
        char *p = target ? fs_lfs_path(target) : NULL;
        if (!local || !target || !p)
            result = fs_oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s/ -> %s/", local, target);
            result = fs_mkdir_parents(fs, p, err);
        }
        free(local);
        free(target);
        free(p);
    }
    for (size_t i = 0; i < n && !result; i++) {
        if (kind[i] != 1)
            continue;
        char *local = fs_join(src, names[i]), *target = fs_join(dst, names[i]);
        if (!local || !target)
            result = fs_oom(err);
        else
            result = put_tree(fs, local, target, depth + 1, out, err);
        free(local);
        free(target);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(kind);
    return result;
}

int fs_put(struct fs *fs, const char *src, const char *dest, const struct fs_output *out,
           struct error *err)
{
    size_t sn = strlen(src) + 2, dn = strlen(dest) + 2;
    char *s = mp_malloc(sn), *d = mp_malloc(dn), *target = NULL, *p = NULL;
    int result = 0;
    if (!s || !d) {
        result = fs_oom(err);
        goto done;
    }
    fs_path_norm(src, s, sn);
    fs_path_norm(dest, d, dn);
    struct stat st;
    if (stat(s, &st) != 0) {
        result = error_setk(err, ERROR_FILE, "No such file or directory: '%s'", src);
        goto done;
    }
    char *dp = fs_lfs_path(d);
    if (!dp) {
        result = fs_oom(err);
        goto done;
    }
    struct fs_stat info;
    struct error serr;
    int rc = fs_stat_path(fs, dp, &info, &serr);
    int dest_is_dir = rc == 0 && info.is_dir;
    free(dp);
    if (rc && rc != FS_ERR_NOENT) {
        if (err)
            *err = serr;
        result = rc;
        goto done;
    }
    if (S_ISREG(st.st_mode)) {
        target = dest_is_dir ? fs_join(d, base_name(s)) : mp_strdup(d);
        p = target ? fs_lfs_path(target) : NULL;
        if (!p) {
            result = fs_oom(err);
            goto done;
        }
        log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, target);
        result = put_file(fs, s, p, err);
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        result = error_setk(err, ERROR_OS, "'%s' is not a regular file or directory", src);
        goto done;
    }
    /* a directory goes in as dest/<its name>; "." and "/" have no name: their contents do */
    const char *name = base_name(s);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || name[0] == '\0')
        target = mp_strdup(d);
    else
        target = fs_join(d, name);
    p = target ? fs_lfs_path(target) : NULL;
    if (!p) {
        result = fs_oom(err);
        goto done;
    }
    log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, target);
    if ((result = fs_mkdir_parents(fs, p, err)) == 0)
        result = put_tree(fs, s, target, 0, out, err);
done:
    free(s);
    free(d);
    free(target);
    free(p);
    return result;
}
