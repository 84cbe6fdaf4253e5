/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables: checksums and cross-references, MADT parsed back for -smp 1, 2, 4, MCFG,
 * the DSDT's PCI0 _PRT and _CRS decoded from the AML, the AML emitter's encodings, and
 * every table disassembled by iasl -d (acpica-tools) without an error or warning. The
 * iasl part is skipped, with a message, when iasl is missing.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "boot/boot.h"
#include "boot_test_util.h"
#include "pci/pci.h"

#define BASE 0xe0000ull

static const uint8_t *at(const GByteArray *b, uint64_t gpa, uint64_t len)
{
    ck_assert_uint_ge(gpa, BASE);
    ck_assert_uint_le(gpa - BASE + len, b->len);
    return b->data + (gpa - BASE);
}

static GByteArray *build(unsigned cpus, bool irq0, acpi_layout *lay)
{
    acpi_config cfg = { .nr_vcpus = cpus, .irq0_to_gsi2 = irq0 };
    GByteArray *blob = NULL;
    ck_assert_int_eq(acpi_build(&cfg, BASE, &blob, lay, NULL), 0);
    return blob;
}

static void check_table(const GByteArray *b, uint64_t gpa, const char *sig)
{
    const uint8_t *h = at(b, gpa, 36);
    ck_assert_msg(!memcmp(h, sig, 4), "table at %#lx is %.4s, want %s", (unsigned long)gpa, h, sig);
    uint32_t len = rd32(h + 4);
    ck_assert_uint_ge(len, 36);
    ck_assert_uint_eq(acpi_checksum(at(b, gpa, len), len), 0);
}

START_TEST(test_structure)
{
    acpi_layout lay;
    GByteArray *b = build(2, false, &lay);

    /* RSDP: both checksums, revision 2, pointers */
    const uint8_t *rsdp = at(b, lay.rsdp, 36);
    ck_assert(!memcmp(rsdp, "RSD PTR ", 8));
    ck_assert_uint_eq(acpi_checksum(rsdp, 20), 0);
    ck_assert_uint_eq(acpi_checksum(rsdp, 36), 0);
    ck_assert_uint_eq(rsdp[15], 2);
    ck_assert_uint_eq(rd32(rsdp + 20), 36);
    ck_assert_uint_eq(rd32(rsdp + 16), lay.rsdt);
    ck_assert_uint_eq(rd64(rsdp + 24), lay.xsdt);
    ck_assert_uint_eq(lay.rsdp % 16, 0);

    check_table(b, lay.rsdt, "RSDT");
    check_table(b, lay.xsdt, "XSDT");
    check_table(b, lay.fadt, "FACP");
    check_table(b, lay.madt, "APIC");
    check_table(b, lay.dsdt, "DSDT");
    check_table(b, lay.mcfg, "MCFG");
    const uint8_t *xsdt = at(b, lay.xsdt, 60);
    ck_assert_uint_eq(rd32(xsdt + 4), 36 + 24);
    ck_assert_uint_eq(rd64(xsdt + 36), lay.fadt);
    ck_assert_uint_eq(rd64(xsdt + 44), lay.madt);
    ck_assert_uint_eq(rd64(xsdt + 52), lay.mcfg);
    const uint8_t *rsdt = at(b, lay.rsdt, 48);
    ck_assert_uint_eq(rd32(rsdt + 4), 36 + 12);
    ck_assert_uint_eq(rd32(rsdt + 36), lay.fadt);
    ck_assert_uint_eq(rd32(rsdt + 40), lay.madt);
    ck_assert_uint_eq(rd32(rsdt + 44), lay.mcfg);

    /* FACS: 64 bytes, 64-byte aligned, no checksum */
    const uint8_t *facs = at(b, lay.facs, 64);
    ck_assert(!memcmp(facs, "FACS", 4));
    ck_assert_uint_eq(rd32(facs + 4), 64);
    ck_assert_uint_eq(lay.facs % 64, 0);

    /* FADT: revision 6, full hardware (not reduced), SCI 9, PM blocks, DSDT and FACS */
    const uint8_t *f = at(b, lay.fadt, 276);
    ck_assert_uint_eq(rd32(f + 4), 276);
    ck_assert_uint_eq(f[8], 6);
    ck_assert_uint_eq(rd32(f + 36), 0);            /* FACS only through X_FIRMWARE_CTRL */
    ck_assert_uint_eq(rd32(f + 40), lay.dsdt);
    ck_assert_uint_eq(rd64(f + 132), lay.facs);
    ck_assert_uint_eq(rd64(f + 140), lay.dsdt);
    ck_assert_uint_eq(rd16(f + 46), 9);
    ck_assert_uint_eq(rd32(f + 48), 0);            /* no SMI_CMD: always in ACPI mode */
    ck_assert_uint_eq(rd32(f + 56), ACPI_PM1A_EVT_PORT);
    ck_assert_uint_eq(rd32(f + 64), ACPI_PM1A_CNT_PORT);
    ck_assert_uint_eq(f[88], 4);
    ck_assert_uint_eq(f[89], 2);
    ck_assert_uint_eq(rd32(f + 112) & (1u << 20), 0); /* HW_REDUCED_ACPI clear */
    ck_assert_uint_eq(rd64(f + 172 + 4), ACPI_PM1A_CNT_PORT); /* X_PM1a_CNT_BLK address */
    ck_assert_uint_eq(rd64(f + 116 + 4), 0x64);    /* reset register */
    ck_assert_uint_eq(f[128], 0xfe);
    ck_assert_uint_eq(rd16(f + 109) & 2, 0);       /* no 8042 for Linux to probe */

    /* Everything fits the BIOS area below 1 MiB. */
    ck_assert_uint_le(lay.end, ACPI_AREA_END);
    g_byte_array_free(b, TRUE);
}
END_TEST

