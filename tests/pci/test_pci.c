/* SPDX-License-Identifier: MIT */
/*
 * PCI host, config space, BARs, MSI-X, ioeventfds and the device services, driven
 * through the testkit with the pci-testdev plugin (tests/pci/pci_testdev.c documents
 * its registers).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tessera/testkit.h>

#define VID 0x1b36
#define DID 0x10f0
#define ECAM 0xe0000000ull
#define MSI_ADDR 0xfee00000ull

static tk_machine *m;

static void setup(void)
{
    m = tk_machine_new(0);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tk_plugin_path_add(m, PCI_TEST_PLUGIN_DIR), 0);
}

static void teardown(void)
{
    tk_machine_free(m);
    m = NULL;
}

static uint8_t add_dev(const char *spec)
{
    tk_device *d = tk_device_add(m, spec);
    ck_assert_msg(d != NULL, "%s: %s", spec, tk_error(m));
    int devfn = tk_device_devfn(d);
    ck_assert_int_ge(devfn, 0);
    return (uint8_t)devfn;
}

/* A testdev at slot 5 with decoding on; vectors 4. */
static uint8_t std_dev(void)
{
    uint8_t devfn = add_dev("pci-testdev,vectors=4,addr=5");
    ck_assert_int_eq(devfn, 5 << 3);
    tk_device_enable(m, devfn);
    return devfn;
}

static uint32_t r0(uint8_t devfn, uint64_t off)
{
    return (uint32_t)tk_bar_read(m, devfn, 0, off, 4);
}

static void w0(uint8_t devfn, uint64_t off, uint32_t v)
{
    tk_bar_write(m, devfn, 0, off, v, 4);
}

/* --- host bridge and configuration mechanisms --- */

START_TEST(host_bridge_identity)
{
    ck_assert_uint_eq(tk_config_read(m, 0, 0, 4), 0x12378086u);
    ck_assert_uint_eq(tk_config_read(m, 0, 0x0a, 2), 0x0600);
    ck_assert_uint_eq(tk_config_read(m, 0, 0x08, 1), 0x02);
    ck_assert_uint_eq(tk_config_read(m, 0, 0x0e, 1), 0x00);
    /* Nothing else on the bus. */
    for (unsigned devfn = 1; devfn < 256; devfn++)
        ck_assert_uint_eq(tk_config_read(m, (uint8_t)devfn, 0, 4), 0xffffffffu);
    ck_assert_int_eq(tk_pci_find(m, 0x8086, 0x1237, 0), 0);
}
END_TEST

START_TEST(conf1_latch_and_widths)
{
    /* The latch reads back what was written, minus the reserved bits. */
    tk_pio_write(m, 0xcf8, 0x80000004u | 0x3, 4);
    ck_assert_uint_eq(tk_pio_read(m, 0xcf8, 4), 0x80000004u);
    /* Bytes and words at 0xcfc..0xcff address within the dword. */
    tk_pio_write(m, 0xcf8, 0x80000000u, 4);
    ck_assert_uint_eq(tk_pio_read(m, 0xcfc, 1), 0x86);
    ck_assert_uint_eq(tk_pio_read(m, 0xcfd, 1), 0x80);
    ck_assert_uint_eq(tk_pio_read(m, 0xcfe, 2), 0x1237);
    ck_assert_uint_eq(tk_pio_read(m, 0xcff, 1), 0x12);
    /* Misaligned or straddling accesses read all-ones. */
    ck_assert_uint_eq(tk_pio_read(m, 0xcfd, 2), 0xffff);
    ck_assert_uint_eq(tk_pio_read(m, 0xcfe, 4), 0xffffffffu);
    /* Enable bit clear: nothing. Other buses: nothing. */
    tk_pio_write(m, 0xcf8, 0x00000000u, 4);
    ck_assert_uint_eq(tk_pio_read(m, 0xcfc, 4), 0xffffffffu);
    tk_pio_write(m, 0xcf8, 0x80010000u, 4);
    ck_assert_uint_eq(tk_pio_read(m, 0xcfc, 4), 0xffffffffu);
}
END_TEST

START_TEST(ecam_window)
{
    uint8_t devfn = add_dev("pci-testdev,addr=3.0");
    ck_assert_uint_eq(tk_mmio_read(m, ECAM, 4), 0x12378086u);
    uint64_t fn = ECAM + ((uint64_t)devfn << 12);
    ck_assert_uint_eq(tk_mmio_read(m, fn, 2), VID);
    ck_assert_uint_eq(tk_mmio_read(m, fn + 2, 2), DID);
    /* A write through ECAM is seen through conf1 and vice versa. */
    tk_mmio_write(m, fn + 0x3c, 0x5a, 1);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x3c, 1), 0x5a);
    tk_config_write(m, devfn, 0x0c, 0x10, 1);
    ck_assert_uint_eq(tk_mmio_read(m, fn + 0x0c, 1), 0x10);
    /* Extended space reads zero on a present function, all-ones elsewhere. */
    ck_assert_uint_eq(tk_mmio_read(m, fn + 0x100, 4), 0);
    ck_assert_uint_eq(tk_mmio_read(m, ECAM + (0x30u << 12), 4), 0xffffffffu);
    /* Unaligned ECAM accesses: all-ones, writes dropped. */
    ck_assert_uint_eq(tk_mmio_read(m, fn + 1, 2), 0xffff);
    tk_mmio_write(m, fn + 0x3d, 0x1234, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x3c, 1), 0x5a);
}
END_TEST

