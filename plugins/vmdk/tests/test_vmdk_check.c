/* SPDX-License-Identifier: MIT */
/*
 * vmdk_check and its repairs on images corrupted on purpose, and write-zeroes/discard.
 * Layout of a 1 GiB monolithicSparse (as qemu-img makes it): RGD at sector 21, RGTs at
 * 22 + 4i, GD at 150, GTs at 151 + 4i, first grain at sector 384.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
#include "vmdk_format.h"
#include "vmdk_test_util.h"

#define GD 150u
#define RGD 21u
#define GT0 151u
#define RGT0 22u
#define OVERHEAD 384u
#define GRAIN 65536u

static char *dir;

static void setup(void)
{
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rmdir(dir);
}

static char *create_opts(const char *name, uint64_t size, enum vmdk_subformat f, bool zeroed)
{
    struct vmdk_create_options o;
    vmdk_create_options_init(&o);
    o.size = size;
    o.subformat = f;
    o.zeroed_grain = zeroed;
    struct vmdk_error err = { 0 };
    char *p = tu_path(dir, name);
    ck_assert_msg(vmdk_create(p, &o, &err) == 0, "%s", err.msg);
    return p;
}

static char *create(const char *name, uint64_t size)
{
    return create_opts(name, size, VMDK_MONOLITHIC_SPARSE, false);
}

static void close_img(struct vmdk_image *img)
{
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_close(img, &err) == 0, "%s", err.msg);
}

static void put32(const char *p, uint64_t off, uint32_t v)
{
    uint8_t b[4];
    vmdk_put_le32(b, v);
    ck_assert_int_eq(tu_pwrite_file(p, b, 4, off), 0);
}

static uint32_t get32(const char *p, uint64_t off)
{
    uint8_t b[4];
    ck_assert_int_eq(tu_pread_file(p, b, 4, off), 0);
    return vmdk_le32(b);
}

/* Sets GTE i of table 0 in both the primary and the redundant table. */
static void put_gte(const char *p, unsigned i, uint32_t v)
{
    put32(p, GT0 * 512ull + 4 * i, v);
    put32(p, RGT0 * 512ull + 4 * i, v);
}

/* Collected messages of one check. */
struct msgs {
    char text[4096];
    unsigned n[3];
    unsigned fixed;
};

static void collect(void *ctx, enum vmdk_problem kind, bool fixed, const char *msg)
{
    struct msgs *m = ctx;
    ck_assert_ptr_null(strchr(msg, '\n'));
    m->n[kind]++;
    m->fixed += fixed;
    size_t l = strlen(m->text);
    snprintf(m->text + l, sizeof(m->text) - l, "%s|", msg);
}

static struct vmdk_check_result run_check(const char *p, enum vmdk_check_mode mode,
                                          struct msgs *m)
{
    struct vmdk_image *img = tu_open(p, mode == VMDK_CHECK_NONE);
    struct vmdk_check_result res;
    struct vmdk_error err = { 0 };
    if (m)
        memset(m, 0, sizeof(*m));
    ck_assert_msg(vmdk_check(img, mode, m ? collect : NULL, m, &res, &err) == 0, "%s",
                  err.msg);
    close_img(img);
    return res;
}

static void expect_clean(const char *p)
{
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_msg(res.corruptions == 0 && res.leaks == 0, "not clean: %s", m.text);
    ck_assert_uint_eq(m.n[0] + m.n[1] + m.n[2], 0);
    if (tu_have_qemu()) {
        char *out = NULL;
        int rc = tu_run(&out, "qemu-img check -f vmdk '%s' 2>&1", p);
        ck_assert_msg(rc == 0, "qemu-img check: %s", out);
        free(out);
    }
}

static void write_pattern(const char *p, uint64_t off, size_t len, uint64_t seed)
{
    struct vmdk_image *img = tu_open(p, false);
    uint8_t *buf = malloc(len);
    tu_fill_pattern(buf, len, seed);
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_write(img, off, buf, len, &err) == 0, "%s", err.msg);
    free(buf);
    close_img(img);
}

static void expect_pattern(const char *p, uint64_t off, size_t len, uint64_t seed)
{
    struct vmdk_image *img = tu_open(p, true);
    uint8_t *got = malloc(len), *want = malloc(len);
    if (seed)
        tu_fill_pattern(want, len, seed);
    else
        memset(want, 0, len);
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_read(img, off, got, len, &err) == 0, "%s", err.msg);
    ck_assert_msg(memcmp(got, want, len) == 0, "data at 0x%llx differs",
                  (unsigned long long)off);
    free(got);
    free(want);
    close_img(img);
}