/* Walks the MADT and counts its entries; checks each against the configuration. */
static void check_madt(unsigned cpus, bool irq0)
{
    acpi_layout lay;
    GByteArray *b = build(cpus, irq0, &lay);
    const uint8_t *m = at(b, lay.madt, lay.madt_len);
    unsigned lapics = 0, ioapics = 0, overrides = 0, nmis = 0;
    bool saw_irq0 = false, saw_sci = false;

    ck_assert_uint_eq(rd32(m + 36), ACPI_LAPIC_GPA);
    ck_assert_uint_eq(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */
    for (uint32_t off = 44; off < lay.madt_len;) {
        uint8_t type = m[off], len = m[off + 1];
        ck_assert_uint_ge(len, 2);
        ck_assert_uint_le(off + len, lay.madt_len);
        const uint8_t *e = m + off;
        switch (type) {
        case 0:
            ck_assert_uint_eq(len, 8);
            ck_assert_uint_eq(e[2], lapics); /* processor UID */
            ck_assert_uint_eq(e[3], lapics); /* APIC id */
            ck_assert_uint_eq(rd32(e + 4), 1);
            lapics++;
            break;
        case 1:
            ck_assert_uint_eq(len, 12);
            ck_assert_uint_eq(rd32(e + 4), ACPI_IOAPIC_GPA);
            ck_assert_uint_eq(rd32(e + 8), 0);
            ioapics++;
            break;
        case 2:
            ck_assert_uint_eq(len, 10);
            ck_assert_uint_eq(e[2], 0);
            if (e[3] == 0) {
                ck_assert_uint_eq(rd32(e + 4), 2);
                saw_irq0 = true;
            } else {
                ck_assert_uint_eq(e[3], 9);
                ck_assert_uint_eq(rd32(e + 4), 9);
                ck_assert_uint_eq(rd16(e + 8), 0xd); /* level, active high */
                saw_sci = true;
            }
            overrides++;
            break;
        case 4:
            ck_assert_uint_eq(len, 6);
            ck_assert_uint_eq(e[2], 0xff);
            ck_assert_uint_eq(e[5], 1);
            nmis++;
            break;
        default:
            ck_abort_msg("unexpected MADT entry type %u", type);
        }
        off += len;
    }
    ck_assert_uint_eq(lapics, cpus);
    ck_assert_uint_eq(ioapics, 1);
    ck_assert_uint_eq(overrides, irq0 ? 2 : 1);
    ck_assert(saw_sci);
    ck_assert(saw_irq0 == irq0);
    ck_assert_uint_eq(nmis, 1);
    g_byte_array_free(b, TRUE);
}

/* Sparse APIC ids (e.g. -smp 3,cores=4) appear as given. */
START_TEST(test_madt_apic_ids)
{
    static const uint32_t ids[] = { 0, 1, 4, 5 };
    acpi_config cfg = { .nr_vcpus = 4, .apic_ids = ids };
    acpi_layout lay;
    GByteArray *b = NULL;

    ck_assert_int_eq(acpi_build(&cfg, BASE, &b, &lay, NULL), 0);
    const uint8_t *m = at(b, lay.madt, lay.madt_len);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_uint_eq(m[44 + 8 * i], 0);
        ck_assert_uint_eq(m[44 + 8 * i + 2], i);
        ck_assert_uint_eq(m[44 + 8 * i + 3], ids[i]);
    }
    g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_madt_smp)
{
    static const unsigned counts[] = { 1, 2, 4, 64, 255 };
    for (unsigned i = 0; i < G_N_ELEMENTS(counts); i++) {
        check_madt(counts[i], false);
        check_madt(counts[i], true);
    }
}
END_TEST

