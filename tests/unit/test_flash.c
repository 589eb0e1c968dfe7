/* Unit tests of the flash interface: the in-memory image and partition windows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "flash/flash.h"

static void image_reads_what_it_was_given(void **state)
{
    (void)state;
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)i;
    struct flash_image img;
    struct error err;
    assert_int_equal(flash_image_open(&img, data, sizeof data, 0x1000, 0x400000, "fw", &err), 0);
    assert_int_equal(img.flash.base, 0x1000);
    assert_int_equal(img.flash.size, 0x1000 + 100);
    uint8_t out[10];
    assert_int_equal(flash_read(&img.flash, 0x1000 + 50, out, 10, &err), 0);
    assert_memory_equal(out, data + 50, 10);
    /* below the base and past the end are errors naming the range */
    assert_int_equal(flash_read(&img.flash, 0xFFF, out, 1, &err), -1);
    assert_non_null(strstr(err.msg, "0xfff"));
    assert_int_equal(flash_read(&img.flash, 0x1000 + 95, out, 10, &err), -1);
    flash_close(&img.flash);
}

static void image_grows_with_erased_bytes_and_truncates(void **state)
{
    (void)state;
    uint8_t data[16] = {1, 2, 3};
    struct flash_image img;
    struct error err;
    assert_int_equal(flash_image_open(&img, data, sizeof data, 0, 0x10000, "fw", &err), 0);
    uint8_t b = 0x42;
    assert_int_equal(flash_write(&img.flash, 0x100, &b, 1, &err), 0);
    assert_int_equal(img.flash.size, 0x101);
    uint8_t out[4];
    assert_int_equal(flash_read(&img.flash, 0xFE, out, 3, &err), 0);
    assert_int_equal(out[0], 0xFF);
    assert_int_equal(out[1], 0xFF);
    assert_int_equal(out[2], 0x42);
    /* beyond the limit is refused */
    assert_int_equal(flash_write(&img.flash, 0x10000, &b, 1, &err), -1);
    assert_int_equal(flash_erase(&img.flash, 0, 2, &err), 0);
    assert_int_equal(flash_read(&img.flash, 0, out, 3, &err), 0);
    assert_int_equal(out[0], 0xFF);
    assert_int_equal(out[2], 3);
    assert_int_equal(flash_image_truncate(&img, 8, &err), 0);
    uint32_t len;
    flash_image_bytes(&img, &len);
    assert_int_equal(len, 8);
    flash_close(&img.flash);
}

static void window_addresses_from_zero_and_clips_to_parent(void **state)
{
    (void)state;
    uint8_t data[0x3000];
    memset(data, 0xAB, sizeof data);
    struct flash_image img;
    struct error err;
    assert_int_equal(flash_image_open(&img, data, sizeof data, 0x1000, 0x400000, "fw", &err), 0);
    struct flash_window w;
    /* a partition at 0x3000 of 0x2000 bytes straddles the end of the file (0x4000) */
    flash_window_open(&w, &img.flash, 0x3000, 0x2000, "part");
    assert_int_equal(w.flash.size, 0x1000);
    uint8_t buf[0x10];
    assert_int_equal(flash_read(&w.flash, 0, buf, sizeof buf, &err), 0);
    assert_int_equal(buf[0], 0xAB);
    assert_int_equal(flash_read(&w.flash, 0x1000, buf, 1, &err), -1);
    memset(buf, 0x11, sizeof buf);
    assert_int_equal(flash_write(&w.flash, 0x1800, buf, sizeof buf, &err), 0);
    assert_int_equal(w.flash.size, 0x1810);
    assert_int_equal(img.flash.size, 0x4810);
    assert_int_equal(flash_write(&w.flash, 0x1FF8, buf, sizeof buf, &err), -1);
    flash_close(&img.flash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(image_reads_what_it_was_given),
        cmocka_unit_test(image_grows_with_erased_bytes_and_truncates),
        cmocka_unit_test(window_addresses_from_zero_and_clips_to_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
