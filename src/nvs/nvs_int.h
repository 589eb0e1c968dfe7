/* Helpers shared by the NVS reader and writer (not part of the module's interface). */
#ifndef MP_NVS_NVS_INT_H
#define MP_NVS_NVS_INT_H

#include <stdint.h>

#include "nvs/nvs.h"

/* Where the next entry of a page may be written: the first Empty entry, moved past entries
 * whose bytes were written although their state is still Empty (Page::mLoadEntryTable). */
unsigned nvs_page_next_free(const uint8_t *page);
/* The indexes of the pages to read (kind NVS_KIND_READ) in sequence-number order; returns
 * their count. `order` has room for `count`. */
uint32_t nvs_read_order(const struct nvs_page_info *pages, uint32_t count, uint32_t *order);
/* len bytes of flash at addr in a new buffer; what lies past the end of the flash reads as
 * erased (0xFF). */
int nvs_read_partition(struct flash *f, uint32_t addr, uint32_t len, uint8_t **out,
                       struct error *err);

#endif
