#include "flash/flash.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Range checks are done once here, so back-ends can trust their arguments. */
static int check_range(struct flash *f, uint32_t addr, uint32_t len, uint32_t end_limit,
                       const char *what, struct error *err)
{
    if (addr < f->base || addr > end_limit || len > end_limit - addr)
        return error_setk(err, ERROR_VALUE,
                          "%s of 0x%x bytes at 0x%x is outside %s (0x%x-0x%x)", what, len, addr,
                          f->name ? f->name : "flash", f->base, end_limit);
    return 0;
}

int flash_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    if (check_range(f, addr, len, f->size, "read", err))
        return -1;
    return len ? f->ops->read(f, addr, buf, len, err) : 0;
}

int flash_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len, struct error *err)
{
    if (check_range(f, addr, len, f->limit, "write", err))
        return -1;
    return len ? f->ops->write(f, addr, buf, len, err) : 0;
}

int flash_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    if (check_range(f, addr, len, f->limit, "erase", err))
        return -1;
    return len ? f->ops->erase(f, addr, len, err) : 0;
}

int flash_flush(struct flash *f, struct error *err)
{
    return f->ops->flush ? f->ops->flush(f, err) : 0;
}

int flash_md5(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16], struct error *err)
{
    if (!f->ops->md5)
        return error_setk(err, ERROR_VALUE, "%s: no MD5 of flash contents",
                          f->name ? f->name : "flash");
    if (addr < f->base || addr > f->size || len > f->size - addr)
        return error_setk(err, ERROR_VALUE, "%s: MD5 of 0x%x bytes at 0x%x is outside the flash",
                          f->name ? f->name : "flash", len, addr);
    return f->ops->md5(f, addr, len, out, err);
}

const uint8_t *flash_map(struct flash *f, uint32_t addr, uint32_t len)
{
    if (!f->ops->map || addr < f->base || addr > f->size || len > f->size - addr)
        return NULL;
    return f->ops->map(f, addr, len);
}

int flash_truncate(struct flash *f, uint32_t addr, struct error *err)
{
    if (!f->ops->truncate)
        return error_setk(err, ERROR_VALUE, "%s cannot be cut at 0x%x: its size is fixed",
                          f->name ? f->name : "flash", addr);
    return f->ops->truncate(f, addr, err);
}

void flash_close(struct flash *f)
{
    if (f && f->ops && f->ops->close)
        f->ops->close(f);
}

/* ---- in-memory image ---- */

static int image_grow(struct flash_image *img, uint32_t end, struct error *err)
{
    uint32_t need = end - img->flash.base;
    if (img->mapped && need > img->capacity) {
        /* A file mapping cannot grow: move to the heap first. */
        uint8_t *copy = malloc(need);
        if (!copy)
            return error_setk(err, ERROR_OS, "out of memory growing %s to 0x%x bytes",
                              img->flash.name, need);
        memcpy(copy, img->data, img->flash.size - img->flash.base);
        munmap(img->data, img->mapped);
        img->data = copy;
        img->capacity = need;
        img->mapped = 0;
    }
    if (need > img->capacity) {
        uint32_t cap = img->capacity ? img->capacity : 0x10000;
        while (cap < need)
            cap = cap > 0x7FFFFFFFu ? need : cap * 2;
        uint8_t *p = realloc(img->data, cap);
        if (!p)
            return error_setk(err, ERROR_OS, "out of memory growing %s to 0x%x bytes",
                              img->flash.name, need);
        img->data = p;
        img->capacity = cap;
    }
    if (end > img->flash.size) {
        /* A file grows with erased flash, like the 0xFF padding between its parts. */
        memset(img->data + (img->flash.size - img->flash.base), 0xFF, end - img->flash.size);
        img->flash.size = end;
    }
    return 0;
}

static int image_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    (void)err;
    struct flash_image *img = (struct flash_image *)f;
    memcpy(buf, img->data + (addr - f->base), len);
    return 0;
}

static int image_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                       struct error *err)
{
    struct flash_image *img = (struct flash_image *)f;
    if (addr + len > f->size && image_grow(img, addr + len, err))
        return -1;
    memcpy(img->data + (addr - f->base), buf, len);
    return 0;
}

static int image_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    struct flash_image *img = (struct flash_image *)f;
    /* Erasing past the end of a file adds nothing: the missing bytes read as erased already. */
    if (addr >= f->size)
        return 0;
    if (addr + len > f->size)
        len = f->size - addr;
    (void)err;
    memset(img->data + (addr - f->base), 0xFF, len);
    return 0;
}

static void image_close(struct flash *f)
{
    struct flash_image *img = (struct flash_image *)f;
    if (img->mapped)
        munmap(img->data, img->mapped);
    else
        free(img->data);
    img->data = NULL;
    img->capacity = 0;
    img->mapped = 0;
}

static const uint8_t *image_map(struct flash *f, uint32_t addr, uint32_t len)
{
    (void)len;
    struct flash_image *img = (struct flash_image *)f;
    return img->data + (addr - f->base);
}

static int image_truncate(struct flash *f, uint32_t addr, struct error *err)
{
    return flash_image_truncate((struct flash_image *)f, addr, err);
}

static const struct flash_ops image_ops = {
    .read = image_read,
    .write = image_write,
    .erase = image_erase,
    .flush = NULL,
    .close = image_close,
    .map = image_map,
    .truncate = image_truncate,
};