START_TEST(clean_image_counts)
{
    char *p = create("c.vmdk", 1ull << 30);
    write_pattern(p, 0, 3 * GRAIN, 1);
    write_pattern(p, 100 * GRAIN, 1000, 2);
    write_pattern(p, 5 * GRAIN, GRAIN, 3);
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_uint_eq(res.total_clusters, 16384);
    ck_assert_uint_eq(res.allocated_clusters, 5);
    /* 0,1,2 contiguous; 5 follows 100 in the file, so 100 and 5 are out of order:
     * grains sit in virtual order 0,1,2,5,100 at file slots 0,1,2,4,3. */
    ck_assert_uint_eq(res.fragmented_clusters, 2);
    ck_assert_uint_eq(res.image_end_offset, (OVERHEAD * 512ull) + 5 * GRAIN);
    expect_clean(p);
    free(p);
}
END_TEST

START_TEST(leak_at_end_truncated)
{
    char *p = create("l.vmdk", 1ull << 30);
    write_pattern(p, 0, GRAIN, 1);
    uint64_t size = tu_file_size(p);
    uint8_t junk[GRAIN + 512];
    tu_fill_pattern(junk, sizeof(junk), 9);
    ck_assert_int_eq(tu_pwrite_file(p, junk, sizeof(junk), size), 0);
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 2); /* a whole grain and a partial one */
    ck_assert_msg(strstr(m.text, "leaked grains at") != NULL, "%s", m.text);
    ck_assert_uint_eq(tu_file_size(p), size + sizeof(junk)); /* report only */
    res = run_check(p, VMDK_CHECK_LEAKS, &m);
    ck_assert_uint_eq(res.leaks_fixed, 2);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_uint_eq(tu_file_size(p), size);
    expect_clean(p);
    expect_pattern(p, 0, GRAIN, 1);
    free(p);
}
END_TEST

START_TEST(interior_leak_compacted)
{
    char *p = create("i.vmdk", 1ull << 30);
    for (unsigned i = 0; i < 4; i++)
        write_pattern(p, (uint64_t)i * GRAIN, GRAIN, 10 + i);
    ck_assert_uint_eq(get32(p, GT0 * 512ull + 4), OVERHEAD + 128);
    put_gte(p, 1, 0); /* grain 1's slot is now referenced by nothing */
    uint64_t size = tu_file_size(p);
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.leaks, 1);
    ck_assert_uint_eq(res.fragmented_clusters, 1);
    res = run_check(p, VMDK_CHECK_LEAKS, &m);
    ck_assert_uint_eq(res.leaks_fixed, 1);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_uint_eq(tu_file_size(p), size - GRAIN);
    /* The last grain moved into the hole, in both tables. */
    ck_assert_uint_eq(get32(p, GT0 * 512ull + 12), OVERHEAD + 128);
    ck_assert_uint_eq(get32(p, RGT0 * 512ull + 12), OVERHEAD + 128);
    expect_clean(p);
    expect_pattern(p, 0, GRAIN, 10);
    expect_pattern(p, GRAIN, GRAIN, 0);
    expect_pattern(p, 2 * GRAIN, GRAIN, 12);
    expect_pattern(p, 3 * GRAIN, GRAIN, 13);
    free(p);
}
END_TEST

START_TEST(overlapping_grains)
{
    char *p = create("o.vmdk", 1ull << 30);
    write_pattern(p, 0, 2 * GRAIN, 1);
    put_gte(p, 7, OVERHEAD); /* grain 7 claims grain 0's data */
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 1);
    ck_assert_msg(strstr(m.text, "overlaps") != NULL, "%s", m.text);
    /* -r leaks leaves corruptions alone */
    res = run_check(p, VMDK_CHECK_LEAKS, &m);
    ck_assert_uint_eq(res.corruptions, 1);
    ck_assert_uint_eq(res.corruptions_fixed, 0);
    res = run_check(p, VMDK_CHECK_ALL, &m);
    ck_assert_uint_eq(res.corruptions_fixed, 1);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(m.fixed, 1);
    expect_clean(p);
    expect_pattern(p, 0, 2 * GRAIN, 1);
    expect_pattern(p, 7 * GRAIN, GRAIN, 0);
    free(p);
}
END_TEST

