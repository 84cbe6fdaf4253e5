/* SPDX-License-Identifier: MIT */
/*
 * Every tessera-img subcommand run in process through timg_main on real image files:
 * results, exact output lines, exit statuses, one-line errors, and read-only commands
 * leaving their inputs untouched (content and mtime). raw is always there; the vmdk cases
 * run when the vmdk plugin is built (they fail, not skip, if it is missing from a build
 * that should have it: TIMG_EXPECT_VMDK).
 */
#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timg_test_util.h"

static char *dir;

static void setup(void)
{
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    tt_rmdir(dir);
    dir = NULL;
}

/* Asserts a failed run: non-zero status, nothing on stdout unless allowed, one error line. */
static void assert_one_line_error(struct tt_run *r, int status, const char *needle)
{
    ck_assert_msg(r->status == status, "status %d, want %d (err: %s)", r->status, status, r->err);
    ck_assert_msg(strncmp(r->err, "tessera-img: ", 13) == 0, "err: '%s'", r->err);
    size_t len = strlen(r->err);
    ck_assert_msg(len > 0 && r->err[len - 1] == '\n' && strchr(r->err, '\n') == r->err + len - 1,
                  "not one line: '%s'", r->err);
    if (needle)
        ck_assert_msg(strstr(r->err, needle), "'%s' not in '%s'", needle, r->err);
}

static bool have_format(const char *fmt)
{
    struct tt_run r = tt_timg("--formats");
    bool ok = r.status == 0 && strstr(r.out, fmt);
    tt_run_clear(&r);
    /* A build with the vmdk plugin sets TIMG_EXPECT_VMDK: then it must be found. */
    if (strcmp(fmt, "vmdk") == 0)
        ck_assert_msg(ok || !getenv("TIMG_EXPECT_VMDK"), "the vmdk plugin is missing");
    return ok;
}

/* A raw image with data at a few places and holes elsewhere. */
static char *make_raw(const char *name, uint64_t size, uint64_t seed)
{
    char *p = tt_path(dir, name);
    uint8_t buf[65536];
    FILE *f = fopen(p, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), (off_t)size), 0);
    fclose(f);
    tt_fill(buf, sizeof(buf), seed);
    ck_assert_int_eq(tt_pwrite_file(p, buf, sizeof(buf), 0), 0);
    if (size >= 3 * 1048576)
        ck_assert_int_eq(tt_pwrite_file(p, buf, 4096, 2 * 1048576 + 8192), 0);
    return p;
}

START_TEST(help_version_formats)
{
    struct tt_run r = tt_timg("--help");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "convert"));
    tt_run_clear(&r);
    r = tt_timg("--version");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "tessera-img version"));
    tt_run_clear(&r);
    r = tt_timg("--formats");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, " raw"));
    tt_run_clear(&r);
    r = tt_timg("%s", "");
    assert_one_line_error(&r, 1, "Not enough arguments");
    tt_run_clear(&r);
    r = tt_timg("frobnicate x");
    assert_one_line_error(&r, 1, "Command not found: frobnicate");
    tt_run_clear(&r);
    r = tt_timg("--bogus info x");
    assert_one_line_error(&r, 1, "unrecognized option '--bogus'");
    tt_run_clear(&r);
}
END_TEST

START_TEST(create_raw)
{
    char *p = tt_path(dir, "a.raw");
    struct tt_run r = tt_timg("create -f raw %s 1000", p);

    ck_assert_int_eq(r.status, 0);
    /* qemu-img prints the size as given; the format rounds the file up to 512. */
    char *want = g_strdup_printf("Formatting '%s', fmt=raw size=1000\n", p);
    ck_assert_str_eq(r.out, want);
    g_free(want);
    ck_assert_str_eq(r.err, "");
    ck_assert_uint_eq(tt_file_size(p), 1024);
    tt_run_clear(&r);

    /* Options after the positional arguments, -q, and -o size=. */
    r = tt_timg("create %s -o size=2M -q -f raw", p);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "");
    ck_assert_uint_eq(tt_file_size(p), 2 * 1048576);
    tt_run_clear(&r);
    r = tt_timg("create -f raw %s 1.5k -q", p);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(tt_file_size(p), 1536);
    tt_run_clear(&r);
    g_free(p);
}
END_TEST

