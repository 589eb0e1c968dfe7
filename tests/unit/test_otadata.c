/* Unit tests of otadata records, ESP-IDF boot selection and slot switching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "esp/otadata.h"
#include "test_shared.h"

static void crc_vectors(void **state)
{
    (void)state;
    assert_int_equal(otadata_crc(1), 0x4743989A);
    assert_int_equal(otadata_crc(2), 0x55F63774);
    assert_int_equal(otadata_crc(3), 0xED4A5011);
    assert_int_equal(otadata_crc(4), 0x709D68A8);
    assert_int_not_equal(otadata_crc(1), 0x99F8B879); /* the plain CRC-32 is not it */
}

static void entry_encode_decode(void **state)
{
    (void)state;
    struct ota_entry e = otadata_entry_make(3, OTA_STATE_NEW);
    uint8_t b[32];
    otadata_entry_encode(&e, b);
    const uint8_t want[32] = {3, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0xFF, 0, 0, 0, 0, 0x11, 0x50, 0x4A, 0xED};
    assert_memory_equal(b, want, 32);
    struct ota_entry d;
    otadata_entry_decode(b, &d);
    assert_int_equal(d.seq, 3);
    assert_int_equal(d.state, OTA_STATE_NEW);
    assert_int_equal(d.crc, 0xED4A5011);
    assert_true(otadata_entry_valid(&d));
}

static void validity_rules(void **state)
{
    (void)state;
    struct ota_entry e = otadata_entry_make(5, OTA_STATE_VALID);
    assert_true(otadata_entry_valid(&e));
    e.state = OTA_STATE_UNDEFINED;
    assert_true(otadata_entry_valid(&e));
    e.state = OTA_STATE_PENDING_VERIFY;
    assert_true(otadata_entry_valid(&e));
    e.state = OTA_STATE_INVALID;
    assert_false(otadata_entry_valid(&e));
    e.state = OTA_STATE_ABORTED;
    assert_false(otadata_entry_valid(&e));
    e = otadata_entry_make(5, OTA_STATE_VALID);
    e.crc ^= 1;
    assert_false(otadata_entry_valid(&e));
    e = otadata_entry_make(0xFFFFFFFF, OTA_STATE_VALID);
    assert_false(otadata_entry_valid(&e));
}

static void state_names(void **state)
{
    (void)state;
    const char *names[] = {"NEW", "PENDING_VERIFY", "VALID", "INVALID", "ABORTED", "UNDEFINED"};
    const uint32_t values[] = {0, 1, 2, 3, 4, 0xFFFFFFFF};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(otadata_state_name(values[i]), names[i]);
        uint32_t v = 77;
        assert_int_equal(otadata_state_parse(names[i], &v), 0);
        assert_int_equal(v, values[i]);
    }
    uint32_t v;
    assert_int_equal(otadata_state_parse("valid", &v), 0);
    assert_int_equal(v, 2);
    assert_null(otadata_state_name(5));
    assert_int_equal(otadata_state_parse("bogus", &v), -1);
}

static void put_entry(uint8_t *od, int sector, uint32_t seq, uint32_t st)
{
    struct ota_entry e = otadata_entry_make(seq, st);
    otadata_entry_encode(&e, od + sector * OTADATA_SECTOR_SIZE);
}

static void boot_selection(void **state)
{
    (void)state;
    uint8_t od[OTADATA_SIZE];
    memset(od, 0xFF, sizeof od);
    struct otadata_boot b;
    struct error err;
    /* erased: factory if present, else ota_0 */
    assert_int_equal(otadata_boot_select(od, sizeof od, 2, 1, &b, &err), 0);
    assert_int_equal(b.active, -1);
    assert_int_equal(b.slot, -1);
    assert_int_equal(otadata_boot_select(od, sizeof od, 2, 0, &b, &err), 0);
    assert_int_equal(b.slot, 0);
    /* highest valid seq wins; slot = (seq - 1) mod N */
    put_entry(od, 0, 1, OTA_STATE_VALID);
    put_entry(od, 1, 2, OTA_STATE_NEW);
    assert_int_equal(otadata_boot_select(od, sizeof od, 2, 0, &b, &err), 0);
    assert_int_equal(b.active, 1);
    assert_int_equal(b.slot, 1);
    assert_int_equal(otadata_boot_select(od, sizeof od, 3, 0, &b, &err), 0);
    assert_int_equal(b.slot, 1);
    put_entry(od, 1, 6, OTA_STATE_UNDEFINED);
    assert_int_equal(otadata_boot_select(od, sizeof od, 4, 0, &b, &err), 0);
    assert_int_equal(b.slot, 1);
    assert_int_equal(otadata_boot_select(od, sizeof od, 3, 0, &b, &err), 0);
    assert_int_equal(b.slot, 2);
    /* an ABORTED newer entry falls back to the older one */
    put_entry(od, 1, 6, OTA_STATE_ABORTED);
    assert_int_equal(otadata_boot_select(od, sizeof od, 2, 0, &b, &err), 0);
    assert_int_equal(b.active, 0);
    assert_int_equal(b.slot, 0);
    assert_false(b.valid[1]);
    assert_int_equal(b.entries[1].seq, 6);
    /* a corrupt crc likewise */
    put_entry(od, 1, 2, OTA_STATE_VALID);
    od[OTADATA_SECTOR_SIZE + 28] ^= 1;
    assert_int_equal(otadata_boot_select(od, sizeof od, 2, 0, &b, &err), 0);
    assert_int_equal(b.slot, 0);
    /* no ota partitions: factory */
    assert_int_equal(otadata_boot_select(od, sizeof od, 0, 1, &b, &err), 0);
    assert_int_equal(b.slot, -1);
    assert_int_equal(otadata_boot_select(od, sizeof od, 0, 0, &b, &err), -1);
    /* too short */
    assert_int_equal(otadata_boot_select(od, OTADATA_SECTOR_SIZE + 31, 2, 0, &b, &err), -1);
    assert_non_null(strstr(err.msg, "too small"));
}