START_TEST(grain_into_metadata_and_past_eof)
{
    char *p = create("m.vmdk", 1ull << 30);
    write_pattern(p, 0, GRAIN, 1);
    put_gte(p, 3, 100);         /* inside the metadata area */
    put_gte(p, 4, 0x7fffff00);  /* far past the end */
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 2);
    ck_assert_msg(strstr(m.text, "metadata area") && strstr(m.text, "past the end"), "%s",
                  m.text);
    res = run_check(p, VMDK_CHECK_ALL, &m);
    ck_assert_uint_eq(res.corruptions_fixed, 2);
    expect_clean(p);
    expect_pattern(p, 3 * GRAIN, 2 * GRAIN, 0);
    expect_pattern(p, 0, GRAIN, 1);
    free(p);
}
END_TEST

START_TEST(grain_table_past_eof)
{
    char *p = create("t.vmdk", 1ull << 30);
    write_pattern(p, 40 << 20, GRAIN, 1); /* table 1 */
    put32(p, GD * 512ull, 0x7ffffff0);    /* GD[0] past the end */
    /* The image opens; reading table 0's range fails cleanly, table 1's works. */
    struct vmdk_image *img = tu_open(p, true);
    uint8_t buf[512];
    struct vmdk_error err = { 0 };
    ck_assert_int_lt(vmdk_read(img, 0, buf, sizeof(buf), &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "past the end of the file"));
    close_img(img);
    expect_pattern(p, 40 << 20, GRAIN, 1);
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 1);
    res = run_check(p, VMDK_CHECK_ALL, &m);
    ck_assert_uint_eq(res.corruptions_fixed, 1);
    ck_assert_uint_eq(res.corruptions, 0);
    expect_clean(p);
    write_pattern(p, 0, 4096, 5);
    expect_pattern(p, 0, 4096, 5);
    expect_pattern(p, 40 << 20, GRAIN, 1);
    expect_clean(p);
    free(p);
}
END_TEST

START_TEST(redundant_directory_lags)
{
    char *p = create("r.vmdk", 1ull << 30);
    write_pattern(p, 0, GRAIN, 1);
    put32(p, RGD * 512ull, 0); /* RGD[0] empty while GD[0] is set */
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_ge(res.leaks, 1);
    ck_assert_msg(strstr(m.text, "redundant one") != NULL, "%s", m.text);
    res = run_check(p, VMDK_CHECK_LEAKS, &m);
    ck_assert_uint_eq(res.leaks, 0);
    uint32_t rgde = get32(p, RGD * 512ull);
    ck_assert_uint_ne(rgde, 0);
    ck_assert_uint_eq(get32(p, rgde * 512ull), OVERHEAD);
    expect_clean(p);
    expect_pattern(p, 0, GRAIN, 1);
    free(p);
}
END_TEST

START_TEST(redundant_table_lags_or_conflicts)
{
    char *p = create("r.vmdk", 1ull << 30);
    write_pattern(p, 0, 2 * GRAIN, 1);
    put32(p, RGT0 * 512ull + 4, 0); /* lag: redundant entry empty */
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 1);
    res = run_check(p, VMDK_CHECK_LEAKS, &m);
    ck_assert_uint_eq(res.leaks_fixed, 1);
    ck_assert_uint_eq(get32(p, RGT0 * 512ull + 4), OVERHEAD + 128);
    expect_clean(p);
    put32(p, RGT0 * 512ull + 4, OVERHEAD + 4096); /* conflict */
    res = run_check(p, VMDK_CHECK_LEAKS, &m);
    ck_assert_uint_eq(res.corruptions, 1);
    ck_assert_uint_eq(get32(p, RGT0 * 512ull + 4), OVERHEAD + 4096);
    res = run_check(p, VMDK_CHECK_ALL, &m);
    ck_assert_uint_eq(res.corruptions_fixed, 1);
    ck_assert_uint_eq(get32(p, RGT0 * 512ull + 4), OVERHEAD + 128);
    expect_clean(p);
    expect_pattern(p, 0, 2 * GRAIN, 1);
    free(p);
}
END_TEST

