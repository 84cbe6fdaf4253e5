/* SPDX-License-Identifier: MIT */
/* Create layouts, checked against the offsets qemu-img produces (spec section 2.2). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
#include "vmdk_format.h"
#include "vmdk_test_util.h"

static char *dir;

static void setup(void)
{
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rmdir(dir);
}

static void create(const char *name, uint64_t size, enum vmdk_subformat f)
{
    struct vmdk_create_options o;
    vmdk_create_options_init(&o);
    o.size = size;
    o.subformat = f;
    struct vmdk_error err = { 0 };
    char *p = tu_path(dir, name);
    ck_assert_msg(vmdk_create(p, &o, &err) == 0, "%s", err.msg);
    free(p);
}

static struct vmdk_sparse_header header_of(const char *name)
{
    uint8_t buf[512];
    char *p = tu_path(dir, name);
    ck_assert_int_eq(tu_pread_file(p, buf, sizeof(buf), 0), 0);
    free(p);
    struct vmdk_sparse_header h;
    vmdk_header_decode(buf, &h);
    return h;
}

static uint64_t size_of(const char *name)
{
    char *p = tu_path(dir, name);
    uint64_t s = tu_file_size(p);
    free(p);
    return s;
}

START_TEST(monolithic_sparse_1g)
{
    create("t.vmdk", 1ull << 30, VMDK_MONOLITHIC_SPARSE);
    struct vmdk_sparse_header h = header_of("t.vmdk");
    ck_assert_uint_eq(h.magic, VMDK_SPARSE_MAGIC);
    ck_assert_uint_eq(h.version, 1);
    ck_assert_uint_eq(h.flags, 3);
    ck_assert_uint_eq(h.capacity, 2097152);
    ck_assert_uint_eq(h.grain_size, 128);
    ck_assert_uint_eq(h.desc_offset, 1);
    ck_assert_uint_eq(h.desc_size, 20);
    ck_assert_uint_eq(h.num_gtes_per_gt, 512);
    ck_assert_uint_eq(h.rgd_offset, 21);
    ck_assert_uint_eq(h.gd_offset, 150);
    ck_assert_uint_eq(h.overhead, 384);
    ck_assert_uint_eq(size_of("t.vmdk"), 196608);
    /* GD entry 0 points to the first GT right after the GD. */
    uint8_t gd[8];
    char *p = tu_path(dir, "t.vmdk");
    ck_assert_int_eq(tu_pread_file(p, gd, 8, 150 * 512), 0);
    ck_assert_uint_eq(vmdk_le32(gd), 151);
    ck_assert_uint_eq(vmdk_le32(gd + 4), 155);
    ck_assert_int_eq(tu_pread_file(p, gd, 8, 21 * 512), 0);
    ck_assert_uint_eq(vmdk_le32(gd), 22);
    char desc[1024];
    ck_assert_int_eq(tu_pread_file(p, desc, sizeof(desc), 512), 0);
    free(p);
    ck_assert_ptr_nonnull(strstr(desc, "createType=\"monolithicSparse\"\n\n# Extent description\n"
                                       "RW 2097152 SPARSE \"t.vmdk\"\n"));
    ck_assert_ptr_nonnull(strstr(desc, "ddb.geometry.cylinders = \"2080\"\n"
                                       "ddb.geometry.heads = \"16\"\n"));
}
END_TEST

START_TEST(overheads_match_qemu)
{
    /* 31 GiB -> first grain at 0x3f0000, 100 GiB -> 13172736 bytes (iotest 059). */
    create("a.vmdk", 31ull << 30, VMDK_MONOLITHIC_SPARSE);
    ck_assert_uint_eq(header_of("a.vmdk").overhead * 512, 0x3f0000);
    create("b.vmdk", 100ull << 30, VMDK_MONOLITHIC_SPARSE);
    ck_assert_uint_eq(header_of("b.vmdk").overhead * 512, 13172736);
}
END_TEST

