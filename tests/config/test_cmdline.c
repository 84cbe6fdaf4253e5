/* SPDX-License-Identifier: MIT */
/* QEMU-style options into the machine description, option by option. */
#include "fixture.h"

#include "config/printconfig.h"

#include <stdio.h>
#include <unistd.h>

static md_item *item(machine_desc *d, guint i)
{
    ck_assert_uint_gt(d->items->len, i);
    return d->items->pdata[i];
}

static const char *mget(machine_desc *d, const char *key)
{
    bool present = false;
    const char *v = md_item_get(machine_desc_machine(d), key, &present);
    ck_assert_msg(present, "machine has no '%s'", key);
    return v;
}

START_TEST(memory_forms)
{
    static const char *const cases[][2] = {
        { "256", "256M" }, { "256M", "256M" }, { "size=1G", "1G" }, { "1.5G", "1.5G" }, { "2g", "2g" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(machine_desc) d = fixture_parse("-m", cases[i][0], NULL);
        ck_assert_str_eq(mget(d, "memory"), cases[i][1]);
        fixture_validate_ok(d);
    }
    g_autoptr(machine_desc) d = fixture_parse("-m", "256", NULL);
    fixture_validate_ok(d);
    ck_assert_uint_eq(prop_values_find(machine_desc_machine(d)->values, "memory")->size, 256u << 20);
}
END_TEST

START_TEST(memory_default_is_128M)
{
    g_autoptr(machine_desc) d = fixture_parse(NULL, NULL);
    fixture_validate_ok(d);
    md_item *m = machine_desc_machine(d);
    ck_assert_uint_eq(prop_values_find(m->values, "memory")->size, 128u << 20);
    ck_assert_int_eq(prop_values_find(m->values, "cpus")->i, 1);
}
END_TEST

START_TEST(memory_rejects_other_keys)
{
    g_autofree char *msg = fixture_parse_error("-m", "1G,slots=2,maxmem=4G", NULL);
    ck_assert_str_eq(msg, "option '-m 1G,slots=2,maxmem=4G': unknown parameter 'slots' (accepted: size)");
}
END_TEST

START_TEST(smp_forms)
{
    g_autoptr(machine_desc) d = fixture_parse("-smp", "4", NULL);
    ck_assert_str_eq(mget(d, "cpus"), "4");
    g_autoptr(machine_desc) e = fixture_parse("-smp", "cpus=2,sockets=1,cores=2,threads=1", NULL);
    fixture_validate_ok(e);
    ck_assert_int_eq(prop_values_find(machine_desc_machine(e)->values, "cpus")->i, 2);
    g_autoptr(machine_desc) f = fixture_parse("-smp", "sockets=2,cores=2", NULL);
    fixture_validate_ok(f);
    ck_assert_int_eq(prop_values_find(machine_desc_machine(f)->values, "cpus")->i, 4);
    g_autoptr(machine_desc) g = fixture_parse("-smp", "4,sockets=2", NULL);
    fixture_validate_ok(g);
    g_autofree char *msg = fixture_validate_error("-smp", "3,sockets=2,cores=2", NULL);
    ck_assert_str_eq(msg, "option '-smp 3,sockets=2,cores=2': machine: property 'cpus': 3 does not "
                          "match sockets*cores*threads = 4");
}
END_TEST

START_TEST(machine_option)
{
    g_autoptr(machine_desc) d = fixture_parse("-machine", "q35,memory-backend=m0,accel=kvm", "-object",
                                              "test-mem,id=m0,size=64M", NULL);
    ck_assert_str_eq(mget(d, "type"), "q35");
    ck_assert_str_eq(mget(d, "memory-backend"), "m0");
    ck_assert_str_eq(mget(d, "accel"), "kvm");
    fixture_validate_ok(d);
    /* Guest RAM takes the backend's size when -m is not given. */
    ck_assert_uint_eq(prop_values_find(machine_desc_machine(d)->values, "memory")->size, 64u << 20);
    g_autoptr(machine_desc) e = fixture_parse("-M", "type=pc", NULL);
    ck_assert_str_eq(mget(e, "type"), "pc");
}
END_TEST

START_TEST(boot_options)
{
    g_autoptr(machine_desc) d = fixture_parse("-kernel", "/boot/vmlinuz", "-initrd", "/boot/initrd.img",
                                              "-append", "console=ttyS0,115200 root=/dev/vda", NULL);
    ck_assert_str_eq(mget(d, "kernel"), "/boot/vmlinuz");
    ck_assert_str_eq(mget(d, "initrd"), "/boot/initrd.img");
    ck_assert_str_eq(mget(d, "cmdline"), "console=ttyS0,115200 root=/dev/vda");
    fixture_validate_ok(d);
}
END_TEST

START_TEST(flags_set_machine_properties)
{
    g_autoptr(machine_desc) d = fixture_parse("-nographic", "-no-reboot", "-display", "none",
                                              "-enable-kvm", NULL);
    ck_assert_str_eq(mget(d, "nographic"), "on");
    ck_assert_str_eq(mget(d, "no-reboot"), "on");
    ck_assert_str_eq(mget(d, "display"), "none");
    ck_assert_str_eq(mget(d, "accel"), "kvm");
    fixture_validate_ok(d);
    g_autoptr(machine_desc) e = fixture_parse("-accel", "kvm", NULL);
    ck_assert_str_eq(mget(e, "accel"), "kvm");
    g_autofree char *msg = fixture_validate_error("-display", "gtk", NULL);
    ck_assert_str_eq(msg, "option '-display gtk': machine: property 'display': 'gtk' is not one of none");
    g_autofree char *tcg = fixture_validate_error("-accel", "tcg", NULL);
    ck_assert_str_eq(tcg, "option '-accel tcg': machine: property 'accel': 'tcg' is not one of kvm");
}
END_TEST

START_TEST(object_chardev_drive_device)
{
    g_autoptr(machine_desc) d = fixture_parse(
        "-object", "test-mem,id=m0,size=1M,share",
        "-chardev", "socket,id=c0,path=/tmp/s.sock,server=on,wait=off",
        "-drive", "file=disk.img,format=test-fmt,id=d0,if=none,readonly=on,cache=none",
        "-device", "test-dev,memdev=m0,chardev=c0,drive=d0,flag,count=3,label=a,,b", NULL);
    ck_assert_uint_eq(d->items->len, 4); /* no machine item until something sets one */
    md_item *o = item(d, 0), *c = item(d, 1), *dr = item(d, 2), *dev = item(d, 3);
    ck_assert_int_eq(o->cls, MD_OBJECT);
    ck_assert_str_eq(o->type, "test-mem");
    ck_assert_str_eq(o->id, "m0");
    bool present = false;
    ck_assert_ptr_null(md_item_get(o, "share", &present));
    ck_assert(present);
    ck_assert_ptr_null(md_item_get(o, "id", &present)); /* the id is not a property */
    ck_assert(!present);
    ck_assert_int_eq(c->cls, MD_CHARDEV);
    ck_assert_str_eq(c->type, "socket");
    ck_assert_int_eq(dr->cls, MD_DRIVE);
    ck_assert_str_eq(dr->type, "drive");
    ck_assert_str_eq(dr->id, "d0");
    ck_assert_int_eq(dev->cls, MD_DEVICE);
    ck_assert_ptr_null(dev->id);
    ck_assert_str_eq(md_item_get(dev, "label", NULL), "a,b");
    ck_assert_str_eq(dev->origin.option, "-device test-dev,memdev=m0,chardev=c0,drive=d0,flag,count=3,label=a,,b");
    fixture_validate_ok(d);
    ck_assert(prop_values_find(dev->values, "flag")->b);
    ck_assert_int_eq(prop_values_find(dev->values, "count")->i, 3);
}
END_TEST

START_TEST(serial_forms)
{
    g_autoptr(machine_desc) d = fixture_parse("-chardev", "null,id=c1", "-serial", "stdio", "-serial",
                                              "file:/tmp/a,b.log", "-serial", "chardev:c1", "-serial",
                                              "null", "-serial", "none", NULL);
    fixture_validate_ok(d);
    ck_assert_str_eq(md_item_get(item(d, 3), "backend", NULL), "file:/tmp/a,b.log");
    g_autofree char *msg = fixture_validate_error("-serial", "tcp:localhost:4444", NULL);
    ck_assert_str_eq(msg, "option '-serial tcp:localhost:4444': serial: property 'backend': "
                          "'tcp:localhost:4444' is not a serial backend (use stdio, null, none, "
                          "file:PATH or chardev:ID)");
}
END_TEST

START_TEST(double_dash_and_equals_forms)
{
    g_autoptr(machine_desc) d = fixture_parse("--m", "512", "--smp=2", "--nographic", NULL);
    ck_assert_str_eq(mget(d, "memory"), "512M");
    ck_assert_str_eq(mget(d, "cpus"), "2");
    ck_assert_str_eq(machine_desc_machine(d)->origin.option, "--m 512");
}
END_TEST

START_TEST(plugin_path_repeats)
{
    g_autoptr(machine_desc) d = fixture_parse("-plugin-path", "/a", "-plugin-path", "/b", NULL);
    ck_assert_uint_eq(d->plugin_paths->len, 2);
    ck_assert_str_eq(d->plugin_paths->pdata[0], "/a");
    ck_assert_str_eq(d->plugin_paths->pdata[1], "/b");
}
END_TEST

/* Parses argv and returns the cmdline (for the frontend flags). */
static cmdline parse_flags(int argc, char **argv)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    int r = cmdline_parse(&cl, argc, argv, &err);
    ck_assert_msg(r == 0, "%s", err ? err->message : "");
    return cl;
}

