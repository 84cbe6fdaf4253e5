/* SPDX-License-Identifier: MIT */
/* core/pci units that need no device plugin: addr= parsing, slot reservations, the bridge. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/cmdline.h"
#include "config/printconfig.h"
#include "object/object.h"
#include "pci/devices.h"
#include "pci/pci.h"
#include "pci/pci_internal.h"
#include "plugin/registry.h"

static int no_inject(void *o, const msi_msg *m) { return 0; }
static int no_map(void *o, uint64_t g, uint64_t s, void *h, int fd, uint64_t off, bool ro, uint32_t *slot)
{
    *slot = 0;
    return 0;
}
static int resets[2];
static void reset_control(void *o, uint8_t v)
{
    resets[0]++;
    resets[1] = v;
}
static bool refuse_maps;
static int maps;
static int maybe_map(void *o, uint64_t g, uint64_t s, void *h, int fd, uint64_t off, bool ro, uint32_t *slot)
{
    if (refuse_maps)
        return -EEXIST;
    maps++;
    return no_map(o, g, s, h, fd, off, ro, slot);
}
static void unmap(void *o, uint32_t slot)
{
    maps--;
}
static const pci_platform_ops ops = { .msi_inject = no_inject, .map_ram = maybe_map, .unmap_ram = unmap,
                                      .reset_control_write = reset_control };

static pci_host *host;
static registry *reg;
static io_bus *pio, *mmio;
static guest_memory gm;
static void *ram;

static void setup(void)
{
    ram = g_malloc0(4 << 20);
    ts_memory_region r = { .host = ram, .size = 4 << 20, .fd = -1, .page_size = 4096 };
    ck_assert_int_eq(guest_memory_init(&gm, &r, NULL), 0);
    pio = io_bus_new("pio");
    mmio = io_bus_new("mmio");
    pci_platform p = { .ops = &ops, .pio = pio, .mmio = mmio, .ram = &gm };
    ck_assert_int_eq(pci_host_new(&p, &host, NULL), 0);
    const char *dirs[] = { PCI_TEST_PLUGIN_DIR };
    reg = registry_new(dirs, 1);
}

static void teardown(void)
{
    pci_host_free(host);
    registry_free(reg);
    reg = NULL;
    io_bus_free(pio);
    io_bus_free(mmio);
    g_free(ram);
}

START_TEST(parse_addr)
{
    static const struct { const char *text; int devfn; } cases[] = {
        { "0", 0x00 }, { "1", 0x08 }, { "1f", 0xf8 }, { "1F.7", 0xff }, { "0x1f.0x7", 0xff },
        { "10", 0x80 }, { "3.1", 0x19 }, { "00003", -1 }, { "20", -1 }, { "1.8", -1 },
        { "", -1 }, { ".", -1 }, { "1.", -1 }, { ".1", -1 }, { "-1", -1 }, { "g", -1 }, { "1.2.3", -1 },
        { "0x", -1 },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t devfn = 0xee;
        GError *err = NULL;
        int r = pci_parse_addr(cases[i].text, &devfn, &err);
        if (cases[i].devfn < 0) {
            ck_assert_msg(r == -EINVAL && err && strstr(err->message, "invalid PCI address"), "'%s'",
                          cases[i].text);
            g_clear_error(&err);
        } else {
            ck_assert_msg(r == 0 && devfn == cases[i].devfn, "'%s' -> %d (%02x)", cases[i].text, r, devfn);
        }
    }
    char b[8];
    ck_assert_str_eq(pci_format_devfn(0xfb, b), "1f.3");
}
END_TEST

START_TEST(reservations)
{
    GError *err = NULL;
    uint8_t devfn = PCI_DEVFN(0, 0);
    ck_assert_int_eq(pci_host_reserve(host, false, &devfn, "dev-a", &err), -EEXIST);
    ck_assert_ptr_nonnull(strstr(err->message, "host bridge"));
    g_clear_error(&err);
    devfn = PCI_DEVFN(2, 0);
    ck_assert_int_eq(pci_host_reserve(host, false, &devfn, "dev-a", NULL), 0);
    devfn = PCI_DEVFN(2, 0);
    ck_assert_int_eq(pci_host_reserve(host, false, &devfn, "dev-b", &err), -EEXIST);
    ck_assert_str_eq(err->message, "PCI address 02.0 of dev-b is already used by dev-a");
    g_clear_error(&err);
    /* Auto: slot 1, then 3 (2 is taken), then after freeing 2, slot 2. */
    ck_assert_int_eq(pci_host_reserve(host, true, &devfn, "x", NULL), 0);
    ck_assert_uint_eq(devfn, 0x08);
    ck_assert_int_eq(pci_host_reserve(host, true, &devfn, "y", NULL), 0);
    ck_assert_uint_eq(devfn, 0x18);
    pci_host_unreserve(host, PCI_DEVFN(2, 0));
    ck_assert_int_eq(pci_host_reserve(host, true, &devfn, "z", NULL), 0);
    ck_assert_uint_eq(devfn, 0x10);
    /* A slot with any function taken is not free for auto-assignment. */
    devfn = PCI_DEVFN(4, 5);
    ck_assert_int_eq(pci_host_reserve(host, false, &devfn, "f", NULL), 0);
    ck_assert_int_eq(pci_host_reserve(host, true, &devfn, "w", NULL), 0);
    ck_assert_uint_eq(devfn, 0x28);
    /* Running out. */
    int n = 0;
    while (pci_host_reserve(host, true, &devfn, "fill", NULL) == 0)
        n++;
    ck_assert_int_eq(n, 32 - 6); /* slots 0..5 are taken */
    ck_assert_int_eq(pci_host_reserve(host, true, &devfn, "last", &err), -ENOSPC);
    ck_assert_ptr_nonnull(strstr(err->message, "no free PCI slot left for last"));
    g_clear_error(&err);
}
END_TEST

