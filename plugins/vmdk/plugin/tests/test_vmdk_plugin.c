/* SPDX-License-Identifier: MIT */
/*
 * The vmdk plugin loaded by the real loader and driven through the block layer: every
 * subformat created and read back, probing by content, create options, backing chains
 * (vmdk over vmdk, vmdk over raw, loops), read-only opens, async I/O, info, map, check,
 * and tessera refusing a bad -drive.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "plugin/registry.h"

static registry *reg;
static char *dir;

static void setup(void)
{
    const char *base = g_getenv("TESSERA_BUILD_DIR");
    g_autofree char *tmpl = g_build_filename(base ? base : g_get_tmp_dir(), "vmdkplug-XXXXXX", NULL);
    dir = g_mkdtemp(g_steal_pointer(&tmpl));
    ck_assert_ptr_nonnull(dir);
    g_unsetenv("TESSERA_PLUGIN_PATH");
    reg = registry_new(NULL, 0);
    GError *err = NULL;
    ck_assert_msg(block_init(reg, &err) == 0, "%s", err ? err->message : "");
}

static void teardown(void)
{
    block_shutdown();
    registry_free(reg);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(dir);
}

static char *path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static void create_ok(const char *fmt, const char *p, uint64_t size, const char *opts)
{
    GError *err = NULL;
    int r = block_create(fmt, p, size, opts, &err);
    ck_assert_msg(r == 0, "create %s %s: %s", p, opts ? opts : "", err ? err->message : "?");
}

static block_node *open_fmt(const char *p, const char *fmt, bool ro)
{
    block_open_options o;
    block_open_options_init(&o);
    o.format = fmt;
    o.read_only = ro;
    GError *err = NULL;
    block_node *n = block_open(p, &o, &err);
    ck_assert_msg(n, "open %s: %s", p, err ? err->message : "?");
    return n;
}

static void close_ok(block_node *n)
{
    GError *err = NULL;
    ck_assert_msg(block_close(n, &err) == 0, "%s", err ? err->message : "");
}

static void fill(char *buf, size_t len, int seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(seed + i * 13 + i / 511);
}

/* ---- loading ---- */

START_TEST(plugin_loaded_by_real_loader)
{
    GError *err = NULL;
    const registry_type *t = registry_find(reg, "vmdk", TS_KIND_BLOCK_FORMAT, &err);
    ck_assert_msg(t, "%s", err ? err->message : "");
    ck_assert_ptr_nonnull(strstr(t->plugin->path, "vmdk.so"));
    ck_assert_ptr_nonnull(t->plugin->handle); /* a real dlopen, not a built-in */
    g_autoptr(GPtrArray) fmts = block_formats();
    bool raw = false, vmdk = false;
    for (guint i = 0; i < fmts->len; i++) {
        raw |= !strcmp(fmts->pdata[i], "raw");
        vmdk |= !strcmp(fmts->pdata[i], "vmdk");
    }
    ck_assert(raw && vmdk);
}
END_TEST

#ifdef TESSERA_BIN
static int run(char **argv, char **out, char **errs)
{
    int status = 0;
    GError *err = NULL;
    ck_assert(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, out, errs, &status, &err));
    return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

START_TEST(tessera_lists_vmdk)
{
    char *argv[] = { (char *)TESSERA_BIN, (char *)"-plugins", NULL };
    g_autofree char *out = NULL, *errs = NULL;
    run(argv, &out, &errs);
    ck_assert_msg(strstr(out, "vmdk") && strstr(out, "block-format"), "out: %s", out);
    ck_assert_msg(!strstr(errs, "vmdk.so"), "vmdk.so problem: %s", errs);
}
END_TEST

START_TEST(tessera_bad_vmdk_drive)
{
    g_autofree char *p = path("bad.vmdk");
    ck_assert(g_file_set_contents(p, "KDMV\1\0\0\0garbage", 16, NULL));
    g_autofree char *opt = g_strdup_printf("file=%s,format=vmdk,if=none,id=d0", p);
    char *argv[] = { (char *)TESSERA_BIN, (char *)"-drive", opt, NULL };
    g_autofree char *out = NULL, *errs = NULL;
    ck_assert_int_eq(run(argv, &out, &errs), 1);
    ck_assert_msg(strstr(errs, "-drive") && strstr(errs, "drive 'd0'") &&
                  strstr(errs, "property 'file'") && strstr(errs, p), "stderr: %s", errs);
    ck_assert_msg(!strchr(strchr(errs, '\n') + 1, '\n'), "one line: %s", errs);
}
END_TEST