START_TEST(frontend_flags)
{
    char *a1[] = { "tessera", "-print-config", "-plugins", "-version", NULL };
    cmdline cl = parse_flags(4, a1);
    ck_assert(cl.print_config && cl.list_plugins && cl.version && !cl.usage);
    cmdline_clear(&cl);
    const char *helps[] = { "-h", "-help", "--help" };
    for (size_t i = 0; i < G_N_ELEMENTS(helps); i++) {
        char *a2[] = { "tessera", (char *)helps[i], NULL };
        cl = parse_flags(2, a2);
        ck_assert(cl.usage);
        cmdline_clear(&cl);
    }
}
END_TEST

START_TEST(help_requests)
{
    char *a1[] = { "tessera", "-device", "help", "-plugin-path", "/x", "-bogus-after-help", NULL };
    cmdline cl = { 0 };
    GError *err = NULL;
    /* Options after a help request are skipped, but an unknown option is still an error. */
    ck_assert_int_lt(cmdline_parse(&cl, 6, a1, &err), 0);
    g_clear_error(&err);
    cmdline_clear(&cl);
    char *a2[] = { "tessera", "-device", "help", "-plugin-path", "/x", "-m", "bogus", NULL };
    cl = parse_flags(7, a2);
    ck_assert(cl.type_help);
    ck_assert_int_eq(cl.help_class, MD_DEVICE);
    ck_assert_ptr_null(cl.help_type);
    ck_assert_uint_eq(cl.desc->plugin_paths->len, 1);
    cmdline_clear(&cl);
    char *a3[] = { "tessera", "-object", "memory-backend-file,help", NULL };
    cl = parse_flags(3, a3);
    ck_assert_int_eq(cl.help_class, MD_OBJECT);
    ck_assert_str_eq(cl.help_type, "memory-backend-file");
    cmdline_clear(&cl);
    char *a4[] = { "tessera", "-chardev", "help", NULL };
    cl = parse_flags(3, a4);
    ck_assert_int_eq(cl.help_class, MD_CHARDEV);
    cmdline_clear(&cl);
}
END_TEST