/* --- identity, placement with addr= --- */

START_TEST(device_identity)
{
    uint8_t devfn = add_dev("pci-testdev,addr=5,pin=2");
    ck_assert_int_eq(tk_pci_find(m, VID, DID, 0), devfn);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x08, 4), 0xff000001u);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x2c, 2), 0x1af4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x2e, 2), 0x1100);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x3d, 1), 2);
    /* INTB of slot 5 swizzles to GSI 16 + ((5 + 1) & 3) = 18. */
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x3c, 1), 18);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x04, 2), 0);
}
END_TEST

START_TEST(addr_placement)
{
    ck_assert_int_eq(add_dev("pci-testdev,addr=1f.7"), 0xff);
    ck_assert_int_eq(add_dev("pci-testdev,addr=0x2"), 0x10);
    /* Auto-assignment takes the first free slot from 1. */
    ck_assert_int_eq(add_dev("pci-testdev"), 0x08);
    ck_assert_int_eq(add_dev("pci-testdev"), 0x18);
    /* QEMU reads the slot as hex: 10 is slot 16. */
    ck_assert_int_eq(add_dev("pci-testdev,addr=10"), 0x80);
    /* A function other than 0 makes function 0 report multi-function. */
    ck_assert_uint_eq(tk_config_read(m, 0x08, 0x0e, 1) & 0x80, 0);
    ck_assert_int_eq(add_dev("pci-testdev,addr=1.3"), 0x0b);
    ck_assert_uint_eq(tk_config_read(m, 0x08, 0x0e, 1) & 0x80, 0x80);
}
END_TEST

START_TEST(addr_errors)
{
    add_dev("pci-testdev,id=first,addr=4");
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,id=second,addr=4.0"));
    ck_assert_msg(strstr(tk_error(m), "PCI address 04.0") && strstr(tk_error(m), "pci-testdev 'second'") &&
                  strstr(tk_error(m), "pci-testdev 'first'"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,id=third,addr=0"));
    ck_assert_msg(strstr(tk_error(m), "host bridge"), "%s", tk_error(m));
    static const char *const bad[] = { "20", "1.8", "x", "", "1.", ".1", "0x", "12345" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[64];
        snprintf(spec, sizeof(spec), "pci-testdev,addr=%s", bad[i]);
        ck_assert_ptr_null(tk_device_add(m, spec));
        ck_assert_msg(strstr(tk_error(m), "property 'addr'"), "%s: %s", spec, tk_error(m));
    }
    /* Property errors come from the same validation as tessera's. */
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,vectors=0"));
    ck_assert_msg(strstr(tk_error(m), "vectors"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,bogus=1"));
    ck_assert_msg(strstr(tk_error(m), "unknown property 'bogus'"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,memdev=nothere"));
    ck_assert_msg(strstr(tk_error(m), "nothere"), "%s", tk_error(m));
    /* Failed devices left nothing behind: slot 1 is still free. */
    ck_assert_int_eq(add_dev("pci-testdev"), 0x08);
}
END_TEST

/* --- config space semantics --- */

START_TEST(config_masks)
{
    uint8_t devfn = add_dev("pci-testdev,addr=5");
    /* Read-only identity. */
    tk_config_write(m, devfn, 0x00, 0xffffffffu, 4);
    tk_config_write(m, devfn, 0x08, 0xffffffffu, 4);
    tk_config_write(m, devfn, 0x2c, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x00, 4), 0x10f01b36u);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x08, 4), 0xff000001u);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x2c, 4), 0x11001af4u);
    /* Command: only the implemented bits stick. */
    tk_config_write(m, devfn, 0x04, 0xffff, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x04, 2), 0x0547);
    tk_config_write(m, devfn, 0x04, 0, 2);
    /* Status: capability bit read-only, error bits write-1-to-clear (none set). */
    uint32_t st = tk_config_read(m, devfn, 0x06, 2);
    ck_assert_uint_eq(st & 0x10, 0x10);
    tk_config_write(m, devfn, 0x06, 0xffff, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x06, 2), st);
    /* Cache line, latency timer, interrupt line: writable; pin: read-only. */
    tk_config_write(m, devfn, 0x0c, 0x4020, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x0c, 2), 0x4020);
    tk_config_write(m, devfn, 0x3c, 0xffff, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x3c, 2), 0x00ff);
    /* No expansion ROM: sizing reads zero. */
    tk_config_write(m, devfn, 0x30, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x30, 4), 0);
    /* Byte writes into a BAR keep the type bits. */
    tk_config_write(m, devfn, 0x10, 0xff, 1);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x10, 4) & 0xf, 0);
}
END_TEST

