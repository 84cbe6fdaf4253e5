/* SPDX-License-Identifier: MIT */
/* The sparse header: round trip and every bound, with QEMU's messages. */
#include <check.h>
#include <string.h>

#include "vmdk_format.h"

static struct vmdk_sparse_header good(void)
{
    struct vmdk_sparse_header h = {
        .magic = VMDK_SPARSE_MAGIC, .version = 1, .flags = 3, .capacity = 2097152,
        .grain_size = 128, .desc_offset = 1, .desc_size = 20, .num_gtes_per_gt = 512,
        .rgd_offset = 21, .gd_offset = 150, .overhead = 384,
    };
    memcpy(h.nl_chars, "\n \r\n", 4);
    return h;
}

#define FILE_SIZE 196608u

START_TEST(round_trip)
{
    struct vmdk_sparse_header h = good(), back;
    uint8_t buf[512];
    vmdk_header_encode(&h, buf);
    ck_assert(memcmp(buf, "KDMV", 4) == 0);
    ck_assert_uint_eq(buf[73], '\n');
    vmdk_header_decode(buf, &back);
    uint8_t again[512];
    vmdk_header_encode(&back, again);
    ck_assert(memcmp(buf, again, sizeof(buf)) == 0);
    ck_assert_uint_eq(back.gd_offset, 150);
    ck_assert_uint_eq(back.capacity, 2097152);
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_header_validate(&h, "t", FILE_SIZE, true, &err), 0);
    ck_assert_uint_eq(vmdk_header_gd_entries(&h), 32);
}
END_TEST

struct bad_case {
    const char *expect;
    void (*mutate)(struct vmdk_sparse_header *h);
};

static void bad_magic(struct vmdk_sparse_header *h) { h->magic = 0x12345678; }
static void version4(struct vmdk_sparse_header *h) { h->version = 4; }
static void v3_rw(struct vmdk_sparse_header *h) { h->version = 3; }
static void big_gt(struct vmdk_sparse_header *h) { h->num_gtes_per_gt = 0xffffffff; }
static void zero_grain(struct vmdk_sparse_header *h) { h->grain_size = 0; }
static void huge_grain(struct vmdk_sparse_header *h) { h->grain_size = UINT64_MAX; }
static void huge_capacity(struct vmdk_sparse_header *h)
{
    h->capacity = 0xffffffff00000000ull;
    h->num_gtes_per_gt = 1;
}
static void truncated(struct vmdk_sparse_header *h) { h->overhead = 100000; }
static void gd_past_end(struct vmdk_sparse_header *h) { h->gd_offset = 0x100000; }
static void rgd_past_end(struct vmdk_sparse_header *h) { h->rgd_offset = 384; }
static void desc_huge(struct vmdk_sparse_header *h) { h->desc_size = 1u << 30; }
static void afl9(struct vmdk_sparse_header *h)
{
    h->capacity = 2233785398448881665ull;
    h->num_gtes_per_gt = 506;
    h->rgd_offset = 71;
    h->gd_offset = 0x2800000000000000ull;
    h->overhead = 0;
    h->desc_offset = 251658241;
}
static void compressed_no_deflate(struct vmdk_sparse_header *h) { h->flags |= VMDK_FLAG_COMPRESSED; }

static const struct bad_case bad[] = {
    { "Image not in VMDK format", bad_magic },
    { "Unsupported VMDK version 4", version4 },
    { "VMDK version 3 must be read only", v3_rw },
    { "L2 table size too big", big_gt },
    { "L1 entry size is invalid", zero_grain },
    { "Invalid granularity, image may be corrupt", huge_grain },
    { "L1 size too big", huge_capacity },
    { "File truncated, expecting at least 51200000 bytes", truncated },
    { "grain directory offset 0x20000000 lies past the end of the file (size 0x30000)",
      gd_past_end },
    { "redundant grain directory offset", rgd_past_end },
    { "embedded descriptor", desc_huge },
    { "L1 size too big", afl9 },
    { "unsupported compression algorithm", compressed_no_deflate },
};

START_TEST(bounds)
{
    struct vmdk_sparse_header h = good();
    bad[_i].mutate(&h);
    struct vmdk_error err = { 0 };
    ck_assert_int_lt(vmdk_header_validate(&h, "t.vmdk", FILE_SIZE, true, &err), 0);
    ck_assert_msg(strstr(err.msg, bad[_i].expect) != NULL, "got '%s', want '%s'", err.msg,
                  bad[_i].expect);
    ck_assert_msg(strncmp(err.msg, "t.vmdk: ", 8) == 0, "no file name: %s", err.msg);
}
END_TEST

START_TEST(v3_read_only_ok)
{
    struct vmdk_sparse_header h = good();
    h.version = 3;
    ck_assert_int_eq(vmdk_header_validate(&h, "t", FILE_SIZE, false, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_header");
    TCase *tc = tcase_create("header");
    tcase_add_test(tc, round_trip);
    tcase_add_loop_test(tc, bounds, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, v3_read_only_ok);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
