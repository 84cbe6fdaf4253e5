/* SPDX-License-Identifier: MIT */
/*
 * ACPI table generation (acpi.h). Layouts from the ACPI 6.5 specification: 5.2.5 RSDP,
 * 5.2.6 header, 5.2.7/5.2.8 RSDT/XSDT, 5.2.9 FADT, 5.2.10 FACS, 5.2.11.2 DSDT, 5.2.12
 * MADT; MCFG from the PCI Firmware Specification 3.2, 4.1.2. Tables are assembled as little-endian byte strings into one blob.
 */
#include "boot/acpi.h"

#include <errno.h>
#include <string.h>

#include "boot/aml.h"
#include "kvm/guest_memory.h"
#include "pci/pci.h"
#include "util/error.h"

#define HEADER_LEN 36
#define OEM_ID "TESSRA"         /* 6 bytes */
#define OEM_TABLE_ID "TESSERA " /* 8 bytes */
#define CREATOR_ID "TSRA"
#define FADT_LEN 276            /* revision 6 */
#define FACS_LEN 64
#define SDT_ENTRIES 3           /* FADT, MADT, MCFG */

/* MADT entry types and flags. */
#define MADT_LOCAL_APIC 0
#define MADT_IO_APIC 1
#define MADT_SOURCE_OVERRIDE 2
#define MADT_LOCAL_APIC_NMI 4
#define MADT_PCAT_COMPAT 1
#define MADT_LAPIC_ENABLED 1
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL 0xc

/* FADT fields. */
#define FADT_PM_PROFILE_UNSPECIFIED 0
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

static void put8(GByteArray *b, uint8_t v) { g_byte_array_append(b, &v, 1); }
static void put_le(GByteArray *b, uint64_t v, unsigned n)
{
    g_assert(n <= 8);
    for (unsigned i = 0; i < n; i++)
        put8(b, (uint8_t)(v >> (8 * i)));
}
static void put_bytes(GByteArray *b, const char *s, size_t n)
{
    g_byte_array_append(b, (const uint8_t *)s, (guint)n);
}
static void set_le(GByteArray *b, size_t off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        b->data[off + i] = (uint8_t)(v >> (8 * i));
}
static void pad_to(GByteArray *b, size_t align)
{
    while (b->len % align)
        put8(b, 0);
}

