#include "tool/localfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int localfile_read(const char *path, char **data, size_t *len, struct error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_setk(err, errno == ENOENT ? ERROR_FILE : ERROR_OS, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_setk(err, ERROR_OS, "%s: not a regular file", path);
    }
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return error_setk(err, ERROR_OS, "%s: out of memory", path);
    }
    size_t got = 0;
    for (;;) {
        if (got == cap) {
            /* the file may grow while we read it: keep going until EOF */
            char *bigger = realloc(buf, cap * 2 + 4097);
            if (!bigger) {
                free(buf);
                close(fd);
                return error_setk(err, ERROR_OS, "%s: out of memory", path);
            }
            buf = bigger;
            cap = cap * 2 + 4096;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return error_setk(err, ERROR_OS, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

int localfile_same(const char *a, const char *b)
{
#ifdef _WIN32
    return w32_same_file(a, b) == 1; /* st_ino is always 0 there */
#endif
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int localfile_write_atomic(const char *path, const void *data, size_t len, const char *protect,
                           struct error *err)
{
    if (protect && localfile_same(path, protect))
        return error_setk(err, ERROR_OS, "'%s' and '%s' are the same file", protect, path);
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return error_setk(err, ERROR_OS, "out of memory");
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return error_setk(err, ERROR_OS, "cannot create %s: %s", path, strerror(e));
    }
    /* mkstemp makes 0600 files; give the output the permissions a new file would get. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    const char *p = data;
    size_t left = len;
    int rc = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = error_setk(err, ERROR_OS, "writing %s: %s", path, strerror(errno));
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    /* No fsync: the rename makes the file appear whole or not at all for every reader, and
     * the input is never touched, so a crash can cost only the new output; syncing would
     * double the time of a typical run. */
    if (close(fd) != 0 && rc == 0)
        rc = error_setk(err, ERROR_OS, "writing %s: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = error_setk(err, ERROR_OS, "cannot write %s: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}