START_TEST(split_sparse_5g)
{
    create("t.vmdk", 5ull << 30, VMDK_TWO_GB_SPARSE);
    struct vmdk_sparse_header h = header_of("t-s001.vmdk");
    ck_assert_uint_eq(h.capacity, 4194304);
    ck_assert_uint_eq(h.gd_offset, 278);
    ck_assert_uint_eq(h.overhead * 512, 0x50000);
    ck_assert_uint_eq(header_of("t-s003.vmdk").capacity, 2097152);
    char *p = tu_path(dir, "t-s004.vmdk");
    ck_assert_uint_eq(tu_file_size(p), 0);
    free(p);
    /* The descriptor area of split extents is zero, as QEMU leaves it. */
    uint8_t area[512];
    p = tu_path(dir, "t-s002.vmdk");
    ck_assert_int_eq(tu_pread_file(p, area, sizeof(area), 512), 0);
    free(p);
    for (size_t i = 0; i < sizeof(area); i++)
        ck_assert_uint_eq(area[i], 0);
    char desc[2048] = { 0 };
    p = tu_path(dir, "t.vmdk");
    ck_assert_int_eq(tu_pread_file(p, desc, tu_file_size(p), 0), 0);
    free(p);
    ck_assert_ptr_nonnull(strstr(desc, "RW 4194304 SPARSE \"t-s001.vmdk\"\n"
                                       "RW 4194304 SPARSE \"t-s002.vmdk\"\n"
                                       "RW 2097152 SPARSE \"t-s003.vmdk\"\n"));
}
END_TEST

START_TEST(flat_layouts)
{
    create("f.vmdk", 1000, VMDK_MONOLITHIC_FLAT); /* rounded up to 1024 */
    ck_assert_uint_eq(size_of("f-flat.vmdk"), 1024);
    create("g.vmdk", (4ull << 30) + 512, VMDK_TWO_GB_FLAT);
    ck_assert_uint_eq(size_of("g-f001.vmdk"), 1ull << 31);
    ck_assert_uint_eq(size_of("g-f002.vmdk"), 1ull << 31);
    ck_assert_uint_eq(size_of("g-f003.vmdk"), 512);
    char desc[2048] = { 0 };
    char *p = tu_path(dir, "f.vmdk");
    ck_assert_int_eq(tu_pread_file(p, desc, tu_file_size(p), 0), 0);
    free(p);
    ck_assert_ptr_nonnull(strstr(desc, "RW 2 FLAT \"f-flat.vmdk\" 0\n"));
}
END_TEST

START_TEST(stream_layout)
{
    create("s.vmdk", 1ull << 30, VMDK_STREAM_OPTIMIZED);
    struct vmdk_sparse_header h = header_of("s.vmdk");
    ck_assert_uint_eq(h.version, 3);
    ck_assert_uint_eq(h.flags, 0x30001);
    ck_assert_uint_eq(h.gd_offset, VMDK_GD_AT_END);
    ck_assert_uint_eq(h.compress_algorithm, 1);
    ck_assert_uint_eq(h.overhead, 128);
    /* GD marker, 1 GD sector, footer marker, footer, EOS from sector 128 on. */
    ck_assert_uint_eq(size_of("s.vmdk"), (128 + 5) * 512);
    uint8_t tail[3 * 512];
    char *p = tu_path(dir, "s.vmdk");
    ck_assert_int_eq(tu_pread_file(p, tail, sizeof(tail), 130 * 512), 0);
    free(p);
    ck_assert_uint_eq(vmdk_le32(tail + 12), VMDK_MARKER_FOOTER);
    struct vmdk_sparse_header footer;
    vmdk_header_decode(tail + 512, &footer);
    ck_assert_uint_eq(footer.gd_offset, 129);
    ck_assert_uint_eq(vmdk_le64(tail + 1024), 0);
    ck_assert_uint_eq(vmdk_le32(tail + 1024 + 12), VMDK_MARKER_EOS);
}
END_TEST