START_TEST(create_errors)
{
    char *p = tt_path(dir, "e.raw");
    struct tt_run r;

    r = tt_timg("create -f raw %s", p);
    assert_one_line_error(&r, 1, "Image creation needs a size parameter");
    tt_run_clear(&r);
    r = tt_timg("create -f raw %s 1x", p);
    assert_one_line_error(&r, 1, "Invalid image size specified. You may use k, M, G, T, P or E suffixes");
    tt_run_clear(&r);
    r = tt_timg("create -f raw %s 20E", p);
    assert_one_line_error(&r, 1, "Must be between 0 and 9223372036854775807");
    tt_run_clear(&r);
    r = tt_timg("create -f nosuchformat %s 1M", p);
    assert_one_line_error(&r, 1, "nosuchformat");
    tt_run_clear(&r);
    r = tt_timg("create -f raw -o nosuchoption=1 %s 1M", p);
    assert_one_line_error(&r, 1, "nosuchoption");
    tt_run_clear(&r);
    r = tt_timg("create -Z -f raw %s 1M", p);
    assert_one_line_error(&r, 1, "invalid option -- 'Z'");
    tt_run_clear(&r);
    r = tt_timg("create -f");
    assert_one_line_error(&r, 1, "requires an argument");
    tt_run_clear(&r);
    r = tt_timg("create");
    assert_one_line_error(&r, 1, "Expecting image file name");
    tt_run_clear(&r);
    r = tt_timg("create -f raw %s 1M extra", p);
    assert_one_line_error(&r, 1, "Unexpected argument: extra");
    tt_run_clear(&r);
    r = tt_timg("create -f raw -b base.raw %s 1M", p);
    assert_one_line_error(&r, 1, "Backing file specified without backing format");
    tt_run_clear(&r);
    ck_assert_uint_eq(tt_file_size(p), 0); /* nothing was created */
    g_free(p);
}
END_TEST

START_TEST(create_option_help)
{
    struct tt_run r = tt_timg("create -f raw -o help");

    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "raw") && strstr(r.out, "preallocation"), "%s", r.out);
    tt_run_clear(&r);
    if (have_format("vmdk")) {
        r = tt_timg("create -f vmdk -o subformat=monolithicFlat,help x.vmdk 1M");
        ck_assert_int_eq(r.status, 0);
        ck_assert_ptr_nonnull(strstr(r.out, "vmdk"));
        ck_assert_ptr_nonnull(strstr(r.out, "subformat"));
        ck_assert_ptr_nonnull(strstr(r.out, "adapter_type"));
        tt_run_clear(&r);
    }
}
END_TEST

START_TEST(info_raw)
{
    char *p = make_raw("i.raw", 3 * 1048576, 1);
    struct tt_stamp before = tt_stamp_file(p);
    struct tt_run r = tt_timg("info %s", p);

    ck_assert_int_eq(r.status, 0);
    char *head = g_strdup_printf("image: %s\nfile format: raw\nvirtual size: 3 MiB (3145728 bytes)\n"
                                 "disk size: ", p);
    ck_assert_msg(strncmp(r.out, head, strlen(head)) == 0, "%s", r.out);
    g_free(head);
    tt_run_clear(&r);

    r = tt_timg("info --output=json -U %s", p);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\"virtual-size\": 3145728,\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"format\": \"raw\",\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"dirty-flag\": false\n}\n"));
    tt_run_clear(&r);

    r = tt_timg("info --output=xml %s", p);
    assert_one_line_error(&r, 1, "--output must be used with human or json as argument.");
    tt_run_clear(&r);
    r = tt_timg("info %s/missing.raw", dir);
    assert_one_line_error(&r, 1, "missing.raw");
    tt_run_clear(&r);
    r = tt_timg("info");
    assert_one_line_error(&r, 1, "Expecting one image file name");
    tt_run_clear(&r);
    ck_assert(tt_stamp_equal(before, tt_stamp_file(p)));
    g_free(p);
}
END_TEST

START_TEST(map_raw)
{
    char *p = make_raw("m.raw", 3 * 1048576, 2);
    struct tt_stamp before = tt_stamp_file(p);
    struct tt_run r = tt_timg("map --output=json %s", p);

    ck_assert_int_eq(r.status, 0);
    /* Raw data maps 1:1; holes read as zeros. Exact runs depend on the file system's
     * allocation granularity, so only the ends are pinned here (interop compares all). */
    ck_assert_msg(strncmp(r.out, "[{ \"start\": 0, \"length\": ", 25) == 0, "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 0}"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"zero\": true"));
    ck_assert_msg(g_str_has_suffix(r.out, "}]\n"), "%s", r.out);
    tt_run_clear(&r);

    r = tt_timg("map %s", p);
    ck_assert_int_eq(r.status, 0);
    char *first = g_strdup_printf("Offset          Length          Mapped to       File\n"
                                  "0               0x");
    ck_assert_msg(strncmp(r.out, first, strlen(first)) == 0, "%s", r.out);
    g_free(first);
    ck_assert_ptr_nonnull(strstr(r.out, p));
    tt_run_clear(&r);

    /* A window of the image. */
    r = tt_timg("map --output=json --start-offset=2M --max-length=1M %s", p);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "[{ \"start\": 2097152,", 20) == 0, "%s", r.out);
    tt_run_clear(&r);
    r = tt_timg("map --start-offset=x %s", p);
    assert_one_line_error(&r, 1, "Invalid start offset specified");
    tt_run_clear(&r);
    ck_assert(tt_stamp_equal(before, tt_stamp_file(p)));
    g_free(p);
}
END_TEST