uint8_t acpi_checksum(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

/* Starts a table; returns its offset in the blob. acpi_end_table fills length, checksum. */
static size_t begin_table(GByteArray *b, const char *sig, uint8_t revision)
{
    size_t start = b->len;
    put_bytes(b, sig, 4);
    put_le(b, 0, 4); /* length, later */
    put8(b, revision);
    put8(b, 0); /* checksum, later */
    put_bytes(b, OEM_ID, 6);
    put_bytes(b, OEM_TABLE_ID, 8);
    put_le(b, 1, 4); /* OEM revision */
    put_bytes(b, CREATOR_ID, 4);
    put_le(b, 1, 4); /* creator revision */
    return start;
}

static uint32_t end_table(GByteArray *b, size_t start)
{
    uint32_t len = (uint32_t)(b->len - start);
    set_le(b, start + 4, len, 4);
    b->data[start + 9] = (uint8_t)-acpi_checksum(b->data + start, len);
    return len;
}

/* Generic Address Structure for a port range. */
static void put_gas_io(GByteArray *b, uint16_t port, uint8_t bits, uint8_t access)
{
    put8(b, port ? GAS_SYSTEM_IO : 0);
    put8(b, port ? bits : 0);
    put8(b, 0);
    put8(b, port ? access : 0);
    put_le(b, port, 8);
}

static void build_facs(GByteArray *b)
{
    size_t start = b->len;
    put_bytes(b, "FACS", 4);
    put_le(b, FACS_LEN, 4);
    put_le(b, 0, 4); /* hardware signature */
    put_le(b, 0, 4); /* firmware waking vector */
    put_le(b, 0, 4); /* global lock */
    put_le(b, 0, 4); /* flags */
    put_le(b, 0, 8); /* X firmware waking vector */
    put8(b, 2);      /* version */
    while (b->len - start < FACS_LEN)
        put8(b, 0);
}

static uint32_t build_fadt(GByteArray *b, uint64_t facs, uint64_t dsdt)
{
    size_t start = begin_table(b, "FACP", 6);
    put_le(b, 0, 4);                  /* FIRMWARE_CTRL: 0, X_FIRMWARE_CTRL says it (an OS
                                         given both loads the FACS twice) */
    put_le(b, dsdt, 4);               /* DSDT */
    put8(b, 0);                       /* reserved */
    put8(b, FADT_PM_PROFILE_UNSPECIFIED);
    put_le(b, ACPI_SCI_IRQ, 2);       /* SCI_INT */
    put_le(b, 0, 4);                  /* SMI_CMD: none, ACPI is always enabled */
    put8(b, 0), put8(b, 0), put8(b, 0), put8(b, 0); /* ACPI_ENABLE/DISABLE, S4BIOS, PSTATE */
    put_le(b, ACPI_PM1A_EVT_PORT, 4); /* PM1a_EVT_BLK */
    put_le(b, 0, 4);                  /* PM1b_EVT_BLK */
    put_le(b, ACPI_PM1A_CNT_PORT, 4); /* PM1a_CNT_BLK */
    put_le(b, 0, 4);                  /* PM1b_CNT_BLK */
    put_le(b, 0, 4);                  /* PM2_CNT_BLK */
    put_le(b, 0, 4);                  /* PM_TMR_BLK: none (the guest has the TSC, PIT) */
    put_le(b, 0, 4), put_le(b, 0, 4); /* GPE0_BLK, GPE1_BLK */
    put8(b, 4);                       /* PM1_EVT_LEN */
    put8(b, 2);                       /* PM1_CNT_LEN */
    put8(b, 0), put8(b, 0);           /* PM2_CNT_LEN, PM_TMR_LEN */
    put8(b, 0), put8(b, 0), put8(b, 0); /* GPE0/1 lengths, GPE1_BASE */
    put8(b, 0);                       /* CST_CNT */
    put_le(b, 101, 2);                /* P_LVL2_LAT > 100: no C2 */
    put_le(b, 1001, 2);               /* P_LVL3_LAT > 1000: no C3 */
    put_le(b, 0, 2), put_le(b, 0, 2); /* FLUSH_SIZE, FLUSH_STRIDE */
    put8(b, 0), put8(b, 0);           /* DUTY_OFFSET, DUTY_WIDTH */
    put8(b, 0), put8(b, 0), put8(b, 0); /* DAY_ALRM, MON_ALRM, CENTURY */
    put_le(b, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_VGA_NOT_PRESENT |
                  BOOT_ARCH_CMOS_RTC_NOT_PRESENT, 2); /* IAPC_BOOT_ARCH: no 8042 either */
    put8(b, 0);                       /* reserved */
    put_le(b, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
                  FADT_RESET_REG_SUP, 4);
    put_gas_io(b, 0x64, 8, GAS_ACCESS_BYTE); /* RESET_REG: the i8042 command port */
    put8(b, 0xfe);                    /* RESET_VALUE: pulse the reset line */
    put_le(b, 0, 2);                  /* ARM_BOOT_ARCH */
    put8(b, 0);                       /* FADT minor version */
    put_le(b, facs, 8);               /* X_FIRMWARE_CTRL */
    put_le(b, dsdt, 8);               /* X_DSDT */
    put_gas_io(b, ACPI_PM1A_EVT_PORT, 32, GAS_ACCESS_WORD); /* X_PM1a_EVT_BLK */
    put_gas_io(b, 0, 0, 0);                                 /* X_PM1b_EVT_BLK */
    put_gas_io(b, ACPI_PM1A_CNT_PORT, 16, GAS_ACCESS_WORD); /* X_PM1a_CNT_BLK */
    put_gas_io(b, 0, 0, 0);           /* X_PM1b_CNT_BLK */
    put_gas_io(b, 0, 0, 0);           /* X_PM2_CNT_BLK */
    put_gas_io(b, 0, 0, 0);           /* X_PM_TMR_BLK */
    put_gas_io(b, 0, 0, 0);           /* X_GPE0_BLK */
    put_gas_io(b, 0, 0, 0);           /* X_GPE1_BLK */
    put_gas_io(b, 0, 0, 0);           /* SLEEP_CONTROL_REG */
    put_gas_io(b, 0, 0, 0);           /* SLEEP_STATUS_REG */
    put_bytes(b, "TESSERA\0", 8);     /* hypervisor vendor identity */
    return end_table(b, start);
}

static uint32_t build_madt(GByteArray *b, const acpi_config *cfg)
{
    size_t start = begin_table(b, "APIC", 5);
    put_le(b, ACPI_LAPIC_GPA, 4);
    put_le(b, MADT_PCAT_COMPAT, 4); /* the guest also has a dual 8259 */
    for (unsigned i = 0; i < cfg->nr_vcpus; i++) {
        put8(b, MADT_LOCAL_APIC), put8(b, 8);
        put8(b, (uint8_t)i); /* ACPI processor UID */
        put8(b, (uint8_t)(cfg->apic_ids ? cfg->apic_ids[i] : i)); /* APIC id */
        put_le(b, MADT_LAPIC_ENABLED, 4);
    }
    put8(b, MADT_IO_APIC), put8(b, 12);
    put8(b, 0), put8(b, 0); /* IOAPIC id 0 (KVM's reset value), reserved */
    put_le(b, ACPI_IOAPIC_GPA, 4);
    put_le(b, 0, 4);        /* GSI base */
    if (cfg->irq0_to_gsi2) {
        put8(b, MADT_SOURCE_OVERRIDE), put8(b, 10);
        put8(b, 0), put8(b, 0); /* ISA bus, IRQ 0 */
        put_le(b, 2, 4);
        put_le(b, 0, 2);        /* conforms to the bus: edge, active high */
    }
    put8(b, MADT_SOURCE_OVERRIDE), put8(b, 10);
    put8(b, 0), put8(b, ACPI_SCI_IRQ);
    put_le(b, ACPI_SCI_IRQ, 4);
    put_le(b, MPS_ACTIVE_HIGH | MPS_LEVEL, 2); /* the SCI is level-triggered */
    put8(b, MADT_LOCAL_APIC_NMI), put8(b, 6);
    put8(b, 0xff);   /* every processor */
    put_le(b, 0, 2); /* flags: conforms */
    put8(b, 1);      /* LINT1 */
    return end_table(b, start);
}

/*
 * The 32-bit window [first, last] as DWordMemory descriptors, leaving out the ECAM window
 * (reserved as a motherboard resource instead: a bridge window must not claim it).
 */
static void mem32_windows(aml_resources *r, uint64_t first, uint64_t last)
{
    const uint64_t ecam_first = PCI_ECAM_BASE, ecam_last = PCI_ECAM_BASE + PCI_ECAM_SIZE - 1;
    if (last < ecam_first || first > ecam_last) {
        aml_res_mem32_window(r, (uint32_t)first, (uint32_t)last);
        return;
    }
    if (first < ecam_first)
        aml_res_mem32_window(r, (uint32_t)first, (uint32_t)(ecam_first - 1));
    if (last > ecam_last)
        aml_res_mem32_window(r, (uint32_t)(ecam_last + 1), (uint32_t)last);
}

/*
 * _PRT in the direct form (source Zero, source index = GSI): every slot's pins A-D to the
 * IOAPIC input the PCI core drives for them (core/pci/config.c: pin P of slot S raises
 * GSI 16 + ((S + P - 1) & 3), P counted from 1). A guest treats such GSIs as level
 * triggered, active low, as PCI INTx is; KVM's IOAPIC takes the line level the core sets
 * as asserted/deasserted whatever polarity the guest programs.
 */
static void build_prt(aml *pci)
{
    aml_package *prt = aml_package_new();
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) { /* 0 = INTA */
            aml_package *e = aml_package_new();
            aml_package_int(e, (uint64_t)slot << 16 | 0xffff); /* any function of the slot */
            aml_package_int(e, pin);
            aml_package_int(e, 0);                              /* source: a GSI */
            aml_package_int(e, PCI_INTX_GSI_BASE + ((slot + pin) & 3));
            aml_package_add(prt, e);
        }
    }
    aml_name_package(pci, "_PRT", prt);
}

