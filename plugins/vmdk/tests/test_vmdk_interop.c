/* SPDX-License-Identifier: MIT */
/*
 * Interoperability with QEMU: images made and written by qemu-img/qemu-io are read by
 * the engine; images made and written by the engine pass `qemu-img check` and read
 * back identically in qemu-io and `qemu-img convert`. Skips when QEMU is absent.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
#include "vmdk_test_util.h"

static char *dir;
static bool have_qemu;

static void setup(void)
{
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rmdir(dir);
}

#define SKIP_WITHOUT_QEMU()                                                             \
    do {                                                                                \
        if (!have_qemu) {                                                               \
            fprintf(stderr, "SKIP %s: qemu-img/qemu-io not installed\n", __func__);     \
            return;                                                                     \
        }                                                                               \
    } while (0)

static const char *const subformats[] = {
    "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
    "streamOptimized",
};

/* Offsets that cross the 2 GiB split and a grain table; whole grains for streams. */
struct pattern {
    uint64_t off;
    size_t len;
    uint8_t byte;
};
static const struct pattern patterns[] = {
    { 0, 65536, 0xab },
    { 0x7fff0000, 0x20000, 0xcd },
    { 0x2000000, 65536, 0x5a },
    { 0xb0000000, 65536, 0x01 },
};

static void qemu_io_ok(const char *image, const char *cmd)
{
    char *out = NULL;
    int rc = tu_run(&out, "qemu-io -f vmdk -c '%s' '%s'", cmd, image);
    ck_assert_msg(rc == 0 && !strstr(out, "failed") && !strstr(out, "error"),
                  "qemu-io -c '%s' %s: rc %d: %s", cmd, image, rc, out);
    free(out);
}

static void engine_expect(struct vmdk_image *img, uint64_t off, size_t len, uint8_t byte)
{
    uint8_t *buf = malloc(len);
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_read(img, off, buf, len, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(buf[i] == byte, "offset 0x%llx: 0x%02x, want 0x%02x",
                      (unsigned long long)(off + i), buf[i], byte);
    free(buf);
}

START_TEST(qemu_writes_engine_reads)
{
    SKIP_WITHOUT_QEMU();
    char *img_path = tu_path(dir, "q.vmdk");
    char *out = NULL;
    int rc = tu_run(&out, "qemu-img create -f vmdk -o subformat=%s '%s' 3G", subformats[_i],
                    img_path);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "write -P 0x%02x %llu %zu", patterns[i].byte,
                 (unsigned long long)patterns[i].off, patterns[i].len);
        qemu_io_ok(img_path, cmd);
    }
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = true;
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_open(img_path, &o, &img, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(vmdk_size(img), 3ull << 30);
    ck_assert_str_eq(vmdk_create_type(img), subformats[_i]);
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        engine_expect(img, patterns[i].off, patterns[i].len, patterns[i].byte);
    engine_expect(img, 0x10000, 0x10000, 0);
    engine_expect(img, (3ull << 30) - 0x10000, 0x10000, 0);
    vmdk_close(img, NULL);
    free(img_path);
}
END_TEST

START_TEST(engine_writes_qemu_reads)
{
    SKIP_WITHOUT_QEMU();
    enum vmdk_subformat f;
    ck_assert_int_eq(vmdk_subformat_parse(subformats[_i], &f), 0);
    char *img_path = tu_path(dir, "e.vmdk");
    struct vmdk_create_options co;
    vmdk_create_options_init(&co);
    co.size = 3ull << 30;
    co.subformat = f;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_create(img_path, &co, &err) == 0, "%s", err.msg);
    struct vmdk_image *img;
    ck_assert_msg(vmdk_open(img_path, NULL, &img, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        uint8_t *buf = malloc(patterns[i].len);
        memset(buf, patterns[i].byte, patterns[i].len);
        ck_assert_msg(vmdk_write(img, patterns[i].off, buf, patterns[i].len, &err) == 0, "%s",
                      err.msg);
        free(buf);
    }
    ck_assert_msg(vmdk_close(img, &err) == 0, "%s", err.msg);

    char *out = NULL;
    int rc = tu_run(&out, "qemu-img check -f vmdk '%s'", img_path);
    ck_assert_msg(rc == 0 && strstr(out, "No errors were found"), "check: %s", out);
    free(out);
    rc = tu_run(&out, "qemu-img info -f vmdk '%s'", img_path);
    ck_assert_msg(rc == 0 && strstr(out, "virtual size: 3 GiB"), "info: %s", out);
    free(out);
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "read -P 0x%02x %llu %zu", patterns[i].byte,
                 (unsigned long long)patterns[i].off, patterns[i].len);
        qemu_io_ok(img_path, cmd);
    }
    qemu_io_ok(img_path, "read -P 0 65536 65536");
    free(img_path);
}
END_TEST

