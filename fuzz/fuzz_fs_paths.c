/* Fuzz the fs module's argument and path handling: normal forms, joins, PART: splitting, name
 * safety, the version rule and the percentage, checking their invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    /* normal form: terminated, no empty or "." components, idempotent */
    char out[512], again[512];
    fs_path_norm(s, out, sizeof out);
    check(strlen(out) < sizeof out);
    if (strlen(s) < 256) {
        check(out[0] != '\0');
        check(strstr(out, "//") == NULL);
        check(strstr(out, "/./") == NULL);
        size_t n = strlen(out);
        check(n == 1 || out[n - 1] != '/');
        check(strcmp(out, ".") == 0 || strncmp(out, "./", 2) != 0);
        fs_path_norm(out, again, sizeof again);
        check(strcmp(out, again) == 0);
    }
    char tiny[4];
    fs_path_norm(s, tiny, sizeof tiny);
    check(strlen(tiny) < sizeof tiny);

    /* join with the input split in two at its first byte's value */
    size_t cut = size ? data[0] % (size + 1) : 0;
    char *a = strndup(s, cut);
    fs_path_join(a, s + (cut <= strlen(s) ? cut : strlen(s)), out, sizeof out);
    check(strlen(out) < sizeof out);
    free(a);

    /* PART:path: the path is the text after the last colon; the prefix fits a label */
    char part[PTABLE_LABEL_MAX + 1] = "vfs";
    struct error err;
    const char *path = fs_split_path(s, part, &err);
    if (path) {
        check(path >= s && path <= s + strlen(s));
        check(strchr(path, ':') == NULL);
        check(strlen(part) <= PTABLE_LABEL_MAX);
    } else {
        check(err.kind == ERROR_PARTITION);
    }

    /* a safe name is one component */
    if (fs_name_is_safe((const char *)data, size)) {
        check(size > 0 && !memchr(data, '/', size) && !memchr(data, 0, size));
        check(!(size == 1 && data[0] == '.') && !(size == 2 && data[0] == '.' && data[1] == '.'));
    }

    char found[24];
    if (fs_find_micropython_version(data, size, found, sizeof found)) {
        check(strlen(found) < sizeof found);
        check(found[0] >= '0' && found[0] <= '9' && strchr(found, '.'));
    }

    uint32_t v = fs_format_version_for(s);
    check(v == FS_DISK_VERSION_2_0 || v == FS_DISK_VERSION_2_1);

    if (size >= 8) {
        uint32_t used, total;
        memcpy(&used, data, 4);
        memcpy(&total, data + 4, 4);
        uint32_t pct = fs_percent_half_even(used, total);
        if (used <= total)
            check(pct <= 100);
    }
    free(s);
    return 0;
}
