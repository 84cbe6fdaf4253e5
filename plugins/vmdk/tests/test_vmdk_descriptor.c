/* SPDX-License-Identifier: MIT */
/* The descriptor parser: VMware's loose grammar accepted, garbage refused. */
#include <check.h>
#include <string.h>

#include "vmdk_descriptor.h"

static int parse(const char *text, struct vmdk_descriptor *d, struct vmdk_error *err)
{
    memset(err, 0, sizeof(*err));
    return vmdk_descriptor_parse(text, strlen(text), "t.vmdk", d, err);
}

START_TEST(spec_example)
{
    const char *text = "# Disk DescriptorFile\n"
                       "version=1\n"
                       "CID=fffffffe\n"
                       "parentCID=ffffffff\n"
                       "createType=\"twoGbMaxExtentSparse\"\n"
                       "# Extent description\n"
                       "RW 4192256 SPARSE \"test-s001.vmdk\"\n"
                       "RW 4192256 SPARSE \"test-s002.vmdk\"\n"
                       "RW 2101248 SPARSE \"test-s003.vmdk\"\n"
                       "# The Disk Data Base\n"
                       "#DDB\n"
                       "ddb.adapterType = \"ide\"\n"
                       "ddb.geometry.sectors = \"63\"\n";
    struct vmdk_descriptor d;
    struct vmdk_error err;
    ck_assert_int_eq(parse(text, &d, &err), 0);
    ck_assert_uint_eq(d.version, 1);
    ck_assert_uint_eq(d.cid, 0xfffffffe);
    ck_assert_uint_eq(d.parent_cid, 0xffffffff);
    ck_assert_str_eq(d.create_type, "twoGbMaxExtentSparse");
    ck_assert_uint_eq(d.n_extents, 3);
    ck_assert_uint_eq(d.extents[2].sectors, 2101248);
    ck_assert_str_eq(d.extents[1].filename, "test-s002.vmdk");
    ck_assert_int_eq(d.extents[0].type, VMDK_EXTENT_SPARSE);
    ck_assert_str_eq(vmdk_descriptor_ddb(&d, "DDB.ADAPTERTYPE"), "ide");
    vmdk_descriptor_free(&d);
}
END_TEST

START_TEST(loose_forms)
{
    /* Mixed case, spaces around '=', CRLF, tabs, extents before the header keys,
     * RDONLY/NOACCESS/ZERO extents and offsets. */
    const char *text = "\r\n  # comment\r\n"
                       "rw 100 flat \"a b.raw\" 7\r\n"
                       "CREATETYPE = \"monolithicFlat\"\r\n"
                       "Version = 1\r\n"
                       "\tcid\t=\t0000abcd  \r\n"
                       "RDONLY 200 SPARSE \"s.vmdk\"\r\n"
                       "NOACCESS 8 FLAT \"n.raw\"\r\n"
                       "RW 50 ZERO\r\n"
                       "parentFileNameHint=\"../base.vmdk\"\r\n"
                       "ddb.uuid.image=\"x\"\r\n";
    struct vmdk_descriptor d;
    struct vmdk_error err;
    ck_assert_msg(parse(text, &d, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.cid, 0xabcd);
    ck_assert(d.has_cid);
    ck_assert_str_eq(d.create_type, "monolithicFlat");
    ck_assert_uint_eq(d.n_extents, 4);
    ck_assert_str_eq(d.extents[0].filename, "a b.raw");
    ck_assert_uint_eq(d.extents[0].offset, 7);
    ck_assert_int_eq(d.extents[1].access, VMDK_ACCESS_RDONLY);
    ck_assert_int_eq(d.extents[2].access, VMDK_ACCESS_NOACCESS);
    ck_assert_uint_eq(d.extents[2].offset, 0);
    ck_assert_int_eq(d.extents[3].type, VMDK_EXTENT_ZERO);
    ck_assert_ptr_null(d.extents[3].filename);
    ck_assert_str_eq(d.parent_hint, "../base.vmdk");
    ck_assert_str_eq(vmdk_descriptor_ddb(&d, "ddb.uuid.image"), "x");
    vmdk_descriptor_free(&d);
}
END_TEST

START_TEST(nul_ends_embedded_text)
{
    const char text[] = "version=1\ncreateType=\"monolithicSparse\"\n\0garbage\x01\x02";
    struct vmdk_descriptor d;
    struct vmdk_error err = { 0 };
    ck_assert_int_eq(vmdk_descriptor_parse(text, sizeof(text), "t", &d, &err), 0);
    ck_assert_str_eq(d.create_type, "monolithicSparse");
    vmdk_descriptor_free(&d);
}
END_TEST

static const char *const bad[] = {
    "version=1\nthis is not a line\n",
    "version=1\nRW abc SPARSE \"x\"\n",
    "version=1\nRW 10 BOGUS \"x\"\n",
    "version=1\nRW 10 SPARSE\n",
    "version=1\nRW 10 SPARSE \"unterminated\n",
    "version=1\nRW 99999999999999999999999 SPARSE \"x\"\n",
    "version=1\nRW 10 FLAT \"x\" notanumber\n",
    "version=9\n",
    "CID=123456789\n",
    "CID=xyz\n",
    "createType=\"unterminated\n",
    "version=1\n\x01\x02\x03binary",
    "= value\n",
};

START_TEST(garbage_is_refused)
{
    struct vmdk_descriptor d;
    struct vmdk_error err;
    int r = parse(bad[_i], &d, &err);
    ck_assert_msg(r < 0, "accepted: %s", bad[_i]);
    ck_assert_msg(strncmp(err.msg, "t.vmdk:", 7) == 0, "message does not name the file: %s",
                  err.msg);
    ck_assert_uint_eq(d.n_extents, 0);
}
END_TEST

START_TEST(create_types)
{
    ck_assert(vmdk_create_type_supported("monolithicSparse"));
    ck_assert(vmdk_create_type_supported("STREAMOPTIMIZED"));
    ck_assert(vmdk_create_type_supported("2GbMaxExtentFlat"));
    ck_assert(!vmdk_create_type_supported("fullDevice"));
    ck_assert(!vmdk_create_type_supported(" "));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk_descriptor");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, spec_example);
    tcase_add_test(tc, loose_forms);
    tcase_add_test(tc, nul_ends_embedded_text);
    tcase_add_loop_test(tc, garbage_is_refused, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, create_types);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
