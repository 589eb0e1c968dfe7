/* The POSIX functions of posix_win32.h over Win32, and the start-up of a Windows process: binary
 * standard streams (output byte-identical to other systems), UTF-8 and escape sequences on the
 * console. Built for Windows only. */
#include "port/posix_win32.h"

#include <stdarg.h>
#include <winsock2.h>
#include <windows.h>
#include <wincrypt.h>

/* The real functions below, not the macros. */
#undef open
#undef close
#undef openat
#undef fstatat
#undef mkdirat
#undef renameat
#undef unlinkat
#undef mkdir
#undef rename
#undef pread
#undef lstat
#undef strndup
#undef ioctl
#undef memmem

#ifndef ENABLE_VIRTUAL_TERMINAL_PROCESSING
#define ENABLE_VIRTUAL_TERMINAL_PROCESSING 0x0004
#endif

__attribute__((constructor)) static void w32_start(void)
{
    _fmode = _O_BINARY;
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    SetConsoleOutputCP(CP_UTF8);
    DWORD handles[] = {STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 2; i++) {
        HANDLE h = GetStdHandle(handles[i]);
        DWORD mode;
        if (h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode))
            SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
    }
}

static int errno_of(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE: return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION: return EACCES;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS: return EEXIST;
    case ERROR_NOT_SAME_DEVICE: return EXDEV;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return ENOSPC;
    case ERROR_DIRECTORY: return ENOTDIR;
    default: return EIO;
    }
}

/* ---- directory descriptors: a path kept under a number no C runtime descriptor has ---- */

#define DIR_FD_BASE 0x40000000
#define DIR_FD_MAX 512
static char *dir_paths[DIR_FD_MAX];

static const char *dir_path(int fd)
{
    if (fd == AT_FDCWD)
        return ".";
    if (fd >= DIR_FD_BASE && fd < DIR_FD_BASE + DIR_FD_MAX && dir_paths[fd - DIR_FD_BASE])
        return dir_paths[fd - DIR_FD_BASE];
    return NULL;
}

/* dir/name in a new string (name alone when it is absolute); NULL with errno set. */
static char *join_at(int dirfd, const char *name)
{
    const char *dir = dir_path(dirfd);
    if (!dir) {
        errno = EBADF;
        return NULL;
    }
    int absolute = name[0] == '/' || name[0] == '\\' || (name[0] && name[1] == ':');
    if (absolute || dirfd == AT_FDCWD)
        return _strdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int is_link(const char *path)
{
    DWORD a = GetFileAttributesA(path);
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_REPARSE_POINT);
}

