/* SPDX-License-Identifier: MIT */
/* Reading and writing every subformat through the engine, checked against a model. */
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

static struct vmdk_image *open_img(const char *p, bool ro)
{
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = ro;
    o.gt_cache_tables = 2; /* small, so eviction and writeback paths run */
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_open(p, &o, &img, &err) == 0, "%s", err.msg);
    return img;
}

static void close_img(struct vmdk_image *img)
{
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_close(img, &err) == 0, "%s", err.msg);
}

struct io {
    uint64_t off;
    size_t len;
};

/* Unaligned, grain-crossing, table-crossing and extent-crossing writes. */
static const struct io writes[] = {
    { 0, 512 },
    { 2000, 70000 },
    { 32 * 1024 * 1024 - 4096, 8192 },
    { (2ull << 30) - 300, 1000 },
    { (3ull << 30) + 65536, 65536 },
    { (5ull << 30) - 512, 512 },
};

static void write_all(struct vmdk_image *img)
{
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        uint8_t *buf = malloc(writes[i].len);
        tu_fill_pattern(buf, writes[i].len, i + 1);
        struct vmdk_error err = { 0 };
        ck_assert_msg(vmdk_write(img, writes[i].off, buf, writes[i].len, &err) == 0, "%s",
                      err.msg);
        free(buf);
    }
}

static void verify_all(struct vmdk_image *img)
{
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        /* Read a little around each write: the margins must be zero. */
        uint64_t off = writes[i].off >= 512 ? writes[i].off - 512 : 0;
        size_t margin = (size_t)(writes[i].off - off);
        size_t len = writes[i].len + margin;
        if (off + len + 512 <= vmdk_size(img))
            len += 512;
        uint8_t *got = malloc(len), *want = calloc(1, len);
        tu_fill_pattern(want + margin, writes[i].len, i + 1);
        struct vmdk_error err = { 0 };
        ck_assert_msg(vmdk_read(img, off, got, len, &err) == 0, "%s", err.msg);
        ck_assert_msg(memcmp(got, want, len) == 0, "write %zu reads back wrong", i);
        free(got);
        free(want);
    }
    uint8_t z[4096], zero[4096] = { 0 };
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_read(img, 1ull << 30, z, sizeof(z), &err), 0);
    ck_assert(memcmp(z, zero, sizeof(z)) == 0);
}

static const enum vmdk_subformat writable_formats[] = {
    VMDK_MONOLITHIC_SPARSE, VMDK_MONOLITHIC_FLAT, VMDK_TWO_GB_SPARSE, VMDK_TWO_GB_FLAT,
};

START_TEST(write_read_reopen)
{
    char *p = create("t.vmdk", 5ull << 30, writable_formats[_i]);
    struct vmdk_image *img = open_img(p, false);
    ck_assert_uint_eq(vmdk_size(img), 5ull << 30);
    uint32_t cid = vmdk_cid(img);
    write_all(img);
    verify_all(img);
    ck_assert_uint_ne(vmdk_cid(img), cid);
    cid = vmdk_cid(img);
    close_img(img);
    img = open_img(p, true);
    ck_assert_uint_eq(vmdk_cid(img), cid);
    verify_all(img);
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_write(img, 0, "x", 1, &err), -30 /* EROFS */);
    close_img(img);
    free(p);
}
END_TEST

START_TEST(out_of_range)
{
    char *p = create("t.vmdk", 1 << 20, VMDK_MONOLITHIC_SPARSE);
    struct vmdk_image *img = open_img(p, false);
    uint8_t buf[1024];
    struct vmdk_error err = { 0 };
    ck_assert_int_lt(vmdk_read(img, (1 << 20) - 512, buf, 1024, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "Wrong offset"));
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_write(img, UINT64_MAX - 10, buf, 100, &err), 0);
    close_img(img);
    free(p);
}
END_TEST

