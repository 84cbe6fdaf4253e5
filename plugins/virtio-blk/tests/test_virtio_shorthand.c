/* SPDX-License-Identifier: MIT */
/*
 * QEMU's "-drive file=IMG,if=virtio" shorthand (core/block/drive_virtio.c): tessera adds
 * one virtio-blk-pci device per such drive, validated against the plugin's schema.
 */
#include <check.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "config/cmdline.h"
#include "plugin/registry.h"

static registry *reg;
static char *dir, *img;

static void setup(void)
{
    dir = g_dir_make_tmp("vblk-sh-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    img = g_build_filename(dir, "a.raw", NULL);
    int fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
    reg = registry_new(NULL, 0);
    GError *err = NULL;
    ck_assert_msg(block_init(reg, &err) == 0, "%s", err ? err->message : "");
}

static void teardown(void)
{
    block_drives_close();
    block_shutdown();
    registry_free(reg);
    g_unlink(img);
    g_rmdir(dir);
    g_free(img);
    g_free(dir);
}

static machine_desc *parse(const char **args, int n)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    g_autofree char **argv = g_new0(char *, n + 2);
    argv[0] = (char *)"tessera";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    ck_assert_msg(cmdline_parse(&cl, n + 1, argv, &err) == 0, "%s", err ? err->message : "");
    ck_assert_msg(machine_desc_validate(cl.desc, reg, &err) == 0, "%s", err ? err->message : "");
    ck_assert_msg(block_drives_open(cl.desc, &err) == 0, "%s", err ? err->message : "");
    machine_desc *d = cl.desc;
    cl.desc = NULL;
    cmdline_clear(&cl);
    return d;
}

static guint count_devices(machine_desc *d, const char *type)
{
    guint n = 0;
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        n += it->cls == MD_DEVICE && strcmp(it->type, type) == 0;
    }
    return n;
}

START_TEST(test_shorthand_adds_devices)
{
    g_autofree char *a = g_strdup_printf("file=%s,format=raw,if=virtio", img);
    g_autofree char *b = g_strdup_printf("file=%s,format=raw,if=none,id=d1,readonly=on", img);
    g_autofree char *c = g_strdup_printf("file=%s,format=raw,if=virtio,id=boot,readonly=on", img);
    const char *args[] = { "-drive", a, "-drive", b, "-device", "virtio-blk-pci,drive=d1", "-drive", c };
    machine_desc *d = parse(args, 8);
    guint before = d->items->len;
    GError *err = NULL;
    ck_assert_msg(block_drives_add_virtio_devices(d, reg, &err) == 0, "%s", err ? err->message : "");
    ck_assert_uint_eq(d->items->len, before + 2);
    ck_assert_uint_eq(count_devices(d, "virtio-blk-pci"), 3);
    /* The new devices: validated against the plugin's schema, named after the drive. */
    md_item *x = d->items->pdata[before], *y = d->items->pdata[before + 1];
    ck_assert_ptr_nonnull(x->values);
    ck_assert_ptr_nonnull(x->resolved);
    ck_assert_str_eq(prop_values_find(x->values, "drive")->s, "drive0");
    ck_assert_int_eq(prop_values_find(x->values, "queue-size")->i, 256); /* defaults applied */
    ck_assert_str_eq(prop_values_find(y->values, "drive")->s, "boot");
    g_autofree char *where = md_origin_describe(&x->origin);
    ck_assert_msg(strstr(where, "if=virtio"), "%s", where);
    machine_desc_free(d);
}
END_TEST

START_TEST(test_no_shorthand_no_change)
{
    g_autofree char *a = g_strdup_printf("file=%s,format=raw,if=none,id=d0", img);
    const char *args[] = { "-drive", a };
    machine_desc *d = parse(args, 2);
    guint before = d->items->len;
    GError *err = NULL;
    ck_assert_int_eq(block_drives_add_virtio_devices(d, reg, &err), 0);
    ck_assert_uint_eq(d->items->len, before);
    ck_assert_uint_eq(count_devices(d, "virtio-blk-pci"), 0);
    machine_desc_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtio-blk shorthand");
    TCase *tc = tcase_create("if=virtio");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_shorthand_adds_devices);
    tcase_add_test(tc, test_no_shorthand_no_change);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
