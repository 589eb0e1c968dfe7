/* Switching the boot slot without an upload (ota_select) and erasing otadata (ota_erase) on a
 * board-like flash: the records written, refusals, and a power cut at every point of the
 * otadata write, after which the bootloader's choice is the old one or the new one, never
 * anything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esp/otadata.h"
#include "ota/ota.h"
#include "synth/synth.h"

#define SECTOR 0x1000u
#define STEP 16u /* bytes programmed per step of the cut model */

/* A flash that loses power after `budget` steps: a write of a sector is an erase in two halves
 * (one step each: a cut leaves the first half erased, the rest as it was), then programming
 * STEP bytes per step in address order; an erase is the two halves alone. */
struct cut_flash {
    struct flash_image img;
    struct flash_ops ops;
    const struct flash_ops *inner;
    long budget; /* -1: never cut */
    long steps;
};

static int cut_sector(struct cut_flash *c, struct flash *f, uint32_t at, const uint8_t *p,
                      uint32_t n, struct error *err)
{
    static const uint8_t erased[SECTOR / 2] = {[0 ... SECTOR / 2 - 1] = 0xFF};
    uint32_t sector = at / SECTOR * SECTOR;
    for (uint32_t half = 0; half < 2; half++) {
        if (c->budget >= 0 && c->steps >= c->budget)
            return error_setk(err, ERROR_DEVICE, "power cut at 0x%x", at);
        if (c->inner->write(f, sector + half * (SECTOR / 2), erased, SECTOR / 2, err))
            return -1;
        c->steps++;
    }
    for (uint32_t k = 0; p && k < n; k += STEP) {
        if (c->budget >= 0 && c->steps >= c->budget)
            return error_setk(err, ERROR_DEVICE, "power cut at 0x%x", at + k);
        uint32_t m = n - k < STEP ? n - k : STEP;
        if (c->inner->write(f, at + k, p + k, m, err))
            return -1;
        c->steps++;
    }
    return 0;
}

static int cut_apply(struct flash *f, uint32_t addr, const uint8_t *p, uint32_t len,
                     struct error *err)
{
    struct cut_flash *c = (struct cut_flash *)f;
    /* whole sectors only: what ota_select and ota_erase write */
    assert_int_equal(addr % SECTOR, 0);
    assert_int_equal(len % SECTOR, 0);
    for (uint32_t at = addr; at < addr + len; at += SECTOR)
        if (cut_sector(c, f, at, p ? p + (at - addr) : NULL, SECTOR, err))
            return -1;
    return 0;
}

static int cut_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    return cut_apply(f, addr, buf, len, err);
}

static int cut_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    return cut_apply(f, addr, NULL, len, err);
}

static void cut_open(struct cut_flash *c, const uint8_t *data, uint32_t len)
{
    memset(c, 0, sizeof *c);
    struct error err;
    assert_int_equal(flash_image_open(&c->img, data, len, 0, len, "board", &err), 0);
    c->inner = c->img.flash.ops;
    c->ops = *c->inner;
    c->ops.write = cut_write;
    c->ops.erase = cut_erase;
    c->img.flash.ops = &c->ops;
    c->img.flash.caps = FLASH_CAP_LIVE; /* fixed size, changes are live */
    c->budget = -1;
}

/* A whole-flash OTA firmware with apps in both slots, ota_1 booting with state NEW. */
struct board {
    uint8_t *data;
    uint32_t len;
};

static int board_setup(void **state)
{
    struct synth_options so = {.chip = chip_by_name("esp32s3"), .ota = 1, .seed = 3};
    struct synth_buffer fw;
    struct error err;
    assert_int_equal(synth_firmware(&so, SYNTH_FULL_FLASH, &fw, &err), 0);
    so.seed = 4;
    struct synth_buffer app;
    assert_int_equal(synth_app(&so, &app, &err), 0);
    struct cut_flash c;
    cut_open(&c, fw.data, (uint32_t)fw.len);
    struct firmware f;
    assert_int_equal(firmware_load(&f, &c.img.flash, NULL, &err), 0);
    assert_int_equal(ota_update(&f, app.data, app.len, 1, 0, NULL, &err), 0);
    struct board *b = calloc(1, sizeof *b);
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&c.img, &len);
    b->data = malloc(len);
    memcpy(b->data, bytes, len);
    b->len = len;
    flash_close(&c.img.flash);
    free(fw.data);
    free(app.data);
    *state = b;
    return 0;
}

static int board_teardown(void **state)
{
    struct board *b = *state;
    free(b->data);
    free(b);
    return 0;
}

static struct ota_status status_of(struct cut_flash *c)
{
    struct firmware f;
    struct error err;
    struct ota_status st = {0};
    c->budget = -1;
    if (firmware_load(&f, &c->img.flash, NULL, &err) || ota_status_read(&f, &st, &err))
        fail_msg("reading the board: %s", err.msg);
    return st;
}

