/* The POSIX functions the project uses that Windows (MinGW-w64) lacks or spells differently,
 * for the Windows build only: this header is included ahead of every source file there
 * (-include, see the top-level CMakeLists.txt), so that the modules keep their POSIX code.
 * It declares only what the project needs; posix_win32.c implements it over Win32.
 * Headers that Windows does not have at all (sys/mman.h, sys/ioctl.h, openssl/evp.h) are in
 * win32/include and declare nothing themselves. */
#ifndef MP_PORT_POSIX_WIN32_H
#define MP_PORT_POSIX_WIN32_H
#ifdef _WIN32

/* The C runtime's own declarations first, so that the macros below do not rewrite them. */
#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- open flags and *at() ---- */
#define O_CLOEXEC _O_NOINHERIT
#define O_NOCTTY 0
#define O_NONBLOCK 0
/* Beyond the C runtime's flags; taken out before it sees them. */
#define O_DIRECTORY 0x01000000
#define O_NOFOLLOW 0x02000000
#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#ifndef S_ISLNK
#define S_ISLNK(m) 0 /* symbolic links are not followed or made by the CRT */
#endif

/* open() also opens directories (O_DIRECTORY), as a descriptor that only the *at() functions
 * and close() accept; close() closes those and sockets too. */
int w32_open(const char *path, int flags, ...);
int w32_close(int fd);
int w32_openat(int dirfd, const char *name, int flags, ...);
int w32_fstatat(int dirfd, const char *name, struct stat *st, int flags);
int w32_mkdirat(int dirfd, const char *name, int mode);
int w32_renameat(int olddirfd, const char *oldname, int newdirfd, const char *newname);
int w32_unlinkat(int dirfd, const char *name, int flags);
int w32_mkdir(const char *path, int mode);
/* rename() that replaces an existing target, as POSIX rename does. */
int w32_rename(const char *from, const char *to);
ssize_t w32_pread(int fd, void *buf, size_t len, int64_t offset);
/* Sockets are kept in ints like descriptors: register one so that close() knows it. */
void w32_socket_register(int fd);
/* The same file (volume serial number and file index)? -1 when either cannot be opened. */
int w32_same_file(const char *a, const char *b);

#define open(...) w32_open(__VA_ARGS__)
/* An object-like macro: it renames the close members of the flash and port interfaces too,
 * consistently, where a function-like one would rename only their calls. */
#define close w32_close
#define openat(...) w32_openat(__VA_ARGS__)
#define fstatat(d, n, s, f) w32_fstatat(d, n, s, f)
#define mkdirat(d, n, m) w32_mkdirat(d, n, m)
#define renameat(a, b, c, d) w32_renameat(a, b, c, d)
#define unlinkat(d, n, f) w32_unlinkat(d, n, f)
#define mkdir(p, m) w32_mkdir(p, m)
#define rename(a, b) w32_rename(a, b)
#define pread(fd, b, n, o) w32_pread(fd, b, n, o)
#define lstat(p, s) stat(p, s)
/* Permissions follow the folder's access control list. */
static inline int w32_fchmod(int fd, int mode)
{
    (void)fd;
    (void)mode;
    return 0;
}
#define fchmod(fd, mode) w32_fchmod(fd, mode)

/* ---- strings ---- */
char *w32_strndup(const char *s, size_t n);
void *w32_memmem(const void *hay, size_t hay_len, const void *needle, size_t needle_len);
#define strndup(s, n) w32_strndup(s, n)
#define memmem(h, hl, n, nl) w32_memmem(h, hl, n, nl)

/* ---- terminal ---- */
struct winsize {
    unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel;
};
#define TIOCGWINSZ 0x5413
int w32_ioctl(int fd, unsigned long request, void *arg);
#define ioctl(fd, req, arg) w32_ioctl(fd, req, arg)

/* ---- memory-mapped files: not used on Windows; callers read the file instead ---- */
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_POPULATE 0
#define MAP_FAILED ((void *)-1)
static inline void *w32_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)
{
    (void)addr, (void)len, (void)prot, (void)flags, (void)fd, (void)off;
    errno = ENODEV;
    return MAP_FAILED;
}
static inline int w32_munmap(void *addr, size_t len)
{
    (void)addr, (void)len;
    return 0;
}
#define mmap(addr, len, prot, flags, fd, off) w32_mmap(addr, len, prot, flags, fd, off)
#define munmap(addr, len) w32_munmap(addr, len)

#endif /* _WIN32 */
#endif
