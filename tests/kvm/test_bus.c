/* SPDX-License-Identifier: MIT */
/* I/O bus: registration, overlap refusal, lookup, dispatch, unclaimed accesses. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"

struct recorder {
    uint64_t offset;
    unsigned len;
    bool is_write;
    uint8_t last[8];
    int calls;
};

static void record_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    struct recorder *r = opaque;
    r->offset = offset;
    r->len = len;
    r->is_write = is_write;
    r->calls++;
    if (is_write)
        memcpy(r->last, data, len);
    else
        memset(data, 0x5a, len);
}

START_TEST(test_register_and_lookup)
{
    io_bus *bus = io_bus_new("pio");
    struct recorder a = { 0 }, b = { 0 };
    io_region r;

    ck_assert_int_eq(io_bus_register(bus, 0x3f8, 8, record_io, &a, "a", NULL), 0);
    ck_assert_int_eq(io_bus_register(bus, 0x80, 1, record_io, &b, "b", NULL), 0);
    ck_assert_uint_eq(io_bus_count(bus), 2);
    ck_assert(io_bus_lookup(bus, 0x3f8, &r));
    ck_assert_ptr_eq(r.opaque, &a);
    ck_assert(io_bus_lookup(bus, 0x3ff, &r));
    ck_assert_ptr_eq(r.opaque, &a);
    ck_assert(!io_bus_lookup(bus, 0x400, &r));
    ck_assert(!io_bus_lookup(bus, 0x3f7, &r));
    ck_assert(io_bus_lookup(bus, 0x80, &r));
    ck_assert_str_eq(r.owner, "b");
    ck_assert(!io_bus_lookup(bus, 0x81, NULL));
    ck_assert(!io_bus_lookup(bus, 0, NULL));
    io_bus_free(bus);
}
END_TEST

START_TEST(test_overlaps_refused)
{
    io_bus *bus = io_bus_new("mmio");
    GError *err = NULL;
    struct recorder a = { 0 };

    ck_assert_int_eq(io_bus_register(bus, 0x1000, 0x100, record_io, &a, "first", NULL), 0);
    /* Inside, straddling either end, covering, same base: all refused. */
    static const uint64_t clashes[][2] = {
        { 0x1010, 0x10 }, { 0xff0, 0x20 }, { 0x10ff, 0x10 }, { 0x0, 0x10000 }, { 0x1000, 1 },
    };
    for (size_t i = 0; i < sizeof(clashes) / sizeof(clashes[0]); i++) {
        ck_assert_int_eq(io_bus_register(bus, clashes[i][0], clashes[i][1], record_io, &a,
                                         "second", &err),
                         -EEXIST);
        ck_assert_ptr_nonnull(strstr(err->message, "first"));
        ck_assert_ptr_nonnull(strstr(err->message, "second"));
        g_clear_error(&err);
    }
    /* Adjacent on both sides is fine. */
    ck_assert_int_eq(io_bus_register(bus, 0xf00, 0x100, record_io, &a, "below", NULL), 0);
    ck_assert_int_eq(io_bus_register(bus, 0x1100, 0x100, record_io, &a, "above", NULL), 0);
    /* Empty and wrapping ranges are invalid. */
    ck_assert_int_eq(io_bus_register(bus, 0x5000, 0, record_io, &a, "empty", &err), -EINVAL);
    g_clear_error(&err);
    ck_assert_int_eq(io_bus_register(bus, UINT64_MAX - 1, 4, record_io, &a, "wrap", &err), -EINVAL);
    g_clear_error(&err);
    /* The very top of the space can be claimed. */
    ck_assert_int_eq(io_bus_register(bus, UINT64_MAX - 3, 4, record_io, &a, "top", NULL), 0);
    ck_assert(io_bus_lookup(bus, UINT64_MAX, NULL));
    ck_assert_uint_eq(io_bus_count(bus), 4);
    io_bus_free(bus);
}
END_TEST

START_TEST(test_dispatch)
{
    io_bus *bus = io_bus_new("pio");
    struct recorder a = { 0 };
    uint8_t data[8];

    ck_assert_int_eq(io_bus_register(bus, 0x3f8, 8, record_io, &a, "uart", NULL), 0);
    data[0] = 'x';
    ck_assert(io_bus_dispatch(bus, 0x3f8, data, 1, true));
    ck_assert_int_eq(a.calls, 1);
    ck_assert_uint_eq(a.offset, 0);
    ck_assert_uint_eq(a.last[0], 'x');
    ck_assert(io_bus_dispatch(bus, 0x3fd, data, 2, false));
    ck_assert_uint_eq(a.offset, 5);
    ck_assert_uint_eq(data[0], 0x5a);
    ck_assert_uint_eq(data[1], 0x5a);
    /* An access running past the region's end is not the region's. */
    memset(data, 0, sizeof(data));
    ck_assert(!io_bus_dispatch(bus, 0x3fe, data, 4, false));
    ck_assert_int_eq(a.calls, 2);
    ck_assert_uint_eq(data[0], 0xff);
    ck_assert_uint_eq(data[3], 0xff);
    io_bus_free(bus);
}
END_TEST

START_TEST(test_unclaimed)
{
    io_bus *bus = io_bus_new("pio");
    uint8_t data[4] = { 1, 2, 3, 4 };

    ck_assert(!io_bus_dispatch(bus, 0x2f8, data, 4, false));
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(data[i], 0xff);
    ck_assert(!io_bus_dispatch(bus, 0x2f8, data, 4, true)); /* dropped, no crash */
    io_bus_free(bus);
}
END_TEST

START_TEST(test_unregister)
{
    io_bus *bus = io_bus_new("pio");
    struct recorder a = { 0 };

    ck_assert_int_eq(io_bus_register(bus, 0x100, 0x10, record_io, &a, "a", NULL), 0);
    ck_assert_int_eq(io_bus_unregister(bus, 0x108), -ENOENT);
    ck_assert_int_eq(io_bus_unregister(bus, 0x100), 0);
    ck_assert(!io_bus_lookup(bus, 0x100, NULL));
    ck_assert_int_eq(io_bus_unregister(bus, 0x100), -ENOENT);
    /* The space is free again. */
    ck_assert_int_eq(io_bus_register(bus, 0x104, 0x4, record_io, &a, "b", NULL), 0);
    io_bus_free(bus);
}
END_TEST

START_TEST(test_many_regions_sorted)
{
    io_bus *bus = io_bus_new("mmio");
    struct recorder a = { 0 };
    io_region r;

    /* Insert out of order; every lookup must still find its own region. */
    for (unsigned i = 0; i < 200; i++) {
        uint64_t slot = (i * 37) % 200;
        ck_assert_int_eq(io_bus_register(bus, slot * 0x1000, 0x800, record_io,
                                         (void *)(uintptr_t)(slot + 1), "r", NULL),
                         0);
    }
    for (uint64_t slot = 0; slot < 200; slot++) {
        ck_assert(io_bus_lookup(bus, slot * 0x1000 + 0x7ff, &r));
        ck_assert_ptr_eq(r.opaque, (void *)(uintptr_t)(slot + 1));
        ck_assert(!io_bus_lookup(bus, slot * 0x1000 + 0x800, NULL));
    }
    (void)a;
    io_bus_free(bus);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("bus");
    tcase_add_test(tc, test_register_and_lookup);
    tcase_add_test(tc, test_overlaps_refused);
    tcase_add_test(tc, test_dispatch);
    tcase_add_test(tc, test_unclaimed);
    tcase_add_test(tc, test_unregister);
    tcase_add_test(tc, test_many_regions_sorted);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