START_TEST(compare_statuses)
{
    char *a = make_raw("a.raw", 3 * 1048576, 3);
    char *b = make_raw("b.raw", 3 * 1048576, 3);
    char *c = make_raw("c.raw", 4 * 1048576, 3);
    struct tt_stamp sa = tt_stamp_file(a), sb = tt_stamp_file(b);
    struct tt_run r;

    r = tt_timg("compare %s %s", a, b);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "Images are identical.\n");
    tt_run_clear(&r);

    /* Larger, with zeros in the extra part: identical with a warning; strict: differ. */
    r = tt_timg("compare -f raw -F raw %s %s", a, c);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "Warning: Image size mismatch!\nImages are identical.\n");
    tt_run_clear(&r);
    r = tt_timg("compare -s %s %s", a, c);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "Strict mode: Image size mismatch!\n");
    tt_run_clear(&r);

    /* Data in the extra part. */
    uint8_t x = 0x5a;
    ck_assert_int_eq(tt_pwrite_file(c, &x, 1, 3 * 1048576 + 1000), 0);
    r = tt_timg("compare %s %s", c, a);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "Warning: Image size mismatch!\nContent mismatch at offset 3146240!\n");
    tt_run_clear(&r);

    /* A byte differs: reported at its 512-byte sector, as qemu-img does. */
    ck_assert_int_eq(tt_pwrite_file(b, &x, 1, 4097), 0);
    sb = tt_stamp_file(b);
    r = tt_timg("compare %s %s", a, b);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "Content mismatch at offset 4096!\n");
    tt_run_clear(&r);
    r = tt_timg("compare -q %s %s", a, b);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    tt_run_clear(&r);

    /* Progress: percentages then the verdict. */
    r = tt_timg("compare -p %s %s", a, a);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "    (0.00/100%)\r", 16) == 0, "%s", r.out);
    ck_assert_msg(g_str_has_suffix(r.out, "    (100.00/100%)\r\nImages are identical.\n"), "%s", r.out);
    tt_run_clear(&r);

    /* Errors: 2 for open failures and bad usage. */
    r = tt_timg("compare %s %s/none.raw", a, dir);
    assert_one_line_error(&r, 2, "none.raw");
    tt_run_clear(&r);
    r = tt_timg("compare %s", a);
    assert_one_line_error(&r, 2, "Expecting two image file names");
    tt_run_clear(&r);
    ck_assert(tt_stamp_equal(sa, tt_stamp_file(a)));
    ck_assert(tt_stamp_equal(sb, tt_stamp_file(b)));
    g_free(a);
    g_free(b);
    g_free(c);
}
END_TEST