START_TEST(block_status_sparse)
{
    char *p = create("t.vmdk", 31ull << 30, VMDK_MONOLITHIC_SPARSE);
    struct vmdk_image *img = open_img(p, false);
    uint8_t buf[1024];
    memset(buf, 0x11, sizeof(buf));
    struct vmdk_error err = { 0 };
    /* iotest 059's writes: 1k at 65024, 2147483136 and 5G. */
    ck_assert_int_eq(vmdk_write(img, 65024, buf, 1024, &err), 0);
    ck_assert_int_eq(vmdk_write(img, 2147483136, buf, 1024, &err), 0);
    ck_assert_int_eq(vmdk_write(img, 5ull << 30, buf, 1024, &err), 0);
    struct vmdk_map m;
    ck_assert_int_eq(vmdk_block_status(img, 0, vmdk_size(img), &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_DATA);
    ck_assert_uint_eq(m.length, 0x20000);
    ck_assert_uint_eq(m.file_offset, 0x3f0000);
    ck_assert_int_eq(vmdk_block_status(img, 0x20000, vmdk_size(img), &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_UNALLOCATED);
    ck_assert_uint_eq(m.offset + m.length, 0x7fff0000);
    ck_assert_int_eq(vmdk_block_status(img, 0x7fff0000, vmdk_size(img), &m, &err), 0);
    ck_assert_uint_eq(m.file_offset, 0x410000);
    ck_assert_uint_eq(m.length, 0x20000);
    ck_assert_int_eq(vmdk_block_status(img, 0x140000000, 100, &m, &err), 0);
    ck_assert_uint_eq(m.file_offset, 0x430000);
    ck_assert_uint_eq(m.length, 100);
    close_img(img);
    free(p);
}
END_TEST

/* A directory entry of 0 (a table that was never allocated): QEMU writes the data to
 * offset 0 and destroys the header. The engine must allocate the table. */
START_TEST(gde_zero_allocates_table)
{
    char *p = create("t.vmdk", 1ull << 30, VMDK_MONOLITHIC_SPARSE);
    uint8_t zero[4] = { 0 };
    ck_assert_int_eq(tu_pwrite_file(p, zero, 4, 150 * 512 + 4), 0); /* GD[1] */
    ck_assert_int_eq(tu_pwrite_file(p, zero, 4, 21 * 512 + 4), 0);  /* RGD[1] */
    struct vmdk_image *img = open_img(p, false);
    uint8_t buf[65536], got[65536];
    tu_fill_pattern(buf, sizeof(buf), 7);
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_read(img, 32 << 20, got, sizeof(got), &err), 0);
    ck_assert_int_eq(vmdk_write(img, 32 << 20, buf, sizeof(buf), &err), 0);
    ck_assert_int_eq(vmdk_write(img, (32 << 20) + 65536 + 100, buf, 1000, &err), 0);
    close_img(img);
    uint8_t gde[4];
    ck_assert_int_eq(tu_pread_file(p, gde, 4, 150 * 512 + 4), 0);
    ck_assert_uint_gt(vmdk_le32(gde), 384);
    ck_assert_int_eq(tu_pread_file(p, gde, 4, 21 * 512 + 4), 0);
    ck_assert_uint_gt(vmdk_le32(gde), 384);
    uint8_t magic[4];
    ck_assert_int_eq(tu_pread_file(p, magic, 4, 0), 0);
    ck_assert(memcmp(magic, "KDMV", 4) == 0);
    img = open_img(p, true);
    ck_assert_int_eq(vmdk_read(img, 32 << 20, got, sizeof(got), &err), 0);
    ck_assert(memcmp(got, buf, sizeof(buf)) == 0);
    ck_assert_int_eq(vmdk_read(img, (32 << 20) + 65536 + 100, got, 1000, &err), 0);
    ck_assert(memcmp(got, buf, 1000) == 0);
    close_img(img);
    free(p);
}
END_TEST

START_TEST(stream_append_sessions)
{
    const uint64_t size = (100ull << 20) + 1536; /* short last grain */
    char *p = create("s.vmdk", size, VMDK_STREAM_OPTIMIZED);
    static uint8_t grain[65536], got[65536];
    struct vmdk_error err = { 0 };
    /* Session 1: a few grains in two tables. */
    struct vmdk_image *img = open_img(p, false);
    for (uint64_t g = 0; g < 4; g++) {
        tu_fill_pattern(grain, sizeof(grain), g);
        memset(grain, 0, 1000); /* compressible and not */
        ck_assert_msg(vmdk_write(img, g * 65536, grain, sizeof(grain), &err) == 0, "%s", err.msg);
    }
    tu_fill_pattern(grain, sizeof(grain), 99);
    ck_assert_int_eq(vmdk_write(img, 40 << 20, grain, sizeof(grain), &err), 0);
    /* Partial and repeated writes are refused. */
    ck_assert_int_lt(vmdk_write(img, 512, grain, 512, &err), 0);
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_write(img, 0, grain, sizeof(grain), &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "allocated cluster"));
    memset(&err, 0, sizeof(err));
    close_img(img);
    /* Session 2: append to a table written in session 1's tail and the short grain. */
    img = open_img(p, false);
    tu_fill_pattern(grain, sizeof(grain), 4);
    ck_assert_msg(vmdk_write(img, 4 * 65536, grain, sizeof(grain), &err) == 0, "%s", err.msg);
    tu_fill_pattern(grain, 1536, 5);
    ck_assert_msg(vmdk_write(img, size - 1536, grain, 1536, &err) == 0, "%s", err.msg);
    close_img(img);
    img = open_img(p, true);
    for (uint64_t g = 0; g < 5; g++) {
        tu_fill_pattern(grain, sizeof(grain), g);
        if (g < 4)
            memset(grain, 0, 1000);
        /* 4 KiB reads, served from the decompressed-grain cache after the first. */
        for (size_t o = 0; o < sizeof(got); o += 4096)
            ck_assert_int_eq(vmdk_read(img, g * 65536 + o, got + o, 4096, &err), 0);
        ck_assert_msg(memcmp(got, grain, sizeof(got)) == 0, "grain %u", (unsigned)g);
    }
    tu_fill_pattern(grain, sizeof(grain), 99);
    ck_assert_int_eq(vmdk_read(img, 40 << 20, got, sizeof(got), &err), 0);
    ck_assert(memcmp(got, grain, sizeof(got)) == 0);
    tu_fill_pattern(grain, 1536, 5);
    ck_assert_int_eq(vmdk_read(img, size - 1536, got, 1536, &err), 0);
    ck_assert(memcmp(got, grain, 1536) == 0);
    struct vmdk_map m;
    ck_assert_int_eq(vmdk_block_status(img, 0, size, &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_DATA);
    ck_assert(m.compressed);
    ck_assert(!m.offset_valid);
    close_img(img);
    /* The file ends with footer marker, footer and EOS on a sector boundary. */
    ck_assert_uint_eq(tu_file_size(p) % 512, 0);
    free(p);
}
END_TEST

static int backing_read(void *ctx, uint64_t off, void *buf, size_t len, struct vmdk_error *err)
{
    (void)err;
    memset(buf, 0, len);
    const uint8_t *base = ctx;
    if (off < 1 << 20)
        memcpy(buf, base + off, len < (1 << 20) - off ? len : (1 << 20) - off);
    return 0;
}

START_TEST(backing_copy_on_write)
{
    static uint8_t base[1 << 20];
    tu_fill_pattern(base, sizeof(base), 3);
    char *p = create("t.vmdk", 1 << 20, VMDK_MONOLITHIC_SPARSE);
    struct vmdk_image *img = open_img(p, false);
    struct vmdk_backing b = { backing_read, base };
    vmdk_set_backing(img, &b);
    struct vmdk_error err = { 0 };
    uint8_t got[8192];
    ck_assert_int_eq(vmdk_read(img, 4096, got, sizeof(got), &err), 0);
    ck_assert(memcmp(got, base + 4096, sizeof(got)) == 0);
    ck_assert_int_eq(vmdk_write(img, 5000, "hello", 5, &err), 0);
    close_img(img);
    img = open_img(p, true); /* no backing now: the grain holds the parent's data */
    ck_assert_int_eq(vmdk_read(img, 4096, got, sizeof(got), &err), 0);
    ck_assert(memcmp(got, base + 4096, 904) == 0);
    ck_assert(memcmp(got + 904, "hello", 5) == 0);
    ck_assert(memcmp(got + 909, base + 5005, sizeof(got) - 909) == 0);
    ck_assert_int_eq(vmdk_read(img, 65536, got, 512, &err), 0);
    ck_assert_uint_eq(got[0], 0);
    close_img(img);
    free(p);
}
END_TEST

START_TEST(extent_kinds)
{
    /* RW flat, ZERO, RDONLY flat and NOACCESS flat extents in one descriptor. */
    char *desc = tu_path(dir, "k.vmdk");
    const char *text = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                       "createType=\"monolithicFlat\"\n"
                       "RW 8 FLAT \"a.raw\" 0\nRW 8 ZERO\nRDONLY 8 FLAT \"b.raw\" 2\n"
                       "NOACCESS 8 FLAT \"a.raw\" 0\n";
    ck_assert_int_eq(tu_write_file(desc, text, strlen(text)), 0);
    uint8_t data[8192];
    tu_fill_pattern(data, sizeof(data), 1);
    char *a = tu_path(dir, "a.raw"), *b = tu_path(dir, "b.raw");
    ck_assert_int_eq(tu_write_file(a, data, 4096), 0);
    ck_assert_int_eq(tu_write_file(b, data, 8192), 0);
    struct vmdk_image *img = open_img(desc, false);
    ck_assert_uint_eq(vmdk_size(img), 32 * 512);
    ck_assert_uint_eq(vmdk_extent_count(img), 4);
    uint8_t got[12288];
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_read(img, 0, got, sizeof(got), &err) == 0, "%s", err.msg);
    ck_assert(memcmp(got, data, 4096) == 0);
    for (size_t i = 4096; i < 8192; i++)
        ck_assert_uint_eq(got[i], 0);
    ck_assert(memcmp(got + 8192, data + 1024, 4096) == 0);
    ck_assert_int_lt(vmdk_read(img, 12288, got, 512, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "NOACCESS"));
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_write(img, 4096, got, 512, &err), 0);
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(vmdk_write(img, 8192, got, 512, &err), 0);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(vmdk_write(img, 0, "abc", 3, &err), 0);
    struct vmdk_map m;
    ck_assert_int_eq(vmdk_block_status(img, 4096, 100000, &m, &err), 0);
    ck_assert_int_eq(m.status, VMDK_STATUS_ZERO);
    ck_assert_uint_eq(m.length, 4096);
    ck_assert_int_eq(vmdk_block_status(img, 8192, 100000, &m, &err), 0);
    ck_assert(m.offset_valid);
    ck_assert_uint_eq(m.file_offset, 1024);
    close_img(img);
    /* The CID line changed in place; the descriptor is otherwise intact. */
    char after[1024] = { 0 };
    ck_assert_int_eq(tu_pread_file(desc, after, strlen(text), 0), 0);
    ck_assert(strncmp(after, text, 34) == 0);
    ck_assert(strncmp(after + 34, "CID=12345678", 12) != 0);
    ck_assert_str_eq(after + 46, text + 46);
    free(desc);
    free(a);
    free(b);
}
END_TEST

