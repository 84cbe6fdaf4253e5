/* SPDX-License-Identifier: MIT */
/* Guest RAM layout around the PCI hole, and bounds checks on guest-physical ranges. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/guest_memory.h"

/* Layout is pure arithmetic on the host pointer, so a fake one will do for big sizes. */
#define FAKE_HOST ((void *)0x7f0000000000ull)

START_TEST(test_small_ram_is_one_bank)
{
    ts_memory_region ram = { .host = FAKE_HOST, .size = 128ull << 20, .fd = -1 };
    guest_memory gm;

    ck_assert_int_eq(guest_memory_init(&gm, &ram, NULL), 0);
    ck_assert_uint_eq(gm.nr_banks, 1);
    ck_assert_uint_eq(gm.banks[0].gpa, 0);
    ck_assert_uint_eq(gm.banks[0].size, 128ull << 20);
    ck_assert_uint_eq(gm.total, 128ull << 20);
}
END_TEST

START_TEST(test_large_ram_splits_around_hole)
{
    ts_memory_region ram = { .host = FAKE_HOST, .size = 4ull << 30, .fd = -1 };
    guest_memory gm;

    ck_assert_int_eq(guest_memory_init(&gm, &ram, NULL), 0);
    ck_assert_uint_eq(gm.nr_banks, 2);
    ck_assert_uint_eq(gm.banks[0].size, GUEST_PCI_HOLE_START);
    ck_assert_uint_eq(gm.banks[1].gpa, GUEST_HIGH_RAM_START);
    ck_assert_uint_eq(gm.banks[1].size, (4ull << 30) - GUEST_PCI_HOLE_START);
    ck_assert_ptr_eq(gm.banks[1].host, (uint8_t *)FAKE_HOST + GUEST_PCI_HOLE_START);
    /* Translation: the last low byte, nothing in the hole, the first high byte. */
    ck_assert_ptr_eq(guest_memory_ptr(&gm, GUEST_PCI_HOLE_START - 1, 1),
                     (uint8_t *)FAKE_HOST + GUEST_PCI_HOLE_START - 1);
    ck_assert_ptr_null(guest_memory_ptr(&gm, GUEST_PCI_HOLE_START, 1));
    ck_assert_ptr_null(guest_memory_ptr(&gm, 0xfee00000, 4));
    ck_assert_ptr_eq(guest_memory_ptr(&gm, GUEST_HIGH_RAM_START, 8), gm.banks[1].host);
    /* A range straddling the hole is not RAM even though both ends are. */
    ck_assert_ptr_null(guest_memory_ptr(&gm, GUEST_PCI_HOLE_START - 4, 8));
}
END_TEST

START_TEST(test_bounds)
{
    ts_memory_region ram = { .size = 4ull << 20, .fd = -1 };
    guest_memory gm;
    uint8_t buf[16] = { 1, 2, 3 };

    ram.host = calloc(1, ram.size);
    ck_assert_int_eq(guest_memory_init(&gm, &ram, NULL), 0);
    ck_assert_ptr_nonnull(guest_memory_ptr(&gm, 0, ram.size));
    ck_assert_ptr_null(guest_memory_ptr(&gm, 0, ram.size + 1));
    ck_assert_ptr_null(guest_memory_ptr(&gm, ram.size - 1, 2));
    ck_assert_ptr_nonnull(guest_memory_ptr(&gm, ram.size, 0));
    /* Sums that would wrap must not sneak through. */
    ck_assert_ptr_null(guest_memory_ptr(&gm, UINT64_MAX, 2));
    ck_assert_ptr_null(guest_memory_ptr(&gm, 16, UINT64_MAX));
    ck_assert_ptr_null(guest_memory_ptr(&gm, UINT64_MAX - 7, 16));
    ck_assert_int_eq(guest_memory_write(&gm, 0x1000, buf, 3), 0);
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(guest_memory_read(&gm, 0x1000, buf, 3), 0);
    ck_assert_uint_eq(buf[2], 3);
    ck_assert_int_eq(guest_memory_write(&gm, ram.size - 2, buf, 3), -EFAULT);
    ck_assert_int_eq(guest_memory_read(&gm, ram.size, buf, 1), -EFAULT);
    free(ram.host);
}
END_TEST

START_TEST(test_invalid_ram)
{
    ts_memory_region tiny = { .host = FAKE_HOST, .size = 1 << 20, .fd = -1 };
    ts_memory_region ro = { .host = FAKE_HOST, .size = 64 << 20, .fd = -1,
                            .flags = TS_MEM_READONLY };
    guest_memory gm;
    GError *err = NULL;

    ck_assert_int_eq(guest_memory_init(&gm, &tiny, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "at least 2 MiB"));
    g_clear_error(&err);
    ck_assert_int_eq(guest_memory_init(&gm, &ro, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "read-only"));
    g_clear_error(&err);
    ck_assert_int_eq(guest_memory_init(&gm, NULL, &err), -EINVAL);
    g_clear_error(&err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guest-memory");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, test_small_ram_is_one_bank);
    tcase_add_test(tc, test_large_ram_splits_around_hole);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_invalid_ram);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