START_TEST(bar_sizing_and_placement)
{
    ck_assert_int_eq(tk_object_add(m, "memory-backend-ram,id=mb,size=1M"), 0);
    uint8_t devfn = add_dev("pci-testdev,memdev=mb,addr=6");
    ck_assert_uint_eq(tk_bar_size(m, devfn, 0), 4096);
    ck_assert_uint_eq(tk_bar_size(m, devfn, 1), 4096);
    ck_assert_uint_eq(tk_bar_size(m, devfn, 2), 1u << 20);
    ck_assert_uint_eq(tk_bar_size(m, devfn, 4), 32);
    ck_assert_uint_eq(tk_bar_size(m, devfn, 5), 0);
    /* Raw sizing values: type bits preserved. */
    tk_config_write(m, devfn, 0x10, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x10, 4), 0xfffff000u);
    tk_config_write(m, devfn, 0x18, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x18, 4), 0xfff0000cu);
    tk_config_write(m, devfn, 0x20, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x20, 4), 0xffffffe1u);
    tk_reset(m);
    /* Placement: 32-bit BARs in the hole, the 64-bit prefetchable one above 4 GiB, ports from 0xc000. */
    uint64_t b0 = tk_bar_address(m, devfn, 0), b1 = tk_bar_address(m, devfn, 1);
    uint64_t b2 = tk_bar_address(m, devfn, 2), b4 = tk_bar_address(m, devfn, 4);
    ck_assert(b0 >= 0xc0000000ull && b0 + 4096 <= 0xe0000000ull && b0 % 4096 == 0);
    ck_assert(b1 >= 0xc0000000ull && b1 + 4096 <= 0xe0000000ull && b1 != b0);
    ck_assert(b2 >= 0x100000000ull && b2 % (1u << 20) == 0);
    ck_assert(b4 >= 0xc000 && b4 + 32 <= 0x10000 && b4 % 32 == 0);
}
END_TEST

START_TEST(decode_toggles)
{
    ck_assert_int_eq(tk_object_add(m, "memory-backend-ram,id=mb,size=64K"), 0);
    uint8_t devfn = add_dev("pci-testdev,memdev=mb,addr=5");
    uint64_t b2 = tk_bar_address(m, devfn, 2);
    /* Nothing decodes before the command register says so. */
    ck_assert_uint_eq(r0(devfn, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_bar_read(m, devfn, 4, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_ram_map_count(m), 0);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 0);
    tk_config_write(m, devfn, 0x04, 0x2, 2); /* memory only */
    ck_assert_uint_eq(r0(devfn, 4), 0x54535444u);
    ck_assert(tk_ram_mapped_at(m, b2, 64 << 10));
    ck_assert_uint_eq(tk_ioeventfd_count(m), 2);
    ck_assert_uint_eq(tk_bar_read(m, devfn, 4, 0, 4), 0xffffffffu);
    tk_config_write(m, devfn, 0x04, 0x3, 2); /* and I/O */
    tk_bar_write(m, devfn, 4, 0, 0xabcd, 4);
    ck_assert_uint_eq(tk_bar_read(m, devfn, 4, 0, 4), 0xabcd);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 3);
    tk_config_write(m, devfn, 0x04, 0x1, 2); /* memory off again */
    ck_assert_uint_eq(r0(devfn, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_ram_map_count(m), 0);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 1);
    ck_assert_uint_eq(tk_bar_read(m, devfn, 4, 0, 4), 0xabcd);
}
END_TEST

START_TEST(bar_moves)
{
    ck_assert_int_eq(tk_object_add(m, "memory-backend-ram,id=mb,size=64K"), 0);
    uint8_t devfn = add_dev("pci-testdev,memdev=mb,addr=5");
    tk_device_enable(m, devfn);
    uint64_t old0 = tk_bar_address(m, devfn, 0);
    w0(devfn, 0, 0x1234);
    tk_bar_set_address(m, devfn, 0, 0xd0000000ull);
    ck_assert_uint_eq(tk_mmio_read(m, old0 + 4, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_mmio_read(m, 0xd0000004ull, 4), 0x54535444u);
    ck_assert_uint_eq(tk_mmio_read(m, 0xd0000000ull, 4), 0x1234);
    /* The ioeventfds moved along: doorbell 2 at the new address never reaches the device. */
    tk_mmio_write(m, 0xd000000cull, 2, 4);
    tk_process_events(m);
    ck_assert_uint_eq(r0(devfn, 0x14), 1);
    ck_assert_uint_eq(r0(devfn, 0x10), 0);
    /* The RAM BAR moves too and keeps its contents. */
    uint64_t old2 = tk_bar_address(m, devfn, 2);
    tk_mmio_write(m, old2 + 8, 0xfeedf00dull, 4);
    tk_bar_set_address(m, devfn, 2, 0x2000000000ull);
    ck_assert(!tk_ram_mapped_at(m, old2, 64 << 10));
    ck_assert(tk_ram_mapped_at(m, 0x2000000000ull, 64 << 10));
    ck_assert_uint_eq(tk_mmio_read(m, 0x2000000008ull, 4), 0xfeedf00du);
    ck_assert_uint_eq(tk_mmio_read(m, old2 + 8, 4), 0xffffffffu);
    /* The I/O BAR moves. */
    tk_bar_set_address(m, devfn, 4, 0xd000);
    tk_bar_write(m, devfn, 4, 0, 77, 4);
    ck_assert_uint_eq(tk_pio_read(m, 0xd000, 4), 77);
}
END_TEST

START_TEST(capabilities_and_hooks)
{
    uint8_t devfn = std_dev();
    uint8_t msix = tk_pci_find_capability(m, devfn, 0x11);
    uint8_t vend = tk_pci_find_capability(m, devfn, 0x09);
    ck_assert_uint_ge(msix, 0x40);
    ck_assert_uint_ge(vend, 0x40);
    ck_assert_uint_eq(msix % 4, 0);
    ck_assert_uint_eq(vend % 4, 0);
    ck_assert_uint_eq(tk_config_read(m, devfn, vend + 2u, 1), 8);
    ck_assert_uint_eq(tk_config_read(m, devfn, vend + 5u, 1), 0xab);
    /* Byte 4 writable, byte 5 and the header not. */
    tk_config_write(m, devfn, vend + 4u, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, vend + 4u, 4), 0x0000abffu);
    tk_config_write(m, devfn, vend, 0xffff, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, vend, 1), 0x09);
    /* Device registers: the write hook sees 0x60, the read hook computes 0x64. */
    tk_config_write(m, devfn, 0x60, 0x11223344u, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x60, 4), 0x11223344u);
    ck_assert_uint_eq(r0(devfn, 0x30), 0x11223344u);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x64, 4), 0xc0de3344u);
    /* The MSI-X capability: table size, BIR, offsets; only enable and mask are writable. */
    ck_assert_uint_eq(tk_msix_table_size(m, devfn), 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, msix + 4u, 4), 0x1);
    ck_assert_uint_eq(tk_config_read(m, devfn, msix + 8u, 4), 0x801);
    tk_config_write(m, devfn, msix + 2u, 0xffff, 2);
    ck_assert_uint_eq(tk_config_read(m, devfn, msix + 2u, 2), 0xc003);
    tk_config_write(m, devfn, msix + 4u, 0, 4);
    ck_assert_uint_eq(tk_config_read(m, devfn, msix + 4u, 4), 0x1);
}
END_TEST