/* Writes a 24 MiB stream image (random, zero and repeated grains) in 1 MiB requests,
 * with compression in the caller's thread or on `threads` workers. */
static char *write_stream(const char *name, unsigned threads, size_t *max_pending)
{
    char *p = create(name, 24 << 20, VMDK_STREAM_OPTIMIZED);
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.compress_threads = threads;
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_open(p, &o, &img, &err) == 0, "%s", err.msg);
    uint8_t *buf = malloc(1 << 20);
    *max_pending = 0;
    for (unsigned mb = 0; mb < 24; mb++) {
        for (unsigned g = 0; g < 16; g++) {
            uint8_t *grain = buf + g * 65536;
            switch ((mb * 16 + g) % 3) {
            case 0:
                tu_fill_pattern(grain, 65536, mb * 16 + g);
                break;
            case 1:
                memset(grain, 0, 65536);
                break;
            default:
                memset(grain, 'a' + g, 65536);
                break;
            }
        }
        ck_assert_msg(vmdk_write(img, (uint64_t)mb << 20, buf, 1 << 20, &err) == 0, "%s",
                      err.msg);
        if (vmdk_stream_pending(img) > *max_pending)
            *max_pending = vmdk_stream_pending(img);
    }
    /* a grain that is queued (or stored) cannot be written twice */
    ck_assert_int_lt(vmdk_write(img, 23 << 20, buf, 65536, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "allocated cluster"));
    /* reads see queued grains */
    uint8_t got[4096];
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(vmdk_read(img, (23 << 20) + 15 * 65536, got, sizeof(got), &err), 0);
    ck_assert(memcmp(got, buf + 15 * 65536, sizeof(got)) == 0);
    ck_assert_uint_eq(vmdk_stream_pending(img), 0);
    close_img(img);
    free(buf);
    return p;
}