START_TEST(repair_needs_write_access)
{
    char *p = create("ro.vmdk", 1 << 20);
    struct vmdk_image *img = tu_open(p, true);
    struct vmdk_check_result res;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_check(img, VMDK_CHECK_LEAKS, NULL, NULL, &res, &err), -30);
    ck_assert_ptr_nonnull(strstr(err.msg, "read-write"));
    close_img(img);
    free(p);
}
END_TEST

START_TEST(split_extent_leak)
{
    char *p = create_opts("s.vmdk", 5ull << 30, VMDK_TWO_GB_SPARSE, false);
    write_pattern(p, (2ull << 30) + 4096, 8192, 4);
    char *ext = tu_path(dir, "s-s002.vmdk");
    uint64_t size = tu_file_size(ext);
    uint8_t junk[GRAIN];
    memset(junk, 0xab, sizeof(junk));
    ck_assert_int_eq(tu_pwrite_file(ext, junk, sizeof(junk), size), 0);
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_uint_eq(res.leaks, 1);
    ck_assert_msg(strstr(m.text, "s-s002.vmdk") != NULL, "%s", m.text);
    res = run_check(p, VMDK_CHECK_LEAKS, NULL);
    ck_assert_uint_eq(res.leaks_fixed, 1);
    ck_assert_uint_eq(tu_file_size(ext), size);
    expect_clean(p);
    expect_pattern(p, (2ull << 30) + 4096, 8192, 4);
    free(ext);
    free(p);
}
END_TEST

START_TEST(stream_checks)
{
    char *p = create_opts("st.vmdk", 64 << 20, VMDK_STREAM_OPTIMIZED, false);
    write_pattern(p, 0, 4 * GRAIN, 3);
    struct msgs m;
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, &m);
    ck_assert_msg(res.corruptions == 0 && res.leaks == 0, "%s", m.text);
    ck_assert_uint_eq(res.allocated_clusters, 4);
    ck_assert_uint_eq(res.compressed_clusters, 4);
    free(p);
}
END_TEST

/* ---- write-zeroes and discard ---- */

static enum vmdk_status status_at(struct vmdk_image *img, uint64_t off)
{
    struct vmdk_map map;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_block_status(img, off, 512, &map, &err) == 0, "%s", err.msg);
    return map.status;
}

START_TEST(write_zeroes_zeroed_grain)
{
    char *p = create_opts("z.vmdk", 64 << 20, VMDK_MONOLITHIC_SPARSE, true);
    write_pattern(p, 0, 4 * GRAIN, 1);
    struct vmdk_image *img = tu_open(p, false);
    uint32_t cid = vmdk_cid(img);
    struct vmdk_error err = { 0 };
    /* grain 1 whole, half of grain 2, and grain 10 that was never written */
    ck_assert_int_eq(vmdk_write_zeroes(img, GRAIN, GRAIN + GRAIN / 2, 0, &err), 0);
    ck_assert_int_eq(vmdk_write_zeroes(img, 10 * GRAIN, GRAIN, 0, &err), 0);
    ck_assert_uint_ne(vmdk_cid(img), cid);
    ck_assert_int_eq(status_at(img, GRAIN), VMDK_STATUS_ZERO);
    ck_assert_int_eq(status_at(img, 2 * GRAIN), VMDK_STATUS_DATA);
    ck_assert_int_eq(status_at(img, 10 * GRAIN), VMDK_STATUS_ZERO);
    close_img(img);
    expect_pattern(p, 0, GRAIN, 1);
    expect_pattern(p, GRAIN, GRAIN + GRAIN / 2, 0);
    /* the replaced grain is a leak until repaired */
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_NONE, NULL);
    ck_assert_uint_eq(res.leaks, 1);
    res = run_check(p, VMDK_CHECK_LEAKS, NULL);
    ck_assert_uint_eq(res.leaks_fixed, 1);
    expect_clean(p);
    expect_pattern(p, GRAIN, GRAIN + GRAIN / 2, 0);
    uint8_t *want = malloc(4 * GRAIN);
    tu_fill_pattern(want, 4 * GRAIN, 1);
    img = tu_open(p, true);
    uint8_t *got = malloc(GRAIN / 2);
    ck_assert_int_eq(vmdk_read(img, 2 * GRAIN + GRAIN / 2, got, GRAIN / 2, &err), 0);
    ck_assert(memcmp(got, want + 2 * GRAIN + GRAIN / 2, GRAIN / 2) == 0);
    ck_assert_int_eq(vmdk_read(img, 3 * GRAIN, got, GRAIN / 2, &err), 0);
    ck_assert(memcmp(got, want + 3 * GRAIN, GRAIN / 2) == 0);
    close_img(img);
    free(got);
    free(want);
    free(p);
}
END_TEST

