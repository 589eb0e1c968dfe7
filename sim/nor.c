#include "nor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void mark(struct nor *n, uint32_t lo, uint32_t hi)
{
    if (n->dirty_hi <= n->dirty_lo) {
        n->dirty_lo = lo;
        n->dirty_hi = hi;
        return;
    }
    if (lo < n->dirty_lo)
        n->dirty_lo = lo;
    if (hi > n->dirty_hi)
        n->dirty_hi = hi;
}

int nor_open(struct nor *n, const char *path, uint32_t size, char *errbuf, size_t errlen)
{
    memset(n, 0, sizeof *n);
    n->fd = -1;
    n->size = size;
    n->data = malloc(size ? size : 1);
    if (!n->data) {
        snprintf(errbuf, errlen, "out of memory for %u bytes of flash", size);
        return -1;
    }
    memset(n->data, 0xFF, size);
    if (!path)
        return 0;
    n->fd = open(path, O_RDWR | O_CREAT, 0644);
    if (n->fd < 0) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        free(n->data);
        n->data = NULL;
        return -1;
    }
    struct stat st;
    if (fstat(n->fd, &st) != 0) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        nor_close(n);
        return -1;
    }
    /* Existing content is kept (a file larger than the flash is only read up to its size);
     * a shorter file is extended with erased bytes on the first flush. */
    size_t have = st.st_size < (off_t)size ? (size_t)st.st_size : size;
    size_t got = 0;
    while (got < have) {
        ssize_t r = pread(n->fd, n->data + got, have - got, (off_t)got);
        if (r <= 0) {
            snprintf(errbuf, errlen, "%s: read failed: %s", path, r < 0 ? strerror(errno) : "EOF");
            nor_close(n);
            return -1;
        }
        got += (size_t)r;
    }
    if ((uint64_t)st.st_size < size)
        mark(n, (uint32_t)st.st_size, size);
    return nor_flush(n) == 0 ? 0 : (snprintf(errbuf, errlen, "%s: write failed", path), -1);
}

int nor_flush(struct nor *n)
{
    if (n->fd < 0 || n->dirty_hi <= n->dirty_lo)
        return 0;
    uint32_t off = n->dirty_lo;
    while (off < n->dirty_hi) {
        ssize_t w = pwrite(n->fd, n->data + off, n->dirty_hi - off, off);
        if (w <= 0)
            return -1;
        off += (uint32_t)w;
    }
    n->dirty_lo = n->dirty_hi = 0;
    return 0;
}

void nor_close(struct nor *n)
{
    nor_flush(n);
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
    free(n->data);
    n->data = NULL;
}

static int in_range(const struct nor *n, uint32_t addr, uint32_t len)
{
    return addr <= n->size && len <= n->size - addr;
}

int nor_read(const struct nor *n, uint32_t addr, void *out, uint32_t len)
{
    if (!in_range(n, addr, len))
        return -1;
    memcpy(out, n->data + addr, len);
    return 0;
}

int nor_program(struct nor *n, uint32_t addr, const void *data, uint32_t len)
{
    if (!in_range(n, addr, len))
        return -1;
    const uint8_t *src = data;
    for (uint32_t i = 0; i < len; i++)
        n->data[addr + i] &= src[i];
    if (n->stuck_bit > addr && n->stuck_bit <= (uint64_t)addr + len)
        n->data[n->stuck_bit - 1] |= 1;
    n->bytes_programmed += len;
    n->busy_us += ((uint64_t)len * NOR_PAGE_PROGRAM_US + 255) / 256;
    mark(n, addr, addr + len);
    return 0;
}

int nor_erase(struct nor *n, uint32_t addr, uint32_t len)
{
    if (!in_range(n, addr, len))
        return -1;
    if (len == 0)
        return 0;
    uint32_t lo = addr & ~(NOR_SECTOR_SIZE - 1);
    uint64_t hi = ((uint64_t)addr + len + NOR_SECTOR_SIZE - 1) & ~(uint64_t)(NOR_SECTOR_SIZE - 1);
    if (hi > n->size)
        hi = n->size;
    memset(n->data + lo, 0xFF, (size_t)(hi - lo));
    n->sectors_erased += (hi - lo) / NOR_SECTOR_SIZE;
    for (uint64_t a = lo; a < hi;) {
        int block = (a & (NOR_BLOCK_SIZE - 1)) == 0 && hi - a >= NOR_BLOCK_SIZE;
        n->busy_us += block ? NOR_BLOCK_ERASE_US : NOR_SECTOR_ERASE_US;
        a += block ? NOR_BLOCK_SIZE : NOR_SECTOR_SIZE;
    }
    mark(n, lo, (uint32_t)hi);
    return 0;
}

void nor_erase_all(struct nor *n)
{
    memset(n->data, 0xFF, n->size);
    n->sectors_erased += n->size / NOR_SECTOR_SIZE;
    n->busy_us += (uint64_t)NOR_CHIP_ERASE_US_PER_MIB * n->size / (1u << 20);
    mark(n, 0, n->size);
}

int nor_load(struct nor *n, uint32_t addr, const void *data, uint32_t len)
{
    if (!in_range(n, addr, len))
        return -1;
    memcpy(n->data + addr, data, len);
    mark(n, addr, addr + len);
    return 0;
}
