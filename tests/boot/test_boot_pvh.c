/* SPDX-License-Identifier: MIT */
/*
 * boot_load_kernel with a PVH ELF (the hello test guest): hvm_start_info carries the
 * command line, the memory map, the ACPI RSDP and the initrd as module 0; the entry
 * state is the PVH ABI's.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/acpi.h"
#include "boot/boot.h"
#include "boot/pvh.h"
#include "boot/start_info.h"
#include "boot_test_util.h"

static const char *guest_elf(void)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/hello.elf", TESSERA_GUEST_DIR);
    return path;
}

START_TEST(test_pvh_with_initrd_and_acpi)
{
    fake_ram ram;
    boot_result br;
    GError *err = NULL;
    char *dir = g_dir_make_tmp("tessera-pvh-XXXXXX", NULL);
    char *initrd = g_build_filename(dir, "initrd", NULL);
    uint8_t payload[10000];

    for (unsigned i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 13);
    ck_assert(g_file_set_contents(initrd, (const char *)payload, sizeof(payload), NULL));
    fake_ram_init(&ram, 32 << 20);
    boot_config bc = { .kernel = guest_elf(), .initrd = initrd, .cmdline = "token=x",
                       .nr_vcpus = 4, .acpi = true };
    ck_assert_msg(boot_load_kernel(&ram.gm, &bc, &br, &err) == 0, "%s", err ? err->message : "");
    ck_assert_int_eq(br.kind, BOOT_KERNEL_PVH_ELF);

    struct hvm_start_info si;
    memcpy(&si, gpa_ptr(&ram, PVH_INFO_GPA, sizeof(si)), sizeof(si));
    ck_assert_uint_eq(si.magic, HVM_START_MAGIC);
    ck_assert_uint_eq(si.version, 1);
    ck_assert_uint_eq(si.rsdp_paddr, ACPI_RSDP_GPA);
    ck_assert_uint_eq(br.rsdp, ACPI_RSDP_GPA);
    ck_assert(!memcmp(gpa_ptr(&ram, si.rsdp_paddr, 8), "RSD PTR ", 8));
    ck_assert_str_eq((const char *)gpa_ptr(&ram, si.cmdline_paddr, 8), "token=x");
    /* RAM below 640 KiB, the ACPI area reserved, RAM from 1 MiB */
    ck_assert_uint_eq(si.memmap_entries, 3);
    struct hvm_memmap_table_entry map[3];
    memcpy(map, gpa_ptr(&ram, si.memmap_paddr, sizeof(map)), sizeof(map));
    ck_assert_uint_eq(map[0].type, HVM_MEMMAP_TYPE_RAM);
    ck_assert_uint_eq(map[0].addr + map[0].size, 0xa0000);
    ck_assert_uint_eq(map[1].type, HVM_MEMMAP_TYPE_RESERVED);
    ck_assert_uint_eq(map[1].addr, 0xe0000);
    ck_assert_uint_eq(map[1].addr + map[1].size, 0x100000);
    ck_assert_uint_eq(map[2].type, HVM_MEMMAP_TYPE_RAM);
    ck_assert_uint_eq(map[2].addr, 0x100000);
    ck_assert_uint_eq(map[2].addr + map[2].size, 32u << 20);

    /* the initrd: module 0, page aligned, at the top of RAM, intact */
    ck_assert_uint_eq(si.nr_modules, 1);
    ck_assert_uint_eq(si.modlist_paddr, PVH_MODLIST_GPA);
    struct hvm_modlist_entry mod;
    memcpy(&mod, gpa_ptr(&ram, si.modlist_paddr, sizeof(mod)), sizeof(mod));
    ck_assert_uint_eq(mod.size, sizeof(payload));
    ck_assert_uint_eq(mod.paddr, br.initrd_gpa);
    ck_assert_uint_eq(mod.paddr % 4096, 0);
    ck_assert_uint_eq(mod.paddr, ((32u << 20) - sizeof(payload)) & ~0xfffu);
    ck_assert(!memcmp(gpa_ptr(&ram, mod.paddr, sizeof(payload)), payload, sizeof(payload)));

    /* entry state: 32-bit protected mode, paging off, ebx = start_info */
    ck_assert(!br.cpu.long_mode);
    ck_assert_uint_eq(br.cpu.rbx, PVH_INFO_GPA);
    ck_assert_uint_eq(br.cpu.cr0 & (BOOT_CR0_PE | BOOT_CR0_PG), BOOT_CR0_PE);
    ck_assert_uint_eq(br.cpu.cs.db, 1);
    ck_assert_uint_eq(br.cpu.cs.l, 0);
    ck_assert_uint_ge(br.cpu.rip, 0x100000);

    /* the MADT lists the 4 vCPUs */
    const uint8_t *rsdp = gpa_ptr(&ram, ACPI_RSDP_GPA, 36);
    const uint8_t *xsdt = gpa_ptr(&ram, rd64(rsdp + 24), 52);
    const uint8_t *madt = gpa_ptr(&ram, rd64(xsdt + 44), 36);
    ck_assert(!memcmp(madt, "APIC", 4));
    unsigned lapics = 0;
    for (uint32_t off = 44; off < rd32(madt + 4); off += madt[off + 1])
        lapics += madt[off] == 0;
    ck_assert_uint_eq(lapics, 4);

    g_unlink(initrd);
    g_rmdir(dir);
    g_free(initrd);
    g_free(dir);
    fake_ram_free(&ram);
}
END_TEST

START_TEST(test_pvh_initrd_too_big)
{
    fake_ram ram;
    boot_result br;
    GError *err = NULL;
    char *dir = g_dir_make_tmp("tessera-pvh-XXXXXX", NULL);
    char *initrd = g_build_filename(dir, "big.img", NULL);
    size_t big = 3 << 20;
    char *data = calloc(1, big);

    ck_assert(g_file_set_contents(initrd, data, (gssize)big, NULL));
    fake_ram_init(&ram, 4 << 20); /* the image sits at 1 MiB; 3 MiB cannot fit beside it */
    boot_config bc = { .kernel = guest_elf(), .initrd = initrd, .acpi = false };
    ck_assert_int_eq(boot_load_kernel(&ram.gm, &bc, &br, &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "big.img: the 3145728-byte initrd does not fit"), "%s",
                  err->message);
    g_clear_error(&err);
    /* without ACPI, no RSDP is announced */
    bc.initrd = NULL;
    ck_assert_int_eq(boot_load_kernel(&ram.gm, &bc, &br, NULL), 0);
    struct hvm_start_info si;
    memcpy(&si, gpa_ptr(&ram, PVH_INFO_GPA, sizeof(si)), sizeof(si));
    ck_assert_uint_eq(si.rsdp_paddr, 0);
    ck_assert_uint_eq(si.nr_modules, 0);
    ck_assert_uint_eq(si.memmap_entries, 2); /* no ACPI area to reserve */
    g_unlink(initrd);
    g_rmdir(dir);
    g_free(initrd);
    g_free(dir);
    free(data);
    fake_ram_free(&ram);
}
END_TEST

int main(void)
{
    if (!g_file_test(guest_elf(), G_FILE_TEST_EXISTS)) {
        printf("SKIP: %s not built (the test guests need gcc on an x86-64 host)\n", guest_elf());
        return 77;
    }
    Suite *s = suite_create("boot-pvh");
    TCase *tc = tcase_create("pvh");
    tcase_add_test(tc, test_pvh_with_initrd_and_acpi);
    tcase_add_test(tc, test_pvh_initrd_too_big);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
