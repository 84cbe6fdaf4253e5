/* SPDX-License-Identifier: MIT */
/*
 * tessera-img's parsing and printing without images: sizes, key order, JSON and human
 * printers, map merging and lines, check output and exit statuses, progress, -o lists.
 * Expected texts are what qemu-img 7.2 prints for the same values.
 */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timg.h"
#include "timg_check.h"
#include "timg_info.h"
#include "timg_map.h"

/* Collects what a printer writes. */
struct capture {
    FILE *f;
    char *buf;
    size_t len;
};

static void cap_open(struct capture *c)
{
    c->buf = NULL;
    c->f = open_memstream(&c->buf, &c->len);
}

static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

START_TEST(size_parse_qemu_rules)
{
    uint64_t v = 0;

    ck_assert_int_eq(timg_parse_size("0", 1, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(timg_parse_size("1000", 1, &v), 0);
    ck_assert_uint_eq(v, 1000);
    ck_assert_int_eq(timg_parse_size("100k", 1, &v), 0);
    ck_assert_uint_eq(v, 102400);
    ck_assert_int_eq(timg_parse_size("100K", 1, &v), 0);
    ck_assert_uint_eq(v, 102400);
    ck_assert_int_eq(timg_parse_size("1G", 1, &v), 0);
    ck_assert_uint_eq(v, 1073741824);
    ck_assert_int_eq(timg_parse_size("1.5G", 1, &v), 0);
    ck_assert_uint_eq(v, 1610612736);
    ck_assert_int_eq(timg_parse_size("1b", 1, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(timg_parse_size("0x100", 1, &v), 0);
    ck_assert_uint_eq(v, 256);
    ck_assert_int_eq(timg_parse_size("1E", 1, &v), 0);
    ck_assert_uint_eq(v, 1152921504606846976ull);
    ck_assert_int_eq(timg_parse_size("1P", 1, &v), 0);
    ck_assert_uint_eq(v, 1125899906842624ull);
    ck_assert_int_eq(timg_parse_size("10T", 1, &v), 0);
    ck_assert_uint_eq(v, 10995116277760ull);
    ck_assert_int_eq(timg_parse_size("2", 512, &v), 0); /* default unit */
    ck_assert_uint_eq(v, 1024);

    /* qemu-img refuses these. */
    ck_assert_int_eq(timg_parse_size("1x", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("1e3", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("1.5", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("-5", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size(" 5", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("k", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("1kk", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("0x", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("0x1.5M", 1, &v), -EINVAL);
    ck_assert_int_eq(timg_parse_size("20E", 1, &v), -ERANGE);
    ck_assert_int_eq(timg_parse_size("8E", 1, &v), -ERANGE);
    ck_assert_int_eq(timg_parse_size("99999999999999999999", 1, &v), -ERANGE);
}
END_TEST

START_TEST(size_to_str_matches_qemu)
{
    /* Pairs observed with qemu-img info on raw images of these sizes. */
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        { 0, "0 B" },
        { 512, "512 B" },
        { 1024, "1 KiB" },
        { 1536, "1.5 KiB" },
        { 1000448, "977 KiB" },
        { 1022976, "999 KiB" },
        { 1023488, "1e+03 KiB" },
        { 1024000, "0.977 MiB" },
        { 1048064, "1 MiB" },
        { 1048576, "1 MiB" },
        { 2048000, "1.95 MiB" },
        { 123457024, "118 MiB" },
        { 1048575488, "1e+03 MiB" },
        { 1073741824, "1 GiB" },
        { 1610612736, "1.5 GiB" },
        { 3221225472ull, "3 GiB" },
        { 1099511627776ull, "1 TiB" },
        { 212992, "208 KiB" },
        { 12288, "12 KiB" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *s = timg_size_to_str(cases[i].bytes);
        ck_assert_msg(strcmp(s, cases[i].text) == 0, "%llu: got '%s', want '%s'",
                      (unsigned long long)cases[i].bytes, s, cases[i].text);
        g_free(s);
    }
}
END_TEST

/* Key orders qemu-img 7.2 printed for info, check and VMDK extents. */
static void assert_order(const char *const *keys, size_t n)
{
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(timg_key_rank(keys[i - 1]) < timg_key_rank(keys[i]), "'%s' before '%s'",
                      keys[i - 1], keys[i]);
}

START_TEST(key_order_matches_qemu)
{
    static const char *const info[] = { "backing-filename-format", "virtual-size", "filename",
                                        "cluster-size", "format", "actual-size", "format-specific",
                                        "full-backing-filename", "backing-filename", "dirty-flag" };
    static const char *const check[] = { "image-end-offset", "compressed-clusters",
                                         "total-clusters", "corruptions", "corruptions-fixed",
                                         "check-errors", "leaks", "leaks-fixed",
                                         "allocated-clusters", "filename", "format",
                                         "fragmented-clusters" };
    static const char *const vmdk[] = { "cid", "parent-cid", "create-type", "extents" };
    static const char *const extent[] = { "compressed", "virtual-size", "filename", "cluster-size",
                                          "format" };
    static const char *const fs[] = { "type", "data" };

    assert_order(info, G_N_ELEMENTS(info));
    assert_order(check, G_N_ELEMENTS(check));
    assert_order(vmdk, G_N_ELEMENTS(vmdk));
    assert_order(extent, G_N_ELEMENTS(extent));
    assert_order(fs, G_N_ELEMENTS(fs));
}
END_TEST

/* Format-specific data as the vmdk plugin might add it (its own key order). */
static GVariant *vmdk_specific(bool compressed, const char *fmt)
{
    GVariantBuilder d, ext, e;

    g_variant_builder_init(&d, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&d, "{sv}", "create-type", g_variant_new_string(
                          compressed ? "streamOptimized" : "monolithicSparse"));
    g_variant_builder_add(&d, "{sv}", "cid", g_variant_new_uint32(1750043540));
    g_variant_builder_add(&d, "{sv}", "parent-cid", g_variant_new_uint32(4294967295u));
    g_variant_builder_init(&ext, G_VARIANT_TYPE("av"));
    g_variant_builder_init(&e, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&e, "{sv}", "filename", g_variant_new_string("a.vmdk"));
    g_variant_builder_add(&e, "{sv}", "format", g_variant_new_string(fmt));
    g_variant_builder_add(&e, "{sv}", "virtual-size", g_variant_new_uint64(1073741824));
    g_variant_builder_add(&e, "{sv}", "cluster-size", g_variant_new_int64(65536));
    if (compressed)
        g_variant_builder_add(&e, "{sv}", "compressed", g_variant_new_boolean(true));
    g_variant_builder_add(&ext, "v", g_variant_builder_end(&e));
    g_variant_builder_add(&d, "{sv}", "extents", g_variant_builder_end(&ext));
    return g_variant_ref_sink(g_variant_builder_end(&d));
}

START_TEST(info_human_matches_qemu)
{
    GVariant *fs = vmdk_specific(false, "");
    struct timg_image_info i = {
        .filename = "a.vmdk", .format = "vmdk", .virtual_size = 1073741824,
        .actual_size = 212992, .has_actual_size = true, .cluster_size = 65536,
        .format_specific = fs,
    };
    struct capture c;

    cap_open(&c);
    timg_info_print_human(c.f, &i);
    char *got = cap_close(&c);
    ck_assert_str_eq(got,
        "image: a.vmdk\n"
        "file format: vmdk\n"
        "virtual size: 1 GiB (1073741824 bytes)\n"
        "disk size: 208 KiB\n"
        "cluster_size: 65536\n"
        "Format specific information:\n"
        "    cid: 1750043540\n"
        "    parent cid: 4294967295\n"
        "    create type: monolithicSparse\n"
        "    extents:\n"
        "        [0]:\n"
        "            virtual size: 1073741824\n"
        "            filename: a.vmdk\n"
        "            cluster size: 65536\n"
        "            format: \n");
    free(got);

    /* A backing file whose resolved path differs, and a dirty image. */
    i.backing_filename = "base.vmdk";
    i.full_backing_filename = "/images/base.vmdk";
    i.backing_format = "vmdk";
    i.dirty = true;
    i.format_specific = NULL;
    i.has_actual_size = false;
    cap_open(&c);
    timg_info_print_human(c.f, &i);
    got = cap_close(&c);
    ck_assert_str_eq(got,
        "image: a.vmdk\n"
        "file format: vmdk\n"
        "virtual size: 1 GiB (1073741824 bytes)\n"
        "disk size: unavailable\n"
        "cluster_size: 65536\n"
        "dirty flag: yes\n"
        "backing file: base.vmdk (actual path: /images/base.vmdk)\n"
        "backing file format: vmdk\n");
    free(got);
    g_variant_unref(fs);
}
END_TEST

START_TEST(info_json_matches_qemu)
{
    GVariant *fs = vmdk_specific(true, "");
    struct timg_image_info i = {
        .filename = "o.vmdk", .format = "vmdk", .virtual_size = 1073741824,
        .actual_size = 12288, .has_actual_size = true, .cluster_size = 65536,
        .backing_filename = "a.vmdk", .full_backing_filename = "a.vmdk",
        .backing_format = "vmdk", .format_specific = fs,
    };
    struct capture c;

    GVariant *v = timg_info_to_variant(&i);
    cap_open(&c);
    timg_print_json(c.f, v, 0);
    char *got = cap_close(&c);
    ck_assert_str_eq(got,
        "{\n"
        "    \"backing-filename-format\": \"vmdk\",\n"
        "    \"virtual-size\": 1073741824,\n"
        "    \"filename\": \"o.vmdk\",\n"
        "    \"cluster-size\": 65536,\n"
        "    \"format\": \"vmdk\",\n"
        "    \"actual-size\": 12288,\n"
        "    \"format-specific\": {\n"
        "        \"type\": \"vmdk\",\n"
        "        \"data\": {\n"
        "            \"cid\": 1750043540,\n"
        "            \"parent-cid\": 4294967295,\n"
        "            \"create-type\": \"streamOptimized\",\n"
        "            \"extents\": [\n"
        "                {\n"
        "                    \"compressed\": true,\n"
        "                    \"virtual-size\": 1073741824,\n"
        "                    \"filename\": \"a.vmdk\",\n"
        "                    \"cluster-size\": 65536,\n"
        "                    \"format\": \"\"\n"
        "                }\n"
        "            ]\n"
        "        }\n"
        "    },\n"
        "    \"full-backing-filename\": \"a.vmdk\",\n"
        "    \"backing-filename\": \"a.vmdk\",\n"
        "    \"dirty-flag\": false\n"
        "}");
    free(got);
    g_variant_unref(v);
    g_variant_unref(fs);
}
END_TEST

START_TEST(json_strings_escaped)
{
    GString *s = g_string_new(NULL);

    timg_json_string(s, "a\"b\\c\n\t\x01\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_str_eq(s->str, "\"a\\\"b\\\\c\\n\\t\\u0001\\u00E9\\uD83D\\uDE00\"");
    g_string_assign(s, "");
    timg_json_string(s, "bad\xff");
    ck_assert_str_eq(s->str, "\"bad\\uFFFD\"");
    g_string_free(s, TRUE);
}
END_TEST

START_TEST(human_lists_of_scalars)
{
    GVariantBuilder d;
    struct capture c;

    g_variant_builder_init(&d, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&d, "{sv}", "names", g_variant_new_strv((const char *[]){ "x", "y" }, 2));
    GVariant *v = g_variant_ref_sink(g_variant_builder_end(&d));
    cap_open(&c);
    timg_print_human_dict(c.f, v, 1);
    char *got = cap_close(&c);
    ck_assert_str_eq(got, "    names:\n        [0]: x\n        [1]: y\n");
    free(got);
    g_variant_unref(v);
}
END_TEST

START_TEST(map_json_and_merge)
{
    /* The entries qemu-img map printed for a 1 GiB monolithicSparse with three grains. */
    struct timg_map_entry in[] = {
        { 0, 65536, 0, true, false, true, true, 196608, "a.vmdk" },
        { 65536, 65536, 0, false, true, false, false, 0, NULL },
        { 131072, 917504, 0, false, true, false, false, 0, NULL },
        { 1048576, 65536, 0, true, false, true, true, 262144, "a.vmdk" },
        { 1114112, 1073741824 - 1114112, 0, false, true, false, false, 0, NULL },
    };
    struct timg_map_printer p;
    struct capture c;

    cap_open(&c);
    timg_map_begin(&p, c.f, TIMG_OUTPUT_JSON);
    struct timg_map_entry cur = in[0];
    for (size_t i = 1; i < G_N_ELEMENTS(in); i++) {
        if (timg_map_mergeable(&cur, &in[i])) {
            cur.length += in[i].length;
        } else {
            timg_map_print(&p, &cur);
            cur = in[i];
        }
    }
    timg_map_print(&p, &cur);
    timg_map_end(&p);
    char *got = cap_close(&c);
    ck_assert_str_eq(got,
        "[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 196608},\n"
        "{ \"start\": 65536, \"length\": 983040, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false},\n"
        "{ \"start\": 1048576, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 262144},\n"
        "{ \"start\": 1114112, \"length\": 1072627712, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false}]\n");
    free(got);

    /* Contiguous offsets merge; a gap, another file or another depth does not. */
    struct timg_map_entry a = { 0, 65536, 0, true, false, true, true, 1000, "f" };
    struct timg_map_entry b = { 65536, 65536, 0, true, false, true, true, 1000 + 65536, "f" };
    ck_assert(timg_map_mergeable(&a, &b));
    b.offset++;
    ck_assert(!timg_map_mergeable(&a, &b));
    b.offset--;
    b.filename = "g";
    ck_assert(!timg_map_mergeable(&a, &b));
    b.filename = "f";
    b.depth = 1;
    ck_assert(!timg_map_mergeable(&a, &b));
}
END_TEST

START_TEST(map_human_lines)
{
    struct timg_map_printer p;
    struct capture c;
    struct timg_map_entry data = { 0, 0x10000, 0, true, false, true, true, 0x30000, "a.vmdk" };
    struct timg_map_entry zero = { 0x10000, 0xf0000, 0, false, true, false, false, 0, NULL };
    struct timg_map_entry data2 = { 0x100000, 0x10000, 0, true, false, true, true, 0x40000, "a.vmdk" };
    struct timg_map_entry comp = { 0x200000, 0x10000, 0, true, false, true, false, 0, NULL };

    cap_open(&c);
    timg_map_begin(&p, c.f, TIMG_OUTPUT_HUMAN);
    ck_assert_int_eq(timg_map_print(&p, &data), 0);
    ck_assert_int_eq(timg_map_print(&p, &zero), 0);
    ck_assert_int_eq(timg_map_print(&p, &data2), 0);
    ck_assert_int_eq(timg_map_print(&p, &comp), -1); /* compressed: no offset to show */
    timg_map_end(&p);
    char *got = cap_close(&c);
    ck_assert_str_eq(got,
        "Offset          Length          Mapped to       File\n"
        "0               0x10000         0x30000         a.vmdk\n"
        "0x100000        0x10000         0x40000         a.vmdk\n");
    free(got);
}
END_TEST

START_TEST(check_outputs_and_status)
{
    struct capture c;
    struct timg_check ok = { .filename = "q.qcow2", .format = "qcow2", .total_clusters = 160,
                             .allocated_clusters = 16, .image_end_offset = 1376256 };

    cap_open(&c);
    timg_check_print_human(c.f, &ok);
    char *got = cap_close(&c);
    ck_assert_str_eq(got, "No errors were found on the image.\n"
                          "16/160 = 10.00% allocated, 0.00% fragmented, 0.00% compressed clusters\n"
                          "Image end offset: 1376256\n");
    free(got);
    ck_assert_int_eq(timg_check_status(&ok), 0);

    GVariant *v = timg_check_to_variant(&ok);
    cap_open(&c);
    timg_print_json(c.f, v, 0);
    got = cap_close(&c);
    ck_assert_str_eq(got, "{\n    \"image-end-offset\": 1376256,\n    \"total-clusters\": 160,\n"
                          "    \"check-errors\": 0,\n    \"allocated-clusters\": 16,\n"
                          "    \"filename\": \"q.qcow2\",\n    \"format\": \"qcow2\"\n}");
    free(got);
    g_variant_unref(v);

    struct timg_check leaks = ok;
    leaks.leaks = 2;
    leaks.image_end_offset = 1769472;
    cap_open(&c);
    timg_check_print_human(c.f, &leaks);
    got = cap_close(&c);
    ck_assert_str_eq(got, "\n2 leaked clusters were found on the image.\n"
                          "This means waste of disk space, but no harm to data.\n"
                          "16/160 = 10.00% allocated, 0.00% fragmented, 0.00% compressed clusters\n"
                          "Image end offset: 1769472\n");
    free(got);
    ck_assert_int_eq(timg_check_status(&leaks), 3);

    struct timg_check bad = ok;
    bad.corruptions = 2;
    bad.leaks = 1;
    ck_assert_int_eq(timg_check_status(&bad), 2);
    bad.check_errors = 1;
    ck_assert_int_eq(timg_check_status(&bad), 1);

    /* qemu's order for a repaired image, and the repair banner. */
    struct timg_check fixed = { .filename = "qc3.qcow2", .format = "qcow2", .total_clusters = 160,
                                .allocated_clusters = 16, .image_end_offset = 1507328,
                                .corruptions_fixed = 1 };
    v = timg_check_to_variant(&fixed);
    cap_open(&c);
    timg_print_json(c.f, v, 0);
    got = cap_close(&c);
    ck_assert_str_eq(got, "{\n    \"image-end-offset\": 1507328,\n    \"total-clusters\": 160,\n"
                          "    \"corruptions-fixed\": 1,\n    \"check-errors\": 0,\n"
                          "    \"allocated-clusters\": 16,\n    \"filename\": \"qc3.qcow2\",\n"
                          "    \"format\": \"qcow2\"\n}");
    free(got);
    g_variant_unref(v);
    cap_open(&c);
    timg_check_print_repaired(c.f, &fixed);
    got = cap_close(&c);
    ck_assert_str_eq(got, "The following inconsistencies were found and repaired:\n\n"
                          "    0 leaked clusters\n    1 corruptions\n\n"
                          "Double checking the fixed image now...\n");
    free(got);

    struct timg_check frag = { .filename = "qf.qcow2", .format = "qcow2", .total_clusters = 160,
                               .allocated_clusters = 19, .fragmented_clusters = 3,
                               .compressed_clusters = 1, .image_end_offset = 1572864 };
    cap_open(&c);
    timg_check_print_human(c.f, &frag);
    got = cap_close(&c);
    ck_assert_str_eq(got, "No errors were found on the image.\n"
                          "19/160 = 11.88% allocated, 15.79% fragmented, 5.26% compressed clusters\n"
                          "Image end offset: 1572864\n");
    free(got);
}
END_TEST

START_TEST(progress_lines)
{
    struct timg_progress p;
    struct capture c;

    cap_open(&c);
    timg_progress_init(&p, c.f, true, 2.0);
    timg_progress_update(&p, 0, 40);
    timg_progress_update(&p, 1, 40); /* 2.5% */
    timg_progress_update(&p, 1, 40); /* no advance: nothing */
    timg_progress_update(&p, 40, 40);
    timg_progress_end(&p);
    timg_progress_end(&p); /* once only */
    char *got = cap_close(&c);
    ck_assert_str_eq(got, "    (0.00/100%)\r    (2.50/100%)\r    (100.00/100%)\r\n");
    free(got);

    cap_open(&c);
    timg_progress_init(&p, c.f, false, 1.0);
    timg_progress_update(&p, 5, 10);
    timg_progress_end(&p);
    got = cap_close(&c);
    ck_assert_str_eq(got, "");
    free(got);
}
END_TEST

START_TEST(opts_lists)
{
    GString *s = g_string_new(NULL);

    timg_opts_append(s, "subformat=monolithicFlat");
    timg_opts_append(s, "adapter_type=lsilogic");
    ck_assert_str_eq(s->str, "subformat=monolithicFlat,adapter_type=lsilogic");
    g_string_free(s, TRUE);

    ck_assert(timg_opts_want_help("help"));
    ck_assert(timg_opts_want_help("?"));
    ck_assert(timg_opts_want_help("subformat=x,help"));
    ck_assert(!timg_opts_want_help("backing_file=help"));
    ck_assert(!timg_opts_want_help("backing_file=a,,help"));
    ck_assert(!timg_opts_want_help(""));
    ck_assert(!timg_opts_want_help("helpme"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timg_output");
    TCase *tc = tcase_create("output");

    tcase_add_test(tc, size_parse_qemu_rules);
    tcase_add_test(tc, size_to_str_matches_qemu);
    tcase_add_test(tc, key_order_matches_qemu);
    tcase_add_test(tc, info_human_matches_qemu);
    tcase_add_test(tc, info_json_matches_qemu);
    tcase_add_test(tc, json_strings_escaped);
    tcase_add_test(tc, human_lists_of_scalars);
    tcase_add_test(tc, map_json_and_merge);
    tcase_add_test(tc, map_human_lines);
    tcase_add_test(tc, check_outputs_and_status);
    tcase_add_test(tc, progress_lines);
    tcase_add_test(tc, opts_lists);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