START_TEST(convert_raw_to_raw)
{
    char *src = make_raw("s.raw", 4 * 1048576, 4);
    char *dst = tt_path(dir, "d.raw");
    struct tt_stamp before = tt_stamp_file(src);
    struct tt_run r;
    struct stat st;

    r = tt_timg("convert -f raw -O raw %s %s", src, dst);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_str_eq(r.out, "");
    tt_run_clear(&r);
    r = tt_timg("compare %s %s", src, dst);
    ck_assert_int_eq(r.status, 0);
    tt_run_clear(&r);
    /* Zeros were skipped: the target is sparse. */
    ck_assert_int_eq(stat(dst, &st), 0);
    ck_assert_int_lt((long long)st.st_blocks * 512, 1048576);
    ck_assert(tt_stamp_equal(before, tt_stamp_file(src)));

    /* -p, -W with parallel requests, -S 0 (fully allocated), -n over an existing target. */
    r = tt_timg("convert -p -W -m 4 -S 0 %s %s", src, dst);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(g_str_has_suffix(r.out, "(100.00/100%)\r\n"), "%s", r.out);
    tt_run_clear(&r);
    ck_assert_int_eq(stat(dst, &st), 0);
    ck_assert_int_ge((long long)st.st_blocks * 512, 4 * 1048576);
    r = tt_timg("compare %s %s", src, dst);
    ck_assert_int_eq(r.status, 0);
    tt_run_clear(&r);

    uint8_t junk[8192];
    tt_fill(junk, sizeof(junk), 99);
    ck_assert_int_eq(tt_pwrite_file(dst, junk, sizeof(junk), 1048576), 0);
    r = tt_timg("convert -n -O raw %s %s", src, dst);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    r = tt_timg("compare %s %s", src, dst);
    ck_assert_int_eq(r.status, 0); /* -n zeroed the junk where the source reads zeros */
    tt_run_clear(&r);

    /* Two sources are concatenated. */
    char *two = tt_path(dir, "two.raw");
    r = tt_timg("convert -O raw %s %s %s", src, src, two);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    ck_assert_uint_eq(tt_file_size(two), 8 * 1048576);
    uint8_t a[4096], b[4096];
    ck_assert_int_eq(tt_pread_file(src, a, sizeof(a), 0), 0);
    ck_assert_int_eq(tt_pread_file(two, b, sizeof(b), 4 * 1048576), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
    g_free(two);
    g_free(src);
    g_free(dst);
}
END_TEST

START_TEST(convert_errors)
{
    char *src = make_raw("s.raw", 1048576, 5);
    struct tt_run r;

    r = tt_timg("convert %s", src);
    assert_one_line_error(&r, 1, "Expecting at least one source image and a target file name");
    tt_run_clear(&r);
    r = tt_timg("convert -S 1000 %s %s/x", src, dir);
    assert_one_line_error(&r, 1, "Invalid buffer size for sparse output specified");
    tt_run_clear(&r);
    r = tt_timg("convert -m 17 %s %s/x", src, dir);
    assert_one_line_error(&r, 1, "Invalid number of coroutines");
    tt_run_clear(&r);
    r = tt_timg("convert -c -O raw %s %s/x", src, dir);
    assert_one_line_error(&r, 1, "Compression not supported for this file format");
    tt_run_clear(&r);
    r = tt_timg("convert -t bogus %s %s/x", src, dir);
    assert_one_line_error(&r, 1, "Invalid cache option: bogus");
    tt_run_clear(&r);
    r = tt_timg("convert --target-is-zero %s %s/x", src, dir);
    assert_one_line_error(&r, 1, "--target-is-zero requires use of -n flag");
    tt_run_clear(&r);
    r = tt_timg("convert -n %s %s/missing", src, dir);
    assert_one_line_error(&r, 1, "missing");
    tt_run_clear(&r);
    r = tt_timg("convert -O raw -o help");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "preallocation"));
    tt_run_clear(&r);
    g_free(src);
}
END_TEST