START_TEST(write_zeroes_plain)
{
    char *p = create("z.vmdk", 64 << 20);
    write_pattern(p, 0, 4 * GRAIN, 1);
    struct vmdk_image *img = tu_open(p, false);
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_write_zeroes(img, 0, GRAIN, 0, &err), 0);
    ck_assert_int_eq(status_at(img, 0), VMDK_STATUS_DATA); /* zeros written in place */
    ck_assert_int_eq(vmdk_write_zeroes(img, GRAIN, GRAIN, VMDK_ZEROES_MAY_UNMAP, &err), 0);
    ck_assert_int_eq(status_at(img, GRAIN), VMDK_STATUS_UNALLOCATED);
    ck_assert_int_eq(vmdk_write_zeroes(img, 20 * GRAIN, 3 * GRAIN, 0, &err), 0);
    ck_assert_int_eq(status_at(img, 20 * GRAIN), VMDK_STATUS_UNALLOCATED); /* untouched */
    ck_assert_int_eq(vmdk_discard(img, 2 * GRAIN, GRAIN + 100, &err), 0);
    ck_assert_int_eq(status_at(img, 2 * GRAIN), VMDK_STATUS_UNALLOCATED);
    ck_assert_int_eq(status_at(img, 3 * GRAIN), VMDK_STATUS_DATA); /* partial: kept */
    close_img(img);
    expect_pattern(p, 0, 3 * GRAIN, 0);
    struct vmdk_check_result res = run_check(p, VMDK_CHECK_LEAKS, NULL);
    ck_assert_uint_eq(res.leaks_fixed, 2);
    expect_clean(p);
    expect_pattern(p, 0, 3 * GRAIN, 0);
    free(p);
}
END_TEST

START_TEST(write_zeroes_other_extents)
{
    /* flat: zeros written */
    char *p = create_opts("f.vmdk", 1 << 20, VMDK_MONOLITHIC_FLAT, false);
    write_pattern(p, 0, 8192, 1);
    struct vmdk_image *img = tu_open(p, false);
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_write_zeroes(img, 100, 5000, VMDK_ZEROES_MAY_UNMAP, &err), 0);
    close_img(img);
    expect_pattern(p, 100, 5000, 0);
    free(p);
    /* stream: zeros over unallocated grains are fine, over data they are not */
    p = create_opts("s.vmdk", 1 << 20, VMDK_STREAM_OPTIMIZED, false);
    write_pattern(p, 0, GRAIN, 2);
    img = tu_open(p, false);
    ck_assert_int_eq(vmdk_write_zeroes(img, GRAIN, 3 * GRAIN, 0, &err), 0);
    ck_assert_int_eq(vmdk_write_zeroes(img, 0, 512, 0, &err), -95 /* ENOTSUP */);
    close_img(img);
    free(p);
    /* read-only image */
    p = create("r.vmdk", 1 << 20);
    img = tu_open(p, true);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(vmdk_write_zeroes(img, 0, 512, 0, &err), -30);
    ck_assert_int_eq(vmdk_discard(img, 0, 512, &err), -30);
    close_img(img);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_check");
    TCase *tc = tcase_create("check");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, clean_image_counts);
    tcase_add_test(tc, leak_at_end_truncated);
    tcase_add_test(tc, interior_leak_compacted);
    tcase_add_test(tc, overlapping_grains);
    tcase_add_test(tc, grain_into_metadata_and_past_eof);
    tcase_add_test(tc, grain_table_past_eof);
    tcase_add_test(tc, redundant_directory_lags);
    tcase_add_test(tc, redundant_table_lags_or_conflicts);
    tcase_add_test(tc, repair_needs_write_access);
    tcase_add_test(tc, split_extent_leak);
    tcase_add_test(tc, stream_checks);
    suite_add_tcase(s, tc);
    TCase *tz = tcase_create("zeroes");
    tcase_add_checked_fixture(tz, setup, teardown);
    tcase_add_test(tz, write_zeroes_zeroed_grain);
    tcase_add_test(tz, write_zeroes_plain);
    tcase_add_test(tz, write_zeroes_other_extents);
    suite_add_tcase(s, tz);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