START_TEST(test_bad_config)
{
    acpi_config cfg = { .nr_vcpus = 0 };
    acpi_layout lay;
    GByteArray *blob = NULL;
    GError *err = NULL;

    ck_assert_int_eq(acpi_build(&cfg, BASE, &blob, &lay, &err), -EINVAL);
    ck_assert_ptr_null(blob);
    ck_assert_msg(strstr(err->message, "1 to 255"), "%s", err->message);
    g_clear_error(&err);
    cfg.nr_vcpus = 256;
    ck_assert_int_eq(acpi_build(&cfg, BASE, &blob, &lay, &err), -EINVAL);
    g_clear_error(&err);
    static const uint32_t far[] = { 0, 255 };
    cfg = (acpi_config){ .nr_vcpus = 2, .apic_ids = far };
    ck_assert_int_eq(acpi_build(&cfg, BASE, &blob, &lay, &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "vCPU 1 has APIC id 255"), "%s", err->message);
    g_clear_error(&err);
}
END_TEST

/* MCFG: one allocation, the ECAM window of docs/pci.md, segment 0, bus 0 only. */
START_TEST(test_mcfg)
{
    acpi_layout lay;
    GByteArray *b = build(1, true, &lay);
    const uint8_t *m = at(b, lay.mcfg, 60);

    ck_assert_uint_eq(lay.mcfg_len, 60);
    ck_assert_uint_eq(rd32(m + 4), 60); /* header, 8 reserved bytes, one 16-byte entry */
    ck_assert_uint_eq(m[8], 1);
    ck_assert_uint_eq(rd64(m + 36), 0);
    ck_assert_uint_eq(rd64(m + 44), 0xe0000000ull);
    ck_assert_uint_eq(rd16(m + 52), 0); /* segment */
    ck_assert_uint_eq(m[54], 0);        /* start bus */
    ck_assert_uint_eq(m[55], 0);        /* end bus */
    ck_assert_uint_eq(rd32(m + 56), 0);
    /* the window holds exactly buses start..end: 1 MiB per bus */
    ck_assert_uint_eq((uint64_t)(m[55] - m[54] + 1) << 20, PCI_ECAM_SIZE);
    g_byte_array_free(b, TRUE);
}
END_TEST

/* ---- a small AML reader for the objects tessera emits ---- */

typedef struct aml_cursor {
    const uint8_t *p, *end;
} aml_cursor;

static uint8_t cur_byte(aml_cursor *c)
{
    ck_assert_msg(c->p < c->end, "AML runs past its package");
    return *c->p++;
}

/* PkgLength: returns the end of the package that starts at the length's first byte. */
static const uint8_t *cur_pkg_end(aml_cursor *c)
{
    const uint8_t *start = c->p;
    uint8_t lead = cur_byte(c);
    unsigned extra = lead >> 6;
    size_t len = extra ? (lead & 0xf) : (lead & 0x3f);
    for (unsigned i = 0; i < extra; i++)
        len |= (size_t)cur_byte(c) << (4 + 8 * i);
    ck_assert_uint_le(len, (size_t)(c->end - start));
    return start + len;
}

static uint64_t cur_int(aml_cursor *c)
{
    uint8_t op = cur_byte(c);
    unsigned n;
    switch (op) {
    case 0x00: return 0;
    case 0x01: return 1;
    case 0xff: return ~0ull;
    case 0x0a: n = 1; break;
    case 0x0b: n = 2; break;
    case 0x0c: n = 4; break;
    case 0x0e: n = 8; break;
    default: ck_abort_msg("AML opcode %#x where an integer should be", op); return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)cur_byte(c) << (8 * i);
    /* the emitter uses the shortest encoding, as iasl does */
    ck_assert_msg(v > 1 && (n == 1 || v >> (8 * n / 2)), "%#lx not in its shortest form",
                  (unsigned long)v);
    return v;
}

/* The object after "Name (seg" inside the DSDT's Device (dev); a cursor on its value. */
static aml_cursor dsdt_name(const uint8_t *dsdt, uint32_t len, const char *dev, const char *seg)
{
    const uint8_t *end = dsdt + len, *d = NULL;
    for (const uint8_t *p = dsdt + 36; p + 4 <= end && !d; p++)
        if (p[0] == 0x5b && p[1] == 0x82 && p + 6 < end) {
            aml_cursor c = { p + 2, end };
            const uint8_t *dev_end = cur_pkg_end(&c);
            if (c.p + 4 <= dev_end && !memcmp(c.p, dev, 4)) {
                d = c.p + 4;
                end = dev_end;
            }
        }
    ck_assert_msg(d != NULL, "no Device (%s) in the DSDT", dev);
    for (const uint8_t *p = d; p + 5 <= end; p++)
        if (p[0] == 0x08 && !memcmp(p + 1, seg, 4))
            return (aml_cursor){ p + 5, end };
    ck_abort_msg("no Name (%s) in Device (%s)", seg, dev);
    return (aml_cursor){ NULL, NULL };
}