START_TEST(parse_errors)
{
    g_autofree char *unknown = fixture_parse_error("-m", "1G", "-hda", "x.img", NULL);
    ck_assert_str_eq(unknown, "unknown option '-hda' (see -help)");
    g_autofree char *missing = fixture_parse_error("-object", NULL);
    ck_assert_str_eq(missing, "option '-object' needs an argument (TYPE,id=id[,prop=value...])");
    g_autofree char *stray = fixture_parse_error("disk.img", NULL);
    ck_assert_str_eq(stray, "unexpected argument 'disk.img' (options start with '-'; see -help)");
    g_autofree char *notype = fixture_parse_error("-device", "id=x", NULL);
    ck_assert_str_eq(notype, "option '-device id=x': missing device type (-device TYPE,...)");
    g_autofree char *empty = fixture_parse_error("-device", "test-dev,,,=3", NULL);
    ck_assert_contains(empty, "option '-device test-dev,,,=3': ");
    g_autofree char *noarg = fixture_parse_error("--nographic=on", NULL);
    ck_assert_str_eq(noarg, "option '--nographic=on' takes no argument");
    g_autofree char *noid = fixture_parse_error("-object", "test-mem,id=,size=1M", NULL);
    ck_assert_str_eq(noid, "option '-object test-mem,id=,size=1M': parameter 'id' needs a value (id=NAME)");
}
END_TEST