/* --- MSI-X --- */

START_TEST(msix_masking_and_pending)
{
    uint8_t devfn = std_dev();
    for (uint32_t v = 0; v < 4; v++)
        tk_msix_set_vector(m, devfn, v, MSI_ADDR, 0x40 + v, true);
    /* Disabled: a notify is dropped. */
    w0(devfn, 0x08, 0);
    ck_assert_int_eq((int32_t)r0(devfn, 0x08), -EAGAIN);
    ck_assert(!tk_msix_pending(m, devfn, 0));
    ck_assert_uint_eq(tk_msi_count(m), 0);
    /* Enabled, vector masked (the reset state): pending, no message. */
    tk_msix_enable(m, devfn, true);
    w0(devfn, 0x08, 0);
    ck_assert_int_eq((int32_t)r0(devfn, 0x08), 0);
    ck_assert(tk_msix_pending(m, devfn, 0));
    ck_assert_uint_eq(r0(devfn, 0x38), 0x7);
    ck_assert_uint_eq(tk_msi_count(m), 0);
    /* Unmasking delivers it and clears the bit. */
    tk_msix_mask(m, devfn, 0, false);
    ck_assert(!tk_msix_pending(m, devfn, 0));
    tk_msi msg;
    ck_assert(tk_msi_pop(m, &msg));
    ck_assert_uint_eq(msg.address, MSI_ADDR);
    ck_assert_uint_eq(msg.data, 0x40);
    ck_assert_uint_eq(tk_msi_count(m), 0);
    /* Unmasked: delivered at once. */
    w0(devfn, 0x08, 0);
    ck_assert(tk_msi_pop(m, &msg) && msg.data == 0x40);
    /* The function mask holds everything back, vectors keep their own bits. */
    tk_msix_function_mask(m, devfn, true);
    w0(devfn, 0x08, 0);
    w0(devfn, 0x08, 3);
    ck_assert(tk_msix_pending(m, devfn, 0));
    ck_assert(tk_msix_pending(m, devfn, 3));
    ck_assert_uint_eq(tk_msi_count(m), 0);
    tk_msix_function_mask(m, devfn, false);
    ck_assert(tk_msi_pop(m, &msg) && msg.data == 0x40); /* vector 0 is unmasked */
    ck_assert_uint_eq(tk_msi_count(m), 0);
    ck_assert(tk_msix_pending(m, devfn, 3));            /* vector 3 still masked */
    tk_msix_mask(m, devfn, 3, false);
    ck_assert(tk_msi_pop(m, &msg) && msg.data == 0x43);
    /* No such vector. */
    w0(devfn, 0x08, 4);
    ck_assert_int_eq((int32_t)r0(devfn, 0x08), -EINVAL);
    /* The PBA is read-only. */
    tk_msix_mask(m, devfn, 2, true);
    w0(devfn, 0x08, 2);
    uint64_t pba = tk_bar_address(m, devfn, 1) + 0x800;
    tk_mmio_write(m, pba, 0, 8);
    ck_assert(tk_msix_pending(m, devfn, 2));
    ck_assert_uint_eq(tk_mmio_read(m, pba, 8), 1u << 2);
}
END_TEST

