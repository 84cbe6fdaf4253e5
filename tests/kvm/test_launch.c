/* SPDX-License-Identifier: MIT */
/*
 * The parts of launching a machine that need no KVM: guest RAM from a memory backend or
 * anonymous memory and its layout around the PCI hole, the serial-port wiring of
 * -serial/-nographic, the built-in isa-debug-exit, and the launch errors that come
 * before KVM is touched.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cmdline.h"
#include "kvm/launch.h"

static cmdline cl;
static registry *reg;

/* Parses and validates args (NULL-terminated) into cl.desc. */
static machine_desc *describe(const char *first, ...)
{
    GPtrArray *argv = g_ptr_array_new();
    GError *err = NULL;
    va_list ap;

    g_ptr_array_add(argv, (char *)"tessera");
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (char *)a);
    va_end(ap);
    memset(&cl, 0, sizeof(cl));
    int r = cmdline_parse(&cl, (int)argv->len, (char **)argv->pdata, &err);
    ck_assert_msg(r == 0, "%s", err ? err->message : "");
    reg = registry_new(NULL, 0);
    r = machine_desc_validate(cl.desc, reg, &err);
    ck_assert_msg(r == 0, "%s", err ? err->message : "");
    g_ptr_array_free(argv, TRUE);
    return cl.desc;
}

static void done(void)
{
    cmdline_clear(&cl);
    registry_free(reg);
    reg = NULL;
}

START_TEST(test_anonymous_ram_layout)
{
    machine_desc *d = describe("-m", "5G", NULL);
    launch_ram ram;
    guest_memory gm;
    GError *err = NULL;

    ck_assert_int_eq(launch_ram_get(d, NULL, &ram, &err), 0);
    ck_assert_ptr_nonnull(ram.owned);
    ck_assert_uint_eq(ram.region.size, 5ull << 30);
    ck_assert_int_eq(ram.region.fd, -1);
    ck_assert_int_eq(guest_memory_init(&gm, &ram.region, &err), 0);
    /* 3 GiB below the PCI hole, 2 GiB from 4 GiB up, one host mapping behind both. */
    ck_assert_uint_eq(gm.nr_banks, 2);
    ck_assert_uint_eq(gm.banks[0].gpa, 0);
    ck_assert_uint_eq(gm.banks[0].size, GUEST_PCI_HOLE_START);
    ck_assert_uint_eq(gm.banks[1].gpa, GUEST_HIGH_RAM_START);
    ck_assert_uint_eq(gm.banks[1].size, (5ull << 30) - GUEST_PCI_HOLE_START);
    ck_assert_ptr_eq(gm.banks[1].host, (uint8_t *)ram.owned + GUEST_PCI_HOLE_START);
    /* Writes through the guest view land in the mapping. */
    ck_assert_int_eq(guest_memory_write(&gm, GUEST_HIGH_RAM_START + 8, "hi", 2), 0);
    ck_assert_int_eq(memcmp((uint8_t *)ram.owned + GUEST_PCI_HOLE_START + 8, "hi", 2), 0);
    ck_assert_int_eq(guest_memory_write(&gm, GUEST_PCI_HOLE_START, "x", 1), -EFAULT);
    launch_ram_release(&ram);
    ck_assert_ptr_null(ram.owned);
    done();
}
END_TEST

START_TEST(test_backend_ram)
{
    machine_desc *d = describe("-object", "memory-backend-ram,id=ram0,size=64M", "-machine",
                               "memory-backend=ram0", NULL);
    GError *err = NULL;
    launch_ram ram;
    guest_memory gm;

    /* memory-backend-ram is part of every build (plugins/backends). */
    object_set *objs = object_set_build(d, &err);
    ck_assert_msg(objs != NULL, "%s", err ? err->message : "");
    ck_assert_int_eq(launch_ram_get(d, objs, &ram, &err), 0);
    ck_assert_ptr_null(ram.owned); /* the backend owns the memory */
    ck_assert_uint_eq(ram.region.size, 64ull << 20);
    ck_assert_ptr_nonnull(ram.region.host);
    ck_assert_int_eq(guest_memory_init(&gm, &ram.region, &err), 0);
    ck_assert_uint_eq(gm.nr_banks, 1);
    ck_assert_ptr_eq(gm.banks[0].host, ram.region.host);
    launch_ram_release(&ram);
    object_set_free(objs);
    done();
}
END_TEST

START_TEST(test_backend_missing_object)
{
    machine_desc *d = describe("-object", "memory-backend-ram,id=ram0,size=64M", "-machine",
                               "memory-backend=ram0", NULL);
    GError *err = NULL;
    launch_ram ram;
    /* An object set without the backend (as if it failed to realize). */
    ck_assert_int_eq(launch_ram_get(d, NULL, &ram, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "memory-backend 'ram0'"));
    g_error_free(err);
    done();
}
END_TEST

START_TEST(test_serial_default_is_stdio)
{
    machine_desc *d = describe("-m", "64", NULL);
    chardev_set *set = chardev_set_new();
    struct ts_chardev *ports[VM_MAX_SERIALS];

    ck_assert_int_eq(launch_serial_ports(d, set, ports, NULL), 0);
    ck_assert_ptr_nonnull(ports[0]);
    ck_assert_str_eq(chardev_id(ports[0]), "serial0");
    ck_assert_int_eq(chardev_socket_fd(ports[0]), -ENOTSOCK);
    ck_assert_ptr_null(ports[1]);
    chardev_set_free(set);
    done();
}
END_TEST