/* A small image converted to raw by qemu-img equals what the engine reads. */
START_TEST(convert_matches_engine)
{
    SKIP_WITHOUT_QEMU();
    enum vmdk_subformat f;
    ck_assert_int_eq(vmdk_subformat_parse(subformats[_i], &f), 0);
    const uint64_t size = (8ull << 20) + 1536;
    char *img_path = tu_path(dir, "c.vmdk"), *raw = tu_path(dir, "c.raw");
    struct vmdk_create_options co;
    vmdk_create_options_init(&co);
    co.size = size;
    co.subformat = f;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_create(img_path, &co, &err) == 0, "%s", err.msg);
    struct vmdk_image *img;
    ck_assert_int_eq(vmdk_open(img_path, NULL, &img, &err), 0);
    uint8_t *data = malloc(size);
    tu_fill_pattern(data, size, 42);
    memset(data + (1 << 20), 0, 3 << 20); /* a hole, and compressible grains */
    for (uint64_t off = 0; off < size; off += 65536) {
        size_t n = size - off < 65536 ? (size_t)(size - off) : 65536;
        ck_assert_msg(vmdk_write(img, off, data + off, n, &err) == 0, "%s", err.msg);
    }
    ck_assert_msg(vmdk_close(img, &err) == 0, "%s", err.msg);
    char *out = NULL;
    int rc = tu_run(&out, "qemu-img convert -f vmdk -O raw '%s' '%s'", img_path, raw);
    ck_assert_msg(rc == 0, "convert: %s", out);
    free(out);
    ck_assert_uint_eq(tu_file_size(raw), size);
    uint8_t *got = malloc(size);
    ck_assert_int_eq(tu_pread_file(raw, got, size, 0), 0);
    ck_assert(memcmp(got, data, size) == 0);
    free(got);
    free(data);
    free(img_path);
    free(raw);
}
END_TEST

/* Sparse files are byte-identical to qemu-img's apart from the descriptor's CID. */
START_TEST(byte_identical_layout)
{
    SKIP_WITHOUT_QEMU();
    /* Same base name in two directories: the extent line names the file. */
    char *q = tu_path(dir, "q.vmdk"), *e = tu_path(dir, "e/q.vmdk"), *out = NULL;
    ck_assert_int_eq(tu_run(&out, "mkdir '%s/e' && qemu-img create -f vmdk '%s' 5G", dir, q), 0);
    free(out);
    struct vmdk_create_options co;
    vmdk_create_options_init(&co);
    co.size = 5ull << 30;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_create(e, &co, &err), 0);
    uint64_t n = tu_file_size(q);
    ck_assert_uint_eq(tu_file_size(e), n);
    uint8_t *a = malloc(n), *b = malloc(n);
    ck_assert_int_eq(tu_pread_file(q, a, n, 0), 0);
    ck_assert_int_eq(tu_pread_file(e, b, n, 0), 0);
    ck_assert(memcmp(a, b, 512) == 0);                       /* header */
    ck_assert(memcmp(a + 21 * 512, b + 21 * 512, n - 21 * 512) == 0); /* tables */
    /* Descriptors equal once the CID line is removed (QEMU prints it unpadded). */
    char *da = strstr((char *)a + 512, "parentCID"), *db = strstr((char *)b + 512, "parentCID");
    ck_assert_str_eq(da, db);
    free(a);
    free(b);
    free(q);
    free(e);
}
END_TEST

/* The GDE == 0 case that corrupts images in QEMU: the engine's result checks clean. */
START_TEST(gde_zero_write_checks_clean)
{
    SKIP_WITHOUT_QEMU();
    char *p = tu_path(dir, "z.vmdk"), *out = NULL;
    ck_assert_int_eq(tu_run(&out, "qemu-img create -f vmdk '%s' 1G", p), 0);
    free(out);
    uint8_t zero[4] = { 0 };
    ck_assert_int_eq(tu_pwrite_file(p, zero, 4, 150 * 512), 0);
    ck_assert_int_eq(tu_pwrite_file(p, zero, 4, 21 * 512), 0);
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_open(p, NULL, &img, &err), 0);
    uint8_t buf[65536];
    memset(buf, 0x77, sizeof(buf));
    ck_assert_int_eq(vmdk_write(img, 0, buf, sizeof(buf), &err), 0);
    ck_assert_int_eq(vmdk_close(img, &err), 0);
    int rc = tu_run(&out, "qemu-img check -f vmdk '%s'", p);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    qemu_io_ok(p, "read -P 0x77 0 64k");
    free(p);
}
END_TEST

int main(void)
{
    have_qemu = tu_have_qemu();
    if (!have_qemu)
        fprintf(stderr, "SKIP: qemu-img/qemu-io not installed; interop tests do nothing\n");
    Suite *s = suite_create("vmdk_interop");
    TCase *tc = tcase_create("interop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    int n = (int)(sizeof(subformats) / sizeof(subformats[0]));
    tcase_add_loop_test(tc, qemu_writes_engine_reads, 0, n);
    tcase_add_loop_test(tc, engine_writes_qemu_reads, 0, n);
    tcase_add_loop_test(tc, convert_matches_engine, 0, n);
    tcase_add_test(tc, byte_identical_layout);
    tcase_add_test(tc, gde_zero_write_checks_clean);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