START_TEST(bridge_config)
{
    ck_assert_uint_eq(pci_host_config_read(host, 0, 0, 4), 0x12378086u);
    ck_assert_uint_eq(pci_host_config_read(host, 0, 2, 2), 0x1237);
    ck_assert_uint_eq(pci_host_config_read(host, 0, 1, 2), 0xffff); /* misaligned */
    ck_assert_uint_eq(pci_host_config_read(host, 0, 0, 3), 0xffffffu);
    ck_assert_uint_eq(pci_host_config_read(host, 8, 0, 4), 0xffffffffu);
    /* The bridge has no BARs: sizing reads zero. */
    pci_host_config_write(host, 0, 0x10, 4, 0xffffffffu);
    ck_assert_uint_eq(pci_host_config_read(host, 0, 0x10, 4), 0);
    /* Its command register is writable and reset clears it. */
    pci_host_config_write(host, 0, 0x04, 2, 0x6);
    ck_assert_uint_eq(pci_host_config_read(host, 0, 0x04, 2), 0x6);
    pci_host_reset(host);
    ck_assert_uint_eq(pci_host_config_read(host, 0, 0x04, 2), 0);
    /* The config ports and ECAM are claimed; the PCI hole layout is as documented. */
    io_region r;
    ck_assert(io_bus_lookup(pio, 0xcf8, &r) && r.base == 0xcf8 && r.len == 8);
    ck_assert(io_bus_lookup(mmio, PCI_ECAM_BASE + 0x1234, &r) && r.base == PCI_ECAM_BASE);
    ck_assert(!io_bus_lookup(mmio, PCI_ECAM_BASE + PCI_ECAM_SIZE, &r));
    /* 0xcf9 is the reset control register: byte writes go to the platform, the latch is untouched. */
    uint8_t b = 0x06;
    uint8_t latch[4] = { 0x00, 0x00, 0x00, 0x80 };
    io_bus_dispatch(pio, 0xcf8, latch, 4, true);
    io_bus_dispatch(pio, 0xcf9, &b, 1, true);
    ck_assert_int_eq(resets[0], 1);
    ck_assert_int_eq(resets[1], 0x06);
    io_bus_dispatch(pio, 0xcf9, &b, 1, false);
    ck_assert_uint_eq(b, 0);
    uint8_t back[4];
    io_bus_dispatch(pio, 0xcf8, back, 4, false);
    ck_assert_uint_eq(back[3], 0x80);
    /* Word accesses at 0xcf9 are nothing. */
    uint8_t w[2] = { 0x06, 0 };
    io_bus_dispatch(pio, 0xcf9, w, 2, true);
    ck_assert_int_eq(resets[0], 1);
}
END_TEST

