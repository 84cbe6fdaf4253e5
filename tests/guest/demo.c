/* SPDX-License-Identifier: MIT */
/*
 * demo: the guest `make demo` boots (examples/demo.conf). It reports what it finds —
 * the memory map, the CPUs, the PCI devices — and powers the machine off, so the VMM
 * exits with status 0.
 *
 * Power-off: the ACPI way (FADT PM1a control block, SLP_TYP from the DSDT's \_S5, plus
 * SLP_EN), which works under QEMU's pc machine and tessera alike; without ACPI the CPU
 * halts with interrupts off, which tessera also treats as the end of the VM.
 */
#include "guest.h"

#define PM1_CNT_SLP_EN (1u << 13)

static volatile uint32_t ap_apic_id[SMP_MAX_CPUS];

/* Runs on each application processor once it is up. */
static void ap_hello(unsigned index)
{
    if (index < SMP_MAX_CPUS)
        ap_apic_id[index] = lapic_id();
}

static const char *memmap_type(uint32_t t)
{
    switch (t) {
    case HVM_MEMMAP_RAM:
        return "RAM";
    case HVM_MEMMAP_RESERVED:
        return "reserved";
    case HVM_MEMMAP_ACPI:
        return "ACPI data";
    case HVM_MEMMAP_NVS:
        return "ACPI NVS";
    default:
        return "other";
    }
}

static const char *class_name(uint32_t class_code)
{
    switch (class_code >> 8) {
    case 0x0600: return "host bridge";
    case 0x0601: return "ISA bridge";
    case 0x0101: return "IDE controller";
    case 0x0680: return "bridge";
    case 0x0300: return "VGA controller";
    case 0x0200: return "Ethernet controller";
    case 0x0500: return "RAM controller";
    case 0x00ff: return "virtio device";
    default: break;
    }
    switch (class_code >> 16) {
    case 0x01: return "storage controller";
    case 0x02: return "network controller";
    case 0x03: return "display controller";
    case 0x05: return "memory controller";
    case 0x06: return "bridge";
    case 0x0c: return "serial bus controller";
    default: return "device";
    }
}

/* SLP_TYPa of \_S5 in the DSDT: the first element of the package named _S5_. */
static int s5_sleep_type(const uint8_t *dsdt)
{
    uint32_t len;
    memcpy(&len, dsdt + 4, 4);
    for (uint32_t i = 36; i + 8 < len; i++) {
        if (memcmp(dsdt + i, "_S5_", 4) || dsdt[i + 4] != 0x12) /* PackageOp */
            continue;
        const uint8_t *p = dsdt + i + 5;
        p += 1 + (*p >> 6); /* PkgLength: lead byte plus 0-3 more */
        p++;                /* NumElements */
        if (*p == 0x0a)     /* BytePrefix */
            return p[1] & 7;
        if (*p == 0x00 || *p == 0x01) /* Zero, One */
            return *p;
        return -1;
    }
    return -1;
}

static void power_off(const struct boot_info *bi)
{
    const uint8_t *fadt = acpi_find_table(bi, "FACP");
    if (fadt) {
        uint32_t pm1a_cnt, dsdt_addr;
        memcpy(&pm1a_cnt, fadt + 64, 4);
        memcpy(&dsdt_addr, fadt + 40, 4);
        const uint8_t *dsdt = (const uint8_t *)(uintptr_t)dsdt_addr;
        int slp_typ = dsdt && !memcmp(dsdt, "DSDT", 4) ? s5_sleep_type(dsdt) : -1;
        if (pm1a_cnt && pm1a_cnt <= 0xffff && slp_typ >= 0) {
            printf("powering off (ACPI S5 through port %#x)\n", pm1a_cnt);
            outw((uint16_t)pm1a_cnt, (uint16_t)(slp_typ << 10 | PM1_CNT_SLP_EN));
            for (;;) /* the VMM ends the VM after the write */
                __asm__ volatile("cli; hlt");
        }
    }
    printf("halting (no ACPI power-off)\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

int guest_main(const struct boot_info *bi)
{
    uint32_t r[4];
    char vendor[13];
    struct pci_dev devs[64];

    printf("tessera demo guest: hello from inside the VM\n\n");

    printf("memory map (hvm_start_info, %u entries):\n", bi->memmap_entries);
    for (uint32_t i = 0; i < bi->memmap_entries; i++) {
        const struct hvm_memmap_entry *e = &bi->memmap[i];
        printf("  %#014lx-%#014lx  %-9s %8lu KiB\n", e->addr, e->addr + e->size - 1,
               memmap_type(e->type), e->size >> 10);
    }
    printf("  RAM in total: %lu MiB\n\n", (boot_ram_bytes(bi) + (1 << 19)) >> 20);

    cpuid(0, 0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = '\0';
    int cpus = acpi_count_cpus(bi);
    cpuid(1, 0, r);
    if (cpus > 0) {
        printf("CPUs: %d (ACPI MADT), %s, booted on APIC id %u\n", cpus, vendor, r[1] >> 24);
        if (cpus > 1) {
            lapic_enable();
            uint32_t ids[SMP_MAX_CPUS];
            unsigned up = smp_start_aps(bi, ap_hello, ids, SMP_MAX_CPUS);
            printf("  started %u more:", up);
            for (unsigned i = 0; i < up; i++)
                printf(" CPU %u (APIC id %u) says hello;", i + 1, ap_apic_id[i + 1]);
            printf("\n");
        }
        printf("\n");
    } else {
        unsigned logical = (r[3] & (1u << 28)) ? (r[1] >> 16) & 0xff : 1;
        printf("CPUs: %u (CPUID; no ACPI tables found), %s\n\n", logical ? logical : 1, vendor);
    }

    unsigned n = pci_scan_bus0(devs, 64);
    printf("PCI devices on bus 0: %u\n", n);
    for (unsigned i = 0; i < n; i++)
        printf("  %02x:%02x.%x  %04x:%04x  class %06x  %s\n", devs[i].bus, devs[i].dev,
               devs[i].fn, devs[i].vendor, devs[i].device, devs[i].class_code,
               class_name(devs[i].class_code));
    if (*bi->cmdline)
        printf("\ncommand line: %s\n", bi->cmdline);
    printf("\n");

    if (cmdline_get_u64(bi->cmdline, "debug_exit", 0))
        return 0; /* the test runner wants the debug-exit verdict */
    power_off(bi);
    return 0;
}