START_TEST(msix_irqfd_delivery)
{
    uint8_t devfn = std_dev();
    tk_msix_set_vector(m, devfn, 1, MSI_ADDR, 0x51, true);
    tk_msix_enable(m, devfn, true);
    /* Masked: the eventfd is watched by the host, not an irqfd; a doorbell leaves a pending bit. */
    ck_assert_uint_eq(tk_irqfd_count(m), 0);
    w0(devfn, 0x0c, 1);
    ck_assert_uint_eq(r0(devfn, 0x10), 0); /* the ioeventfd took it, not the device */
    tk_process_events(m);
    ck_assert(tk_msix_pending(m, devfn, 1));
    ck_assert_uint_eq(tk_msi_count(m), 0);
    /* Unmasked: the pending message goes out and the fd becomes an irqfd. */
    tk_msix_mask(m, devfn, 1, false);
    ck_assert(!tk_msix_pending(m, devfn, 1));
    ck_assert_uint_eq(tk_irqfd_count(m), 1);
    tk_msi msg;
    ck_assert(tk_msi_pop(m, &msg) && msg.data == 0x51);
    w0(devfn, 0x0c, 1);
    w0(devfn, 0x0c, 1);
    tk_process_events(m);
    ck_assert_uint_ge(tk_msi_count(m), 1); /* an eventfd coalesces signals, like hardware MSI */
    ck_assert(tk_msi_pop(m, &msg) && msg.address == MSI_ADDR && msg.data == 0x51);
    tk_msi_clear(m);
    /* The guest rewrites the entry while it is in use: the route follows. */
    uint64_t e1 = tk_bar_address(m, devfn, 1) + 16;
    tk_mmio_write(m, e1 + 8, 0x99, 4);
    tk_mmio_write(m, e1, 0xfee01000u, 4);
    w0(devfn, 0x0c, 1);
    tk_process_events(m);
    ck_assert(tk_msi_pop(m, &msg));
    ck_assert_uint_eq(msg.data, 0x99);
    ck_assert_uint_eq(msg.address, 0xfee01000u);
    /* Disabled: signals are consumed and dropped. */
    tk_msix_enable(m, devfn, false);
    ck_assert_uint_eq(tk_irqfd_count(m), 0);
    w0(devfn, 0x0c, 1);
    tk_process_events(m);
    ck_assert_uint_eq(tk_msi_count(m), 0);
    ck_assert(!tk_msix_pending(m, devfn, 1));
    tk_msix_enable(m, devfn, true);
    ck_assert_uint_eq(tk_msi_count(m), 0);
    ck_assert_uint_eq(tk_irqfd_count(m), 1);
}
END_TEST

START_TEST(msix_without_ioeventfd)
{
    uint8_t devfn = add_dev("pci-testdev,vectors=2,ioeventfd=off,addr=7");
    tk_device_enable(m, devfn);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 0);
    tk_msix_set_vector(m, devfn, 1, MSI_ADDR, 0x61, false);
    tk_msix_enable(m, devfn, true);
    w0(devfn, 0x0c, 1);
    ck_assert_uint_eq(r0(devfn, 0x10), 1); /* the device saw it and signalled the fd itself */
    tk_process_events(m);
    tk_msi msg;
    ck_assert(tk_msi_pop(m, &msg) && msg.data == 0x61);
}
END_TEST

START_TEST(ioeventfd_datamatch)
{
    uint8_t devfn = std_dev();
    w0(devfn, 0x0c, 2);
    w0(devfn, 0x0c, 2);
    ck_assert_uint_eq(r0(devfn, 0x10), 0);
    tk_process_events(m);
    ck_assert_uint_eq(r0(devfn, 0x14), 2);
    /* Other values reach the device. */
    w0(devfn, 0x0c, 7);
    w0(devfn, 0x0c, 0x10002);
    ck_assert_uint_eq(r0(devfn, 0x10), 2);
    /* Another width does not match either. */
    tk_bar_write(m, devfn, 0, 0x0c, 2, 2);
    ck_assert_uint_eq(r0(devfn, 0x1c), 2);
    ck_assert_uint_eq(r0(devfn, 0x10), 2);
    tk_process_events(m);
    ck_assert_uint_eq(r0(devfn, 0x14), 2);
    /* The port-I/O doorbell on BAR4: 2 bytes of 3. */
    tk_bar_write(m, devfn, 4, 4, 3, 2);
    tk_process_events(m);
    ck_assert_uint_eq(r0(devfn, 0x14), 3);
    tk_bar_write(m, devfn, 4, 4, 4, 2);
    ck_assert_uint_eq(r0(devfn, 0x10), 3);
}
END_TEST

START_TEST(intx_levels)
{
    uint8_t devfn = add_dev("pci-testdev,pin=1,addr=5");
    tk_device_enable(m, devfn);
    uint32_t gsi = tk_config_read(m, devfn, 0x3c, 1);
    ck_assert_uint_eq(gsi, 17);
    w0(devfn, 0x18, 1);
    ck_assert_int_eq(tk_irq_level(m, gsi), 1);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x06, 2) & 0x8, 0x8);
    tk_config_write(m, devfn, 0x04, 0x407, 2); /* Interrupt Disable */
    ck_assert_int_eq(tk_irq_level(m, gsi), 0);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x06, 2) & 0x8, 0x8);
    tk_config_write(m, devfn, 0x04, 0x007, 2);
    ck_assert_int_eq(tk_irq_level(m, gsi), 1);
    w0(devfn, 0x18, 0);
    ck_assert_int_eq(tk_irq_level(m, gsi), 0);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x06, 2) & 0x8, 0);
}
END_TEST

