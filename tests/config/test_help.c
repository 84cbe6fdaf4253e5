/* SPDX-License-Identifier: MIT */
/* -device help, -object help, TYPE,help and -help. */
#include "fixture.h"

#include "config/help.h"

START_TEST(device_list)
{
    g_autofree char *text = help_list_types(fixture_registry(), MD_DEVICE);
    ck_assert_contains(text, "Available devices:\n");
    ck_assert_contains(text, "name \"test-dev\", bus PCI, desc \"test type test-dev\"\n");
    ck_assert_msg(!strstr(text, "test-mem"), "a memory backend in the device list:\n%s", text);
}
END_TEST

START_TEST(object_list)
{
    g_autofree char *text = help_list_types(fixture_registry(), MD_OBJECT);
    ck_assert_contains(text, "List of user creatable objects:\n");
    ck_assert_contains(text, "  test-mem               test type test-mem\n");
    ck_assert_msg(!strstr(text, "test-dev"), "a device in the object list:\n%s", text);
}
END_TEST

START_TEST(type_properties)
{
    GError *err = NULL;
    g_autofree char *text = help_describe_type(fixture_registry(), MD_DEVICE, "test-dev", &err);
    ck_assert_ptr_nonnull(text);
    ck_assert_contains(text, "test-dev options:\n");
    ck_assert_contains(text, "  flag=<bool>              - a switch (default: off)\n");
    ck_assert_contains(text, "  buf=<size>               - buffer size (default: 64K)\n");
    ck_assert_contains(text, "  mode=<enum>              - speed (one of: fast, slow) (default: fast)\n");
    ck_assert_contains(text, "  memdev=<ref>             - memory\n");
    g_autofree char *req = help_describe_type(fixture_registry(), MD_DEVICE, "test-req", &err);
    ck_assert_contains(req, "  name=<string>            - must be given (required)\n");
    g_autofree char *socket = help_describe_type(fixture_registry(), MD_CHARDEV, "socket", &err);
    ck_assert_contains(socket, "socket options:\n");
    ck_assert_contains(socket, "  wait=<bool>");
    ck_assert_contains(socket, "(default: on)");
}
END_TEST

START_TEST(unknown_type_help)
{
    GError *err = NULL;
    ck_assert_ptr_null(help_describe_type(fixture_registry(), MD_DEVICE, "test-mem", &err));
    ck_assert_str_eq(err->message, "'test-mem' is a memory-backend type, not a device type");
    g_clear_error(&err);
    ck_assert_ptr_null(help_describe_type(fixture_registry(), MD_CHARDEV, "pty", &err));
    ck_assert_str_eq(err->message, "unknown chardev backend 'pty' (use socket, file, stdio or null)");
    g_error_free(err);
}
END_TEST

START_TEST(usage_lists_every_option)
{
    g_autofree char *text = cmdline_usage("tessera");
    ck_assert_contains(text, "usage: tessera [options]\n");
    const char *opts[] = { "-m ", "-smp ", "-machine|-M ", "-kernel ", "-initrd ", "-append ", "-object ",
                           "-chardev ", "-drive ", "-device ", "-serial ", "-nographic", "-display ",
                           "-no-reboot", "-config ", "-plugin-path ", "-print-config", "-plugins",
                           "-enable-kvm", "-accel ", "-h|-help", "-version" };
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *line = g_strconcat("\n", opts[i], NULL);
        ck_assert_contains(text, line);
    }
    ck_assert_str_eq(cmdline_version(), "tessera version " TESSERA_TEST_VERSION);
}
END_TEST

/* addr= is the PCI core's, outside every schema: listed for PCI-bus types only. */
static int isa_create(ts_object *obj, void **state)
{
    (void)obj;
    *state = NULL;
    return 0;
}

static const ts_prop_desc isa_props[] = {
    TS_PROP_DESC_INT("iobase", 0, "0x80", 0, 0xffff, "first port"),
    TS_PROP_DESC_END,
};
static const ts_device_ops isa_ops = { .size = sizeof(ts_device_ops), .bus = TS_BUS_ISA };
static const ts_device_ops pci_ops = { .size = sizeof(ts_device_ops), .bus = TS_BUS_PCI };
static const ts_type_desc isa_type = { .size = sizeof(ts_type_desc), .kind = TS_KIND_DEVICE,
                                       .name = "help-isa", .description = "an ISA device",
                                       .props = isa_props, .create = isa_create,
                                       .kind_ops = &isa_ops };