int flash_image_open(struct flash_image *img, const void *data, uint32_t len, uint32_t base,
                     uint32_t limit, const char *name, struct error *err)
{
    memset(img, 0, sizeof *img);
    img->flash.ops = &image_ops;
    img->flash.caps = FLASH_CAP_RESIZABLE;
    img->flash.base = base;
    img->flash.size = base;
    img->flash.name = name;
    if ((uint64_t)base + len > 0xFFFFFFFFu)
        return error_setk(err, ERROR_VALUE, "%s: 0x%x bytes at 0x%x do not fit in flash", name,
                          len, base);
    img->flash.limit = limit > base + len ? limit : base + len;
    if (image_grow(img, base + (len ? len : 0), err))
        return -1;
    if (len)
        memcpy(img->data, data, len);
    return 0;
}

int flash_image_adopt(struct flash_image *img, uint8_t *data, uint32_t len, uint32_t base,
                      uint32_t limit, const char *name, struct error *err)
{
    memset(img, 0, sizeof *img);
    img->flash.ops = &image_ops;
    img->flash.caps = FLASH_CAP_RESIZABLE;
    img->flash.base = base;
    img->flash.name = name;
    if ((uint64_t)base + len > 0xFFFFFFFFu) {
        free(data);
        return error_setk(err, ERROR_VALUE, "%s: 0x%x bytes at 0x%x do not fit in flash", name,
                          len, base);
    }
    img->flash.size = base + len;
    img->flash.limit = limit > base + len ? limit : base + len;
    img->data = data;
    img->capacity = len;
    return 0;
}

int flash_image_map_file(struct flash_image *img, int fd, uint32_t len, uint32_t base,
                         uint32_t limit, const char *name, struct error *err)
{
    if (len == 0)
        return flash_image_open(img, NULL, 0, base, limit, name, err);
    if ((uint64_t)base + len > 0xFFFFFFFFu)
        return error_setk(err, ERROR_VALUE, "%s: 0x%x bytes at 0x%x do not fit in flash", name,
                          len, base);
    /* Pages are faulted in as they are read, so showing the table of a 32 MiB file touches a
     * few blocks, not 32 MiB (no MAP_POPULATE). */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        /* Not mappable (a pipe, an odd filesystem): read it instead. */
        uint8_t *buf = malloc(len);
        if (!buf)
            return error_setk(err, ERROR_OS, "%s: out of memory", name);
        size_t got = 0;
        while (got < len) {
            ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
            if (n <= 0) {
                free(buf);
                return error_setk(err, ERROR_OS, "%s: read failed", name);
            }
            got += (size_t)n;
        }
        return flash_image_adopt(img, buf, len, base, limit, name, err);
    }
    flash_image_adopt(img, p, len, base, limit, name, err); /* cannot fail: range checked */
    img->mapped = len;
    return 0;
}

int flash_image_truncate(struct flash_image *img, uint32_t addr, struct error *err)
{
    if (addr < img->flash.base)
        return error_setk(err, ERROR_VALUE, "Attempt to seek before offset (0x%x).",
                          img->flash.base);
    if (addr < img->flash.size)
        img->flash.size = addr;
    return 0;
}

const uint8_t *flash_image_bytes(const struct flash_image *img, uint32_t *len)
{
    *len = img->flash.size - img->flash.base;
    return img->data;
}

/* ---- window ---- */

static void window_sync_size(struct flash_window *w)
{
    /* The parent may have grown or shrunk (a file written past its end); follow it. */
    uint32_t avail = 0;
    if (w->parent->size > w->offset)
        avail = w->parent->size - w->offset;
    w->flash.size = avail < w->flash.limit ? avail : w->flash.limit;
}

static int window_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    struct flash_window *w = (struct flash_window *)f;
    return flash_read(w->parent, w->offset + addr, buf, len, err);
}

static int window_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                        struct error *err)
{
    struct flash_window *w = (struct flash_window *)f;
    int rc = flash_write(w->parent, w->offset + addr, buf, len, err);
    window_sync_size(w);
    return rc;
}

static int window_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    struct flash_window *w = (struct flash_window *)f;
    return flash_erase(w->parent, w->offset + addr, len, err);
}

static int window_flush(struct flash *f, struct error *err)
{
    struct flash_window *w = (struct flash_window *)f;
    return flash_flush(w->parent, err);
}

static const uint8_t *window_map(struct flash *f, uint32_t addr, uint32_t len)
{
    struct flash_window *w = (struct flash_window *)f;
    return flash_map(w->parent, w->offset + addr, len);
}

static int window_md5(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16],
                      struct error *err)
{
    struct flash_window *w = (struct flash_window *)f;
    return flash_md5(w->parent, w->offset + addr, len, out, err);
}

static const struct flash_ops window_ops = {
    .read = window_read,
    .write = window_write,
    .erase = window_erase,
    .flush = window_flush,
    .close = NULL,
    .map = window_map,
    .md5 = window_md5,
};

void flash_window_open(struct flash_window *w, struct flash *parent, uint32_t offset, uint32_t len,
                       const char *name)
{
    memset(w, 0, sizeof *w);
    w->flash.ops = &window_ops;
    w->flash.caps = parent->caps;
    w->flash.base = 0;
    w->flash.limit = len;
    w->flash.name = name;
    w->parent = parent;
    w->offset = offset;
    window_sync_size(w);
}