/* Every pin of every slot goes to the GSI the PCI core raises (docs/pci.md, "INTx"). */
START_TEST(test_prt)
{
    acpi_layout lay;
    GByteArray *b = build(2, true, &lay);
    aml_cursor c = dsdt_name(at(b, lay.dsdt, lay.dsdt_len), lay.dsdt_len, "PCI0", "_PRT");
    bool seen[32][4] = { { false } };

    ck_assert_uint_eq(cur_byte(&c), 0x12); /* Package */
    const uint8_t *prt_end = cur_pkg_end(&c);
    ck_assert_uint_eq(cur_byte(&c), 128);  /* 32 slots x 4 pins */
    for (unsigned i = 0; i < 128; i++) {
        ck_assert_uint_eq(cur_byte(&c), 0x12);
        const uint8_t *e_end = cur_pkg_end(&c);
        ck_assert_uint_eq(cur_byte(&c), 4);
        uint64_t addr = cur_int(&c), pin = cur_int(&c), source = cur_int(&c), gsi = cur_int(&c);
        ck_assert_ptr_eq(c.p, e_end);
        ck_assert_uint_eq(addr & 0xffff, 0xffff); /* all functions of the slot */
        unsigned slot = (unsigned)(addr >> 16);
        ck_assert_uint_lt(slot, 32);
        ck_assert_uint_lt(pin, 4);
        ck_assert_msg(!seen[slot][pin], "slot %u pin %u twice", slot, (unsigned)pin);
        seen[slot][pin] = true;
        ck_assert_uint_eq(source, 0); /* the direct form: the index is a GSI */
        /* pin P (1 = INTA) of slot S raises GSI 16 + ((S + P - 1) mod 4) */
        ck_assert_uint_eq(gsi, 16 + (slot + (pin + 1) - 1) % 4);
    }
    ck_assert_ptr_eq(c.p, prt_end);

    /* a few by hand: the swizzle turns with the slot */
    static const struct { unsigned slot, pin, gsi; } want[] = {
        { 0, 0, 16 }, { 1, 0, 17 }, { 2, 3, 17 }, { 3, 1, 16 }, { 4, 2, 18 }, { 31, 3, 18 },
    };
    c = dsdt_name(at(b, lay.dsdt, lay.dsdt_len), lay.dsdt_len, "PCI0", "_PRT");
    cur_byte(&c), cur_pkg_end(&c), cur_byte(&c);
    for (unsigned i = 0; i < 128; i++) {
        cur_byte(&c), cur_pkg_end(&c), cur_byte(&c);
        uint64_t addr = cur_int(&c), pin = cur_int(&c);
        cur_int(&c);
        uint64_t gsi = cur_int(&c);
        for (unsigned k = 0; k < G_N_ELEMENTS(want); k++)
            if (addr >> 16 == want[k].slot && pin == want[k].pin)
                ck_assert_uint_eq(gsi, want[k].gsi);
    }
    g_byte_array_free(b, TRUE);
}
END_TEST

typedef struct window {
    uint8_t type; /* 0 memory, 1 I/O, 2 bus numbers */
    uint64_t min, max, len;
} window;