START_TEST(ram_bar_slow_path)
{
    /* A RAM BAR the platform refuses to map is still served, through the MMIO bus. */
    static uint8_t mem[8192] __attribute__((aligned(4096)));
    ts_memory_region region = { .host = mem, .size = sizeof(mem), .fd = -1, .page_size = 4096 };
    pci_function *fn = pci_function_new(host, PCI_DEVFN(2, 0), NULL, "raw");
    ts_pci_identity id = { .size = sizeof(id), .vendor_id = 0x1234, .device_id = 0x5678 };
    pci_function_set_identity(fn, &id);
    ts_pci_bar_desc d = { .size = sizeof(d), .index = 0, .type = TS_PCI_BAR_MEM32, .ram = &region };
    ck_assert_int_eq(pci_bar_add(fn, &d, NULL), 0);
    pci_function_go_live(fn);
    uint64_t a = pci_host_config_read(host, PCI_DEVFN(2, 0), 0x10, 4) & ~0xfull;
    refuse_maps = true;
    pci_host_config_write(host, PCI_DEVFN(2, 0), 0x04, 2, 0x2);
    ck_assert_int_eq(maps, 0);
    uint8_t v[4] = { 1, 2, 3, 4 };
    ck_assert(io_bus_dispatch(mmio, a + 100, v, 4, true));
    ck_assert_uint_eq(mem[100], 1);
    ck_assert_uint_eq(mem[103], 4);
    memset(v, 0, 4);
    ck_assert(io_bus_dispatch(mmio, a + 101, v, 2, false));
    ck_assert_uint_eq(v[0], 2);
    ck_assert_uint_eq(v[1], 3);
    /* Decode off and on with the platform willing: a real memory slot this time. */
    refuse_maps = false;
    pci_host_config_write(host, PCI_DEVFN(2, 0), 0x04, 2, 0);
    ck_assert(!io_bus_dispatch(mmio, a + 100, v, 4, false));
    pci_host_config_write(host, PCI_DEVFN(2, 0), 0x04, 2, 0x2);
    ck_assert_int_eq(maps, 1);
    /* Size rules. */
    pci_function *fn2 = pci_function_new(host, PCI_DEVFN(3, 0), NULL, "raw2");
    ts_memory_region small = { .host = mem, .size = 2048, .fd = -1 };
    ts_pci_bar_desc bad = { .size = sizeof(bad), .index = 0, .type = TS_PCI_BAR_MEM32, .ram = &small };
    GError *err = NULL;
    ck_assert_int_eq(pci_bar_add(fn2, &bad, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "at least 4 KiB"));
    g_clear_error(&err);
    ts_pci_bar_desc odd = { .size = sizeof(odd), .index = 1, .type = TS_PCI_BAR_MEM32, .bar_size = 3 << 12 };
    ck_assert_int_eq(pci_bar_add(fn2, &odd, &err), -EINVAL);
    ck_assert_str_eq(err->message, "BAR1: size 12288 is not a power of two");
    g_clear_error(&err);
    ts_pci_bar_desc io = { .size = sizeof(io), .index = 1, .type = TS_PCI_BAR_IO, .bar_size = 512 };
    ck_assert_int_eq(pci_bar_add(fn2, &io, &err), -EINVAL);
    g_clear_error(&err);
    ts_pci_bar_desc hi = { .size = sizeof(hi), .index = 5, .type = TS_PCI_BAR_MEM64, .bar_size = 4096 };
    ck_assert_int_eq(pci_bar_add(fn2, &hi, &err), -EINVAL);
    g_clear_error(&err);
    ts_pci_bar_desc ok64 = { .size = sizeof(ok64), .index = 4, .type = TS_PCI_BAR_MEM64, .bar_size = 4096 };
    ck_assert_int_eq(pci_bar_add(fn2, &ok64, NULL), 0);
    ts_pci_bar_desc upper = { .size = sizeof(upper), .index = 5, .type = TS_PCI_BAR_MEM32, .bar_size = 4096 };
    ck_assert_int_eq(pci_bar_add(fn2, &upper, &err), -EEXIST);
    g_clear_error(&err);
    /* A 64-bit BAR that is not prefetchable goes below 4 GiB. */
    pci_function_go_live(fn2);
    ck_assert_uint_lt(pci_host_config_read(host, PCI_DEVFN(3, 0), 0x20, 4) & ~0xfu, 0xe0000000u);
    ck_assert_uint_eq(pci_host_config_read(host, PCI_DEVFN(3, 0), 0x24, 4), 0);
    ck_assert_uint_eq(pci_host_config_read(host, PCI_DEVFN(3, 0), 0x20, 4) & 0xf, 0x4);
}
END_TEST

