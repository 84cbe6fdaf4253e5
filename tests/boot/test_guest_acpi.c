/* SPDX-License-Identifier: MIT */
/*
 * The test-guest runtime's ACPI reader (tests/guest/runtime/acpi.c, compiled for the
 * host here) against the tables tessera builds: the demo and smp guests count CPUs and
 * find APIC ids through exactly this code, and under QEMU they only ever see SeaBIOS's
 * tables. The tables are placed below 2 GiB (MAP_32BIT) so that their physical-address
 * links work as host pointers.
 */
#include <check.h>
#include <string.h>
#include <sys/mman.h>

#include "guest.h" /* the guest runtime's API: struct boot_info, acpi_* */

#include "boot/acpi.h"

static uint8_t *low_area;

static const struct boot_info *boot_info_for(struct hvm_start_info *si, uint64_t rsdp)
{
    static struct boot_info bi;
    memset(si, 0, sizeof(*si));
    si->magic = HVM_START_MAGIC;
    si->version = 1;
    si->rsdp_paddr = rsdp;
    bi = (struct boot_info){ .start_info = si, .cmdline = "" };
    return &bi;
}

static uint64_t place_tables(unsigned cpus, const uint32_t *ids)
{
    acpi_config cfg = { .nr_vcpus = cpus, .apic_ids = ids, .irq0_to_gsi2 = true };
    acpi_layout lay;
    GByteArray *blob = NULL;
    uint64_t base = (uint64_t)(uintptr_t)low_area;

    ck_assert_int_eq(acpi_build(&cfg, base, &blob, &lay, NULL), 0);
    memcpy(low_area, blob->data, blob->len);
    g_byte_array_free(blob, TRUE);
    return base;
}

START_TEST(test_counts_and_ids)
{
    static const unsigned counts[] = { 1, 2, 4, 16 };
    struct hvm_start_info si;

    for (unsigned c = 0; c < G_N_ELEMENTS(counts); c++) {
        uint64_t rsdp = place_tables(counts[c], NULL);
        const struct boot_info *bi = boot_info_for(&si, rsdp);
        uint32_t ids[32];
        ck_assert_int_eq(acpi_count_cpus(bi), (int)counts[c]);
        ck_assert_int_eq(acpi_cpu_apic_ids(bi, ids, 32), (int)counts[c]);
        for (unsigned i = 0; i < counts[c]; i++)
            ck_assert_uint_eq(ids[i], i);
        ck_assert_ptr_nonnull(acpi_find_table(bi, "FACP"));
        ck_assert_ptr_nonnull(acpi_find_table(bi, "APIC"));
        ck_assert_ptr_null(acpi_find_table(bi, "HPET"));
    }
    static const uint32_t sparse[] = { 0, 2, 4, 6 };
    const struct boot_info *bi = boot_info_for(&si, place_tables(4, sparse));
    uint32_t ids[4];
    ck_assert_int_eq(acpi_cpu_apic_ids(bi, ids, 4), 4);
    ck_assert_uint_eq(ids[3], 6);
}
END_TEST

START_TEST(test_damaged_tables)
{
    struct hvm_start_info si;
    uint64_t rsdp = place_tables(2, NULL);
    const struct boot_info *bi = boot_info_for(&si, rsdp);
    const uint8_t *madt = acpi_find_table(bi, "APIC");

    ck_assert_ptr_nonnull(madt);
    /* a MADT with a wrong checksum is not used */
    low_area[(const uint8_t *)madt - low_area + 40] ^= 1;
    ck_assert_int_eq(acpi_count_cpus(bi), -1);
    low_area[(const uint8_t *)madt - low_area + 40] ^= 1;
    ck_assert_int_eq(acpi_count_cpus(bi), 2);
    /* an XSDT with a bad checksum: the reader falls back to the RSDT */
    uint64_t xsdt;
    memcpy(&xsdt, low_area + 24, 8);
    low_area[xsdt - rsdp + 20] ^= 1;
    ck_assert_int_eq(acpi_count_cpus(bi), 2);
    /* and with both broken, there are no tables */
    uint32_t rsdt;
    memcpy(&rsdt, low_area + 16, 4);
    low_area[rsdt - rsdp + 20] ^= 1;
    ck_assert_int_eq(acpi_count_cpus(bi), -1);
    ck_assert_ptr_null(acpi_find_table(bi, "FACP"));
}
END_TEST

int main(void)
{
    low_area = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                    -1, 0);
    if (low_area == MAP_FAILED) {
        printf("SKIP: no memory below 2 GiB for the tables\n");
        return 77;
    }
    Suite *s = suite_create("guest-acpi");
    TCase *tc = tcase_create("acpi");
    tcase_add_test(tc, test_counts_and_ids);
    tcase_add_test(tc, test_damaged_tables);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
