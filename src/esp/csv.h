/* Partition tables as CSV text, in both dialects found in the wild, detected per line:
 *  - the Python tool's (seed-spec §6.3): exactly six fields, plain integers (decimal, 0x, 0o,
 *    0b) for offset, size and flags, and a type column that is not an ESP-IDF type other than
 *    app/data; the type column is ignored when the subtype is a name (the name decides it);
 *    offset 0 means "next free";
 *  - ESP-IDF gen_esp32part's (esp-image-formats §7.6): K/M suffixes, empty offset = after the
 *    previous partition aligned (app 0x10000, others 0x1000; the first at 0x9000), missing
 *    trailing fields, type keyword or number, subtype keyword of that type or number, flags
 *    "encrypted:readonly" (or a number), a negative size "-X" meaning "end at X".
 * In both, size 0 means "rest of flash".
 * Both: blank lines and lines starting with '#' are skipped, a UTF-8/16/32 byte-order mark is
 * accepted (UTF-16/32 text must be ASCII), fields are trimmed, "..." quotes are removed.
 * Environment variables ($VAR) are not expanded: such a field is an error. */
#ifndef MP_ESP_CSV_H
#define MP_ESP_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "esp/ptable.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Parse `len` bytes of CSV text into `table` (cleared first; flash_size set; sorted by offset).
 * `source` names the text in messages: "t.csv:3: invalid size 'xyz'". Values are checked to
 * fit 32 bits; as the Python tool's "add a partition", a partition ending past flash_size is
 * "No room on flash for partition <name> (0x<size> bytes).", size 0 means the rest of the flash
 * and a repeated name is "Partition '<name>' already exists in table." (each prefixed with
 * source and line). More than 95 entries is an error; overlaps and alignment are left to
 * ptable_check. Offset 0 (Python dialect) places the partition after the highest one, aligned
 * (app 0x10000, others 0x1000; the Python tool does not align). Returns 0 or -1 with err set
 * (ERROR_VALUE). */
int csv_parse(const char *text, size_t len, const char *source, uint32_t flash_size,
              struct ptable *table, struct error *err);

/* The same with the entries left in the order of the lines, as gen_esp32part writes them into
 * a binary table. */
int csv_parse_in_order(const char *text, size_t len, const char *source, uint32_t flash_size,
                       struct ptable *table, struct error *err);

/* Append the table as ESP-IDF CSV: a header comment, then one aligned line per partition with
 * type/subtype keywords where known (else 0x numbers), offset in hex, size as <n>M or <n>K when
 * exact (else hex), flags as "encrypted:readonly" (unknown flag bits as a hex number). The text
 * parses back to the same table. Fails for a negative size. */
int csv_write(const struct ptable *table, struct strbuf *out, struct error *err);

/* An offset/size value: decimal, 0x hex, optional K/k (x1024) or M/m (x1048576) suffix.
 * 0 on success, -1 for anything else (including overflow past 32 bits). */
int csv_parse_size(const char *text, uint32_t *out);

#endif
