/* SPDX-License-Identifier: MIT */
/* Every validation error, with its exact one-line message. */
#include "fixture.h"

#define EXPECT(want, ...)                                        \
    do {                                                         \
        g_autofree char *msg_ = fixture_validate_error(__VA_ARGS__, NULL); \
        ck_assert_str_eq(msg_, (want));                          \
    } while (0)

START_TEST(unknown_type)
{
    g_autofree char *dev = fixture_validate_error("-device", "no-such-dev,x=1", NULL);
    ck_assert_contains(dev, "option '-device no-such-dev,x=1': device (no-such-dev): unknown device "
                            "type 'no-such-dev' (looked for plugins in ");
    g_autofree char *obj = fixture_validate_error("-object", "no-such-mem,id=m", NULL);
    ck_assert_contains(obj, "object 'm' (no-such-mem): unknown memory-backend type 'no-such-mem'");
    EXPECT("option '-object test-dev,id=m': object 'm' (test-dev): 'test-dev' is a device type, not a "
           "memory-backend type", "-object", "test-dev,id=m");
    EXPECT("option '-chardev pty,id=c': chardev 'c' (pty): unknown chardev backend 'pty' (use socket, "
           "file, stdio or null)", "-chardev", "pty,id=c");
    EXPECT("option '-machine isapc': machine: property 'type': 'isapc' is not one of pc, q35 or microvm",
           "-machine", "isapc");
}
END_TEST

START_TEST(unknown_property)
{
    EXPECT("option '-device test-dev,colour=red': device (test-dev): unknown property 'colour' (known: "
           "flag, count, buf, label, mode, memdev, chardev, drive)", "-device", "test-dev,colour=red");
    EXPECT("option '-chardev null,id=c,path=/x': chardev 'c' (null): unknown property 'path' (it has no "
           "properties)", "-chardev", "null,id=c,path=/x");
    EXPECT("option '-drive file=x,bus=0': drive: unknown property 'bus' (known: file, format, if, readonly, "
           "cache, media, snapshot)", "-drive", "file=x,bus=0");
}
END_TEST

START_TEST(bad_value)
{
    EXPECT("option '-device test-dev,flag=maybe': device (test-dev): property 'flag': 'maybe' is not a "
           "boolean (use on or off)", "-device", "test-dev,flag=maybe");
    EXPECT("option '-device test-dev,count=two': device (test-dev): property 'count': 'two' is not an "
           "integer", "-device", "test-dev,count=two");
    EXPECT("option '-device test-dev,mode=warp': device (test-dev): property 'mode': 'warp' is not one of "
           "fast or slow", "-device", "test-dev,mode=warp");
    EXPECT("option '-device test-dev,label': device (test-dev): property 'label' needs a value (label=...)",
           "-device", "test-dev,label");
    EXPECT("option '-drive file=x,cache=sometimes': drive: property 'cache': 'sometimes' is not one of "
           "writeback, none, unsafe, directsync or writethrough", "-drive", "file=x,cache=sometimes");
    EXPECT("option '-m 12Q': machine: property 'memory': '12Q' is not a size (use a number with an "
           "optional K, M, G or T suffix)", "-m", "12Q");
}
END_TEST

START_TEST(value_out_of_range)
{
    EXPECT("option '-device test-dev,count=11': device (test-dev): property 'count': 11 is out of range "
           "(0 to 10)", "-device", "test-dev,count=11");
    EXPECT("option '-device test-dev,buf=2G': device (test-dev): property 'buf': 2G is out of range "
           "(4K to 1G)", "-device", "test-dev,buf=2G");
    EXPECT("option '-smp 0': machine: property 'cpus': 0 is out of range (1 to 255)", "-smp", "0");
    EXPECT("option '-m 512K': machine: property 'memory': 512K is too small (at least 1M)", "-m", "512K");
}
END_TEST

START_TEST(missing_required)
{
    EXPECT("option '-device test-req': device (test-req): missing required property 'name' (add name=...)",
           "-device", "test-req");
    EXPECT("option '-object test-mem,id=m0': object 'm0' (test-mem): missing required property 'size' "
           "(add size=...)", "-object", "test-mem,id=m0");
    EXPECT("option '-chardev socket,id=c0': chardev 'c0' (socket): missing required property 'path' "
           "(add path=...)", "-chardev", "socket,id=c0");
    EXPECT("option '-object test-mem,size=1M': object (test-mem): missing id (add id=NAME)", "-object",
           "test-mem,size=1M");
}
END_TEST