START_TEST(guest_memory_service)
{
    uint8_t devfn = std_dev();
    /* In RAM: the device writes, the test sees it, and back. */
    w0(devfn, 0x20, 0x1000);
    w0(devfn, 0x24, 0);
    w0(devfn, 0x28, 0xcafebabe);
    ck_assert_int_eq((int32_t)r0(devfn, 0x28), 0);
    uint32_t *p = tk_guest_ram(m, 0x1000, 4);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(*p, 0xcafebabe);
    *p = 0x01020304;
    ck_assert_uint_eq(r0(devfn, 0x2c), 0x01020304);
    /* Past the end of RAM, straddling it, in the PCI hole, far away: refused. */
    static const uint64_t bad[] = { (64ull << 20) - 2, 64ull << 20, 0xc0000000ull, 0xfee00000ull,
                                     0xfffffffffffffffeull };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        w0(devfn, 0x20, (uint32_t)bad[i]);
        w0(devfn, 0x24, (uint32_t)(bad[i] >> 32));
        w0(devfn, 0x28, 1);
        ck_assert_int_eq((int32_t)r0(devfn, 0x28), -EFAULT);
        ck_assert_uint_eq(r0(devfn, 0x2c), 0xffffffffu);
    }
}
END_TEST

START_TEST(ram_bar_backend_file)
{
    char dir[] = "/tmp/tk-pci-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64], spec[160];
    snprintf(path, sizeof(path), "%s/shm", dir);
    snprintf(spec, sizeof(spec), "memory-backend-file,id=mb,size=1M,share=on,mem-path=%s", path);
    ck_assert_msg(tk_object_add(m, spec) == 0, "%s", tk_error(m));
    uint8_t devfn = add_dev("pci-testdev,memdev=mb,addr=4");
    tk_device_enable(m, devfn);
    uint64_t b2 = tk_bar_address(m, devfn, 2);
    for (uint32_t i = 0; i < 1024; i++)
        tk_mmio_write(m, b2 + 4 * i, i * 7, 4);
    /* Zero copy: the file has it. */
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    uint32_t buf[1024];
    ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
    for (uint32_t i = 0; i < 1024; i++)
        ck_assert_uint_eq(buf[i], i * 7);
    close(fd);
    /* A second device may not use the same memdev. */
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,id=two,memdev=mb"));
    ck_assert_msg(strstr(tk_error(m), "already in use"), "%s", tk_error(m));
    tk_machine_free(m);
    m = NULL;
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(chardev_references)
{
    char path[] = "/tmp/tk-pci-chr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char spec[128];
    snprintf(spec, sizeof(spec), "file,id=c0,path=%s", path);
    ck_assert_msg(tk_chardev_add(m, spec) == 0, "%s", tk_error(m));
    ck_assert_int_lt(tk_chardev_add(m, "null,id=c0"), 0);
    ck_assert_msg(strstr(tk_error(m), "c0"), "%s", tk_error(m));
    ck_assert_int_lt(tk_chardev_add(m, "bogus,id=c1"), 0);
    ck_assert_msg(strstr(tk_error(m), "unknown chardev backend"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,chardev=nothere"));
    ck_assert_msg(strstr(tk_error(m), "nothere"), "%s", tk_error(m));
    add_dev("pci-testdev,chardev=c0");
    char buf[32] = { 0 };
    ck_assert_int_eq(pread(fd, buf, sizeof(buf) - 1, 0), 15);
    ck_assert_str_eq(buf, "pci-testdev up\n");
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(fixed_io_regions)
{
    uint8_t devfn = add_dev("pci-testdev,id=a,port=0x510,mmio=0xd8000000");
    tk_device_enable(m, devfn);
    ck_assert_uint_eq(tk_pio_read(m, 0x510, 4), 0x54535444u);
    ck_assert_uint_eq(tk_mmio_read(m, 0xd8000000ull, 4), 0x54535444u);
    tk_pio_write(m, 0x510, 99, 4);
    ck_assert_uint_eq(r0(devfn, 0), 99);
    tk_mmio_write(m, 0xd8000000ull, 98, 4);
    ck_assert_uint_eq(r0(devfn, 0), 98);
    /* Straddling the region's end: nothing. */
    ck_assert_uint_eq(tk_pio_read(m, 0x512, 4), 0xffffffffu);
    /* Overlaps: refused with both owners named; the config ports are the PCI host's. */
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,id=b,port=0x512"));
    ck_assert_msg(strstr(tk_error(m), "pci-testdev 'b'") && strstr(tk_error(m), "pci-testdev 'a'"), "%s",
                  tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,id=c,port=0xcfa"));
    ck_assert_msg(strstr(tk_error(m), "pci conf1"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "pci-testdev,id=d,port=0xfffe"));
    ck_assert_msg(strstr(tk_error(m), "invalid port region"), "%s", tk_error(m));
    /* Regions a device leaves behind are removed with it. */
    tk_device_del(tk_device_add(m, "pci-testdev,id=e,port=0x600,mmio=0xd9000000"));
    ck_assert_uint_eq(tk_pio_read(m, 0x600, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_mmio_read(m, 0xd9000000ull, 4), 0xffffffffu);
    add_dev("pci-testdev,id=f,port=0x600,mmio=0xd9000000");
    ck_assert_uint_eq(tk_mmio_read(m, 0xd9000000ull, 4), 0x54535444u);
}
END_TEST

START_TEST(timer_raises_vector)
{
    uint8_t devfn = std_dev();
    tk_msix_set_vector(m, devfn, 0, MSI_ADDR, 0x70, false);
    tk_msix_enable(m, devfn, true);
    w0(devfn, 0x34, 1000);
    for (int i = 0; i < 500 && tk_msi_count(m) == 0; i++)
        tk_wait_event(m, 10);
    tk_msi msg;
    ck_assert(tk_msi_pop(m, &msg));
    ck_assert_uint_eq(msg.data, 0x70);
}
END_TEST

START_TEST(reset_restores)
{
    ck_assert_int_eq(tk_object_add(m, "memory-backend-ram,id=mb,size=64K"), 0);
    uint8_t devfn = add_dev("pci-testdev,memdev=mb,addr=5");
    uint64_t b0 = tk_bar_address(m, devfn, 0), b2 = tk_bar_address(m, devfn, 2);
    tk_device_enable(m, devfn);
    w0(devfn, 0, 42);
    tk_bar_set_address(m, devfn, 0, 0xd8000000ull);
    tk_msix_enable(m, devfn, true);
    tk_msix_set_vector(m, devfn, 0, MSI_ADDR, 1, false);
    tk_msix_mask(m, devfn, 1, true);
    w0(devfn, 0x08, 1);
    tk_config_write(m, devfn, 0x60, 5, 4);
    tk_reset(m);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x04, 2), 0);
    ck_assert_uint_eq(tk_bar_address(m, devfn, 0), b0);
    ck_assert_uint_eq(tk_bar_address(m, devfn, 2), b2);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x60, 4), 0);
    ck_assert_uint_eq(tk_ram_map_count(m), 0);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 0);
    tk_device_enable(m, devfn);
    ck_assert_uint_eq(r0(devfn, 0), 0);
    ck_assert_uint_eq(r0(devfn, 0x38), 0x2); /* disabled, vector 0 masked again, nothing pending */
    ck_assert(!tk_msix_pending(m, devfn, 1));
    uint64_t e0 = tk_bar_address(m, devfn, 1);
    ck_assert_uint_eq(tk_mmio_read(m, e0 + 8, 4), 0);
    ck_assert_uint_eq(tk_mmio_read(m, e0 + 12, 4), 1);
}
END_TEST

START_TEST(unplug_releases_everything)
{
    ck_assert_int_eq(tk_object_add(m, "memory-backend-ram,id=mb,size=64K"), 0);
    tk_device *d = tk_device_add(m, "pci-testdev,memdev=mb,addr=5");
    ck_assert_ptr_nonnull(d);
    uint8_t devfn = (uint8_t)tk_device_devfn(d);
    tk_device_enable(m, devfn);
    tk_msix_set_vector(m, devfn, 1, MSI_ADDR, 1, false);
    tk_msix_enable(m, devfn, true);
    ck_assert_uint_eq(tk_irqfd_count(m), 1);
    ck_assert_uint_eq(tk_ram_map_count(m), 1);
    uint64_t b0 = tk_bar_address(m, devfn, 0);
    tk_device_del(d);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_mmio_read(m, b0 + 4, 4), 0xffffffffu);
    ck_assert_uint_eq(tk_irqfd_count(m), 0);
    ck_assert_uint_eq(tk_ram_map_count(m), 0);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 0);
    /* The slot and the memdev are free again. */
    ck_assert_int_eq(add_dev("pci-testdev,memdev=mb,addr=5"), devfn);
}
END_TEST

