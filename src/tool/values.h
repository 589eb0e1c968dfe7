/* The value syntaxes of the command line (seed-spec §1.4, §1.5, §9.1): sizes ("IntArg"),
 * comma lists (ArgList), partition specs (PartList), device names and baud rates. These follow
 * the Python tool's rules exactly, because users' scripts and output file names depend on them. */
#ifndef MP_TOOL_VALUES_H
#define MP_TOOL_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* SIZE / RATE ("IntArg", §1.4):
 *  - "" is 0;
 *  - a suffix M, MB, K, KB or B (any case, tried in that order) multiplies by 0x100000, 0x400
 *    or 0x1000 (a 4 KiB block);
 *  - the rest is a float when it contains '.', else an integer with Python's int(x, 0) rules
 *    (0x/0o/0b prefixes, single underscores between digits, a sign, surrounding whitespace;
 *    a decimal with a leading zero such as "010" is refused);
 *  - the product is truncated toward zero.
 * Kept quirk: the suffix test runs before the number is read, so a hex number ending in the
 * digit b is a block count: "0x1b" is 1 block = 4096 and "0xb" is refused.
 * Results outside int64 are refused. Returns 0, or -1 with an ERROR_VALUE message. */
int value_parse_size(const char *text, int64_t *out, struct error *err);

/* One ArgList item: the fields between '=' or ':' separators. */
struct argitem {
    char **fields; /* count strings, never NULL; fields may be empty ("") */
    int count;     /* at least 1 */
};

/* ArgList (§1.4): the text trimmed, split on ',' then each item on '=' or ':', whitespace
 * around separators dropped. "" gives one item with one empty field, as in the Python tool. */
struct arglist {
    struct argitem *items;
    int count;  /* 0 only for an unset list */
    char *text; /* the option value as given */
};

/* One PartList item (name, subtype, offset, size), from NAME[=a[:b[:c...]]]:
 * no value: size 0; one value: size; two: subtype and size; three or more: subtype, offset
 * and size (the last field), fields in between ignored. */
struct partspec {
    char *name;
    char *subtype; /* "" when not given */
    int64_t offset;
    int64_t size;
};

struct partlist {
    struct partspec *items;
    int count;
    char *text; /* the option value as given */
};

/* Parse into *list (overwritten, not freed first). Returns 0, or -1 with an ERROR_VALUE message
 * (a SIZE that does not convert, or out of memory); *list is then empty. */
int arglist_parse(const char *text, struct arglist *list, struct error *err);
int partlist_parse(const char *text, struct partlist *list, struct error *err);
void arglist_free(struct arglist *list);
void partlist_free(struct partlist *list);

/* Re-stringification for output file names (§1.4, §7.1): each item's non-empty (and, for
 * numbers, non-zero) fields joined with '=', items joined with ','; numbers in decimal.
 * "vfs=1M" -> "vfs=1048576", "vfs=0" -> "vfs", "data=fat:50B" -> "data=fat=204800".
 * Writes at most size bytes including the NUL (truncating); returns the full length, as
 * snprintf does. */
size_t arglist_format(const struct arglist *list, char *buf, size_t size);
size_t partlist_format(const struct partlist *list, char *buf, size_t size);

/* A flash address range as --read, --write and --erase take it in place of a partition name:
 *   "flash" or "all"      the whole flash;
 *   "START"               from START (the length follows from the file, or to the end);
 *   "START:END"           START up to END (exclusive) -- two ArgList fields, as ':' splits;
 *   "START+LEN"           LEN bytes from START.
 * Numbers are SIZEs (0x1000, 64K, 16B). */
struct flash_range {
    int whole;      /* "flash" / "all" */
    int has_length; /* END or LEN given */
    uint32_t start;
    uint32_t length;
};

/* Whether the first field of an item names a range rather than a partition: it starts with a
 * digit, or is "flash" or "all". */
int value_is_range(const char *field);
/* Parse the item's range from its fields; with_file: a FILE follows the range (READ and WRITE
 * forms), *file then points at it. Errors name the option: "--erase: ...". Addresses beyond
 * 256 MiB, END not above START and LEN 0 are refused. */
int value_parse_range(const struct argitem *it, int with_file, const char *option,
                      struct flash_range *range, const char **file, struct error *err);

/* Short device names (§1.5), whole word only: u<digits> -> /dev/ttyUSB<digits>,
 * a<digits> -> /dev/ttyACM<digits>, c<digits> -> COM<digits>; anything else is copied.
 * Returns a new string (free it), NULL when out of memory. */
char *value_expand_device(const char *name);

/* Whether an (expanded) name is a device rather than a firmware file: it starts with "/dev/"
 * or "COM" (case-sensitive, §1.5), or is a network port "rfc2217://HOST:PORT" or
 * "socket://HOST:PORT" (PORT 1-65535, optionally followed by "?options" or "/..."), or is
 * "auto" (the only ESP-like USB port, found when connecting). */
int value_is_device(const char *name);

/* Split a network port name into host and port; returns 0, or -1 when it is not one. */
int value_network_port(const char *name, char *host, size_t host_size, int *port);

/* Baud rate (§9.1): the largest standard rate (115200, 230400, 460800, 921600, 1500000,
 * 2000000, 3000000) not above the request. Below 115200 is an ERROR_VALUE. */
int value_round_baud(int64_t requested, uint32_t *out, struct error *err);

#endif