static uint32_t build_dsdt(GByteArray *b, const acpi_config *cfg)
{
    size_t start = begin_table(b, "DSDT", 2);
    aml *top = aml_new();
    aml *sb = aml_scope_open(top, "_SB_");

    aml *pci = aml_device_open(sb, "PCI0");
    aml_name_eisaid(pci, "_HID", "PNP0A03");
    aml_name_int(pci, "_SEG", 0);
    aml_name_int(pci, "_BBN", 0);
    aml_name_int(pci, "_UID", 0);
    aml_resources *r = aml_resources_new();
    aml_res_bus_numbers(r, 0, 0);
    aml_res_io(r, 0xcf8, 8);               /* configuration mechanism #1 */
    aml_res_io_window(r, 0x0000, 0x0cf7);
    aml_res_io_window(r, 0x0d00, 0xffff);
    mem32_windows(r, cfg->pci_mmio32_first, cfg->pci_mmio32_last);
    if (cfg->pci_mmio64_last > cfg->pci_mmio64_first)
        aml_res_mem64_window(r, cfg->pci_mmio64_first, cfg->pci_mmio64_last);
    aml_name_resources(pci, "_CRS", r);
    build_prt(pci);
    aml_close(pci);

    /*
     * The ECAM window as a motherboard resource: Linux uses the MCFG's region only when
     * it is reserved here (or in the e820 map) ("MMCONFIG ... not reserved in ACPI
     * motherboard resources").
     */
    aml *mres = aml_device_open(sb, "MRES");
    aml_name_eisaid(mres, "_HID", "PNP0C02");
    aml_name_int(mres, "_UID", 0);
    r = aml_resources_new();
    aml_res_mem32_fixed(r, (uint32_t)PCI_ECAM_BASE, (uint32_t)PCI_ECAM_SIZE);
    aml_name_resources(mres, "_CRS", r);
    aml_close(mres);

    aml *com1 = aml_device_open(sb, "COM1");
    aml_name_eisaid(com1, "_HID", "PNP0501");
    aml_name_int(com1, "_UID", 1);
    r = aml_resources_new();
    aml_res_io(r, 0x3f8, 8);
    aml_res_irq(r, 4);
    aml_name_resources(com1, "_CRS", r);
    aml_close(com1);
    aml_close(sb);

    /* \_S5: SLP_TYP 0 for PM1a and PM1b, as on QEMU's pc machine. */
    static const uint64_t s5[] = { 0, 0, 0, 0 };
    aml_name_int_package(top, "_S5_", s5, G_N_ELEMENTS(s5));

    g_byte_array_append(b, aml_data(top), (guint)aml_len(top));
    aml_free(top);
    return end_table(b, start);
}