static const ts_type_desc bare_type = { .size = sizeof(ts_type_desc), .kind = TS_KIND_DEVICE,
                                        .name = "help-bare-pci", .description = "no properties",
                                        .create = isa_create, .kind_ops = &pci_ops };
static const ts_type_desc *const help_types[] = { &isa_type, &bare_type, NULL };
static const ts_plugin_desc help_plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "help-test",
    .version = "0.0.1",
    .license = "MIT",
    .description = "bus types for the help tests",
    .types = help_types,
};

#define ADDR_LINE "  addr=<string>            - slot[.function] on PCI bus 0 (hex), like QEMU\n"

START_TEST(pci_addr_property)
{
    GError *err = NULL;
    g_autofree char *pci = help_describe_type(fixture_registry(), MD_DEVICE, "test-dev", &err);
    ck_assert_ptr_nonnull(pci);
    ck_assert_contains(pci, ADDR_LINE);
    /* after the type's own properties, once */
    ck_assert_msg(g_str_has_suffix(pci, ADDR_LINE), "%s", pci);
    ck_assert_ptr_null(strstr(strstr(pci, "addr=") + 1, "addr="));

    registry *reg = registry_new(NULL, 0);
    ck_assert_int_eq(registry_add_builtin(reg, &help_plugin, &err), 0);
    g_autofree char *isa = help_describe_type(reg, MD_DEVICE, "help-isa", &err);
    ck_assert_ptr_nonnull(isa);
    ck_assert_str_eq(isa, "help-isa options:\n"
                          "  iobase=<int>             - first port (default: 0x80)\n");
    /* a PCI type without properties of its own still has addr= (and not "(no properties)") */
    g_autofree char *bare = help_describe_type(reg, MD_DEVICE, "help-bare-pci", &err);
    ck_assert_ptr_nonnull(bare);
    ck_assert_str_eq(bare, "help-bare-pci options:\n" ADDR_LINE);
    g_autofree char *list = help_list_types(reg, MD_DEVICE);
    ck_assert_contains(list, "name \"help-isa\", bus ISA, desc \"an ISA device\"\n");
    ck_assert_contains(list, "name \"help-bare-pci\", bus PCI, desc \"no properties\"\n");
    registry_free(reg);
}
END_TEST

/* The built-in isa-debug-exit is listed with the plugins' types and has help; no addr=. */
START_TEST(builtin_device_help)
{
    GError *err = NULL;
    g_autofree char *list = help_list_types(fixture_registry(), MD_DEVICE);
    ck_assert_contains(list, "name \"isa-debug-exit\", bus ISA, desc \"QEMU's isa-debug-exit: ");
    /* sorted by name: isa-debug-exit before test-dev */
    ck_assert(strstr(list, "\"isa-debug-exit\"") < strstr(list, "\"test-dev\""));
    g_autofree char *text = help_describe_type(fixture_registry(), MD_DEVICE, "isa-debug-exit", &err);
    ck_assert_msg(text != NULL, "%s", err ? err->message : "");
    ck_assert_str_eq(text, "isa-debug-exit options:\n"
                           "  iobase=<int>             - I/O port of the device (default: 0x501)\n"
                           "  iosize=<int>             - width in ports: 1, 2 or 4 (default: 2)\n");
    /* a registry without device plugins still lists it, and says none were found */
    registry *reg = registry_new(NULL, 0);
    g_autofree char *bare = help_list_types(reg, MD_DEVICE);
    ck_assert_contains(bare, "name \"isa-debug-exit\", bus ISA");
    registry_free(reg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("help");
    TCase *tc = tcase_create("help");
    tcase_add_test(tc, device_list);
    tcase_add_test(tc, object_list);
    tcase_add_test(tc, type_properties);
    tcase_add_test(tc, unknown_type_help);
    tcase_add_test(tc, usage_lists_every_option);
    tcase_add_test(tc, pci_addr_property);
    tcase_add_test(tc, builtin_device_help);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