START_TEST(tessera_good_vmdk_drive)
{
    g_autofree char *p = path("good.vmdk");
    create_ok("vmdk", p, 1 << 20, NULL);
    g_autofree char *opt = g_strdup_printf("file=%s,format=vmdk,if=none,id=d0", p);
    char *argv[] = { (char *)TESSERA_BIN, (char *)"-drive", opt, NULL };
    g_autofree char *out = NULL, *errs = NULL;
    run(argv, &out, &errs);
    ck_assert_msg(!strstr(errs, "drive 'd0'"), "stderr: %s", errs);
}
END_TEST
#endif

/* ---- every subformat through the block layer ---- */

static const char *const subformats[] = { "monolithicSparse", "monolithicFlat",
                                          "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                          "streamOptimized" };

START_TEST(subformat_round_trip)
{
    const char *sub = subformats[_i];
    g_autofree char *p = path("img.vmdk");
    g_autofree char *opts = g_strdup_printf("subformat=%s", sub);
    create_ok("vmdk", p, 8 << 20, opts);
    block_node *n = open_fmt(p, NULL, false); /* probed */
    ck_assert_str_eq(block_format_name(n), "vmdk");
    ck_assert_uint_eq(block_size(n), 8 << 20);
    /* streamOptimized takes whole grains (64 KiB) appended in order */
    size_t len = 65536 * 2;
    g_autofree char *buf = g_malloc(len), *back = g_malloc(len);
    fill(buf, len, _i);
    GError *err = NULL;
    ck_assert_msg(block_write(n, 1 << 20, buf, len, &err) == 0, "%s", err ? err->message : "");
    close_ok(n);
    n = open_fmt(p, "vmdk", true);
    ck_assert_int_eq(block_read(n, 1 << 20, back, len, &err), 0);
    ck_assert(memcmp(buf, back, len) == 0);
    ck_assert_int_eq(block_read(n, 0, back, 65536, &err), 0);
    for (int i = 0; i < 65536; i++)
        ck_assert_int_eq(back[i], 0);
    block_info info;
    ck_assert_int_eq(block_get_info(n, &info, &err), 0);
    ck_assert_str_eq(info.format, "vmdk");
    ck_assert_ptr_nonnull(info.format_specific);
    const char *ct = NULL;
    ck_assert(g_variant_lookup(info.format_specific, "create-type", "&s", &ct));
    ck_assert_str_eq(ct, sub);
    gint64 pcid = 0;
    ck_assert(g_variant_lookup(info.format_specific, "parent-cid", "x", &pcid));
    ck_assert_int_eq(pcid, 0xffffffffll);
    g_autoptr(GVariant) ext = g_variant_lookup_value(info.format_specific, "extents", G_VARIANT_TYPE("av"));
    ck_assert_ptr_nonnull(ext);
    ck_assert_uint_ge(g_variant_n_children(ext), 1);
    ck_assert_uint_gt(info.disk_size, 0);
    block_info_clear(&info);
    close_ok(n);
}
END_TEST

/* ---- probing ---- */

START_TEST(probe_vmdk_named_img_and_raw_named_vmdk)
{
    g_autofree char *v = path("disk.img");
    create_ok("vmdk", v, 1 << 20, NULL);
    block_node *n = open_fmt(v, NULL, true);
    ck_assert_str_eq(block_format_name(n), "vmdk");
    close_ok(n);
    g_autofree char *r = path("disk.vmdk");
    create_ok("raw", r, 1 << 20, NULL);
    n = open_fmt(r, NULL, true);
    ck_assert_str_eq(block_format_name(n), "raw");
    close_ok(n);
    /* a raw disk whose first sector is a VMDK header is a VMDK: content decides */
    g_autofree char *hdr = g_malloc0(512);
    memcpy(hdr, "KDMV", 4);
    g_autofree char *x = path("x.raw");
    ck_assert(g_file_set_contents(x, hdr, 512, NULL));
    GError *err = NULL;
    block_open_options o;
    block_open_options_init(&o);
    o.read_only = true;
    ck_assert_ptr_null(block_open(x, &o, &err)); /* probed vmdk, and a broken one */
    ck_assert_ptr_nonnull(strstr(err->message, x));
    g_clear_error(&err);
    o.format = "raw"; /* explicitly raw: fine */
    n = block_open(x, &o, &err);
    ck_assert_ptr_nonnull(n);
    close_ok(n);
}
END_TEST

/* ---- create options ---- */

START_TEST(create_option_checks)
{
    g_autofree char *p = path("o.vmdk");
    GError *err = NULL;
    ck_assert_int_lt(block_create("vmdk", p, 1 << 20, "compat6=on,hwversion=6", &err), 0);
    ck_assert_ptr_nonnull(strstr(err->message, "compat6 cannot be enabled with hwversion set"));
    g_clear_error(&err);
    ck_assert_int_lt(block_create("vmdk", p, 1 << 20, "subformat=foo", &err), 0);
    ck_assert_ptr_nonnull(strstr(err->message, "subformat"));
    g_clear_error(&err);
    ck_assert_int_lt(block_create("vmdk", p, 1 << 20, "adapter_type=IDE", &err), 0);
    g_clear_error(&err);
    ck_assert_int_lt(block_create("vmdk", p, 1 << 20, "subformat=monolithicFlat,zeroed_grain=on", &err), 0);
    ck_assert_ptr_nonnull(strstr(err->message, "Flat image can't enable zeroed grain"));
    g_clear_error(&err);
    g_autofree char *help = block_create_help("vmdk", &err);
    const char *names[] = { "subformat", "adapter_type", "hwversion", "compat6", "toolsversion",
                            "zeroed_grain", "backing_file", "backing_fmt" };
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        ck_assert_msg(strstr(help, names[i]), "%s missing from help", names[i]);
    create_ok("vmdk", p, 1000, "adapter_type=lsilogic,hwversion=21,toolsversion=1234");
    block_node *n = open_fmt(p, NULL, true);
    ck_assert_uint_eq(block_size(n), 1024); /* rounded up to 512 as qemu-img */
    close_ok(n);
    g_autofree char *desc = NULL;
    ck_assert(g_file_get_contents(p, &desc, NULL, NULL));
    size_t dlen = 0;
    for (const char *c = desc + 512; dlen < 10240 && c[dlen]; dlen++) {}
    g_autofree char *text = g_strndup(desc + 512, dlen);
    ck_assert_msg(strstr(text, "ddb.adapterType = \"lsilogic\""), "%s", text);
    ck_assert_msg(strstr(text, "ddb.virtualHWVersion = \"21\""), "%s", text);
    ck_assert_msg(strstr(text, "ddb.toolsVersion = \"1234\""), "%s", text);
}
END_TEST

/* ---- backing chains ---- */

START_TEST(backing_chain_vmdk_over_vmdk)
{
    g_autofree char *base = path("base.vmdk");
    g_autofree char *top = path("top.vmdk");
    create_ok("vmdk", base, 4 << 20, NULL);
    char a[65536], b[4096], back[65536];
    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 99);
    block_node *n = open_fmt(base, NULL, false);
    GError *err = NULL;
    ck_assert_int_eq(block_write(n, 0, a, sizeof(a), &err), 0);
    ck_assert_int_eq(block_write(n, 65536, a, sizeof(a), &err), 0);
    close_ok(n);
    struct stat st_before;
    ck_assert_int_eq(stat(base, &st_before), 0);
    create_ok("vmdk", top, 4 << 20, "backing_file=base.vmdk");
    n = open_fmt(top, NULL, false);
    ck_assert_ptr_nonnull(block_backing(n));
    ck_assert_str_eq(block_format_name(block_backing(n)), "vmdk");
    ck_assert(block_read_only(block_backing(n)));
    ck_assert_int_eq(block_read(n, 0, back, sizeof(back), &err), 0);
    ck_assert(memcmp(back, a, sizeof(a)) == 0);
    /* a partial write copies the rest of the grain from the base */
    ck_assert_int_eq(block_write(n, 4096, b, sizeof(b), &err), 0);
    ck_assert_int_eq(block_read(n, 0, back, sizeof(back), &err), 0);
    ck_assert(memcmp(back, a, 4096) == 0);
    ck_assert(memcmp(back + 4096, b, sizeof(b)) == 0);
    ck_assert(memcmp(back + 8192, a + 8192, sizeof(a) - 8192) == 0);
    /* status: grain 0 in the top, grain 1 in the base, grain 2 nowhere */
    block_status st;
    ck_assert_int_eq(block_get_status(n, 0, 65536, true, &st, &err), 0);
    ck_assert(st.allocated && st.data);
    ck_assert_int_eq(st.depth, 0);
    ck_assert(st.offset_valid);
    ck_assert_str_eq(st.host_file, top);
    ck_assert_int_eq(block_get_status(n, 65536, 65536, true, &st, &err), 0);
    ck_assert(st.allocated && st.data);
    ck_assert_int_eq(st.depth, 1);
    ck_assert_str_eq(st.host_file, base);
    ck_assert_int_eq(block_get_status(n, 65536, 65536, false, &st, &err), 0);
    ck_assert(!st.allocated); /* the top alone does not have it */
    ck_assert_int_eq(block_get_status(n, 131072, 65536, true, &st, &err), 0);
    ck_assert(!st.allocated && st.zero && !st.data);
    ck_assert_int_eq(st.depth, 1);
    block_info info;
    ck_assert_int_eq(block_get_info(n, &info, &err), 0);
    ck_assert_str_eq(info.backing_file, "base.vmdk");
    ck_assert_str_eq(info.full_backing_filename, base);
    block_info_clear(&info);
    close_ok(n);
    /* the base was opened read-only: untouched */
    struct stat st_after;
    ck_assert_int_eq(stat(base, &st_after), 0);
    ck_assert_int_eq(st_before.st_mtim.tv_nsec, st_after.st_mtim.tv_nsec);
    ck_assert_int_eq(st_before.st_size, st_after.st_size);
    /* without the chain, unallocated reads are zeros */
    block_open_options o;
    block_open_options_init(&o);
    o.no_backing = true;
    o.read_only = true;
    n = block_open(top, &o, &err);
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_null(block_backing(n));
    ck_assert_int_eq(block_read(n, 65536 + 16384, back, 4096, &err), 0);
    for (int i = 0; i < 4096; i++)
        ck_assert_int_eq(back[i], 0);
    close_ok(n);
}
END_TEST

