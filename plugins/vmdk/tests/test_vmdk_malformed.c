/* SPDX-License-Identifier: MIT */
/*
 * Hostile images: each is opened read-write and read-only; the open (or the first read)
 * must fail with a message naming the problem, nothing may crash, and the files must be
 * byte-for-byte unchanged afterwards.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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

static char *create(const char *name, uint64_t size, enum vmdk_subformat f)
{
    struct vmdk_create_options o;
    vmdk_create_options_init(&o);
    o.size = size;
    o.subformat = f;
    struct vmdk_error err = { 0 };
    char *p = tu_path(dir, name);
    ck_assert_msg(vmdk_create(p, &o, &err) == 0, "%s", err.msg);
    return p;
}

static void put32(const char *p, uint64_t off, uint32_t v)
{
    uint8_t b[4];
    vmdk_put_le32(b, v);
    ck_assert_int_eq(tu_pwrite_file(p, b, 4, off), 0);
}

static void put64(const char *p, uint64_t off, uint64_t v)
{
    uint8_t b[8];
    vmdk_put_le64(b, v);
    ck_assert_int_eq(tu_pwrite_file(p, b, 8, off), 0);
}

/* Opens (and, if that works, reads all of the first 1 MiB) in both modes; expects a
 * failure containing `want`. The file at `path` must not change. */
static void expect_failure(const char *path, const char *want)
{
    uint64_t before = tu_file_hash(path), size = tu_file_size(path);
    for (int ro = 0; ro < 2; ro++) {
        struct vmdk_open_options o;
        vmdk_open_options_init(&o);
        o.read_only = ro;
        struct vmdk_image *img = NULL;
        struct vmdk_error err = { 0 };
        int r = vmdk_open(path, &o, &img, &err);
        if (r == 0) {
            static uint8_t buf[1 << 20];
            uint64_t n = vmdk_size(img) < sizeof(buf) ? vmdk_size(img) : sizeof(buf);
            r = vmdk_read(img, 0, buf, n, &err);
            vmdk_close(img, NULL);
        }
        ck_assert_msg(r < 0, "%s opened and read fine (ro=%d)", path, ro);
        ck_assert_msg(strstr(err.msg, want) != NULL, "got '%s', want '%s'", err.msg, want);
        ck_assert_msg(strchr(err.msg, '\n') == NULL, "multi-line message: %s", err.msg);
    }
    ck_assert_msg(tu_file_hash(path) == before && tu_file_size(path) == size,
                  "%s was modified", path);
}

START_TEST(tiny_files)
{
    char *p = tu_path(dir, "t.vmdk");
    ck_assert_int_eq(tu_write_file(p, "KD", 2), 0);
    expect_failure(p, "File is too small");
    ck_assert_int_eq(tu_write_file(p, "KDMV\1\0\0\0\3\0\0\0", 12), 0);
    expect_failure(p, "truncated sparse header");
    free(p);
}
END_TEST

START_TEST(bad_magic)
{
    char *p = tu_path(dir, "t.vmdk");
    uint8_t junk[4096];
    tu_fill_pattern(junk, sizeof(junk), 1);
    junk[0] = 'Z';
    ck_assert_int_eq(tu_write_file(p, junk, sizeof(junk)), 0);
    expect_failure(p, "Image not in VMDK format");
    free(p);
}
END_TEST

