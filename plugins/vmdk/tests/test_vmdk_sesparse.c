/* SPDX-License-Identifier: MIT */
/*
 * seSparse extents (read-only), built by hand from the layout in the spec (1.7): a
 * 16 MiB extent, one grain table. Grain 0 holds 0x71, grain 1 is "zero", grain 2
 * "unmapped", grain 3 holds 0x72 (grain index 1, encoded in the entry's split fields),
 * everything else unallocated.
 */
#define _GNU_SOURCE
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

enum { VOL = 1, JH = 2, JR = 3, GD = 4, GTS = 5, BITMAP = 69, BACKMAP = 70, GRAINS = 71,
       TOTAL = GRAINS + 16 };

static char *build(const char *name, uint64_t gte3)
{
    uint8_t *f = calloc(TOTAL, 512);
    vmdk_put_le64(f, 0xcafebabeull);
    vmdk_put_le64(f + 8, 0x0000000200000001ull);
    vmdk_put_le64(f + 16, 32768);
    vmdk_put_le64(f + 24, 8);
    vmdk_put_le64(f + 32, 64);
    const uint64_t regions[8][2] = { { VOL, 1 }, { JH, 1 }, { JR, 1 }, { GD, 1 },
                                     { GTS, 64 }, { BITMAP, 1 }, { BACKMAP, 1 },
                                     { GRAINS, 16 } };
    for (unsigned i = 0; i < 8; i++) {
        vmdk_put_le64(f + 80 + 16 * i, regions[i][0]);
        vmdk_put_le64(f + 88 + 16 * i, regions[i][1]);
    }
    vmdk_put_le64(f + VOL * 512, 0xcafecafeull);
    vmdk_put_le64(f + GD * 512, 0x1000000000000000ull); /* table index 0 */
    uint8_t *gt = f + GTS * 512;
    vmdk_put_le64(gt + 0, 0x3000000000000000ull);        /* grain index 0 */
    vmdk_put_le64(gt + 8, 0x2000000000000000ull);        /* zero */
    vmdk_put_le64(gt + 16, 0x1000000000000000ull);       /* unmapped */
    vmdk_put_le64(gt + 24, gte3);
    memset(f + GRAINS * 512, 0x71, 4096);
    memset(f + (GRAINS + 8) * 512, 0x72, 4096);
    char *ext = NULL, *p = tu_path(dir, name);
    if (asprintf(&ext, "%s-sesparse.vmdk", p) < 0)
        abort();
    ck_assert_int_eq(tu_write_file(ext, f, (size_t)TOTAL * 512), 0);
    char *desc = NULL;
    const char *base = strrchr(ext, '/') + 1;
    if (asprintf(&desc, "# Disk DescriptorFile\nversion=1\nCID=22222222\nparentCID=ffffffff\n"
                        "createType=\"seSparse\"\n\n# Extent description\n"
                        "RW 32768 SESPARSE \"%s\"\n\n# The Disk Data Base\n#DDB\n", base) < 0)
        abort();
    ck_assert_int_eq(tu_write_file(p, desc, strlen(desc)), 0);
    free(desc);
    free(ext);
    free(f);
    return p;
}

START_TEST(sesparse_reads)
{
    char *p = build("se.vmdk", 0x3001000000000000ull); /* grain index 1 */
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_open(p, NULL, &img, &err) == 0, "%s", err.msg); /* read-write asked */
    ck_assert_uint_eq(vmdk_size(img), 16 << 20);
    tu_expect_bytes(img, 0, 4096, 0x71);
    tu_expect_bytes(img, 4096, 8192, 0);
    tu_expect_bytes(img, 3 * 4096, 4096, 0x72);
    tu_expect_bytes(img, 100 * 4096, 4096, 0);
    struct vmdk_map m;
    ck_assert_int_eq(vmdk_block_status(img, 0, 16 << 20, &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_DATA);
    ck_assert_uint_eq(m.file_offset, GRAINS * 512);
    ck_assert_int_eq(vmdk_block_status(img, 4096, 16 << 20, &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_ZERO);
    ck_assert_int_eq(vmdk_block_status(img, 3 * 4096 + 100, 16 << 20, &m, &err), 0);
    ck_assert_uint_eq(m.file_offset, (GRAINS + 8) * 512 + 100);
    ck_assert_int_eq(vmdk_block_status(img, 5 * 4096, 16 << 20, &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_UNALLOCATED);
    /* no write support, as QEMU */
    uint8_t buf[512] = { 0 };
    ck_assert_int_eq(vmdk_write(img, 0, buf, sizeof(buf), &err), -13 /* EACCES */);
    ck_assert_ptr_nonnull(strstr(err.msg, "not writable"));
    ck_assert_int_eq(vmdk_close(img, NULL), 0);
    if (tu_have_qemu()) {
        char *out = NULL;
        ck_assert_int_eq(tu_run(&out, "qemu-io -r -f vmdk -c 'read -P 0x71 0 4096' "
                                      "-c 'read -P 0x72 12288 4096' -c 'read -P 0 4096 8192' "
                                      "'%s'", p), 0);
        ck_assert_msg(!strstr(out, "Pattern verification") && !strstr(out, "failed"), "%s",
                      out);
        free(out);
    }
    free(p);
}
END_TEST

START_TEST(sesparse_malformed)
{
    /* a grain index outside the grain area, and a bad entry type: clean read errors */
    char *p = build("bad.vmdk", 0x3000000000000040ull); /* index 0x40000 */
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_open(p, NULL, &img, &err), 0);
    uint8_t buf[4096];
    ck_assert_int_lt(vmdk_read(img, 3 * 4096, buf, sizeof(buf), &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "outside the grain area"));
    vmdk_close(img, NULL);
    free(p);
    p = build("bad2.vmdk", 0x7000000000000000ull);
    ck_assert_int_eq(vmdk_open(p, NULL, &img, &err), 0);
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_read(img, 3 * 4096, buf, sizeof(buf), &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "is invalid"));
    vmdk_close(img, NULL);
    /* header checks, QEMU's texts */
    static const struct {
        uint64_t off, value;
        const char *want;
    } cases[] = {
        { 0, 1, "Bad const header magic" },
        { 8, 3, "Unsupported version" },
        { 24, 16, "Unsupported grain size" },
        { 32, 32, "Unsupported grain table size" },
        { 40, 1, "Unsupported flags" },
        { 56, 1, "Unsupported reserved bits" },
        { 300, 1, "padding" },
        { 80, 1000, "outside the file" },
        { VOL * 512, 5, "Bad volatile header magic" },
        { VOL * 512 + 24, 1, "Replaying journal not supported" },
    };
    char *ext = NULL;
    if (asprintf(&ext, "%s-sesparse.vmdk", p) < 0)
        abort();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        free(build("bad2.vmdk", 0));
        uint8_t v[8];
        vmdk_put_le64(v, cases[i].value);
        ck_assert_int_eq(tu_pwrite_file(ext, v, 8, cases[i].off), 0);
        memset(&err, 0, sizeof(err));
        ck_assert_int_lt(vmdk_open(p, NULL, &img, &err), 0);
        ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: %s", i, err.msg);
    }
    free(ext);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_sesparse");
    TCase *tc = tcase_create("sesparse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sesparse_reads);
    tcase_add_test(tc, sesparse_malformed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