static void select_slot_sequence(void **state)
{
    (void)state;
    uint8_t od[OTADATA_SIZE];
    memset(od, 0xFF, sizeof od);
    struct otadata_write w;
    struct otadata_boot b;
    struct error err;
    /* erased: ota_1 -> seq 2 in sector 0 */
    assert_int_equal(otadata_select_slot(od, sizeof od, 2, 1, OTA_STATE_NEW, &w, &err), 0);
    assert_int_equal(w.sector, 0);
    assert_int_equal(w.seq, 2);
    otadata_apply(od, sizeof od, &w);
    assert_int_equal(otadata_boot_select(od, sizeof od, 2, 0, &b, &err), 0);
    assert_int_equal(b.slot, 1);
    assert_int_equal(b.entries[0].state, OTA_STATE_NEW);
    /* alternate: each switch goes to the other sector with the next matching seq */
    uint32_t want_seq[] = {3, 4, 5, 6};
    int want_sector[] = {1, 0, 1, 0};
    for (int i = 0; i < 4; i++) {
        int slot = i % 2 == 0 ? 0 : 1;
        assert_int_equal(otadata_select_slot(od, sizeof od, 2, slot, OTA_STATE_UNDEFINED, &w,
                                             &err),
                         0);
        assert_int_equal(w.seq, want_seq[i]);
        assert_int_equal(w.sector, want_sector[i]);
        otadata_apply(od, sizeof od, &w);
        assert_int_equal(otadata_boot_select(od, sizeof od, 2, 0, &b, &err), 0);
        assert_int_equal(b.slot, slot);
    }
    /* selecting the slot already active writes the other sector too, with a sequence above
     * the active one (equal ones would let sector 0's old state win) */
    uint8_t again[OTADATA_SIZE];
    memcpy(again, od, sizeof again);
    assert_int_equal(otadata_select_slot(again, sizeof again, 2, 1, OTA_STATE_VALID, &w, &err),
                     0);
    assert_int_equal(w.seq, 8);
    assert_int_equal(w.sector, 1);
    otadata_apply(again, sizeof again, &w);
    assert_int_equal(otadata_boot_select(again, sizeof again, 2, 0, &b, &err), 0);
    assert_int_equal(b.slot, 1);
    assert_int_equal(b.active, 1);
    assert_int_equal(b.entries[1].state, OTA_STATE_VALID);
    /* with 4 slots: from seq 6 (slot 1) to slot 0 -> seq 9 */
    assert_int_equal(otadata_select_slot(od, sizeof od, 4, 0, OTA_STATE_NEW, &w, &err), 0);
    assert_int_equal(w.seq, 9);
    assert_int_equal(w.sector, 1);
    assert_int_equal(otadata_select_slot(od, sizeof od, 4, 3, OTA_STATE_NEW, &w, &err), 0);
    assert_int_equal(w.seq, 8);
    /* the written sector is 0xFF after the entry */
    otadata_apply(od, sizeof od, &w);
    for (size_t i = OTADATA_SECTOR_SIZE + 32; i < OTADATA_SIZE; i++)
        assert_int_equal(od[i], 0xFF);
}

static void select_slot_errors(void **state)
{
    (void)state;
    uint8_t od[OTADATA_SIZE];
    memset(od, 0xFF, sizeof od);
    struct otadata_write w;
    struct error err;
    assert_int_equal(otadata_select_slot(od, sizeof od, 2, 2, OTA_STATE_NEW, &w, &err), -1);
    assert_int_equal(otadata_select_slot(od, sizeof od, 2, -1, OTA_STATE_NEW, &w, &err), -1);
    assert_int_equal(otadata_select_slot(od, sizeof od, 0, 0, OTA_STATE_NEW, &w, &err), -1);
    assert_int_equal(otadata_select_slot(od, 100, 2, 0, OTA_STATE_NEW, &w, &err), -1);
    /* a sequence number at the top of the range cannot advance */
    put_entry(od, 0, 0xFFFFFFFE, OTA_STATE_VALID);
    assert_int_equal(otadata_select_slot(od, sizeof od, 2, 0, OTA_STATE_NEW, &w, &err), -1);
    assert_non_null(strstr(err.msg, "overflow"));
}

static void real_initial_otadata(void **state)
{
    (void)state;
    const char *dir = getenv("MP_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/keenanjohnson__ota-micropython-esp32-example/"
                                "ota_data_initial.bin",
             dir ? dir : "");
    FILE *f = dir ? fopen(path, "rb") : NULL;
    if (!f) {
        TEST_SKIP("MP_SHARED_DIR firmware not available");
    }
    uint8_t od[OTADATA_SIZE + 1];
    size_t n = fread(od, 1, sizeof od, f);
    fclose(f);
    assert_int_equal(n, OTADATA_SIZE);
    struct otadata_boot b;
    struct error err;
    assert_int_equal(otadata_boot_select(od, n, 2, 0, &b, &err), 0);
    assert_int_equal(b.active, -1);
    assert_int_equal(b.slot, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_vectors),
        cmocka_unit_test(entry_encode_decode),
        cmocka_unit_test(validity_rules),
        cmocka_unit_test(state_names),
        cmocka_unit_test(boot_selection),
        cmocka_unit_test(select_slot_sequence),
        cmocka_unit_test(select_slot_errors),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(real_initial_otadata),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
