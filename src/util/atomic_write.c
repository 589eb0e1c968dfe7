#include "util/atomic_write.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Whether name in dirfd (display: its path from here) is the file at path `protect`. */
static int is_protected(int dirfd, const char *name, const char *display, const char *protect)
{
    if (!protect)
        return 0;
#ifdef _WIN32
    (void)dirfd, (void)name;
    return w32_same_file(display, protect) == 1; /* st_ino is always 0 there */
#else
    (void)display;
    struct stat a, b;
    return fstatat(dirfd, name, &a, 0) == 0 && stat(protect, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
#endif
}

/* A hidden name of fixed length for a temporary file (whatever the target's length). */
static void temp_name(char name[32], uint64_t *state)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char suffix[9];
    for (int i = 0; i < 8; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        suffix[i] = letters[(*state >> 33) % (sizeof letters - 1)];
    }
    suffix[8] = '\0';
    snprintf(name, 32, ".mp-tmp-%s", suffix);
}

static uint64_t temp_seed(void)
{
    static uint64_t calls;
    return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^ (++calls << 40) ^
           (uint64_t)clock();
}

#ifdef O_TMPFILE
/* Give the unnamed file fd a name in dirfd (fails with EEXIST when the name is taken). */
static int link_unnamed(int fd, int dirfd, const char *name)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno == EEXIST)
        return -1;
    return linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
}
#endif

static int fail(struct error *err, const char *what, const char *display, int e)
{
    return error_setk(err, ERROR_OS, "%s %s: %s", what, display, strerror(e));
}

/* An unnamed file in dirfd, or -1 (errno set) when the filesystem has none. */
static int open_unnamed(int dirfd)
{
#ifdef O_TMPFILE
    return openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#else
    (void)dirfd;
    errno = EINVAL;
    return -1;
#endif
}

static int write_blocked(int dirfd, const char *name, const void *data, size_t len,
                         const char *display, const char *protect, struct error *err)
{
    struct stat old;
    int exists = fstatat(dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && is_protected(dirfd, name, display, protect))
        return error_setk(err, ERROR_OS, "'%s' is the input file: refusing to overwrite it",
                          display);
    uint64_t seed = temp_seed();
    char temp[32] = "";
    int fd = open_unnamed(dirfd);
    int unnamed = fd >= 0;
    (void)unnamed; /* only with O_TMPFILE */
    if (fd < 0) {
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            return fail(err, "cannot create", display, errno);
        for (int tries = 0; tries < 100 && fd < 0; tries++) {
            temp_name(temp, &seed);
            fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST)
                break;
        }
        if (fd < 0)
            return fail(err, "cannot create", display, errno);
    }
    int rc = 0;
    if (write_all(fd, data, len))
        rc = fail(err, "writing", display, errno);
    /* a replaced file keeps its permissions */
    if (rc == 0 && exists && S_ISREG(old.st_mode) && fchmod(fd, old.st_mode & 07777) != 0)
        rc = fail(err, "writing", display, errno);
#ifdef O_TMPFILE
    if (rc == 0 && unnamed) {
        /* a new name is taken in one step; an existing file is replaced by a rename */
        if (!exists && link_unnamed(fd, dirfd, name) == 0) {
            close(fd);
            return 0;
        }
        int linked = -1;
        for (int tries = 0; tries < 100 && linked != 0; tries++) {
            temp_name(temp, &seed);
            linked = link_unnamed(fd, dirfd, temp);
            if (linked != 0 && errno != EEXIST)
                break;
        }
        if (linked != 0) {
            rc = fail(err, "cannot write", display, errno);
            temp[0] = '\0';
        }
    }
#endif
    if (close(fd) != 0 && rc == 0)
        rc = fail(err, "writing", display, errno);
    if (rc == 0 && renameat(dirfd, temp, dirfd, name) != 0)
        rc = fail(err, "cannot write", display, errno);
    if (rc && temp[0])
        unlinkat(dirfd, temp, 0);
    return rc;
}

int atomic_write_at(int dirfd, const char *name, const void *data, size_t len,
                    const char *display, const char *protect, struct error *err)
{
#ifdef _WIN32
    return write_blocked(dirfd, name, data, len, display, protect, err);
#else
    /* An interrupt or termination is handled once the temporary file is renamed or gone. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &saved);
    int rc = write_blocked(dirfd, name, data, len, display, protect, err);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return rc;
#endif
}

int atomic_write_path(const char *path, const void *data, size_t len, const char *protect,
                      struct error *err)
{
    struct stat st;
    char *resolved = NULL;
    const char *target = path;
#ifndef _WIN32 /* no symbolic links there */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        resolved = realpath(path, NULL);
        if (!resolved)
            return error_setk(err, ERROR_OS, "%s: a symbolic link to a missing file (%s)", path,
                              strerror(errno));
        target = resolved;
    }
#endif
    int rc;
    if (stat(target, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
            int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
            if (fd < 0)
                rc = fail(err, "cannot open", path, errno);
            else {
                rc = write_all(fd, data, len) ? fail(err, "writing", path, errno) : 0;
                if (close(fd) != 0 && rc == 0)
                    rc = fail(err, "writing", path, errno);
            }
        } else if (S_ISDIR(st.st_mode)) {
            rc = error_setk(err, ERROR_OS, "%s: is a folder, not a file", path);
        } else {
            rc = error_setk(err, ERROR_OS, "%s: not a regular file: refusing to replace it",
                            path);
        }
        free(resolved);
        return rc;
    }
    /* split into folder and name */
    const char *slash = strrchr(target, '/');
    char *dir = slash ? strndup(target, slash == target ? 1 : (size_t)(slash - target))
                      : strdup(".");
    const char *name = slash ? slash + 1 : target;
    if (!dir) {
        free(resolved);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        rc = fail(err, "cannot create", path, errno);
    else if (!*name)
        rc = error_setk(err, ERROR_OS, "%s: is a folder, not a file", path);
    else
        rc = atomic_write_at(dirfd, name, data, len, path, protect, err);
    if (dirfd >= 0)
        close(dirfd);
    free(dir);
    free(resolved);
    return rc;
}
