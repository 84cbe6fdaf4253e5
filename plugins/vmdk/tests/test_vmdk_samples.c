/* SPDX-License-Identifier: MIT */
/*
 * The two sample images of QEMU's iotest 059, rebuilt from the spec's description by
 * the test helpers: VMware's streamOptimized iotest-version3.vmdk reads as the spec
 * says (and as qemu-img/qemu-io read it), the fuzzed afl9.vmdk fails cleanly.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
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

static char *build_v3(void)
{
    char *p = tu_path(dir, "iotest-version3.vmdk");
    ck_assert_int_eq(tu_build_iotest_version3(p), 0);
    ck_assert_uint_eq(tu_file_size(p), 282624);
    return p;
}

START_TEST(version3_layout_and_info)
{
    char *p = build_v3();
    uint64_t hash = tu_file_hash(p);
    struct vmdk_image *img = tu_open(p, false);
    ck_assert_uint_eq(vmdk_size(img), 16ull << 30);
    ck_assert_str_eq(vmdk_create_type(img), "streamOptimized");
    ck_assert_uint_eq(vmdk_parent_cid(img), 0xffffffffu);
    ck_assert_uint_eq(vmdk_cid(img), 0xa5c1a3b2u);
    ck_assert_str_eq(vmdk_ddb(img, "ddb.adapterType"), "lsilogic");
    ck_assert_str_eq(vmdk_ddb(img, "DDB.VIRTUALHWVERSION"), "8");
    ck_assert_uint_eq(vmdk_extent_count(img), 1);
    struct vmdk_extent_info info;
    vmdk_extent_info(img, 0, &info);
    ck_assert_uint_eq(info.cluster_size, 65536);
    ck_assert(info.compressed);
    ck_assert(info.monolithic);
    ck_assert_uint_eq(info.header_version, 3);
    ck_assert_str_eq(info.access, "RDONLY"); /* as its own descriptor says */
    /* RDONLY: even an image opened read-write refuses writes, and stays unchanged. */
    uint8_t grain[65536] = { 1 };
    struct vmdk_error err = { 0 };
    ck_assert_int_lt(vmdk_write(img, 1ull << 33, grain, sizeof(grain), &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "not writable"));
    ck_assert_int_eq(vmdk_close(img, NULL), 0);
    ck_assert_uint_eq(tu_file_hash(p), hash);
    free(p);
}
END_TEST

START_TEST(version3_reads)
{
    char *p = build_v3();
    struct vmdk_image *img = tu_open(p, true);
    struct vmdk_error err = { 0 };
    /* iotest 059: read -P (i%10+0x30) (i*655360 + i*512) 512, for i in 0..99 */
    for (unsigned i = 0; i < 100; i++) {
        uint8_t buf[1536], want[1536];
        uint64_t off = TU_V3_READ_OFFSET(i);
        uint64_t from = off >= 512 ? off - 512 : 0;
        memset(want, 0, sizeof(want));
        memset(want + (off - from), TU_V3_READ_BYTE(i), 512);
        size_t len = (size_t)(off - from) + 1024;
        ck_assert_msg(vmdk_read(img, from, buf, len, &err) == 0, "%s", err.msg);
        ck_assert_msg(memcmp(buf, want, len) == 0, "read %u differs", i);
    }
    /* the extra grain at the start of table 7, and nothing at 8 GiB */
    uint8_t buf[4096], want[4096];
    ck_assert_int_eq(vmdk_read(img, 7ull * 32 * 1024 * 1024, buf, sizeof(buf), &err), 0);
    memset(want, 0, sizeof(want));
    memset(want, 0x5a, 512);
    ck_assert(memcmp(buf, want, sizeof(buf)) == 0);
    ck_assert_int_eq(vmdk_read(img, 8ull << 30, buf, sizeof(buf), &err), 0);
    memset(want, 0, sizeof(want));
    ck_assert(memcmp(buf, want, sizeof(buf)) == 0);
    /* map: compressed data has no host offset */
    struct vmdk_map m;
    ck_assert_int_eq(vmdk_block_status(img, 0, vmdk_size(img), &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_DATA);
    ck_assert(m.compressed);
    ck_assert(!m.offset_valid);
    ck_assert_uint_eq(m.length, 65536);
    ck_assert_int_eq(vmdk_block_status(img, 65536, vmdk_size(img), &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_UNALLOCATED);
    ck_assert_uint_eq(m.offset + m.length, 1280 * 512);
    /* check: clean, 151 compressed grains */
    struct vmdk_check_result res;
    ck_assert_int_eq(vmdk_check(img, VMDK_CHECK_NONE, NULL, NULL, &res, &err), 0);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_uint_eq(res.allocated_clusters, 151);
    ck_assert_uint_eq(res.compressed_clusters, 151);
    ck_assert_uint_eq(res.total_clusters, 262144);
    vmdk_close(img, NULL);
    free(p);
}
END_TEST

START_TEST(version3_with_qemu)
{
    if (!tu_have_qemu()) {
        printf("qemu-img/qemu-io not installed; skipping the QEMU comparison\n");
        return;
    }
    char *p = build_v3();
    char *out = NULL;
    ck_assert_int_eq(tu_run(&out, "qemu-img check -f vmdk '%s'", p), 0);
    ck_assert_msg(strstr(out, "No errors were found") != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(tu_run(&out, "qemu-img info -f vmdk '%s'", p), 0);
    ck_assert_msg(strstr(out, "virtual size: 16 GiB") && strstr(out, "cluster_size: 65536"),
                  "%s", out);
    free(out);
    for (unsigned i = 0; i < 100; i += 11) {
        ck_assert_int_eq(tu_run(&out, "qemu-io -r -f vmdk -c 'read -P %u %llu 512' '%s'",
                                TU_V3_READ_BYTE(i),
                                (unsigned long long)TU_V3_READ_OFFSET(i), p), 0);
        ck_assert_msg(strstr(out, "read 512/512 bytes") && !strstr(out, "Pattern verification"),
                      "%s", out);
        free(out);
    }
    free(p);
}
END_TEST

START_TEST(afl9_fails_cleanly)
{
    char *p = tu_path(dir, "afl9.vmdk");
    ck_assert_int_eq(tu_build_afl9(p), 0);
    ck_assert_uint_eq(tu_file_size(p), 196608);
    uint64_t hash = tu_file_hash(p);
    for (int ro = 0; ro < 2; ro++) {
        struct vmdk_open_options o;
        vmdk_open_options_init(&o);
        o.read_only = ro;
        struct vmdk_image *img = NULL;
        struct vmdk_error err = { 0 };
        ck_assert_int_lt(vmdk_open(p, &o, &img, &err), 0);
        ck_assert_ptr_null(img);
        ck_assert_msg(strstr(err.msg, "L1 size too big") != NULL, "%s", err.msg);
    }
    ck_assert_uint_eq(tu_file_hash(p), hash);
    if (tu_have_qemu()) {
        char *out = NULL;
        ck_assert_int_ne(tu_run(&out, "qemu-img info -f vmdk '%s'", p), 0);
        ck_assert_msg(strstr(out, "L1 size too big") != NULL, "%s", out);
        free(out);
    }
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_samples");
    TCase *tc = tcase_create("samples");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, version3_layout_and_info);
    tcase_add_test(tc, version3_reads);
    tcase_add_test(tc, version3_with_qemu);
    tcase_add_test(tc, afl9_fails_cleanly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