/* The address-space descriptors of Name (_CRS) in Device (dev); also the fixed memory ones. */
static unsigned crs_windows(const uint8_t *dsdt, uint32_t len, const char *dev, window *w,
                            unsigned max, window *fixed)
{
    aml_cursor c = dsdt_name(dsdt, len, dev, "_CRS");
    unsigned n = 0;
    bool end_tag = false;

    ck_assert_uint_eq(cur_byte(&c), 0x11); /* Buffer */
    c.end = cur_pkg_end(&c);
    uint64_t size = cur_int(&c);
    ck_assert_uint_eq(size, (uint64_t)(c.end - c.p));
    while (c.p < c.end && !end_tag) {
        uint8_t tag = cur_byte(&c);
        if (!(tag & 0x80)) { /* small descriptor */
            unsigned l = tag & 7;
            end_tag = (tag >> 3) == 0xf;
            ck_assert_uint_le(l, (size_t)(c.end - c.p));
            c.p += l;
            continue;
        }
        uint16_t l = cur_byte(&c); /* two statements: the bytes in order */
        l = (uint16_t)(l | cur_byte(&c) << 8);
        ck_assert_uint_le(l, (size_t)(c.end - c.p));
        const uint8_t *d = c.p;
        c.p += l;
        if (tag == 0x86 && fixed) { /* Memory32Fixed */
            ck_assert_uint_eq(l, 9);
            *fixed = (window){ 0, rd32(d + 1), rd32(d + 1) + rd32(d + 5) - 1, rd32(d + 5) };
            continue;
        }
        unsigned width = tag == 0x88 ? 2 : tag == 0x87 ? 4 : tag == 0x8a ? 8 : 0;
        if (!width)
            continue;
        ck_assert_uint_eq(l, 3 + 5 * width);
        ck_assert_uint_lt(n, max);
        uint64_t v[5] = { 0 };
        for (unsigned k = 0; k < 5; k++)
            for (unsigned i = 0; i < width; i++)
                v[k] |= (uint64_t)d[3 + k * width + i] << (8 * i);
        ck_assert_uint_eq(d[1] & 0x0c, 0x0c); /* min and max fixed */
        ck_assert_uint_eq(v[4], v[2] - v[1] + 1);
        w[n++] = (window){ d[0], v[1], v[2], v[4] };
    }
    ck_assert(end_tag);
    return n;
}

/*
 * PCI0's _CRS: bus 0 only, the I/O space around the config ports (with the I/O BARs at
 * 0xc000-0xffff inside), the 32-bit hole below the IOAPIC without the ECAM window, and
 * the 64-bit window the PCI core uses for this RAM; MRES reserves the ECAM window.
 */
