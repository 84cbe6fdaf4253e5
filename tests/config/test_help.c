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

int main(void)
{
    Suite *s = suite_create("help");
    TCase *tc = tcase_create("help");
    tcase_add_test(tc, device_list);
    tcase_add_test(tc, object_list);
    tcase_add_test(tc, type_properties);
    tcase_add_test(tc, unknown_type_help);
    tcase_add_test(tc, usage_lists_every_option);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
