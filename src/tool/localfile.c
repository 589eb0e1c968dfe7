#include "tool/localfile.h"

#include "util/atomic_write.h"

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
    return atomic_write_path(path, data, len, protect, err);
}