START_TEST(unknown_id)
{
    EXPECT("option '-device test-dev,memdev=nope': device (test-dev): property 'memdev': no memory "
           "backend with id 'nope'", "-device", "test-dev,memdev=nope");
    EXPECT("option '-machine memory-backend=ram': machine: property 'memory-backend': no memory backend "
           "with id 'ram'", "-machine", "memory-backend=ram");
    EXPECT("option '-serial chardev:c9': serial: property 'backend': no chardev with id 'c9'", "-serial",
           "chardev:c9");
    EXPECT("option '-device test-dev,drive=d9': device (test-dev): property 'drive': no drive with id 'd9'",
           "-device", "test-dev,drive=d9");
}
END_TEST

START_TEST(duplicate_id)
{
    EXPECT("option '-chardev null,id=x': chardev 'x' (null): duplicate id 'x' (already used by object 'x' "
           "(test-mem) at option '-object test-mem,id=x,size=1M')", "-object", "test-mem,id=x,size=1M",
           "-chardev", "null,id=x");
    EXPECT("option '-device test-dev,id=d0': device 'd0' (test-dev): duplicate id 'd0' (already used by "
           "drive 'd0' at option '-drive file=a,id=d0')", "-drive", "file=a,id=d0", "-device",
           "test-dev,id=d0");
    EXPECT("option '-device test-dev,id=0dev': device '0dev' (test-dev): invalid id '0dev' (an id starts "
           "with a letter and holds letters, digits, '-', '.' and '_')", "-device", "test-dev,id=0dev");
}
END_TEST

START_TEST(reference_to_wrong_kind)
{
    EXPECT("option '-device test-dev,memdev=c0': device (test-dev): property 'memdev': 'c0' is chardev 'c0' "
           "(null), not a memory backend", "-chardev", "null,id=c0", "-device", "test-dev,memdev=c0");
    EXPECT("option '-device test-dev,chardev=m0': device (test-dev): property 'chardev': 'm0' is object "
           "'m0' (test-mem), not a chardev", "-object", "test-mem,id=m0,size=1M", "-device",
           "test-dev,chardev=m0");
    EXPECT("option '-device test-dev,drive=x': device (test-dev): property 'drive': 'x' is device 'x' "
           "(test-req), not a drive", "-device", "test-req,id=x,name=n", "-device", "test-dev,drive=x");
    EXPECT("option '-serial chardev:m0': serial: property 'backend': 'm0' is object 'm0' (test-mem), not a "
           "chardev", "-object", "test-mem,id=m0,size=1M", "-serial", "chardev:m0");
}
END_TEST

START_TEST(drive_format_and_machine_memory)
{
    g_autofree char *fmt = fixture_validate_error("-drive", "file=a,format=qcow9", NULL);
    ck_assert_contains(fmt, "option '-drive file=a,format=qcow9': drive: property 'format': unknown "
                            "block-format type 'qcow9'");
    EXPECT("option '-drive file=a,format=test-dev': drive: property 'format': 'test-dev' is a device type, "
           "not a block-format type", "-drive", "file=a,format=test-dev");
    EXPECT("option '-m 1G': machine: property 'memory': 1G does not match the size of memory-backend "
           "'m0' (512M)", "-object", "test-mem,id=m0,size=512M", "-machine", "memory-backend=m0", "-m", "1G");
    g_autoptr(machine_desc) ok = fixture_parse("-drive", "file=a,format=raw", "-drive", "file=b,format=test-fmt",
                                               NULL);
    fixture_validate_ok(ok);
}
END_TEST

START_TEST(validation_is_repeatable)
{
    g_autoptr(machine_desc) d = fixture_parse("-object", "test-mem,id=m0,size=1M", "-device",
                                              "test-dev,memdev=m0,count=4", NULL);
    fixture_validate_ok(d);
    fixture_validate_ok(d);
    md_item *dev = d->items->pdata[2];
    ck_assert_ptr_nonnull(dev->resolved);
    ck_assert_int_eq(prop_values_find(dev->values, "count")->i, 4);
    ck_assert(prop_values_find(dev->values, "count")->is_set);
    ck_assert(!prop_values_find(dev->values, "flag")->is_set);
    ck_assert(prop_values_find(dev->values, "buf")->has_value);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, unknown_type);
    tcase_add_test(tc, unknown_property);
    tcase_add_test(tc, bad_value);
    tcase_add_test(tc, value_out_of_range);
    tcase_add_test(tc, missing_required);
    tcase_add_test(tc, unknown_id);
    tcase_add_test(tc, duplicate_id);
    tcase_add_test(tc, reference_to_wrong_kind);
    tcase_add_test(tc, drive_format_and_machine_memory);
    tcase_add_test(tc, validation_is_repeatable);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
