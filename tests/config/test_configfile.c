/* SPDX-License-Identifier: MIT */
/* Configuration files into the machine description; line numbers in every message. */
#include "fixture.h"

#include "config/configfile.h"

#include <unistd.h>

static machine_desc *parse_ok(const char *text)
{
    machine_desc *d = machine_desc_new();
    GError *err = NULL;
    int r = configfile_parse_text(d, text, "vm.conf", &err);
    ck_assert_msg(r == 0, "%s", err ? err->message : "");
    return d;
}

static char *parse_error(const char *text)
{
    g_autoptr(machine_desc) d = machine_desc_new();
    GError *err = NULL;
    int r = configfile_parse_text(d, text, "vm.conf", &err);
    ck_assert_msg(r < 0, "parse should fail");
    char *msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

static char *validate_error(const char *text)
{
    g_autoptr(machine_desc) d = parse_ok(text);
    GError *err = NULL;
    int r = machine_desc_validate(d, fixture_registry(), &err);
    ck_assert_msg(r < 0, "validation should fail");
    char *msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

static md_item *item(machine_desc *d, guint i)
{
    ck_assert_uint_gt(d->items->len, i);
    return d->items->pdata[i];
}

static const char *const full =
    "# a full description\n"                         /* 1 */
    "machine {\n"                                    /* 2 */
    "    memory = 256M   // MiB\n"                   /* 3 */
    "    cpus = 2\n"                                 /* 4 */
    "    memory-backend = ram0\n"                    /* 5 */
    "    cmdline = \"console=ttyS0 root=/dev/vda\"\n" /* 6 */
    "    no-reboot = on\n"                           /* 7 */
    "}\n"                                            /* 8 */
    "/* objects\n"                                   /* 9 */
    "   come next */\n"                              /* 10 */
    "object ram0 {\n"                                /* 11 */
    "    type = test-mem\n"                          /* 12 */
    "    size = 256M\n"                              /* 13 */
    "    share = on\n"                               /* 14 */
    "}\n"                                            /* 15 */
    "chardev con0 { type = socket  path = /tmp/con.sock  server = on }\n" /* 16 */
    "drive disk0 {\n"                                /* 17 */
    "    file = /var/lib/disk.img\n"                 /* 18 */
    "    format = test-fmt\n"                        /* 19 */
    "    if = none\n"                                /* 20 */
    "}\n"                                            /* 21 */
    "device {\n"                                     /* 22 */
    "    type = test-dev\n"                          /* 23 */
    "    memdev = ram0\n"                            /* 24 */
    "    chardev = con0\n"                           /* 25 */
    "    drive = disk0\n"                            /* 26 */
    "    label = \"a # not a comment\"\n"            /* 27 */
    "}\n"                                            /* 28 */
    "device dev1 { type = test-req name = x }\n"     /* 29 */
    "serial { backend = stdio }\n"                   /* 30 */
    "serial { backend = \"chardev:con0\" }\n";       /* 31 */

START_TEST(full_description)
{
    g_autoptr(machine_desc) d = parse_ok(full);
    ck_assert_uint_eq(d->items->len, 8);
    md_item *m = item(d, 0);
    ck_assert_int_eq(m->cls, MD_MACHINE);
    ck_assert_str_eq(md_item_get(m, "memory", NULL), "256M");
    ck_assert_str_eq(md_item_get(m, "cmdline", NULL), "console=ttyS0 root=/dev/vda");
    ck_assert_str_eq(md_item_get(m, "memory-backend", NULL), "ram0");
    ck_assert_int_eq(m->origin.line, 2);
    md_item *o = item(d, 1);
    ck_assert_int_eq(o->cls, MD_OBJECT);
    ck_assert_str_eq(o->type, "test-mem");
    ck_assert_str_eq(o->id, "ram0");
    ck_assert_int_eq(o->origin.line, 11);
    ck_assert_str_eq(o->origin.file, "vm.conf");
    ck_assert_int_eq(((md_prop *)o->props->pdata[1])->origin.line, 14);
    ck_assert_str_eq(item(d, 2)->type, "socket");
    ck_assert_str_eq(md_item_get(item(d, 2), "path", NULL), "/tmp/con.sock");
    ck_assert_str_eq(item(d, 3)->type, "drive");
    ck_assert_str_eq(item(d, 3)->id, "disk0");
    md_item *dev = item(d, 4);
    ck_assert_ptr_null(dev->id);
    ck_assert_str_eq(dev->type, "test-dev");
    ck_assert_str_eq(md_item_get(dev, "label", NULL), "a # not a comment");
    ck_assert_int_eq(dev->origin.line, 22);
    ck_assert_str_eq(item(d, 5)->id, "dev1");
    ck_assert_int_eq(item(d, 6)->cls, MD_SERIAL);
    ck_assert_str_eq(md_item_get(item(d, 7), "backend", NULL), "chardev:con0");
    fixture_validate_ok(d);
}
END_TEST

START_TEST(unquoted_values_and_dashed_keys)
{
    g_autoptr(machine_desc) d = parse_ok("object m {\n type = test-mem\n size = 1.5G\n}\n"
                                         "device { type = test-dev  buf = 0x10000  mode = slow  flag = yes }\n");
    fixture_validate_ok(d);
    ck_assert_uint_eq(prop_values_find(item(d, 2)->values, "buf")->size, 0x10000);
}
END_TEST

START_TEST(repeated_key_keeps_last_value_and_line)
{
    g_autoptr(machine_desc) d = parse_ok("machine {\n  cpus = 2\n  cpus = 300\n}\n");
    GError *err = NULL;
    ck_assert_int_lt(machine_desc_validate(d, fixture_registry(), &err), 0);
    ck_assert_str_eq(err->message, "vm.conf:3: machine: property 'cpus': 300 is out of range (1 to 255)");
    g_error_free(err);
}
END_TEST

START_TEST(syntax_errors_name_the_line)
{
    static const char *const cases[][2] = {
        { "# c\n# c\nmachine {\n  cpus = 2\n  memory\n}\n", "vm.conf:6: missing equal sign after option 'memory'" },
        { "\n\nfoo {\n}\n", "vm.conf:3: unknown section 'foo' (sections are machine, object, chardev, drive, device and serial)" },
        { "/* x\n */\nobject {\n type = test-mem\n}\n", "vm.conf:3: section 'object' needs an id: object ID { ... }" },
        { "object a { type = test-mem }\n\nobject a { type = test-mem }\n", "vm.conf:3: duplicate id 'a'" },
        { "machine {\n  cmdline = console=ttyS0\n}\n", "vm.conf:2: unexpected token '='" },
        { "machine {\n  cpus = 2\n", "vm.conf:1: section 'machine' is not closed (missing '}')" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = parse_error(cases[i][0]);
        ck_assert_str_eq(msg, cases[i][1]);
    }
}
END_TEST

START_TEST(structural_errors)
{
    g_autofree char *notype = parse_error("\nobject m0 {\n  size = 1M\n}\n");
    ck_assert_str_eq(notype, "vm.conf:2: object 'm0': missing type (add type = NAME)");
    g_autofree char *twice = parse_error("device d {\n type = test-dev\n id = e\n}\n");
    ck_assert_str_eq(twice, "vm.conf:3: device 'd': the id is given twice (once after 'device', once as id = ...)");
}
END_TEST

START_TEST(validation_errors_name_file_and_line)
{
    g_autofree char *a = validate_error("object m0 {\n  type = test-mem\n  size = 12Q\n}\n");
    ck_assert_str_eq(a, "vm.conf:3: object 'm0' (test-mem): property 'size': '12Q' is not a size "
                        "(use a number with an optional K, M, G or T suffix)");
    g_autofree char *b = validate_error("\ndevice d0 {\n  type = test-dev\n  colour = red\n}\n");
    ck_assert_str_eq(b, "vm.conf:4: device 'd0' (test-dev): unknown property 'colour' (known: flag, "
                        "count, buf, label, mode, memdev, chardev, drive)");
    g_autofree char *c = validate_error("device {\n  type = test-req\n}\n");
    ck_assert_str_eq(c, "vm.conf:1: device (test-req): missing required property 'name' (add name=...)");
    g_autofree char *e = validate_error("device {\n  type = nonesuch\n}\n");
    ck_assert_contains(e, "vm.conf:1: device (nonesuch): unknown device type 'nonesuch'");
}
END_TEST

START_TEST(id_key_in_untitled_device)
{
    g_autoptr(machine_desc) d = parse_ok("device {\n  type = test-dev\n  id = dev7\n}\n");
    ck_assert_str_eq(item(d, 0)->id, "dev7");
    fixture_validate_ok(d);
}
END_TEST

START_TEST(file_is_read_from_disk)
{
    g_autofree char *path = g_build_filename(g_get_tmp_dir(), "tessera-conf-XXXXXX", NULL);
    int fd = g_mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(g_file_set_contents(path, "machine {\n  cpus = 0\n}\n", -1, NULL));
    g_autoptr(machine_desc) d = machine_desc_new();
    GError *err = NULL;
    ck_assert_int_eq(configfile_load(d, path, &err), 0);
    ck_assert_int_lt(machine_desc_validate(d, fixture_registry(), &err), 0);
    g_autofree char *want = g_strdup_printf("%s:2: machine: property 'cpus': 0 is out of range (1 to 255)", path);
    ck_assert_str_eq(err->message, want);
    g_error_free(err);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("configfile");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, full_description);
    tcase_add_test(tc, unquoted_values_and_dashed_keys);
    tcase_add_test(tc, repeated_key_keeps_last_value_and_line);
    tcase_add_test(tc, syntax_errors_name_the_line);
    tcase_add_test(tc, structural_errors);
    tcase_add_test(tc, validation_errors_name_file_and_line);
    tcase_add_test(tc, id_key_in_untitled_device);
    tcase_add_test(tc, file_is_read_from_disk);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