/* MCFG: one ECAM allocation, segment 0, buses 0-0 (the PCI core decodes bus 0 only). */
static uint32_t build_mcfg(GByteArray *b)
{
    size_t start = begin_table(b, "MCFG", 1);
    put_le(b, 0, 8);               /* reserved */
    put_le(b, PCI_ECAM_BASE, 8);   /* base address of the enhanced configuration mechanism */
    put_le(b, 0, 2);               /* PCI segment group */
    put8(b, 0);                    /* start bus */
    put8(b, (uint8_t)(PCI_ECAM_SIZE / (PCI_SLOTS * PCI_FUNCS * 4096) - 1)); /* end bus */
    put_le(b, 0, 4);               /* reserved */
    return end_table(b, start);
}

int acpi_build(const acpi_config *cfg_in, uint64_t base, GByteArray **blob, acpi_layout *lay,
               GError **err)
{
    acpi_config cfg = *cfg_in;
    GByteArray *b;

    if (cfg.nr_vcpus == 0 || cfg.nr_vcpus > ACPI_MAX_CPUS) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "ACPI tables: %u vCPUs; the MADT describes 1 to %u", cfg.nr_vcpus,
                    ACPI_MAX_CPUS);
        return -EINVAL;
    }
    for (unsigned i = 0; cfg.apic_ids && i < cfg.nr_vcpus; i++) {
        if (cfg.apic_ids[i] > 254) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "ACPI tables: vCPU %u has APIC id %u; the MADT describes ids up to 254",
                        i, cfg.apic_ids[i]);
            return -EINVAL;
        }
    }
    if (!cfg.pci_mmio32_first && !cfg.pci_mmio32_last) {
        cfg.pci_mmio32_first = (uint32_t)GUEST_PCI_HOLE_START;
        cfg.pci_mmio32_last = ACPI_IOAPIC_GPA - 1;
    }
    b = g_byte_array_new();
    memset(lay, 0, sizeof(*lay));

    /* RSDP: addresses filled in once the tables are placed. */
    lay->rsdp = base;
    put_bytes(b, "RSD PTR ", 8);
    put8(b, 0);                  /* checksum of the first 20 bytes */
    put_bytes(b, OEM_ID, 6);
    put8(b, 2);                  /* revision: ACPI 2.0+ */
    put_le(b, 0, 4);             /* RSDT address */
    put_le(b, 36, 4);            /* length */
    put_le(b, 0, 8);             /* XSDT address */
    put8(b, 0);                  /* extended checksum */
    put8(b, 0), put8(b, 0), put8(b, 0);
    pad_to(b, 64);

    lay->facs = base + b->len;
    build_facs(b);

    /* The DSDT and the rest need each other's addresses: build them in dependency order. */
    size_t rsdt_off = b->len;
    lay->rsdt = base + rsdt_off;
    size_t t = begin_table(b, "RSDT", 1);
    for (unsigned i = 0; i < SDT_ENTRIES; i++)
        put_le(b, 0, 4); /* FADT, MADT, MCFG */
    end_table(b, t);
    pad_to(b, 16);
    size_t xsdt_off = b->len;
    lay->xsdt = base + xsdt_off;
    t = begin_table(b, "XSDT", 1);
    for (unsigned i = 0; i < SDT_ENTRIES; i++)
        put_le(b, 0, 8);
    end_table(b, t);
    pad_to(b, 16);

    lay->dsdt = base + b->len;
    lay->dsdt_len = build_dsdt(b, &cfg);
    pad_to(b, 16);
    lay->fadt = base + b->len;
    lay->fadt_len = build_fadt(b, lay->facs, lay->dsdt);
    pad_to(b, 16);
    lay->madt = base + b->len;
    lay->madt_len = build_madt(b, &cfg);
    pad_to(b, 16);
    lay->mcfg = base + b->len;
    lay->mcfg_len = build_mcfg(b);
    pad_to(b, 16);
    lay->end = base + b->len;

    const uint64_t entries[SDT_ENTRIES] = { lay->fadt, lay->madt, lay->mcfg };
    for (unsigned i = 0; i < SDT_ENTRIES; i++) {
        set_le(b, rsdt_off + HEADER_LEN + 4 * i, entries[i], 4);
        set_le(b, xsdt_off + HEADER_LEN + 8 * i, entries[i], 8);
    }
    b->data[rsdt_off + 9] = 0;
    b->data[rsdt_off + 9] = (uint8_t)-acpi_checksum(b->data + rsdt_off, HEADER_LEN + 4 * SDT_ENTRIES);
    b->data[xsdt_off + 9] = 0;
    b->data[xsdt_off + 9] = (uint8_t)-acpi_checksum(b->data + xsdt_off, HEADER_LEN + 8 * SDT_ENTRIES);

    set_le(b, 16, lay->rsdt, 4);
    set_le(b, 24, lay->xsdt, 8);
    b->data[8] = (uint8_t)-acpi_checksum(b->data, 20);
    b->data[32] = (uint8_t)-acpi_checksum(b->data, 36);

    *blob = b;
    return 0;
}