START_TEST(header_fields)
{
    static const struct {
        uint64_t off;
        int width;
        uint64_t value;
        const char *want;
    } cases[] = {
        { 20, 8, 0, "L1 entry size is invalid" },
        { 20, 8, UINT64_MAX, "Invalid granularity" },
        { 44, 4, 0xffffffff, "L2 table size too big" },
        { 12, 8, 0xffffffff00000000ull, "L1 size too big" },
        { 56, 8, 0x100000, "grain directory offset 0x20000000 lies past the end of the file" },
        { 48, 8, 0x7fffffff, "redundant grain directory offset" },
        { 64, 8, 1000000, "File truncated, expecting at least 512000000 bytes" },
        { 4, 4, 7, "Unsupported VMDK version 7" },
        { 36, 8, 1u << 30, "embedded descriptor" },
        { 150 * 512, 4, 0xfffffff0, "points to a grain table at 0x1ffffffe000 past the end" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = create("h.vmdk", 1ull << 30, VMDK_MONOLITHIC_SPARSE);
        if (cases[i].width == 8)
            put64(p, cases[i].off, cases[i].value);
        else
            put32(p, cases[i].off, (uint32_t)cases[i].value);
        expect_failure(p, cases[i].want);
        free(p);
    }
}
END_TEST

START_TEST(afl9_like)
{
    /* The fuzzed image from QEMU's tests, rebuilt from its description. */
    char *p = tu_path(dir, "afl9.vmdk");
    ck_assert_int_eq(tu_build_afl9(p), 0);
    expect_failure(p, "L1 size too big");
    free(p);
}
END_TEST

START_TEST(grain_past_end)
{
    char *p = create("g.vmdk", 1ull << 30, VMDK_MONOLITHIC_SPARSE);
    put32(p, 151 * 512, 0x7fffff00); /* GT 0, entry 0 */
    expect_failure(p, "lies past the end of the file");
    free(p);
}
END_TEST

START_TEST(descriptors)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        { "# Disk DescriptorFile\nversion=1\nhello world\n", "invalid VMDK image descriptor line" },
        { "# Disk DescriptorFile\nversion=1\n\x01\x02garbage", "binary data" },
        { "# Disk DescriptorFile\nversion=1\nRW 10 FLAT \"x.raw\" 0\n", "no createType" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"fullDevice\"\n", "Unsupported image type" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n", "no extents" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
          "RW 10 FLAT \"missing.raw\" 0\n", "cannot open" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
          "RW 10 FLAT \"../escape.raw\" 0\n", "leaves the descriptor's directory" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
          "RW 10 FLAT \"/etc/passwd\" 0\n", "absolute path" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
          "RW 10 FLAT \"link.raw\" 0\n", "outside the descriptor's directory" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"twoGbMaxExtentSparse\"\n"
          "RW 10 SPARSE \"d.vmdk\"\n", "truncated sparse header" }, /* names itself */
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
          "RW 9223372036854775807 FLAT \"a.raw\" 0\nRW 9223372036854775807 FLAT \"a.raw\" 0\n",
          "sector count too large" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"vmfsSparse\"\n"
          "RW 10 VMFSSPARSE \"a.raw\"\n", "truncated sparse header" },
        { "# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\n"
          "RW 10 VMFSRDM \"a.raw\"\n", "not supported yet" },
    };
    char *p = tu_path(dir, "d.vmdk"), *a = tu_path(dir, "a.raw"), *link = tu_path(dir, "link.raw");
    ck_assert_int_eq(tu_write_file(a, "data", 4), 0);
    ck_assert_int_eq(symlink("/etc/passwd", link), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(tu_write_file(p, cases[i].text, strlen(cases[i].text)), 0);
        expect_failure(p, cases[i].want);
    }
    free(p);
    free(a);
    free(link);
}
END_TEST

START_TEST(allow_outside_opt_in)
{
    char *sub = tu_path(dir, "sub"), *p = tu_path(dir, "sub/d.vmdk"), *a = tu_path(dir, "a.raw");
    ck_assert_int_eq(tu_run(NULL, "mkdir '%s'", sub), 0);
    const char *text = "version=1\ncreateType=\"monolithicFlat\"\nRW 1 FLAT \"../a.raw\" 0\n";
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    ck_assert_int_eq(tu_write_file(a, "x", 1), 0);
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = true;
    o.allow_outside = true;
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_open(p, &o, &img, &err) == 0, "%s", err.msg);
    vmdk_close(img, NULL);
    free(sub);
    free(p);
    free(a);
}
END_TEST

/* Writes a 64 KiB grain into a fresh stream image; its marker lands at sector 128. */
static char *stream_with_one_grain(void)
{
    char *p = create("s.vmdk", 1 << 20, VMDK_STREAM_OPTIMIZED);
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_open(p, NULL, &img, &err), 0);
    uint8_t grain[65536];
    tu_fill_pattern(grain, sizeof(grain), 9);
    ck_assert_int_eq(vmdk_write(img, 0, grain, sizeof(grain), &err), 0);
    ck_assert_int_eq(vmdk_close(img, &err), 0);
    return p;
}

START_TEST(stream_grains)
{
    /* A zlib stream that inflates to two grains. */
    char *p = stream_with_one_grain();
    static uint8_t zeros[131072], z[4096];
    uLongf zlen = sizeof(z);
    ck_assert_int_eq(compress2(z, &zlen, zeros, sizeof(zeros), 9), Z_OK);
    put32(p, 128 * 512 + 8, (uint32_t)zlen);
    ck_assert_int_eq(tu_pwrite_file(p, z, zlen, 128 * 512 + 12), 0);
    expect_failure(p, "inflates to more than a grain");
    /* Corrupt deflate data. */
    memset(z, 0xee, 64);
    ck_assert_int_eq(tu_pwrite_file(p, z, 64, 128 * 512 + 12), 0);
    expect_failure(p, "is corrupt");
    /* A size field far beyond the grain. */
    put32(p, 128 * 512 + 8, 0x7fffffff);
    expect_failure(p, "more than twice the grain size");
    free(p);
}
END_TEST

START_TEST(stream_footer)
{
    char *p = stream_with_one_grain();
    uint64_t size = tu_file_size(p);
    put32(p, size - 512 + 12, 9); /* EOS marker type */
    expect_failure(p, "Invalid footer");
    put32(p, size - 512 + 12, 0);
    put64(p, size - 1024 + 56, 0x10000000); /* footer's GD offset */
    expect_failure(p, "grain directory offset");
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_malformed");
    TCase *tc = tcase_create("malformed");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tiny_files);
    tcase_add_test(tc, bad_magic);
    tcase_add_test(tc, header_fields);
    tcase_add_test(tc, afl9_like);
    tcase_add_test(tc, grain_past_end);
    tcase_add_test(tc, descriptors);
    tcase_add_test(tc, allow_outside_opt_in);
    tcase_add_test(tc, stream_grains);
    tcase_add_test(tc, stream_footer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
