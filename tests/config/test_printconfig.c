/* SPDX-License-Identifier: MIT */
/* -print-config output, and that it reads back into the same description. */
#include "fixture.h"

#include "config/configfile.h"
#include "config/printconfig.h"

/* Prints d, parses the text back, validates and prints again: both texts must agree. */
static char *round_trip(machine_desc *d)
{
    fixture_validate_ok(d);
    char *first = printconfig_format(d);
    g_autoptr(machine_desc) back = machine_desc_new();
    GError *err = NULL;
    int r = configfile_parse_text(back, first, "printed.conf", &err);
    ck_assert_msg(r == 0, "reparse failed: %s\n%s", err ? err->message : "", first);
    fixture_validate_ok(back);
    g_autofree char *second = printconfig_format(back);
    ck_assert_str_eq(second, first);
    ck_assert_uint_eq(back->items->len, d->items->len);
    return first;
}

START_TEST(round_trips)
{
    static const char *const lines[][12] = {
        { NULL },
        { "-m", "256", "-smp", "2", NULL },
        { "-object", "test-mem,id=ram0,size=1.5G,share", "-machine", "q35,memory-backend=ram0", "-serial",
          "stdio", NULL },
        { "-kernel", "/boot/vm linuz", "-append", "console=ttyS0 quote=\"x\" back\\slash", "-no-reboot",
          "-nographic", NULL },
        { "-chardev", "socket,id=c0,path=/tmp/a b.sock,server,wait=off", "-chardev", "file,id=c1,path=/tmp/log",
          "-serial", "chardev:c1", "-device", "test-dev,chardev=c0,flag,count=0x3,buf=65536,mode=slow", NULL },
        { "-drive", "file=/img/disk.img,format=test-fmt,if=none,id=d0,cache=none,readonly", "-device",
          "test-dev,id=dev0,drive=d0,label=//not a comment", "-device", "test-req,name=#hash", NULL },
        { "-smp", "sockets=2,cores=2", "-serial", "file:/tmp/x,y.log", NULL },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        GPtrArray *argv = g_ptr_array_new();
        g_ptr_array_add(argv, "tessera");
        for (size_t j = 0; lines[i][j]; j++)
            g_ptr_array_add(argv, (char *)lines[i][j]);
        cmdline cl = { 0 };
        GError *err = NULL;
        ck_assert_int_eq(cmdline_parse(&cl, (int)argv->len, (char **)argv->pdata, &err), 0);
        g_autofree char *text = round_trip(cl.desc);
        ck_assert_contains(text, "machine {\n");
        cmdline_clear(&cl);
        g_ptr_array_free(argv, TRUE);
    }
}
END_TEST

START_TEST(canonical_values_and_layout)
{
    g_autoptr(machine_desc) d = fixture_parse("-m", "1024", "-object", "test-mem,id=ram0,size=1048576,share=yes",
                                              "-device", "test-dev,count=0x3,flag", NULL);
    g_autofree char *text = round_trip(d);
    ck_assert_str_eq(text,
                     "# tessera configuration (validated; load with tessera -config FILE)\n"
                     "\n"
                     "machine {\n"
                     "    type = pc\n"
                     "    memory = 1G\n"
                     "    cpus = 1\n"
                     "    no-reboot = off\n"
                     "    nographic = off\n"
                     "    display = none\n"
                     "    accel = kvm\n"
                     "}\n"
                     "\n"
                     "object ram0 {\n"
                     "    type = test-mem\n"
                     "    size = 1M\n"
                     "    share = on\n"
                     "}\n"
                     "\n"
                     "device {\n"
                     "    type = test-dev\n"
                     "    flag = on\n"
                     "    count = 3\n"
                     "}\n");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("printconfig");
    TCase *tc = tcase_create("print");
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, canonical_values_and_layout);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