START_TEST(backing_chain_vmdk_over_raw)
{
    g_autofree char *base = path("base.vmdk");
    g_autofree char *top = path("top.vmdk");
    create_ok("vmdk", base, 1 << 20, NULL);
    create_ok("vmdk", top, 1 << 20, "backing_file=base.vmdk");
    /* replace the parent by a raw file with known data: probed as raw */
    g_autofree char *data = g_malloc(1 << 20);
    fill(data, 1 << 20, 5);
    ck_assert(g_file_set_contents(base, data, 1 << 20, NULL));
    block_node *n = open_fmt(top, NULL, true);
    ck_assert_str_eq(block_format_name(block_backing(n)), "raw");
    char back[8192];
    GError *err = NULL;
    ck_assert_int_eq(block_read(n, 300000, back, sizeof(back), &err), 0);
    ck_assert(memcmp(back, data + 300000, sizeof(back)) == 0);
    block_status st;
    ck_assert_int_eq(block_get_status(n, 0, 65536, true, &st, &err), 0);
    ck_assert(st.allocated && st.data);
    ck_assert_int_eq(st.depth, 1);
    ck_assert_str_eq(st.host_file, base);
    close_ok(n);
}
END_TEST

START_TEST(backing_loop_refused)
{
    g_autofree char *a = path("a.vmdk");
    g_autofree char *b = path("b.vmdk");
    create_ok("vmdk", b, 1 << 20, NULL);
    create_ok("vmdk", a, 1 << 20, "backing_file=b.vmdk");
    create_ok("vmdk", b, 1 << 20, "backing_file=a.vmdk"); /* now a -> b -> a */
    GError *err = NULL;
    ck_assert_ptr_null(block_open(a, NULL, &err));
    ck_assert_msg(strstr(err->message, "loop"), "%s", err->message);
    ck_assert_ptr_nonnull(strstr(err->message, a));
    g_clear_error(&err);
    /* a missing parent is an error naming both */
    g_autofree char *c = path("c.vmdk");
    create_ok("vmdk", c, 1 << 20, "backing_file=b.vmdk");
    ck_assert_int_eq(unlink(b), 0);
    ck_assert_ptr_null(block_open(c, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "backing file"));
    ck_assert_ptr_nonnull(strstr(err->message, b));
    g_clear_error(&err);
}
END_TEST