START_TEST(stream_parallel_compression)
{
    size_t pending_serial, pending_parallel;
    char *serial = write_stream("serial.vmdk", 1, &pending_serial);
    char *parallel = write_stream("parallel.vmdk", 4, &pending_parallel);
    ck_assert_uint_eq(pending_serial, 0);
    /* In-order output: the same bytes whichever thread compressed each grain (after the
     * descriptor, whose CIDs are random). */
    uint64_t size = tu_file_size(serial);
    ck_assert_uint_eq(size, tu_file_size(parallel));
    uint8_t *a = malloc(size), *b = malloc(size);
    ck_assert_int_eq(tu_pread_file(serial, a, size, 0), 0);
    ck_assert_int_eq(tu_pread_file(parallel, b, size, 0), 0);
    ck_assert(memcmp(a, b, 512) == 0);
    ck_assert(memcmp(a + 65536, b + 65536, size - 65536) == 0);
    free(a);
    free(b);
    struct vmdk_image *img = open_img(parallel, true);
    struct vmdk_check_result res;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_check(img, VMDK_CHECK_NONE, NULL, NULL, &res, &err), 0);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.allocated_clusters, 256); /* the zero grains are skipped */
    uint8_t got[65536], want[65536];
    tu_fill_pattern(want, sizeof(want), 3);
    ck_assert_int_eq(vmdk_read(img, 3 * 65536, got, sizeof(got), &err), 0);
    ck_assert(memcmp(got, want, sizeof(got)) == 0);
    close_img(img);
    if (tu_have_qemu()) {
        char *out = NULL;
        ck_assert_msg(tu_run(&out, "qemu-img check -f vmdk '%s'", parallel) == 0, "%s", out);
        free(out);
    }
    free(serial);
    free(parallel);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_io");
    TCase *tc = tcase_create("io");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, write_read_reopen, 0,
                        sizeof(writable_formats) / sizeof(writable_formats[0]));
    tcase_add_test(tc, out_of_range);
    tcase_add_test(tc, block_status_sparse);
    tcase_add_test(tc, gde_zero_allocates_table);
    tcase_add_test(tc, stream_append_sessions);
    tcase_add_test(tc, backing_copy_on_write);
    tcase_add_test(tc, extent_kinds);
    tcase_add_test(tc, stream_parallel_compression);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