START_TEST(test_pci0_crs)
{
    fake_ram ram;
    acpi_config cfg = { .nr_vcpus = 1 };
    acpi_layout lay;
    window w[8], ecam = { 0 };
    uint64_t first, last;

    /* 5.5 GiB: 3 GiB low, 2.5 GiB from 4 GiB; the 64-bit BARs start at 7 GiB */
    fake_ram_init(&ram, 0x160000000ull);
    acpi_pci_mmio64_window(&ram.gm, &first, &last);
    ck_assert_uint_eq(first, 0x1c0000000ull);
    ck_assert_uint_eq(last, PCI_MMIO64_END - 1);
    ck_assert_int_eq(acpi_write(&ram.gm, &cfg, &lay, NULL), 0);
    const uint8_t *dsdt = gpa_ptr(&ram, lay.dsdt, lay.dsdt_len);
    unsigned n = crs_windows(dsdt, lay.dsdt_len, "PCI0", w, G_N_ELEMENTS(w), NULL);
    ck_assert_uint_eq(n, 6);
    ck_assert(w[0].type == 2 && w[0].min == 0 && w[0].max == 0);
    ck_assert(w[1].type == 1 && w[1].min == 0 && w[1].max == 0xcf7);
    ck_assert(w[2].type == 1 && w[2].min == 0xd00 && w[2].max == 0xffff);
    ck_assert_uint_le(w[2].min, PCI_IO_BASE);
    ck_assert(w[3].type == 0 && w[3].min == PCI_MMIO32_BASE && w[3].max == PCI_ECAM_BASE - 1);
    ck_assert_uint_ge(w[3].max, PCI_MMIO32_END - 1);
    ck_assert(w[4].type == 0 && w[4].min == PCI_ECAM_BASE + PCI_ECAM_SIZE &&
              w[4].max == PCI_CHIPSET_START - 1);
    ck_assert(w[5].type == 0 && w[5].min == 0x1c0000000ull && w[5].max == 0xffffffffffull);
    n = crs_windows(dsdt, lay.dsdt_len, "MRES", w, G_N_ELEMENTS(w), &ecam);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(ecam.min, PCI_ECAM_BASE);
    ck_assert_uint_eq(ecam.len, PCI_ECAM_SIZE);
    fake_ram_free(&ram);

    /* small RAM: 64-bit BARs from 4 GiB; a given 32-bit window without the ECAM stays whole */
    fake_ram_init(&ram, 64 << 20);
    cfg.pci_mmio32_first = 0xc0000000u;
    cfg.pci_mmio32_last = 0xcfffffffu;
    ck_assert_int_eq(acpi_write(&ram.gm, &cfg, &lay, NULL), 0);
    dsdt = gpa_ptr(&ram, lay.dsdt, lay.dsdt_len);
    n = crs_windows(dsdt, lay.dsdt_len, "PCI0", w, G_N_ELEMENTS(w), NULL);
    ck_assert_uint_eq(n, 5);
    ck_assert(w[3].min == 0xc0000000u && w[3].max == 0xcfffffffu);
    ck_assert(w[4].min == 0x100000000ull && w[4].max == 0xffffffffffull);
    fake_ram_free(&ram);

    /* acpi_build alone describes no 64-bit window unless told */
    GByteArray *b = build(1, false, &lay);
    n = crs_windows(at(b, lay.dsdt, lay.dsdt_len), lay.dsdt_len, "PCI0", w, G_N_ELEMENTS(w), NULL);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(w[4].max, 0xfebfffffu);
    g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_aml_encodings)
{
    ck_assert_uint_eq(aml_eisaid("PNP0501"), 0x0105d041);
    ck_assert_uint_eq(aml_eisaid("PNP0A03"), 0x030ad041);

    /* Name (_UID, 0x1234) and a small device: exact bytes */
    aml *top = aml_new();
    aml *dev = aml_device_open(top, "DEV");
    aml_name_int(dev, "_UID", 0x1234);
    aml_close(dev);
    static const uint8_t want[] = { 0x5b, 0x82, 0x0d, 'D', 'E', 'V', '_', 0x08, '_', 'U', 'I',
                                    'D', 0x0b, 0x34, 0x12 };
    ck_assert_uint_eq(aml_len(top), sizeof(want));
    ck_assert(!memcmp(aml_data(top), want, sizeof(want)));
    aml_free(top);

    /* A package length past 63 bytes takes two bytes: 0x4N 0xMM for length 0xMMN */
    top = aml_new();
    aml *sc = aml_scope_open(top, "\\_SB_");
    for (unsigned i = 0; i < 20; i++)
        aml_name_int(sc, "ABCD", 0x10000 + i); /* 5 + 5 bytes each */
    aml_close(sc);
    const uint8_t *d = aml_data(top);
    size_t body = 5 + 20 * 10, total = body + 2;
    ck_assert_uint_eq(d[0], 0x10);
    ck_assert_uint_eq(d[1], 0x40 | (total & 0xf));
    ck_assert_uint_eq(d[2], total >> 4);
    ck_assert_uint_eq(aml_len(top), 1 + total);
    aml_free(top);

    /* Name (_PRT, Package () { Package () { 0x1FFFF, One, Zero, 0x11 } }): exact bytes */
    top = aml_new();
    aml_package *prt = aml_package_new(), *e = aml_package_new();
    aml_package_int(e, 0x1ffff);
    aml_package_int(e, 1);
    aml_package_int(e, 0);
    aml_package_int(e, 0x11);
    aml_package_add(prt, e);
    aml_name_package(top, "_PRT", prt);
    static const uint8_t want_prt[] = { 0x08, '_', 'P', 'R', 'T', 0x12, 0x0e, 0x01, 0x12, 0x0b,
                                        0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x01, 0x00, 0x0a,
                                        0x11 };
    ck_assert_uint_eq(aml_len(top), sizeof(want_prt));
    ck_assert(!memcmp(aml_data(top), want_prt, sizeof(want_prt)));
    aml_free(top);

    /* Memory32Fixed (ReadWrite, 0xE0000000, 0x100000) and the end tag */
    top = aml_new();
    aml_resources *r = aml_resources_new();
    aml_res_mem32_fixed(r, 0xe0000000u, 0x100000u);
    aml_name_resources(top, "_CRS", r);
    static const uint8_t want_crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11, 0x11, 0x0a, 0x0e,
                                        0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0,
                                        0x00, 0x00, 0x10, 0x00, 0x79, 0x00 };
    ck_assert_uint_eq(aml_len(top), sizeof(want_crs));
    ck_assert(!memcmp(aml_data(top), want_crs, sizeof(want_crs)));
    aml_free(top);
}
END_TEST

/* ---- iasl ---- */

static char *iasl_path(void)
{
    return g_find_program_in_path("iasl");
}

/* Runs iasl -d on one table file; returns its combined output. */
static char *iasl_disassemble(const char *iasl, const char *dir, const char *file, int *status)
{
    char *argv[] = { (char *)iasl, "-d", (char *)file, NULL };
    char *out = NULL, *errout = NULL;
    GError *err = NULL;
    ck_assert_msg(g_spawn_sync(dir, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errout, status,
                               &err), "iasl: %s", err ? err->message : "?");
    char *all = g_strconcat(out, errout, NULL);
    g_free(out);
    g_free(errout);
    return all;
}

/* On failure, the whole iasl output goes to stderr (Check's messages are short). */
static void require(bool ok, const char *what, const char *file, const char *out, const char *dsl)
{
    if (!ok) {
        fprintf(stderr, "---- iasl -d %s output:\n%s\n---- disassembly:\n%s\n", file,
                out ? out : "", dsl ? dsl : "");
        ck_abort_msg("%s: %s", file, what);
    }
}