START_TEST(backing_parent_cid_checked)
{
    g_autofree char *base = path("base.vmdk");
    g_autofree char *top = path("top.vmdk");
    create_ok("vmdk", base, 1 << 20, NULL);
    create_ok("vmdk", top, 1 << 20, "backing_file=base.vmdk");
    char buf[4096];
    GError *err = NULL;
    block_node *n = open_fmt(top, NULL, true);
    ck_assert_int_eq(block_read(n, 0, buf, sizeof(buf), &err), 0);
    close_ok(n);
    /* writing the base gives it a new CID: the child no longer matches (iotest 225) */
    n = open_fmt(base, NULL, false);
    memset(buf, 7, sizeof(buf));
    ck_assert_int_eq(block_write(n, 0, buf, sizeof(buf), &err), 0);
    close_ok(n);
    n = open_fmt(top, NULL, true);
    ck_assert_int_eq(block_read(n, 0, buf, sizeof(buf), &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "parentCID") && strstr(err->message, top), "%s", err->message);
    g_clear_error(&err);
    close_ok(n);
}
END_TEST

/* Extent files must stay in the descriptor's directory unless the user allows otherwise. */
START_TEST(extent_outside_directory)
{
    g_autofree char *sub = path("sub");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    g_autofree char *flat = path("outside-flat.vmdk");
    g_autofree char *zeros = g_malloc0(1 << 20);
    ck_assert(g_file_set_contents(flat, zeros, 1 << 20, NULL));
    g_autofree char *desc = g_build_filename(sub, "d.vmdk", NULL);
    const char *text = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                       "createType=\"monolithicFlat\"\n\nRW 2048 FLAT \"../outside-flat.vmdk\" 0\n";
    ck_assert(g_file_set_contents(desc, text, -1, NULL));
    GError *err = NULL;
    block_open_options o;
    block_open_options_init(&o);
    o.read_only = true;
    ck_assert_ptr_null(block_open(desc, &o, &err));
    ck_assert_msg(strstr(err->message, desc), "%s", err->message);
    g_clear_error(&err);
    o.allow_outside = true;
    block_node *n = block_open(desc, &o, &err);
    ck_assert_msg(n, "%s", err ? err->message : "");
    ck_assert_uint_eq(block_size(n), 1 << 20);
    close_ok(n);
}
END_TEST