void acpi_pci_mmio64_window(const guest_memory *gm, uint64_t *first, uint64_t *last)
{
    uint64_t top = GUEST_HIGH_RAM_START;
    for (unsigned i = 0; i < gm->nr_banks; i++)
        top = MAX(top, gm->banks[i].gpa + gm->banks[i].size);
    *first = (top + PCI_MMIO64_ALIGN - 1) & ~(PCI_MMIO64_ALIGN - 1);
    *last = PCI_MMIO64_END - 1;
}

int acpi_write(const guest_memory *gm, const acpi_config *cfg_in, acpi_layout *layout,
               GError **err)
{
    GByteArray *blob = NULL;
    acpi_config cfg = *cfg_in;
    if (!cfg.pci_mmio64_first && !cfg.pci_mmio64_last)
        acpi_pci_mmio64_window(gm, &cfg.pci_mmio64_first, &cfg.pci_mmio64_last);
    int ret = acpi_build(&cfg, ACPI_RSDP_GPA, &blob, layout, err);
    if (ret < 0)
        return ret;
    if (layout->end > ACPI_AREA_END || guest_memory_write(gm, ACPI_RSDP_GPA, blob->data, blob->len) < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "ACPI tables (%u bytes) do not fit in guest RAM at %#llx", blob->len,
                    ACPI_RSDP_GPA);
        ret = -EINVAL;
    }
    g_byte_array_free(blob, TRUE);
    return ret;
}
