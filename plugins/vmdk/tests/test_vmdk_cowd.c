/* SPDX-License-Identifier: MIT */
/*
 * COWD (vmfsSparse) extents, built by hand as the spec describes them: a 2048-byte
 * header, a grain directory at sector 4, 4096-entry tables allocated on first use.
 * Read, written (new tables included), checked, and read by qemu-io.
 */
#include <check.h>
#include <stdio.h>
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

/* 8 MiB, grain 1 sector: 2 tables of 4096 sectors each would cover 4 MiB, so 4 GD
 * entries. Table 0 at sector 5 holds grains 0 -> sector 37 (0x44) and 3 -> 38 (0x55);
 * the other entries are 0. freeSector = 39. */
static char *build_cowd(const char *name)
{
    size_t size = 39 * 512;
    uint8_t *f = calloc(1, size);
    memcpy(f, "COWD", 4);
    vmdk_put_le32(f + 4, 1);
    vmdk_put_le32(f + 8, 3);
    vmdk_put_le32(f + 12, 16384);
    vmdk_put_le32(f + 16, 1);
    vmdk_put_le32(f + 20, 4);
    vmdk_put_le32(f + 24, 4);
    vmdk_put_le32(f + 28, 39);
    vmdk_put_le32(f + 4 * 512, 5);
    vmdk_put_le32(f + 5 * 512 + 0, 37);
    vmdk_put_le32(f + 5 * 512 + 12, 38);
    memset(f + 37 * 512, 0x44, 512);
    memset(f + 38 * 512, 0x55, 512);
    char *p = tu_path(dir, name);
    ck_assert_int_eq(tu_write_file(p, f, size), 0);
    free(f);
    return p;
}

START_TEST(cowd_direct_read)
{
    char *p = build_cowd("d.vmdk");
    struct vmdk_image *img = tu_open(p, true);
    ck_assert_uint_eq(vmdk_size(img), 8 << 20);
    ck_assert_str_eq(vmdk_create_type(img), "vmfsSparse");
    tu_expect_bytes(img, 0, 512, 0x44);
    tu_expect_bytes(img, 512, 1024, 0);
    tu_expect_bytes(img, 1536, 512, 0x55);
    tu_expect_bytes(img, 5 << 20, 4096, 0); /* GDE 0 */
    struct vmdk_extent_info info;
    vmdk_extent_info(img, 0, &info);
    ck_assert_str_eq(info.type, "VMFSSPARSE");
    ck_assert_uint_eq(info.cluster_size, 512);
    struct vmdk_map m;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_block_status(img, 0, 8 << 20, &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_DATA);
    ck_assert_uint_eq(m.file_offset, 37 * 512);
    ck_assert_uint_eq(m.length, 512); /* grain 1 is unallocated */
    struct vmdk_check_result res;
    ck_assert_int_eq(vmdk_check(img, VMDK_CHECK_NONE, NULL, NULL, &res, &err), 0);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_uint_eq(res.allocated_clusters, 2);
    vmdk_close(img, NULL);
    free(p);
}
END_TEST

START_TEST(cowd_write_through_descriptor)
{
    char *ext = build_cowd("w-delta.vmdk");
    char *p = tu_path(dir, "w.vmdk");
    const char *desc = "# Disk DescriptorFile\nversion=1\nCID=11111111\nparentCID=ffffffff\n"
                       "createType=\"vmfsSparse\"\n\n# Extent description\n"
                       "RW 16384 VMFSSPARSE \"w-delta.vmdk\"\n\n# The Disk Data Base\n#DDB\n";
    ck_assert_int_eq(tu_write_file(p, desc, strlen(desc)), 0);
    struct vmdk_image *img = tu_open(p, false);
    uint8_t buf[8192];
    memset(buf, 0x66, sizeof(buf));
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_write(img, 1024, buf, 300, &err), 0);          /* grain 2 */
    ck_assert_int_eq(vmdk_write(img, (6 << 20) + 100, buf, 8000, &err), 0); /* new table */
    ck_assert_uint_ne(vmdk_cid(img), 0x11111111);
    ck_assert_int_eq(vmdk_close(img, &err), 0);
    uint8_t hdr[512];
    ck_assert_int_eq(tu_pread_file(ext, hdr, sizeof(hdr), 0), 0);
    ck_assert_uint_ge(vmdk_le32(hdr + 28), tu_file_size(ext) / 512); /* freeSector moved on */
    img = tu_open(p, true);
    tu_expect_bytes(img, 0, 512, 0x44);
    tu_expect_bytes(img, 1024, 300, 0x66);
    tu_expect_bytes(img, 1324, 212, 0);
    tu_expect_bytes(img, 1536, 512, 0x55);
    tu_expect_bytes(img, (6 << 20) + 100, 4096, 0x66);
    tu_expect_bytes(img, (6 << 20), 100, 0);
    struct vmdk_check_result res;
    ck_assert_int_eq(vmdk_check(img, VMDK_CHECK_NONE, NULL, NULL, &res, &err), 0);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 0);
    vmdk_close(img, NULL);
    if (tu_have_qemu()) {
        char *out = NULL;
        ck_assert_int_eq(tu_run(&out, "qemu-io -r -f vmdk -c 'read -P 0x66 %d 4096' "
                                      "-c 'read -P 0x44 0 512' '%s'", (6 << 20) + 100, p), 0);
        ck_assert_msg(!strstr(out, "Pattern verification") && !strstr(out, "failed"), "%s",
                      out);
        free(out);
    }
    free(ext);
    free(p);
}
END_TEST

START_TEST(cowd_malformed)
{
    static const struct {
        uint64_t off;
        uint32_t value;
        const char *want;
    } cases[] = {
        { 16, 0, "Invalid granularity" },
        { 16, 0x7fffffff, "Invalid granularity" },
        { 24, 1, "entries" },
        { 20, 1, "outside the header" },
        { 20, 0x10000, "outside the header" },
        { 12, 0, "no capacity" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = build_cowd("m.vmdk");
        uint8_t v[4];
        vmdk_put_le32(v, cases[i].value);
        ck_assert_int_eq(tu_pwrite_file(p, v, 4, cases[i].off), 0);
        struct vmdk_image *img = NULL;
        struct vmdk_error err = { 0 };
        ck_assert_int_lt(vmdk_open(p, NULL, &img, &err), 0);
        ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: %s", i, err.msg);
        free(p);
    }
    /* a table pointer past the end: clean failure on read */
    char *p = build_cowd("t.vmdk");
    uint8_t v[4];
    vmdk_put_le32(v, 0x100000);
    ck_assert_int_eq(tu_pwrite_file(p, v, 4, 4 * 512), 0);
    struct vmdk_image *img = tu_open(p, true);
    uint8_t buf[512];
    struct vmdk_error err = { 0 };
    ck_assert_int_lt(vmdk_read(img, 0, buf, sizeof(buf), &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "past the end"));
    vmdk_close(img, NULL);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_cowd");
    TCase *tc = tcase_create("cowd");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cowd_direct_read);
    tcase_add_test(tc, cowd_write_through_descriptor);
    tcase_add_test(tc, cowd_malformed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