int w32_open(const char *path, int flags, ...)
{
    int mode = 0;
    if (flags & _O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    if ((flags & O_NOFOLLOW) && is_link(path)) {
        errno = ELOOP;
        return -1;
    }
    if (flags & O_DIRECTORY) {
        DWORD a = GetFileAttributesA(path);
        if (a == INVALID_FILE_ATTRIBUTES) {
            errno = errno_of(GetLastError());
            return -1;
        }
        if (!(a & FILE_ATTRIBUTE_DIRECTORY)) {
            errno = ENOTDIR;
            return -1;
        }
        for (int i = 0; i < DIR_FD_MAX; i++)
            if (!dir_paths[i]) {
                if (!(dir_paths[i] = _strdup(path))) {
                    errno = ENOMEM;
                    return -1;
                }
                return DIR_FD_BASE + i;
            }
        errno = EMFILE;
        return -1;
    }
    flags &= ~(O_DIRECTORY | O_NOFOLLOW);
    /* the C runtime takes _S_IREAD/_S_IWRITE only */
    return _open(path, flags | _O_BINARY, (mode & 0222) ? _S_IREAD | _S_IWRITE : _S_IREAD);
}

/* Sockets live in ints too (their handle values); close() must know them. */
#define SOCKETS_MAX 64
static int sockets[SOCKETS_MAX];
static int socket_count;

void w32_socket_register(int fd)
{
    if (socket_count < SOCKETS_MAX)
        sockets[socket_count++] = fd;
}

int w32_close(int fd)
{
    if (fd >= DIR_FD_BASE && fd < DIR_FD_BASE + DIR_FD_MAX && dir_paths[fd - DIR_FD_BASE]) {
        free(dir_paths[fd - DIR_FD_BASE]);
        dir_paths[fd - DIR_FD_BASE] = NULL;
        return 0;
    }
    for (int i = 0; i < socket_count; i++)
        if (sockets[i] == fd) {
            sockets[i] = sockets[--socket_count];
            return closesocket((SOCKET)(intptr_t)fd) == 0 ? 0 : -1;
        }
    return _close(fd);
}

int w32_openat(int dirfd, const char *name, int flags, ...)
{
    int mode = 0;
    if (flags & _O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    char *p = join_at(dirfd, name);
    if (!p)
        return -1;
    int fd = w32_open(p, flags, mode);
    int e = errno;
    free(p);
    errno = e;
    return fd;
}

int w32_fstatat(int dirfd, const char *name, struct stat *st, int flags)
{
    (void)flags;
    char *p = join_at(dirfd, name);
    if (!p)
        return -1;
    int r = stat(p, st);
    int e = errno;
    free(p);
    errno = e;
    return r;
}

int w32_mkdir(const char *path, int mode)
{
    (void)mode;
    return _mkdir(path);
}

int w32_mkdirat(int dirfd, const char *name, int mode)
{
    char *p = join_at(dirfd, name);
    if (!p)
        return -1;
    int r = w32_mkdir(p, mode);
    int e = errno;
    free(p);
    errno = e;
    return r;
}

int w32_rename(const char *from, const char *to)
{
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return 0;
    errno = errno_of(GetLastError());
    return -1;
}

int w32_renameat(int olddirfd, const char *oldname, int newdirfd, const char *newname)
{
    char *a = join_at(olddirfd, oldname), *b = a ? join_at(newdirfd, newname) : NULL;
    int r = a && b ? w32_rename(a, b) : -1;
    int e = errno;
    free(a);
    free(b);
    errno = e;
    return r;
}

int w32_unlinkat(int dirfd, const char *name, int flags)
{
    (void)flags;
    char *p = join_at(dirfd, name);
    if (!p)
        return -1;
    int r = _unlink(p);
    int e = errno;
    free(p);
    errno = e;
    return r;
}

ssize_t w32_pread(int fd, void *buf, size_t len, int64_t offset)
{
    if (_lseeki64(fd, offset, SEEK_SET) < 0)
        return -1;
    return _read(fd, buf, len > 0x7fffffff ? 0x7fffffff : (unsigned)len);
}

int w32_same_file(const char *a, const char *b)
{
    BY_HANDLE_FILE_INFORMATION info[2];
    const char *paths[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        HANDLE h = CreateFileA(paths[i], FILE_READ_ATTRIBUTES,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                               OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
        if (h == INVALID_HANDLE_VALUE)
            return -1;
        BOOL ok = GetFileInformationByHandle(h, &info[i]);
        CloseHandle(h);
        if (!ok)
            return -1;
    }
    return info[0].dwVolumeSerialNumber == info[1].dwVolumeSerialNumber &&
           info[0].nFileIndexHigh == info[1].nFileIndexHigh &&
           info[0].nFileIndexLow == info[1].nFileIndexLow;
}

char *w32_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void *w32_memmem(const void *hay, size_t hay_len, const void *needle, size_t needle_len)
{
    if (needle_len == 0)
        return (void *)hay;
    const uint8_t *h = hay, *end = h + hay_len;
    while (hay_len >= needle_len) {
        const uint8_t *p = memchr(h, *(const uint8_t *)needle, hay_len - needle_len + 1);
        if (!p)
            return NULL;
        if (memcmp(p, needle, needle_len) == 0)
            return (void *)p;
        h = p + 1;
        hay_len = (size_t)(end - h);
    }
    return NULL;
}

int w32_ioctl(int fd, unsigned long request, void *arg)
{
    if (request != TIOCGWINSZ) {
        errno = EINVAL;
        return -1;
    }
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    CONSOLE_SCREEN_BUFFER_INFO info;
    if (h == INVALID_HANDLE_VALUE || !GetConsoleScreenBufferInfo(h, &info)) {
        errno = ENOTTY;
        return -1;
    }
    struct winsize *ws = arg;
    memset(ws, 0, sizeof *ws);
    ws->ws_col = (unsigned short)(info.srWindow.Right - info.srWindow.Left + 1);
    ws->ws_row = (unsigned short)(info.srWindow.Bottom - info.srWindow.Top + 1);
    return 0;
}

int EVP_DecodeBlock(unsigned char *out, const unsigned char *in, int n)
{
    DWORD len = (DWORD)(n / 4 * 3 + 3);
    if (n % 4 || !CryptStringToBinaryA((const char *)in, (DWORD)n, CRYPT_STRING_BASE64, out, &len,
                                       NULL, NULL))
        return -1;
    for (int i = n; i > 0 && in[i - 1] == '='; i--)
        len++;
    return (int)len;
}
