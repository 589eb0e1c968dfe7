#include "tool/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/atomic_write.h"

static int save(void *ctx, const uint8_t *image, uint32_t len, struct error *err)
{
    struct board_backup *b = ctx;
    time_t now = time(NULL);
    struct tm tm;
#ifdef _WIN32
    localtime_s(&tm, &now);
#else
    localtime_r(&now, &tm);
#endif
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    /* The name is taken by creating it, so runs on several boards at once, in the same
     * second, never share (and overwrite) one backup. */
    int fd = -1;
    for (int k = 1; fd < 0 && k < 1000; k++) {
        if (k == 1)
            snprintf(b->path, sizeof b->path, "mp-backup-%s.bin", stamp);
        else
            snprintf(b->path, sizeof b->path, "mp-backup-%s-%d.bin", stamp, k);
        fd = open(b->path, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return error_setk(err, ERROR_OS,
                          "keeping a backup of the board's data before it moves: %s: %s", b->path,
                          strerror(errno));
    close(fd);
    if (atomic_write_path(b->path, image, len, NULL, err)) {
        unlink(b->path);
        return error_prefix(err, "keeping a backup of the board's data before it moves");
    }
    b->saved = 1;
    log_printf(b->log, LOG_INFO,
               "The board's data is kept in '%s' until the board has verified "
               "its new layout.",
               b->path);
    return 0;
}

static void done(void *ctx, int ok)
{
    struct board_backup *b = ctx;
    if (!b->saved)
        return;
    if (ok) {
        unlink(b->path);
        b->saved = 0;
        return;
    }
    log_printf(b->log, LOG_ERROR,
               "The board's data from before this change is kept in '%s' (a whole-flash image "
               "of its old table and data):\n"
               "  mp-image-tool-esp32 %s --fs ls           (its files)\n"
               "  mp-image-tool-esp32 %s --read vfs=vfs.bin  (a partition as it was, to put "
               "back with --write on a board with the old table)",
               b->path, b->path, b->path);
}

struct firmware_backup board_backup_callbacks(struct board_backup *b, const struct log *log)
{
    memset(b, 0, sizeof *b);
    b->log = log;
    return (struct firmware_backup){save, done, b};
}