static void select_writes_the_other_sector(void **state)
{
    struct board *b = *state;
    struct cut_flash c;
    cut_open(&c, b->data, b->len);
    struct ota_status before = status_of(&c);
    assert_string_equal(before.current_name, "ota_1");
    assert_int_equal(before.boot.active, 0);
    struct firmware f;
    struct error err;
    assert_int_equal(firmware_load(&f, &c.img.flash, NULL, &err), 0);
    assert_int_equal(ota_select(&f, "ota_0", 1, 0, NULL, &err), 0);
    struct ota_status after = status_of(&c);
    assert_string_equal(after.current_name, "ota_0");
    assert_int_equal(after.boot.active, 1);
    assert_int_equal(after.boot.entries[1].seq, 3);
    assert_int_equal(after.boot.entries[1].state, OTA_STATE_NEW);
    /* the old record is still there, untouched */
    assert_memory_equal(&after.boot.entries[0], &before.boot.entries[0],
                        sizeof(struct ota_entry));
    /* the slot booting now but not confirmed (NEW): a record above it in the other sector */
    assert_int_equal(firmware_load(&f, &c.img.flash, NULL, &err), 0);
    assert_int_equal(ota_select(&f, "0", 0, 0, NULL, &err), 0);
    after = status_of(&c);
    assert_string_equal(after.current_name, "ota_0");
    assert_int_equal(after.boot.active, 0);
    assert_int_equal(after.boot.entries[0].seq, 5);
    assert_int_equal(after.boot.entries[0].state, OTA_STATE_UNDEFINED);
    /* the slot booting now, confirmed: nothing to write */
    long steps = c.steps;
    assert_int_equal(firmware_load(&f, &c.img.flash, NULL, &err), 0);
    assert_int_equal(ota_select(&f, "ota_0", 1, 0, NULL, &err), 0);
    assert_int_equal(c.steps, steps);
    flash_close(&c.img.flash);
}

static void select_refusals(void **state)
{
    struct board *b = *state;
    struct cut_flash c;
    cut_open(&c, b->data, b->len);
    struct firmware f;
    struct error err;
    assert_int_equal(firmware_load(&f, &c.img.flash, NULL, &err), 0);
    assert_int_equal(ota_select(&f, "ota_7", 0, 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "'ota_7' is neither an OTA app partition"));
    assert_int_equal(ota_select(&f, "nvs", 0, 0, NULL, &err), -1);
    /* an empty slot would not boot; a broken image only with force */
    uint32_t ota0 = f.table.parts[ptable_find(&f.table, "ota_0")].offset;
    static const uint8_t erased[SECTOR] = {[0 ... SECTOR - 1] = 0xFF};
    c.inner->write(&c.img.flash, ota0, erased, SECTOR, &err);
    assert_int_equal(ota_select(&f, "ota_0", 0, 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "holds no app image"));
    memcpy(c.img.data + ota0, b->data + ota0, SECTOR);
    c.img.data[ota0 + 0x2000] ^= 0x55;
    assert_int_equal(ota_select(&f, "ota_0", 0, 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "broken app image"));
    assert_int_equal(c.steps, 0); /* nothing was written */
    assert_int_equal(ota_select(&f, "ota_0", 0, 1, NULL, &err), 0);
    assert_string_equal(status_of(&c).current_name, "ota_0");
    flash_close(&c.img.flash);
}

/* Cut the power at every step of a selection or an erase: the board then boots the app it
 * booted before, or the one asked for, and nothing else. */
static void power_cut_at_every_step(void **state)
{
    struct board *b = *state;
    enum { SELECT, ERASE } ops[] = {SELECT, ERASE};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        int complete = 0;
        for (long budget = 0; !complete; budget++) {
            struct cut_flash c;
            cut_open(&c, b->data, b->len);
            struct firmware f;
            struct error err;
            assert_int_equal(firmware_load(&f, &c.img.flash, NULL, &err), 0);
            c.budget = budget;
            int rc = ops[o] == SELECT ? ota_select(&f, "ota_0", 1, 0, NULL, &err)
                                      : ota_erase(&f, NULL, &err);
            struct ota_status st = status_of(&c);
            /* before: ota_1; asked for: ota_0 (selected, or erased otadata without a
             * factory app) */
            if (strcmp(st.current_name, "ota_1") != 0 && strcmp(st.current_name, "ota_0") != 0)
                fail_msg("cut after %ld steps: boots %s", budget, st.current_name);
            if (rc == 0) {
                assert_string_equal(st.current_name, "ota_0");
                complete = 1;
            } else if (ops[o] == SELECT) {
                /* a selection is in effect once its record is programmed (the erase of its
                 * sector in two steps, then the record), before that the old one holds */
                long record_done = 2 + OTADATA_ENTRY_SIZE / STEP;
                assert_string_equal(st.current_name, budget < record_done ? "ota_1" : "ota_0");
            }
            flash_close(&c.img.flash);
            if (budget > 10000)
                fail_msg("never completes");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(select_writes_the_other_sector, board_setup,
                                        board_teardown),
        cmocka_unit_test_setup_teardown(select_refusals, board_setup, board_teardown),
        cmocka_unit_test_setup_teardown(power_cut_at_every_step, board_setup, board_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