START_TEST(config_merges_in_place)
{
    g_autofree char *path = g_build_filename(g_get_tmp_dir(), "tessera-cmdline-XXXXXX.conf", NULL);
    int fd = g_mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "machine {\n  memory = 1G\n  cpus = 2\n}\nobject m0 {\n  type = test-mem\n  size = 1G\n}\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    /* Later options override the file, earlier ones are overridden by it. */
    g_autoptr(machine_desc) d = fixture_parse("-smp", "4", "-config", path, "-m", "2G", "-device",
                                              "test-dev,memdev=m0", NULL);
    unlink(path);
    ck_assert_str_eq(mget(d, "memory"), "2G");
    ck_assert_str_eq(mget(d, "cpus"), "2");
    ck_assert_uint_eq(d->items->len, 3);
    ck_assert_str_eq(item(d, 1)->origin.file, path);
    fixture_validate_ok(d);
    g_autofree char *msg = fixture_parse_error("-config", "/nonexistent/x.conf", NULL);
    ck_assert_contains(msg, "cannot read config file '/nonexistent/x.conf'");
}
END_TEST

/* QEMU's documentation examples, verbatim. */
START_TEST(qemu_doc_examples_parse)
{
    g_autoptr(machine_desc) a = fixture_parse("-object",
        "memory-backend-file,size=1M,share,mem-path=/dev/shm/ivshmem,id=hostmem", "-device",
        "ivshmem-plain,memdev=hostmem", NULL);
    ck_assert_uint_eq(a->items->len, 2);
    ck_assert_str_eq(item(a, 0)->type, "memory-backend-file");
    ck_assert_str_eq(item(a, 0)->id, "hostmem");
    ck_assert_str_eq(item(a, 1)->type, "ivshmem-plain");
    g_autoptr(machine_desc) b = fixture_parse("-object",
        "memory-backend-file,size=1G,mem-path=/dev/hugepages/my-shmem-file,share,id=mb1", NULL);
    ck_assert_str_eq(item(b, 0)->id, "mb1");
    g_autoptr(machine_desc) c = fixture_parse("-chardev", "socket,path=/tmp/ivshmem_socket,id=ivshmemid",
        "-device", "ivshmem-doorbell,chardev=ivshmemid,vectors=2", NULL);
    ck_assert_str_eq(item(c, 0)->type, "socket");
    g_autoptr(machine_desc) e = fixture_parse("-m", "4G", "-object",
        "memory-backend-file,id=mem,size=4G,mem-path=/dev/shm,share=on", "-machine", "memory-backend=mem", NULL);
    ck_assert_str_eq(mget(e, "memory-backend"), "mem");
    /* A device type that no plugin provides fails validation, naming it. */
    g_autoptr(machine_desc) f = fixture_parse("-object",
        "memory-backend-file,size=1M,share,mem-path=/dev/shm/ivshmem,id=hostmem", "-device",
        "no-such-ivshmem,memdev=hostmem", NULL);
    GError *err = NULL;
    ck_assert_int_lt(machine_desc_validate(f, fixture_registry(), &err), 0);
    ck_assert_contains(err->message, "device (no-such-ivshmem): ");
    ck_assert_contains(err->message, "type 'no-such-ivshmem'");
    g_error_free(err);
}
END_TEST

/* With the memory-backend plugins of the build tree, the backend half validates for real. */
START_TEST(qemu_doc_examples_validate_with_backends)
{
    registry *reg = fixture_registry();
    if (!registry_find(reg, "memory-backend-file", TS_KIND_MEMORY_BACKEND, NULL)) {
        fprintf(stderr, "skip: memory-backend-file plugin not in the build tree\n");
        return;
    }
    g_autoptr(machine_desc) d = fixture_parse("-object",
        "memory-backend-file,size=1G,mem-path=/dev/hugepages/my-shmem-file,share,id=mb1", NULL);
    fixture_validate_ok(d);
    g_autoptr(machine_desc) e = fixture_parse("-m", "4G", "-object",
        "memory-backend-file,id=mem,size=4G,mem-path=/dev/shm,share=on", "-machine", "memory-backend=mem", NULL);
    fixture_validate_ok(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmdline");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, memory_forms);
    tcase_add_test(tc, memory_default_is_128M);
    tcase_add_test(tc, memory_rejects_other_keys);
    tcase_add_test(tc, smp_forms);
    tcase_add_test(tc, machine_option);
    tcase_add_test(tc, boot_options);
    tcase_add_test(tc, flags_set_machine_properties);
    tcase_add_test(tc, object_chardev_drive_device);
    tcase_add_test(tc, serial_forms);
    tcase_add_test(tc, double_dash_and_equals_forms);
    tcase_add_test(tc, plugin_path_repeats);
    tcase_add_test(tc, frontend_flags);
    tcase_add_test(tc, help_requests);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, config_merges_in_place);
    tcase_add_test(tc, qemu_doc_examples_parse);
    tcase_add_test(tc, qemu_doc_examples_validate_with_backends);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
