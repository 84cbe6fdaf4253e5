/* SPDX-License-Identifier: MIT */
/* core/pci units that need no device plugin: addr= parsing, slot reservations, the bridge. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci.h"

static int no_inject(void *o, const msi_msg *m) { return 0; }
static int no_map(void *o, uint64_t g, uint64_t s, void *h, int fd, uint64_t off, bool ro, uint32_t *slot)
{
    *slot = 0;
    return 0;
}
static const pci_platform_ops ops = { .msi_inject = no_inject, .map_ram = no_map };

static pci_host *host;
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
}

static void teardown(void)
{
    pci_host_free(host);
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