/* Parses and validates argv (with the test plugin directory), builds objects and devices. */
static device_set *build(const char *const *args, object_set **objs, machine_desc **desc, GError **err)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)"tessera");
    for (unsigned i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    cmdline cl = { 0 };
    ck_assert_int_eq(cmdline_parse(&cl, (int)argv->len, (char **)argv->pdata, NULL), 0);
    g_ptr_array_free(argv, TRUE);
    ck_assert_int_eq(machine_desc_validate(cl.desc, reg, NULL), 0);
    *desc = cl.desc;
    cl.desc = NULL;
    cmdline_clear(&cl);
    *objs = object_set_build(*desc, NULL);
    ck_assert_ptr_nonnull(*objs);
    return device_set_build(*desc, *objs, host, NULL, NULL, err);
}

START_TEST(device_set_placement)
{
    /* The auto-placed device does not take slot 1, which a later device asks for. */
    static const char *const args[] = {
        "-object", "memory-backend-ram,id=mb,size=64K",
        "-device", "pci-testdev,id=auto1",
        "-device", "pci-testdev,id=fixed,addr=1,memdev=mb",
        "-device", "pci-testdev,id=auto2",
        NULL,
    };
    object_set *objs;
    machine_desc *d;
    GError *err = NULL;
    device_set *s = build(args, &objs, &d, &err);
    ck_assert_msg(s != NULL, "%s", err ? err->message : "?");
    ck_assert_uint_eq(device_set_count(s), 3);
    ck_assert_uint_eq(pci_host_config_read(host, 0x08, 0, 4), 0x10f01b36u);
    ck_assert_uint_eq(pci_host_config_read(host, 0x10, 0, 4), 0x10f01b36u);
    ck_assert_uint_eq(pci_host_config_read(host, 0x18, 0, 4), 0x10f01b36u);
    /* The fixed one got the memdev: BAR2 is 64-bit prefetchable. */
    ck_assert_uint_eq(pci_host_config_read(host, 0x08, 0x18, 4) & 0xf, 0xc);
    ck_assert_uint_eq(pci_host_config_read(host, 0x10, 0x18, 4), 0);
    device_set_reset(s);
    device_set_free(s);
    for (unsigned devfn = 1; devfn < 256; devfn++)
        ck_assert_uint_eq(pci_host_config_read(host, (uint8_t)devfn, 0, 4), 0xffffffffu);
    object_set_free(objs);
    machine_desc_free(d);
}
END_TEST

START_TEST(print_config_keeps_addr)
{
    static const char *const args[] = { "-device", "pci-testdev,id=p,addr=1f.7", NULL };
    object_set *objs;
    machine_desc *d;
    device_set *s = build(args, &objs, &d, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(pci_host_config_read(host, 0xff, 0, 2), 0x1b36);
    g_autofree char *text = printconfig_format(d);
    ck_assert_msg(strstr(text, "device p {\n    type = pci-testdev\n    addr = 1f.7\n}"), "%s", text);
    device_set_free(s);
    object_set_free(objs);
    machine_desc_free(d);
}
END_TEST

START_TEST(device_set_conflict)
{
    static const char *const args[] = {
        "-device", "pci-testdev,id=one",
        "-device", "pci-testdev,id=two,addr=3",
        "-device", "pci-testdev,id=three,addr=3.0",
        NULL,
    };
    object_set *objs;
    machine_desc *d;
    GError *err = NULL;
    device_set *s = build(args, &objs, &d, &err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err->message, "option '-device pci-testdev,id=three,addr=3.0': device 'three' "
                                       "(pci-testdev): PCI address 03.0 of pci-testdev 'three' is already "
                                       "used by pci-testdev 'two'"), "%s", err->message);
    g_clear_error(&err);
    /* Nothing was created, nothing stays reserved. */
    uint8_t devfn = PCI_DEVFN(3, 0);
    ck_assert_int_eq(pci_host_reserve(host, false, &devfn, "probe", NULL), 0);
    ck_assert_uint_eq(pci_host_config_read(host, 0x08, 0, 4), 0xffffffffu);
    object_set_free(objs);
    machine_desc_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pci_core");
    TCase *tc = tcase_create("pci_core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parse_addr);
    tcase_add_test(tc, reservations);
    tcase_add_test(tc, bridge_config);
    tcase_add_test(tc, ram_bar_slow_path);
    tcase_add_test(tc, device_set_placement);
    tcase_add_test(tc, device_set_conflict);
    tcase_add_test(tc, print_config_keeps_addr);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