/* --- hostile guests --- */

static uint32_t rng_state = 0x12345678u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

START_TEST(hostile_bar_overlaps)
{
    uint8_t a = add_dev("pci-testdev,addr=5"), b = add_dev("pci-testdev,addr=6");
    tk_device_enable(m, a);
    tk_device_enable(m, b);
    w0(a, 0, 0xaaaa);
    w0(b, 0, 0xbbbb);
    /* Over guest RAM: the BAR is not mapped and RAM is untouched. */
    uint32_t *ram = tk_guest_ram(m, 0x100000, 4);
    *ram = 0x5555;
    tk_bar_set_address(m, a, 0, 0x100000);
    ck_assert_uint_eq(tk_mmio_read(m, 0x100004, 4), 0);
    ck_assert_uint_eq(*ram, 0x5555);
    /* Onto another device's BAR: the one already there keeps it. */
    uint64_t bb = tk_bar_address(m, b, 0);
    tk_bar_set_address(m, a, 0, bb);
    ck_assert_uint_eq(tk_mmio_read(m, bb, 4), 0xbbbb);
    /* When b moves away, a becomes live at the address it asked for. */
    tk_bar_set_address(m, b, 0, 0xd0000000ull);
    ck_assert_uint_eq(tk_mmio_read(m, bb, 4), 0xaaaa);
    ck_assert_uint_eq(tk_mmio_read(m, 0xd0000000ull, 4), 0xbbbb);
    /* Onto the ECAM window, the config ports, the top of the address space: refused. */
    tk_bar_set_address(m, a, 0, 0xe0000000ull);
    ck_assert_uint_eq(tk_mmio_read(m, 0xe0000000ull, 4), 0x12378086u);
    tk_bar_set_address(m, a, 4, 0xcf8 & ~31u);
    ck_assert_uint_eq(tk_pio_read(m, 0xcf8, 4) & 0x80000000u, 0x80000000u);
    /* The chipset's top of the hole (IOAPIC, LAPIC, KVM pages) is never a BAR. */
    tk_bar_set_address(m, a, 0, 0xfee00000ull);
    ck_assert_uint_eq(tk_mmio_read(m, 0xfee00000ull, 4), 0xffffffffu);
    tk_bar_set_address(m, a, 0, 0xfffff000ull);
    ck_assert_uint_eq(tk_mmio_read(m, 0xfffff000ull, 4), 0xffffffffu);
    tk_bar_set_address(m, a, 0, 0xfeb00000ull); /* just below it: fine */
    ck_assert_uint_eq(tk_mmio_read(m, 0xfeb00000ull, 4), 0xaaaa);
    tk_bar_set_address(m, a, 0, bb);
    ck_assert_uint_eq(tk_mmio_read(m, bb, 4), 0xaaaa);
}
END_TEST