/* ---- read-only opens and async ---- */

START_TEST(read_only_open_leaves_image_alone)
{
    g_autofree char *p = path("ro.vmdk");
    create_ok("vmdk", p, 4 << 20, NULL);
    g_autofree char *before = NULL;
    gsize blen;
    ck_assert(g_file_get_contents(p, &before, &blen, NULL));
    struct stat s1, s2;
    ck_assert_int_eq(stat(p, &s1), 0);
    block_node *n = open_fmt(p, NULL, true);
    char buf[4096];
    GError *err = NULL;
    ck_assert_int_eq(block_read(n, 0, buf, sizeof(buf), &err), 0);
    ck_assert_int_eq(block_write(n, 0, buf, sizeof(buf), &err), -EROFS);
    g_clear_error(&err);
    block_check_result res;
    ck_assert_int_eq(block_check(n, BLOCK_REPAIR_NONE, &res, &err), 0);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_int_eq(block_check(n, BLOCK_REPAIR_LEAKS, &res, &err), -EROFS);
    g_clear_error(&err);
    close_ok(n);
    ck_assert_int_eq(stat(p, &s2), 0);
    ck_assert_int_eq(s1.st_mtim.tv_sec, s2.st_mtim.tv_sec);
    ck_assert_int_eq(s1.st_mtim.tv_nsec, s2.st_mtim.tv_nsec);
    g_autofree char *after = NULL;
    gsize alen;
    ck_assert(g_file_get_contents(p, &after, &alen, NULL));
    ck_assert_uint_eq(alen, blen);
    ck_assert(memcmp(before, after, blen) == 0);
}
END_TEST

static void aio_cb(void *opaque, int ret, const GError *err)
{
    (void)err;
    if (ret < 0)
        g_atomic_int_inc((gint *)opaque);
}