START_TEST(test_serial_wiring)
{
    char path[] = "/tmp/tessera-serial-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    g_autofree char *file = g_strdup_printf("file:%s", path);
    machine_desc *d = describe("-chardev", "null,id=c0", "-serial", file, "-serial", "none",
                               "-serial", "chardev:c0", "-serial", "null", NULL);
    GError *err = NULL;
    chardev_set *set = chardev_set_build(d, &err);
    struct ts_chardev *ports[VM_MAX_SERIALS];

    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(launch_serial_ports(d, set, ports, &err), 0);
    ck_assert_ptr_nonnull(ports[0]);
    ck_assert_ptr_null(ports[1]); /* none: COM2 absent */
    ck_assert_ptr_eq(ports[2], chardev_set_find(set, "c0"));
    ck_assert_str_eq(chardev_id(ports[3]), "serial3");
    /* COM1's output goes to the file. */
    ck_assert_int_eq(chardev_write(ports[0], "COM1", 4), 4);
    chardev_set_free(set);
    g_autofree char *text = NULL;
    g_file_get_contents(path, &text, NULL, NULL);
    ck_assert_str_eq(text, "COM1");
    unlink(path);
    done();
}
END_TEST

START_TEST(test_serial_errors)
{
    GError *err = NULL;
    struct ts_chardev *ports[VM_MAX_SERIALS];

    machine_desc *d = describe("-serial", "null", "-serial", "null", "-serial", "null",
                               "-serial", "null", "-serial", "null", NULL);
    chardev_set *set = chardev_set_new();
    ck_assert_int_eq(launch_serial_ports(d, set, ports, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "option '-serial null': serial: at most 4"));
    g_clear_error(&err);
    chardev_set_free(set);
    done();

    /* stdio twice: a -chardev stdio and -serial stdio. */
    d = describe("-chardev", "stdio,id=con", "-serial", "stdio", NULL);
    set = chardev_set_build(d, &err);
    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(launch_serial_ports(d, set, ports, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "both use stdio"));
    g_clear_error(&err);
    chardev_set_free(set);
    done();

    /* A serial file that cannot be created. */
    d = describe("-serial", "file:/nonexistent-dir/console", NULL);
    set = chardev_set_new();
    ck_assert_int_eq(launch_serial_ports(d, set, ports, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "cannot open /nonexistent-dir/console"));
    g_clear_error(&err);
    chardev_set_free(set);
    done();
}
END_TEST

START_TEST(test_debug_exit_device)
{
    GError *err = NULL;
    vm_config cfg = { 0 };

    machine_desc *d = describe("-device", "isa-debug-exit,iobase=0xf4,iosize=4", NULL);
    ck_assert_int_eq(launch_debug_exit(d, &cfg, &err), 0);
    ck_assert(cfg.debug_exit);
    ck_assert_uint_eq(cfg.debug_exit_iobase, 0xf4);
    ck_assert_uint_eq(cfg.debug_exit_iosize, 4);
    done();

    /* QEMU's defaults: port 0x501, two ports wide. */
    cfg = (vm_config){ 0 };
    d = describe("-device", "isa-debug-exit", NULL);
    ck_assert_int_eq(launch_debug_exit(d, &cfg, &err), 0);
    ck_assert_uint_eq(cfg.debug_exit_iobase, 0x501);
    ck_assert_uint_eq(cfg.debug_exit_iosize, 2);
    done();

    cfg = (vm_config){ 0 };
    d = describe("-device", "isa-debug-exit,iosize=3", NULL);
    ck_assert_int_eq(launch_debug_exit(d, &cfg, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "'iosize': 3 is not 1, 2 or 4"));
    g_clear_error(&err);
    done();

    cfg = (vm_config){ 0 };
    d = describe("-device", "isa-debug-exit", "-device", "isa-debug-exit,iobase=0xf4", NULL);
    ck_assert_int_eq(launch_debug_exit(d, &cfg, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "only one isa-debug-exit"));
    g_clear_error(&err);
    done();
}
END_TEST

/* Errors that come before KVM: the same whether /dev/kvm exists or not. */
START_TEST(test_launch_without_kernel)
{
    GError *err = NULL;
    machine_desc *d = describe("-m", "64", NULL);
    ck_assert_int_eq(launch_machine(d, reg, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "no kernel to boot: give -kernel FILE"));
    g_clear_error(&err);
    done();
}
END_TEST

/* Without /dev/kvm, launching says what to do; with it, a non-kernel is refused by name. */
START_TEST(test_launch_host_or_kernel_error)
{
    GError *err = NULL;
    machine_desc *d = describe("-kernel", "/etc/hostname", NULL);
    ck_assert_int_lt(launch_machine(d, reg, &err), 0);
    if (access("/dev/kvm", F_OK) != 0)
        ck_assert_ptr_nonnull(strstr(err->message, "/dev/kvm is missing"));
    else
        ck_assert_ptr_nonnull(strstr(err->message, "/etc/hostname"));
    g_clear_error(&err);
    done();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("launch");
    TCase *tc = tcase_create("launch");
    tcase_add_test(tc, test_anonymous_ram_layout);
    tcase_add_test(tc, test_backend_ram);
    tcase_add_test(tc, test_backend_missing_object);
    tcase_add_test(tc, test_serial_default_is_stdio);
    tcase_add_test(tc, test_serial_wiring);
    tcase_add_test(tc, test_serial_errors);
    tcase_add_test(tc, test_debug_exit_device);
    tcase_add_test(tc, test_launch_without_kernel);
    tcase_add_test(tc, test_launch_host_or_kernel_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