/* Writes len bytes at t to dir/file, disassembles it; returns the .dsl text, sets *out. */
static char *disassemble(const char *iasl, const char *dir, const char *file, const uint8_t *t,
                         uint32_t len, char **out)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *dsl_name = g_strdup(file);
    strcpy(strrchr(dsl_name, '.'), ".dsl");
    g_autofree char *dsl_path = g_build_filename(dir, dsl_name, NULL);
    char *dsl = NULL;
    int status = -1;

    ck_assert(g_file_set_contents(path, (const char *)t, len, NULL));
    *out = iasl_disassemble(iasl, dir, file, &status);
    require(g_spawn_check_wait_status(status, NULL), "iasl -d failed", file, *out, NULL);
    require(g_file_get_contents(dsl_path, &dsl, NULL, NULL), "no .dsl written", file, *out, NULL);
    g_unlink(path);
    g_unlink(dsl_path);
    return dsl;
}

/* What iasl says when it finds something wrong in a table. */
static bool iasl_complains(const char *out, const char *dsl)
{
    return strstr(dsl, "Incorrect checksum") || strstr(dsl, "**** ") || strstr(out, "Error") ||
           strstr(out, "Warning") || strstr(dsl, "Invalid") || strstr(dsl, "Unknown");
}

static void dump_and_disassemble(unsigned cpus)
{
    g_autofree char *iasl = iasl_path();
    acpi_layout lay;
    acpi_config cfg = { .nr_vcpus = cpus, .irq0_to_gsi2 = true,
                        .pci_mmio64_first = 0x140000000ull, .pci_mmio64_last = 0xffffffffffull };
    GByteArray *b = NULL;
    ck_assert_int_eq(acpi_build(&cfg, BASE, &b, &lay, NULL), 0);
    char *dir = g_dir_make_tmp("tessera-acpi-XXXXXX", NULL);
    /* The RSDP is no table iasl -d reads (it has no length at offset 4): test_structure. */
    struct { const char *file; uint64_t gpa; const char *expect; } tables[] = {
        { "facp.dat", lay.fadt, "Hardware Reduced (V5) : 0" },
        { "apic.dat", lay.madt, "Local Apic Address : FEE00000" },
        { "dsdt.dat", lay.dsdt, "EisaId (\"PNP0501\")" },
        { "xsdt.dat", lay.xsdt, "ACPI Table Address   1 : 00000000000E" },
        { "rsdt.dat", lay.rsdt, "ACPI Table Address   1 : 000E" },
        { "facs.dat", lay.facs, "Signature : \"FACS\"" },
        { "mcfg.dat", lay.mcfg, "Base Address : 00000000E0000000" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(tables); i++) {
        const char *file = tables[i].file;
        const uint8_t *t = at(b, tables[i].gpa, 8);
        uint32_t len = rd32(t + 4);
        g_autofree char *out = NULL;
        g_autofree char *dsl = disassemble(iasl, dir, file, t, len, &out);

        require(!iasl_complains(out, dsl), "iasl reports a problem", file, out, dsl);
        require(strstr(dsl, tables[i].expect) != NULL, tables[i].expect, file, out, dsl);
        if (tables[i].gpa == lay.madt) {
            /* one "Processor Local APIC" subtable per vCPU, as iasl sees them */
            unsigned n = 0;
            for (const char *p = dsl; (p = strstr(p, "[Processor Local APIC]")); p++)
                n++;
            ck_assert_uint_eq(n, cpus);
            require(strstr(dsl, "Source : 09") && strstr(dsl, "Trigger Mode : 3"),
                    "SCI override", file, out, dsl);
        }
        if (tables[i].gpa == lay.dsdt) {
            require(strstr(dsl, "IO (Decode16,\n                    0x03F8,") &&
                        strstr(dsl, "IRQNoFlags ()\n                    {4}") &&
                        strstr(dsl, "PNP0A03") && strstr(dsl, "Name (_S5,") &&
                        strstr(dsl, "0xFEBFFFFF,         // Range Maximum"),
                    "DSDT content", file, out, dsl);
            /* PCI0: _PRT with 128 four-element entries; the ECAM left out of the windows
               and reserved by a PNP0C02 device; the 64-bit window */
            unsigned entries = 0;
            const char *prt = strstr(dsl, "Name (_PRT, "), *mres = strstr(dsl, "Device (MRES)");
            require(prt && mres && prt < mres, "_PRT in PCI0, then MRES", file, out, dsl);
            for (const char *p = prt; (p = strstr(p, "Package (0x04)")) && p < mres; p++)
                entries++;
            ck_assert_uint_eq(entries, 128);
            require(strstr(dsl, "Name (_PRT, Package (0x80)") &&
                        strstr(dsl, "0xDFFFFFFF,         // Range Maximum") &&
                        strstr(dsl, "0xE0100000,         // Range Minimum") &&
                        strstr(dsl, "QWordMemory (") &&
                        strstr(dsl, "0x000000FFFFFFFFFF, // Range Maximum") &&
                        strstr(dsl, "EisaId (\"PNP0C02\")") &&
                        strstr(dsl, "Memory32Fixed (ReadWrite,\n                    0xE0000000,"),
                    "PCI0 _PRT, windows and ECAM reservation", file, out, dsl);
            /* ... and the disassembly compiles back to the same AML */
            g_autofree char *dsl_file = g_build_filename(dir, "round.dsl", NULL);
            ck_assert(g_file_set_contents(dsl_file, dsl, -1, NULL));
            char *argv[] = { iasl, "-p", "round", "round.dsl", NULL };
            g_autofree char *cout = NULL, *cerr = NULL;
            int cst = -1;
            ck_assert(g_spawn_sync(dir, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &cout, &cerr,
                                   &cst, NULL));
            g_autofree char *cboth = g_strconcat(cout, cerr, NULL);
            require(g_spawn_check_wait_status(cst, NULL), "recompiling the DSDT", file, cboth, dsl);
            require(strstr(cboth, "0 Errors, 0 Warnings") != NULL, "recompile is not clean", file,
                    cboth, dsl);
            g_autofree char *aml_path = g_build_filename(dir, "round.aml", NULL);
            g_autofree char *round = NULL;
            gsize rlen = 0;
            ck_assert(g_file_get_contents(aml_path, &round, &rlen, NULL));
            ck_assert_uint_eq(rlen, len);
            ck_assert(!memcmp(round + 36, t + 36, len - 36)); /* header ids differ */
            g_unlink(aml_path);
            g_unlink(dsl_file);
        }
        if (tables[i].gpa == lay.mcfg)
            require(strstr(dsl, "Segment Group Number : 0000") &&
                        strstr(dsl, "Start Bus Number : 00") && strstr(dsl, "End Bus Number : 00"),
                    "MCFG allocation", file, out, dsl);
    }

    /* The check above can fail: a table with one byte changed is flagged. */
    uint8_t *bad = g_memdup2(at(b, lay.madt, lay.madt_len), lay.madt_len);
    bad[lay.madt_len - 1] ^= 0x40;
    g_autofree char *out = NULL;
    g_autofree char *dsl = disassemble(iasl, dir, "bad.dat", bad, lay.madt_len, &out);
    ck_assert(iasl_complains(out, dsl));
    g_free(bad);

    g_rmdir(dir);
    g_free(dir);
    g_byte_array_free(b, TRUE);
}

START_TEST(test_iasl)
{
    g_autofree char *iasl = iasl_path();
    if (!iasl) {
        printf("SKIP test_iasl: iasl not found (install acpica-tools)\n");
        return;
    }
    dump_and_disassemble(1);
    dump_and_disassemble(2);
    dump_and_disassemble(4);
}
END_TEST

/* acpi_write puts the tables at 0xe0000, where a guest scanning the BIOS area finds them. */
START_TEST(test_write_to_guest)
{
    fake_ram ram;
    acpi_config cfg = { .nr_vcpus = 4 };
    acpi_layout lay;

    fake_ram_init(&ram, 8 << 20);
    ck_assert_int_eq(acpi_write(&ram.gm, &cfg, &lay, NULL), 0);
    ck_assert_uint_eq(lay.rsdp, 0xe0000);
    /* the scan a guest does: 16-byte steps through 0xe0000-0xfffff */
    uint64_t found = 0;
    for (uint64_t a = 0xe0000; a < 0x100000 && !found; a += 16)
        if (!memcmp(gpa_ptr(&ram, a, 8), "RSD PTR ", 8) && acpi_checksum(gpa_ptr(&ram, a, 20), 20) == 0)
            found = a;
    ck_assert_uint_eq(found, 0xe0000);
    fake_ram_free(&ram);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acpi");
    TCase *tc = tcase_create("acpi");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_structure);
    tcase_add_test(tc, test_madt_smp);
    tcase_add_test(tc, test_madt_apic_ids);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_mcfg);
    tcase_add_test(tc, test_prt);
    tcase_add_test(tc, test_pci0_crs);
    tcase_add_test(tc, test_aml_encodings);
    tcase_add_test(tc, test_iasl);
    tcase_add_test(tc, test_write_to_guest);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