START_TEST(bench_read_write)
{
    char *p = make_raw("b.raw", 1048576, 6);
    struct tt_stamp before = tt_stamp_file(p);
    struct tt_run r;

    r = tt_timg("bench -c 100 -d 4 %s", p);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(g_str_has_prefix(r.out, "Sending 100 read requests, 4096 bytes each, 4 in parallel "
                                          "(starting at offset 0, step size 4096)\nRun completed in "),
                  "%s", r.out);
    ck_assert_msg(g_str_has_suffix(r.out, " seconds.\n"), "%s", r.out);
    tt_run_clear(&r);
    ck_assert(tt_stamp_equal(before, tt_stamp_file(p)));

    /* Writes with a pattern land where the offsets say. */
    r = tt_timg("bench -w -c 60 -d 8 -s 8k -S 16k -o 4096 --pattern=0xa5 -t unsafe -f raw "
                "--flush-interval=10 %s", p);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "Sending 60 write requests, 8192 bytes each, 8 in parallel "
                                        "(starting at offset 4096, step size 16384)\n"
                                        "Sending flush every 10 requests\n"));
    tt_run_clear(&r);
    uint8_t buf[8192];
    ck_assert_int_eq(tt_pread_file(p, buf, sizeof(buf), 4096 + 16384 * 10), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        ck_assert_uint_eq(buf[i], 0xa5);
    /* Between two requests the data is untouched. */
    uint8_t gap[8192], orig[65536];
    tt_fill(orig, sizeof(orig), 6);
    ck_assert_int_eq(tt_pread_file(p, gap, sizeof(gap), 4096 + 8192), 0);
    ck_assert_int_eq(memcmp(gap, orig + 4096 + 8192, sizeof(gap)), 0);

    /* Offsets wrap modulo the image size, as in qemu-img bench: 24k steps from 4k over
     * 1 MiB wrap from 1060864 to 12288. */
    char *w = tt_path(dir, "wrap.raw");
    uint8_t zero[65536] = { 0 };
    ck_assert_int_eq(tt_write_file(w, zero, sizeof(zero)), 0);
    ck_assert_int_eq(truncate(w, 1048576), 0);
    r = tt_timg("bench -q -w -c 50 -d 1 -s 4k -S 24k -o 4096 --pattern=7 -f raw %s", w);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    uint8_t got[4096];
    ck_assert_int_eq(tt_pread_file(w, got, sizeof(got), 12288), 0);
    ck_assert_uint_eq(got[0], 7);
    ck_assert_uint_eq(got[4095], 7);
    ck_assert_int_eq(tt_pread_file(w, got, sizeof(got), 8192), 0);
    ck_assert_uint_eq(got[0], 0);
    g_free(w);

    r = tt_timg("bench -c 0 %s", p);
    assert_one_line_error(&r, 1, "Invalid request count specified");
    tt_run_clear(&r);
    r = tt_timg("bench -d x %s", p);
    assert_one_line_error(&r, 1, "Invalid queue depth specified");
    tt_run_clear(&r);
    r = tt_timg("bench --pattern=300 -w %s", p);
    assert_one_line_error(&r, 1, "Invalid pattern byte specified");
    tt_run_clear(&r);
    r = tt_timg("bench --flush-interval=3 %s", p);
    assert_one_line_error(&r, 1, "--flush-interval is only available in write tests");
    tt_run_clear(&r);
    r = tt_timg("bench -i linux-aio %s", p);
    assert_one_line_error(&r, 1, "Invalid aio option: linux-aio");
    tt_run_clear(&r);
    r = tt_timg("bench -s 2M %s", p);
    assert_one_line_error(&r, 1, "out of image bounds");
    tt_run_clear(&r);
    g_free(p);
}
END_TEST

START_TEST(check_raw_and_errors)
{
    char *p = make_raw("c.raw", 1048576, 7);
    struct tt_stamp before = tt_stamp_file(p);
    struct tt_run r = tt_timg("check -f raw %s", p);

    /* raw has no metadata to check: qemu-img's 63 with its message. */
    assert_one_line_error(&r, 63, "This image format does not support checks");
    tt_run_clear(&r);
    r = tt_timg("check -r sideways %s", p);
    assert_one_line_error(&r, 1, "Unknown option value for -r (expecting 'leaks' or 'all'): sideways");
    tt_run_clear(&r);
    ck_assert(tt_stamp_equal(before, tt_stamp_file(p)));
    g_free(p);
}
END_TEST