START_TEST(options)
{
    struct vmdk_create_options o;
    struct vmdk_error err;
    char *p = tu_path(dir, "o.vmdk");
    vmdk_create_options_init(&o);
    o.size = 1 << 20;
    o.compat6 = true;
    o.hwversion = "6";
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_create(p, &o, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "compat6 cannot be enabled with hwversion set"));

    vmdk_create_options_init(&o);
    o.size = 1 << 20;
    o.adapter_type = "IDE";
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_create(p, &o, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid parameter value: IDE"));

    vmdk_create_options_init(&o);
    o.size = 1 << 20;
    o.subformat = VMDK_MONOLITHIC_FLAT;
    o.zeroed_grain = true;
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_create(p, &o, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "Flat image can't enable zeroed grain"));

    vmdk_create_options_init(&o);
    o.size = 1 << 20;
    o.subformat = VMDK_TWO_GB_FLAT;
    o.backing_file = "b.vmdk";
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_create(p, &o, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "Flat image can't have backing file"));

    vmdk_create_options_init(&o);
    o.size = 1 << 20;
    o.backing_file = "missing.vmdk";
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_create(p, &o, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "backing_file must be a vmdk image"));
    ck_assert_uint_eq(tu_file_size(p), 0); /* nothing written */

    /* compat6, lsilogic, toolsversion, zeroed_grain and a backing file. */
    create("base.vmdk", 10ull << 30, VMDK_MONOLITHIC_SPARSE);
    vmdk_create_options_init(&o);
    o.size = 10ull << 30;
    o.compat6 = true;
    o.adapter_type = "lsilogic";
    o.toolsversion = "12345";
    o.zeroed_grain = true;
    o.backing_file = "base.vmdk";
    memset(&err, 0, sizeof(err));
    ck_assert_msg(vmdk_create(p, &o, &err) == 0, "%s", err.msg);
    struct vmdk_sparse_header h = header_of("o.vmdk");
    ck_assert_uint_eq(h.version, 2);
    ck_assert_uint_eq(h.flags, 7);
    struct vmdk_image *img, *base;
    ck_assert_int_eq(vmdk_open(p, NULL, &img, &err), 0);
    char *bp = tu_path(dir, "base.vmdk");
    ck_assert_int_eq(vmdk_open(bp, NULL, &base, &err), 0);
    free(bp);
    ck_assert_str_eq(vmdk_ddb(img, "ddb.virtualHWVersion"), "6");
    ck_assert_str_eq(vmdk_ddb(img, "ddb.adapterType"), "lsilogic");
    ck_assert_str_eq(vmdk_ddb(img, "ddb.geometry.heads"), "255");
    ck_assert_str_eq(vmdk_ddb(img, "ddb.geometry.cylinders"), "1305");
    ck_assert_str_eq(vmdk_ddb(img, "ddb.toolsVersion"), "12345");
    ck_assert_str_eq(vmdk_parent_hint(img), "base.vmdk");
    ck_assert_uint_eq(vmdk_parent_cid(img), vmdk_cid(base));
    ck_assert_uint_ne(vmdk_cid(img), vmdk_cid(base));
    vmdk_close(img, NULL);
    vmdk_close(base, NULL);
    free(p);
}
END_TEST

START_TEST(subformat_names)
{
    enum vmdk_subformat f;
    ck_assert_int_eq(vmdk_subformat_parse("twoGbMaxExtentFlat", &f), 0);
    ck_assert_int_eq(f, VMDK_TWO_GB_FLAT);
    ck_assert_int_lt(vmdk_subformat_parse("monolithicsparse", &f), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_create");
    TCase *tc = tcase_create("create");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, monolithic_sparse_1g);
    tcase_add_test(tc, overheads_match_qemu);
    tcase_add_test(tc, split_sparse_5g);
    tcase_add_test(tc, flat_layouts);
    tcase_add_test(tc, stream_layout);
    tcase_add_test(tc, options);
    tcase_add_test(tc, subformat_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