START_TEST(async_requests_on_vmdk)
{
    g_autofree char *p = path("aio.vmdk");
    create_ok("vmdk", p, 16 << 20, NULL);
    block_node *n = open_fmt(p, NULL, false);
    enum { N = 32, LEN = 65536 + 512 }; /* unaligned to grains: partial-grain allocation */
    g_autofree char *bufs = g_malloc((size_t)N * LEN);
    for (int i = 0; i < N; i++)
        fill(bufs + (size_t)i * LEN, LEN, i);
    gint failed = 0;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_WRITE, (uint64_t)i * 3 * 65536 + 512,
                                          bufs + (size_t)i * LEN, LEN, 0, aio_cb, &failed), 0);
    block_aio_drain(n);
    ck_assert_int_eq(failed, 0);
    GError *err = NULL;
    ck_assert_int_eq(block_flush(n, &err), 0);
    close_ok(n);
    n = open_fmt(p, NULL, true);
    g_autofree char *back = g_malloc((size_t)N * LEN);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_READ, (uint64_t)i * 3 * 65536 + 512,
                                          back + (size_t)i * LEN, LEN, 0, aio_cb, &failed), 0);
    block_aio_drain(n);
    ck_assert_int_eq(failed, 0);
    ck_assert(memcmp(bufs, back, (size_t)N * LEN) == 0);
    block_check_result res;
    ck_assert_int_eq(block_check(n, BLOCK_REPAIR_NONE, &res, &err), 0);
    ck_assert_uint_eq(res.corruptions, 0);
    ck_assert_uint_eq(res.leaks, 0);
    ck_assert_uint_gt(res.allocated_clusters, 0);
    close_ok(n);
}
END_TEST

/* ---- interop: our images pass qemu-img check and read identically ---- */

START_TEST(qemu_img_reads_what_we_wrote)
{
    g_autofree char *qemu_img = g_find_program_in_path("qemu-img");
    if (!qemu_img) {
        fprintf(stderr, "qemu-img not installed: skipping the interop check\n");
        return;
    }
    g_autofree char *p = path("q.vmdk");
    g_autofree char *raw = path("q.raw");
    create_ok("vmdk", p, 2 << 20, "subformat=twoGbMaxExtentSparse");
    block_node *n = open_fmt(p, NULL, false);
    g_autofree char *buf = g_malloc(300000);
    fill(buf, 300000, 3);
    GError *err = NULL;
    ck_assert_int_eq(block_write(n, 70000, buf, 300000, &err), 0);
    close_ok(n);
    char *check[] = { qemu_img, (char *)"check", p, NULL };
    int status = 1;
    g_autofree char *out = NULL, *errs = NULL;
    ck_assert(g_spawn_sync(NULL, check, NULL, 0, NULL, NULL, &out, &errs, &status, NULL));
    ck_assert_msg(g_spawn_check_wait_status(status, NULL), "qemu-img check: %s %s", out, errs);
    char *conv[] = { qemu_img, (char *)"convert", (char *)"-O", (char *)"raw", p, raw, NULL };
    ck_assert(g_spawn_sync(NULL, conv, NULL, 0, NULL, NULL, NULL, NULL, &status, NULL));
    ck_assert(g_spawn_check_wait_status(status, NULL));
    g_autofree char *data = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(raw, &data, &len, NULL));
    ck_assert_uint_eq(len, 2 << 20);
    ck_assert(memcmp(data + 70000, buf, 300000) == 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vmdk-plugin");
    TCase *tc = tcase_create("vmdk-plugin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plugin_loaded_by_real_loader);
#ifdef TESSERA_BIN
    tcase_add_test(tc, tessera_lists_vmdk);
    tcase_add_test(tc, tessera_bad_vmdk_drive);
    tcase_add_test(tc, tessera_good_vmdk_drive);
#endif
    tcase_add_loop_test(tc, subformat_round_trip, 0, G_N_ELEMENTS(subformats));
    tcase_add_test(tc, probe_vmdk_named_img_and_raw_named_vmdk);
    tcase_add_test(tc, create_option_checks);
    tcase_add_test(tc, backing_chain_vmdk_over_vmdk);
    tcase_add_test(tc, backing_chain_vmdk_over_raw);
    tcase_add_test(tc, backing_loop_refused);
    tcase_add_test(tc, backing_parent_cid_checked);
    tcase_add_test(tc, extent_outside_directory);
    tcase_add_test(tc, read_only_open_leaves_image_alone);
    tcase_add_test(tc, async_requests_on_vmdk);
    tcase_add_test(tc, qemu_img_reads_what_we_wrote);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