START_TEST(vmdk_round_trip)
{
    if (!have_format("vmdk"))
        return;
    static const char *const subformats[] = { "monolithicSparse", "monolithicFlat",
                                              "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                              "streamOptimized" };
    char *src = make_raw("src.raw", 5 * 1048576, 8);
    struct tt_stamp before = tt_stamp_file(src);

    for (size_t i = 0; i < G_N_ELEMENTS(subformats); i++) {
        char *v = g_strdup_printf("%s/%s.vmdk", dir, subformats[i]);
        char *back = g_strdup_printf("%s/%s.raw", dir, subformats[i]);
        struct tt_run r = tt_timg("convert -O vmdk -o subformat=%s %s %s", subformats[i], src, v);
        ck_assert_msg(r.status == 0, "%s: %s", subformats[i], r.err);
        tt_run_clear(&r);

        struct tt_stamp vs = tt_stamp_file(v);
        r = tt_timg("check %s", v);
        ck_assert_msg(r.status == 0, "%s: %s%s", subformats[i], r.out, r.err);
        tt_run_clear(&r);
        r = tt_timg("info --output=json %s", v);
        ck_assert_int_eq(r.status, 0);
        char *ct = g_strdup_printf("\"create-type\": \"%s\"", subformats[i]);
        ck_assert_msg(strstr(r.out, ct), "%s", r.out);
        g_free(ct);
        tt_run_clear(&r);
        r = tt_timg("map --output=json %s", v);
        ck_assert_int_eq(r.status, 0);
        tt_run_clear(&r);
        r = tt_timg("compare %s %s", src, v);
        ck_assert_msg(r.status == 0, "%s: %s", subformats[i], r.out);
        tt_run_clear(&r);
        r = tt_timg("convert -O raw %s %s", v, back);
        ck_assert_int_eq(r.status, 0);
        tt_run_clear(&r);
        r = tt_timg("compare -f raw -F raw %s %s", src, back);
        ck_assert_int_eq(r.status, 0);
        tt_run_clear(&r);
        /* Read-only commands left the image alone. */
        ck_assert_msg(tt_stamp_equal(vs, tt_stamp_file(v)), "%s modified", subformats[i]);
        g_free(v);
        g_free(back);
    }
    ck_assert(tt_stamp_equal(before, tt_stamp_file(src)));

    /* -c picks streamOptimized; human map refuses compressed data like qemu-img. */
    char *c = tt_path(dir, "c.vmdk");
    struct tt_run r = tt_timg("convert -c -O vmdk %s %s", src, c);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    r = tt_timg("info %s", c);
    ck_assert_ptr_nonnull(strstr(r.out, "create type: streamOptimized\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "compressed: true\n"));
    tt_run_clear(&r);
    r = tt_timg("map %s", c);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "Offset          Length          Mapped to       File\n");
    ck_assert_str_eq(r.err, "tessera-img: File contains external, encrypted or compressed clusters.\n");
    tt_run_clear(&r);
    g_free(c);
    g_free(src);
}
END_TEST

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * Walks a streamOptimized file's markers after the header and returns how many grains
 * it holds, failing when a grain's LBA is not above the previous one (out of order).
 */
static int stream_grains_in_order(const char *path)
{
    uint8_t hdr[512], m[16];
    uint64_t size = tt_file_size(path), last = 0;
    int grains = 0;

    ck_assert_int_eq(tt_pread_file(path, hdr, sizeof(hdr), 0), 0);
    ck_assert_int_eq(memcmp(hdr, "KDMV", 4), 0);
    uint64_t pos = le64(hdr + 64) * 512; /* overHead */
    while (pos + 16 <= size) {
        ck_assert_int_eq(tt_pread_file(path, m, sizeof(m), pos), 0);
        uint64_t lba = le64(m);
        uint32_t len = (uint32_t)(m[8] | m[9] << 8 | m[10] << 16 | (uint32_t)m[11] << 24);
        if (len) {
            ck_assert_msg(grains == 0 || lba > last, "grain at LBA %llu after %llu",
                          (unsigned long long)lba, (unsigned long long)last);
            last = lba;
            grains++;
            pos = (pos + 12 + len + 511) / 512 * 512;
            continue;
        }
        uint32_t type = (uint32_t)(m[12] | m[13] << 8 | m[14] << 16 | (uint32_t)m[15] << 24);
        if (type == 0) /* end of stream */
            break;
        pos += 512 + lba * 512; /* metadata marker: lba counts its sectors */
    }
    return grains;
}

START_TEST(vmdk_create_options)
{
    if (!have_format("vmdk"))
        return;
    /* Repeated -o lists merge; options may follow the file name. */
    char *p = tt_path(dir, "f.vmdk");
    struct tt_run r = tt_timg("create -f vmdk %s 10M -o subformat=monolithicFlat -o adapter_type=lsilogic", p);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *line = g_strdup_printf("Formatting '%s', fmt=vmdk size=10485760 subformat=monolithicFlat "
                                 "adapter_type=lsilogic\n", p);
    ck_assert_str_eq(r.out, line);
    g_free(line);
    tt_run_clear(&r);
    char *desc = tt_slurp(p);
    ck_assert_ptr_nonnull(desc);
    ck_assert_msg(strstr(desc, "createType=\"monolithicFlat\""), "%s", desc);
    ck_assert_msg(strstr(desc, "ddb.adapterType = \"lsilogic\""), "%s", desc);
    ck_assert_msg(strstr(desc, "ddb.geometry.heads = \"255\""), "%s", desc);
    g_free(desc);
    char *flat = tt_path(dir, "f-flat.vmdk");
    ck_assert_uint_eq(tt_file_size(flat), 10485760);
    g_free(flat);

    /* The format's refusals arrive as one line. */
    r = tt_timg("create -f vmdk -o compat6=on,hwversion=7 %s 1M", p);
    assert_one_line_error(&r, 1, "compat6 cannot be enabled with hwversion set");
    tt_run_clear(&r);
    r = tt_timg("create -f vmdk -o subformat=monolithicFlat,zeroed_grain=on %s 1M", p);
    assert_one_line_error(&r, 1, "Flat image can't enable zeroed grain");
    tt_run_clear(&r);
    r = tt_timg("create -f vmdk -o subformat=bogus %s 1M", p);
    assert_one_line_error(&r, 1, "bogus");
    tt_run_clear(&r);
    g_free(p);
}
END_TEST

START_TEST(malformed_images_fail_cleanly)
{
    if (!have_format("vmdk"))
        return;
    char *src = make_raw("m.raw", 1048576, 12);
    char *good = tt_path(dir, "good.vmdk");
    struct tt_run r = tt_timg("convert -O vmdk %s %s", src, good);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    char *content = tt_slurp(good);
    uint64_t len = tt_file_size(good);

    /* Each a hostile variant: granularity poked to 2^64-1 (iotest 059's first case),
     * numGTEsPerGT huge, a header cut short, and a descriptor file with binary garbage. */
    static const char *const names[] = { "gran.vmdk", "gtes.vmdk", "short.vmdk", "desc.vmdk" };
    static const char *const needles[] = { "Invalid granularity, image may be corrupt",
                                           "L2 table size too big", NULL, NULL };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        char *p = tt_path(dir, names[i]);
        if (i == 3) {
            static const char garbage[] = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
                                          "RW 2048 FLAT \"../../etc/passwd\" 0\n\x01\x02\xff\n";
            ck_assert_int_eq(tt_write_file(p, garbage, sizeof(garbage) - 1), 0);
        } else {
            ck_assert_int_eq(tt_write_file(p, content, i == 2 ? 100 : len), 0);
            static const uint8_t ones[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
            if (i == 0)
                ck_assert_int_eq(tt_pwrite_file(p, ones, 8, 20), 0);
            if (i == 1)
                ck_assert_int_eq(tt_pwrite_file(p, ones, 4, 44), 0);
        }
        struct tt_stamp before = tt_stamp_file(p);
        /* Probed by content: the poked headers are still VMDKs, so name the format. */
        const char *cmds[] = { "info -f vmdk", "map -f vmdk", "check -f vmdk", "bench -c 1 -f vmdk" };
        for (size_t c = 0; c < G_N_ELEMENTS(cmds); c++) {
            r = tt_timg("%s %s", cmds[c], p);
            ck_assert_msg(r.status != 0, "%s %s succeeded", cmds[c], names[i]);
            assert_one_line_error(&r, r.status, needles[i]);
            tt_run_clear(&r);
        }
        r = tt_timg("compare -f vmdk %s %s", p, src);
        assert_one_line_error(&r, 2, needles[i]);
        tt_run_clear(&r);
        r = tt_timg("convert -f vmdk -O raw %s %s/out.raw", p, dir);
        assert_one_line_error(&r, 1, needles[i]);
        tt_run_clear(&r);
        ck_assert_msg(tt_stamp_equal(before, tt_stamp_file(p)), "%s was modified", names[i]);
        g_free(p);
    }
    g_free(content);
    g_free(good);
    g_free(src);
}
END_TEST

START_TEST(convert_odd_sizes)
{
    if (!have_format("vmdk"))
        return;
    /* Sources not a multiple of 512 or of a grain: the target rounds up to 512 and a
     * stream target takes the short last grain including that tail. */
    static const size_t sizes[] = { 1000, 65536, 100000, 131073 };
    static const char *const sf[] = { "streamOptimized", "monolithicSparse", "twoGbMaxExtentFlat" };
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        char *src = tt_path(dir, "odd.raw");
        uint8_t *buf = g_malloc(sizes[i]);
        tt_fill(buf, sizes[i], i + 100);
        ck_assert_int_eq(tt_write_file(src, buf, sizes[i]), 0);
        g_free(buf);
        for (size_t f = 0; f < G_N_ELEMENTS(sf); f++) {
            char *dst = g_strdup_printf("%s/odd-%zu-%zu.vmdk", dir, i, f);
            struct tt_run r = tt_timg("convert -O vmdk -o subformat=%s %s %s", sf[f], src, dst);
            ck_assert_msg(r.status == 0, "%s %zu: %s", sf[f], sizes[i], r.err);
            tt_run_clear(&r);
            r = tt_timg("info --output=json %s", dst);
            char *vs = g_strdup_printf("\"virtual-size\": %zu,", (sizes[i] + 511) / 512 * 512);
            ck_assert_msg(strstr(r.out, vs), "%s", r.out);
            g_free(vs);
            tt_run_clear(&r);
            r = tt_timg("compare %s %s", src, dst);
            ck_assert_msg(r.status == 0, "%s %zu: %s", sf[f], sizes[i], r.out);
            tt_run_clear(&r);
            g_free(dst);
        }
        g_free(src);
    }
}
END_TEST

START_TEST(stream_output_in_order)
{
    if (!have_format("vmdk"))
        return;
    /* Random data in every grain, converted with many parallel reads: grains must still
     * be appended in LBA order (ESXi and VirtualBox read streams front to back). */
    char *src = tt_path(dir, "rand.raw");
    size_t len = 6 * 1048576;
    uint8_t *buf = g_malloc(len);
    tt_fill(buf, len, 42);
    ck_assert_int_eq(tt_write_file(src, buf, len), 0);
    g_free(buf);
    char *dst = tt_path(dir, "s.vmdk");
    struct tt_run r = tt_timg("convert -m 16 -O vmdk -o subformat=streamOptimized %s %s", src, dst);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    ck_assert_int_eq(stream_grains_in_order(dst), 96);
    r = tt_timg("compare %s %s", src, dst);
    ck_assert_int_eq(r.status, 0);
    tt_run_clear(&r);
    g_free(src);
    g_free(dst);
}
END_TEST

START_TEST(vmdk_backing_chain)
{
    if (!have_format("vmdk"))
        return;
    char *src = make_raw("base.raw", 3 * 1048576, 9);
    char *base = tt_path(dir, "base.vmdk");
    char *top = tt_path(dir, "top.vmdk");
    struct tt_run r;

    r = tt_timg("convert -O vmdk %s %s", src, base);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    /* Size comes from the backing file. */
    r = tt_timg("create -f vmdk -b base.vmdk -F vmdk %s", top);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tt_run_clear(&r);
    r = tt_timg("info %s", top);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "virtual size: 3 MiB (3145728 bytes)\n"));
    char *bl = g_strdup_printf("backing file: base.vmdk (actual path: %s)\n", base);
    ck_assert_msg(strstr(r.out, bl), "%s", r.out);
    g_free(bl);
    ck_assert_ptr_nonnull(strstr(r.out, "backing file format: vmdk\n"));
    tt_run_clear(&r);
    r = tt_timg("info --backing-chain %s", top);
    ck_assert_int_eq(r.status, 0);
    char *second = g_strdup_printf("\n\nimage: %s\n", base);
    ck_assert_msg(strstr(r.out, second), "%s", r.out);
    g_free(second);
    tt_run_clear(&r);
    r = tt_timg("info --backing-chain --output=json %s", top);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "[\n    {\n", 8) == 0, "%s", r.out);
    tt_run_clear(&r);
    /* The overlay reads the base's data; map shows it at depth 1. */
    r = tt_timg("compare %s %s", src, top);
    ck_assert_int_eq(r.status, 0);
    tt_run_clear(&r);
    r = tt_timg("map --output=json %s", top);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\"start\": 0, \"length\": 65536, \"depth\": 1, \"present\": true"));
    tt_run_clear(&r);
    /* Strict mode looks through the chain, as qemu-img does: the base's data counts. */
    r = tt_timg("compare -s %s %s", base, top);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "Images are identical.\n");
    tt_run_clear(&r);
    /* Without its backing file: info still works; --backing-chain and reads fail. */
    char *moved = tt_path(dir, "moved.vmdk");
    ck_assert_int_eq(rename(base, moved), 0);
    r = tt_timg("info %s", top);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "backing file: base.vmdk"));
    tt_run_clear(&r);
    r = tt_timg("info --backing-chain %s", top);
    assert_one_line_error(&r, 1, "base.vmdk");
    tt_run_clear(&r);
    r = tt_timg("compare %s %s", src, top);
    assert_one_line_error(&r, 2, "base.vmdk");
    tt_run_clear(&r);
    g_free(moved);
    g_free(src);
    g_free(base);
    g_free(top);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timg_commands");
    TCase *tc = tcase_create("commands");

    tt_setup_env();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, help_version_formats);
    tcase_add_test(tc, create_raw);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, create_option_help);
    tcase_add_test(tc, info_raw);
    tcase_add_test(tc, map_raw);
    tcase_add_test(tc, compare_statuses);
    tcase_add_test(tc, convert_raw_to_raw);
    tcase_add_test(tc, convert_errors);
    tcase_add_test(tc, bench_read_write);
    tcase_add_test(tc, check_raw_and_errors);
    tcase_add_test(tc, vmdk_round_trip);
    tcase_add_test(tc, vmdk_backing_chain);
    tcase_add_test(tc, stream_output_in_order);
    tcase_add_test(tc, vmdk_create_options);
    tcase_add_test(tc, malformed_images_fail_cleanly);
    tcase_add_test(tc, convert_odd_sizes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