START_TEST(hostile_config_fuzz)
{
    uint8_t devfn = std_dev();
    static const unsigned sizes[] = { 1, 2, 4, 8, 3 };
    for (unsigned i = 0; i < 20000; i++) {
        uint32_t off = rnd() & 0xff;
        unsigned size = sizes[rnd() % 5];
        uint32_t v = rnd();
        if (rnd() & 1) {
            tk_config_write(m, devfn, off, v, size);
        } else {
            tk_pio_write(m, (uint16_t)(0xcf8 + (rnd() % 8)), v, size);
            tk_mmio_write(m, ECAM + ((uint64_t)devfn << 12) + (rnd() & 0xfff), v, size);
        }
        if (i % 64 == 0)
            tk_process_events(m);
    }
    /* Still alive and still answering. */
    ck_assert_uint_eq(tk_config_read(m, devfn, 0, 4), 0x10f01b36u);
    ck_assert_uint_eq(tk_config_read(m, 0, 0, 4), 0x12378086u);
    tk_reset(m);
    tk_device_enable(m, devfn);
    ck_assert_uint_eq(r0(devfn, 4), 0x54535444u);
}
END_TEST

START_TEST(hostile_msix_table)
{
    uint8_t devfn = std_dev();
    tk_msix_enable(m, devfn, true);
    uint64_t t = tk_bar_address(m, devfn, 1);
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    for (unsigned i = 0; i < 20000; i++) {
        uint64_t off = rnd() % 4096;
        unsigned size = sizes[rnd() % 4];
        if (rnd() % 3)
            tk_mmio_write(m, t + off, ((uint64_t)rnd() << 32) | rnd(), size);
        else
            (void)tk_mmio_read(m, t + off, size);
        if (i % 16 == 0) {
            w0(devfn, 0x08, rnd() % 5);
            w0(devfn, 0x0c, 1);
        }
        if (i % 512 == 0) {
            tk_config_write(m, devfn, tk_pci_find_capability(m, devfn, 0x11) + 2u, rnd(), 2);
            tk_process_events(m);
        }
    }
    tk_process_events(m);
    /* Reserved bits of the vector control stayed zero, the PBA only holds real vectors. */
    for (uint32_t v = 0; v < 4; v++)
        ck_assert_uint_eq(tk_mmio_read(m, t + 16 * v + 12, 4) & ~1u, 0);
    ck_assert_uint_eq(tk_mmio_read(m, t + 0x800, 8) & ~0xfull, 0);
    /* Outside table and PBA the host-only BAR reads zero. */
    ck_assert_uint_eq(tk_mmio_read(m, t + 0x400, 4), 0);
    ck_assert_uint_eq(r0(devfn, 4), 0x54535444u);
}
END_TEST

START_TEST(hostile_unaligned_bar_accesses)
{
    uint8_t devfn = std_dev();
    uint64_t b0 = tk_bar_address(m, devfn, 0);
    /* Straddling the end of a BAR: never reaches the device. */
    ck_assert_uint_eq(tk_mmio_read(m, b0 + 4092, 8), UINT64_MAX);
    tk_mmio_write(m, b0 + 4094, 0xffffffffu, 4);
    ck_assert_uint_eq(tk_mmio_read(m, b0 + 4, 8), 0); /* inside: the device answers 0 to what it does not know */
    (void)tk_mmio_read(m, b0 + 1, 2);
    ck_assert_uint_eq(r0(devfn, 0x1c), 2);
    ck_assert_uint_eq(r0(devfn, 4), 0x54535444u);
}
END_TEST

static Suite *pci_suite(void)
{
    Suite *s = suite_create("pci");
    TCase *tc = tcase_create("pci");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, host_bridge_identity);
    tcase_add_test(tc, conf1_latch_and_widths);
    tcase_add_test(tc, ecam_window);
    tcase_add_test(tc, device_identity);
    tcase_add_test(tc, addr_placement);
    tcase_add_test(tc, addr_errors);
    tcase_add_test(tc, config_masks);
    tcase_add_test(tc, bar_sizing_and_placement);
    tcase_add_test(tc, decode_toggles);
    tcase_add_test(tc, bar_moves);
    tcase_add_test(tc, capabilities_and_hooks);
    tcase_add_test(tc, msix_masking_and_pending);
    tcase_add_test(tc, msix_irqfd_delivery);
    tcase_add_test(tc, msix_without_ioeventfd);
    tcase_add_test(tc, ioeventfd_datamatch);
    tcase_add_test(tc, intx_levels);
    tcase_add_test(tc, guest_memory_service);
    tcase_add_test(tc, ram_bar_backend_file);
    tcase_add_test(tc, chardev_references);
    tcase_add_test(tc, fixed_io_regions);
    tcase_add_test(tc, timer_raises_vector);
    tcase_add_test(tc, reset_restores);
    tcase_add_test(tc, unplug_releases_everything);
    tcase_add_test(tc, hostile_bar_overlaps);
    tcase_add_test(tc, hostile_config_fuzz);
    tcase_add_test(tc, hostile_msix_table);
    tcase_add_test(tc, hostile_unaligned_bar_accesses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pci_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
