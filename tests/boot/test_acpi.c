/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables: checksums and cross-references, MADT parsed back for -smp 1, 2, 4, the AML
 * emitter's encodings, and every table disassembled by iasl -d (acpica-tools) without an
 * error or warning. The iasl part is skipped, with a message, when iasl is missing.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "boot/boot.h"
#include "boot_test_util.h"

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
    const uint8_t *xsdt = at(b, lay.xsdt, 52);
    ck_assert_uint_eq(rd32(xsdt + 4), 36 + 16);
    ck_assert_uint_eq(rd64(xsdt + 36), lay.fadt);
    ck_assert_uint_eq(rd64(xsdt + 44), lay.madt);
    const uint8_t *rsdt = at(b, lay.rsdt, 44);
    ck_assert_uint_eq(rd32(rsdt + 36), lay.fadt);
    ck_assert_uint_eq(rd32(rsdt + 40), lay.madt);

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
    GByteArray *b = build(cpus, true, &lay);
    char *dir = g_dir_make_tmp("tessera-acpi-XXXXXX", NULL);
    /* The RSDP is no table iasl -d reads (it has no length at offset 4): test_structure. */
    struct { const char *file; uint64_t gpa; const char *expect; } tables[] = {
        { "facp.dat", lay.fadt, "Hardware Reduced (V5) : 0" },
        { "apic.dat", lay.madt, "Local Apic Address : FEE00000" },
        { "dsdt.dat", lay.dsdt, "EisaId (\"PNP0501\")" },
        { "xsdt.dat", lay.xsdt, "ACPI Table Address   1 : 00000000000E" },
        { "rsdt.dat", lay.rsdt, "ACPI Table Address   1 : 000E" },
        { "facs.dat", lay.facs, "Signature : \"FACS\"" },
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
