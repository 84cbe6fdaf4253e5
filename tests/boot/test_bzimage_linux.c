/* SPDX-License-Identifier: MIT */
/*
 * The bzImage loader on a real distribution kernel (Debian's linux-image-cloud-amd64,
 * installed by scripts/install-deps.sh; $TESSERA_LINUX_KERNEL overrides the choice).
 * Checks what the kernel will see: boot_params, e820, command line, initrd, page tables,
 * GDT and registers; and cut or corrupted copies of the kernel fail cleanly.
 * Skips (status 77) when no such kernel is installed.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/boot.h"
#include "boot/bzimage.h"
#include "boot_test_util.h"

static char *kernel_path;
static uint8_t *kernel;
static size_t kernel_len;

static char *find_kernel(void)
{
    const char *env = getenv("TESSERA_LINUX_KERNEL");
    glob_t g;
    char *path = NULL;

    if (env && *env)
        return g_strdup(env);
    if (glob("/boot/vmlinuz-*-cloud-amd64", 0, NULL, &g) == 0 && g.gl_pathc > 0)
        path = g_strdup(g.gl_pathv[g.gl_pathc - 1]);
    else if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0 && g.gl_pathc > 0)
        path = g_strdup(g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return path;
}

/* Translates va through the 4-level tables at cr3; returns 1 and *pa, or 0 if unmapped. */
static int walk(const fake_ram *ram, uint64_t cr3, uint64_t va, uint64_t *pa)
{
    uint64_t pml4e = rd64(gpa_ptr(ram, (cr3 & ~0xfffull) + ((va >> 39) & 511) * 8, 8));
    if (!(pml4e & 1))
        return 0;
    uint64_t pdpte = rd64(gpa_ptr(ram, (pml4e & 0xffffffffff000ull) + ((va >> 30) & 511) * 8, 8));
    if (!(pdpte & 1) || (pdpte & 0x80))
        return 0; /* we never use 1 GiB pages */
    uint64_t pde = rd64(gpa_ptr(ram, (pdpte & 0xffffffffff000ull) + ((va >> 21) & 511) * 8, 8));
    if (!(pde & 1) || !(pde & 0x80) || !(pde & 2))
        return 0;
    *pa = (pde & 0xfffffffe00000ull) | (va & 0x1fffff);
    return 1;
}

START_TEST(test_real_kernel_layout)
{
    fake_ram ram;
    bzimage_info info;
    bzimage_layout lay;
    boot_cpu_state cpu;
    static const char initrd[] = "an initramfs would be here";
    const char *cmdline = "console=ttyS0 earlyprintk=serial panic=-1 rdinit=/init";
    bzimage_params p = { .cmdline = cmdline, .initrd = initrd, .initrd_len = sizeof(initrd),
                         .rsdp = 0xe0000 };

    ck_assert_int_eq(bzimage_parse(kernel, kernel_len, kernel_path, &info, NULL), 0);
    ck_assert_uint_ge(info.version, 0x020c);
    ck_assert(info.xloadflags & BZ_XLF_KERNEL_64);
    ck_assert(info.relocatable);

    fake_ram_init(&ram, 256 << 20);
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, kernel, kernel_len, kernel_path, &p, &cpu, &lay,
                                         NULL), 0);
    /* The protected-mode kernel, at its preferred address, byte for byte. */
    ck_assert_uint_eq(lay.kernel_gpa, info.pref_address);
    ck_assert(!memcmp(gpa_ptr(&ram, lay.kernel_gpa, info.kernel_size), kernel + info.setup_size,
                      info.kernel_size));
    ck_assert_uint_ge(lay.kernel_end, lay.kernel_gpa + info.init_size);

    /* boot_params: the image's setup header, then our fields. */
    const uint8_t *zp = gpa_ptr(&ram, BZ_ZERO_PAGE_GPA, 4096);
    ck_assert_uint_eq(zp[0x1f1], kernel[0x1f1]);          /* setup_sects */
    ck_assert_uint_eq(rd32(zp + 0x1f4), rd32(kernel + 0x1f4)); /* syssize */
    ck_assert_uint_eq(rd16(zp + 0x1fe), 0xaa55);
    ck_assert(!memcmp(zp + 0x202, "HdrS", 4));
    ck_assert_uint_eq(rd16(zp + 0x206), info.version);
    ck_assert_uint_eq(zp[0x210], 0xff);                   /* type_of_loader: undefined */
    ck_assert(zp[0x211] & BZ_LOADFLAG_LOADED_HIGH);
    ck_assert(!(zp[0x211] & BZ_LOADFLAG_CAN_USE_HEAP));
    ck_assert_uint_eq(rd16(zp + 0x1fa), 0xffff);          /* vid_mode: normal */
    ck_assert_uint_eq(rd32(zp + 0x230), info.kernel_alignment);
    ck_assert_uint_eq(rd32(zp + 0x260), info.init_size);
    ck_assert_uint_eq(rd64(zp + 0x070), 0xe0000);         /* acpi_rsdp_addr */
    /* Nothing of ours spills outside the setup header into fields we leave zero. */
    for (unsigned off = 0x290; off < 0x2d0; off++)
        ck_assert_uint_eq(zp[off], 0);

    /* Command line. */
    ck_assert_uint_eq(rd32(zp + 0x228), BZ_CMDLINE_GPA);
    ck_assert_uint_eq(rd32(zp + 0x0c8), 0);
    ck_assert_str_eq((const char *)gpa_ptr(&ram, BZ_CMDLINE_GPA, strlen(cmdline) + 1), cmdline);

    /* initrd: page aligned, past the kernel's init_size, at the top of RAM. */
    uint64_t ig = rd32(zp + 0x218) | (uint64_t)rd32(zp + 0x0c0) << 32;
    ck_assert_uint_eq(ig, lay.initrd_gpa);
    ck_assert_uint_eq(rd32(zp + 0x21c), sizeof(initrd));
    ck_assert_uint_eq(ig % 4096, 0);
    ck_assert_uint_ge(ig, lay.kernel_end);
    ck_assert_uint_le(ig + sizeof(initrd), MIN(256u << 20, (uint64_t)info.initrd_addr_max + 1));
    ck_assert_uint_gt(ig + sizeof(initrd) + 4096, 256u << 20);
    ck_assert(!memcmp(gpa_ptr(&ram, ig, sizeof(initrd)), initrd, sizeof(initrd)));

    /* e820 */
    ck_assert_uint_eq(zp[0x1e8], 4);
    uint64_t ram_total = 0;
    for (unsigned i = 0; i < zp[0x1e8]; i++) {
        const uint8_t *e = zp + 0x2d0 + 20 * i;
        if (rd32(e + 16) == 1)
            ram_total += rd64(e + 8);
        if (i > 0) { /* sorted and disjoint */
            const uint8_t *prev = e - 20;
            ck_assert_uint_le(rd64(prev) + rd64(prev + 8), rd64(e));
        }
    }
    ck_assert_uint_eq(ram_total, (256u << 20) - 0x60000 - 0x400); /* minus EBDA..1 MiB */
    /* The kernel and initrd lie in RAM entries; the ACPI area is reserved. */
    const uint8_t *last = zp + 0x2d0 + 20 * 3;
    ck_assert_uint_eq(rd32(last + 16), 1);
    ck_assert_uint_le(rd64(last), lay.kernel_gpa);
    const uint8_t *bios = zp + 0x2d0 + 20 * 2;
    ck_assert_uint_eq(rd64(bios), 0xe0000);
    ck_assert_uint_eq(rd32(bios + 16), 2);

    /* Registers: long mode at the 64-bit entry with rsi = boot_params. */
    ck_assert(cpu.long_mode);
    ck_assert_uint_eq(cpu.rip, info.pref_address + 0x200);
    ck_assert_uint_eq(cpu.rsi, BZ_ZERO_PAGE_GPA);
    ck_assert_uint_eq(cpu.rflags & (1 << 9), 0); /* interrupts off */
    ck_assert_uint_eq(cpu.cr0 & 0x80000001u, 0x80000001u);
    ck_assert(cpu.cr4 & BOOT_CR4_PAE);
    ck_assert_uint_eq(cpu.efer & (BOOT_EFER_LME | BOOT_EFER_LMA), BOOT_EFER_LME | BOOT_EFER_LMA);

    /* GDT in memory agrees with the cached segments: 0x10 64-bit code, 0x18 flat data. */
    const uint8_t *gdt = gpa_ptr(&ram, cpu.gdt_base, cpu.gdt_limit + 1u);
    ck_assert_uint_ge(cpu.gdt_limit, 0x27);
    uint64_t code = rd64(gdt + cpu.cs.selector), data = rd64(gdt + cpu.ds.selector);
    ck_assert_uint_eq(cpu.cs.selector, 0x10);
    ck_assert_uint_eq(cpu.ds.selector, 0x18);
    ck_assert_uint_eq((code >> 40) & 0xf, cpu.cs.type);
    ck_assert_uint_eq((code >> 47) & 1, 1);          /* present */
    ck_assert_uint_eq((code >> 53) & 1, cpu.cs.l);   /* long mode */
    ck_assert_uint_eq((code >> 54) & 1, cpu.cs.db);
    ck_assert_uint_eq(cpu.cs.l, 1);
    ck_assert_uint_eq((data >> 40) & 0xf, cpu.ds.type);
    ck_assert_uint_eq((data >> 55) & 1, 1);          /* 4 KiB granularity: 4 GiB flat */
    ck_assert_uint_eq(cpu.ds.limit, 0xffffffff);
    uint64_t tss = rd64(gdt + cpu.tr.selector);
    ck_assert_uint_eq((tss >> 40) & 0xf, 0xb);       /* busy 64-bit TSS */

    /* Page tables identity-map what the kernel touches first: itself (up to init_size),
     * boot_params, the command line, the initrd, the GDT, and the rest of the low 4 GiB. */
    uint64_t probes[] = { 0, BZ_GDT_GPA, BZ_ZERO_PAGE_GPA, BZ_CMDLINE_GPA, cpu.rip,
                          lay.kernel_gpa + info.init_size - 1, ig, BZ_STACK_GPA,
                          0xfee00000, 0xffffffffull };
    for (unsigned i = 0; i < G_N_ELEMENTS(probes); i++) {
        uint64_t pa = 0;
        ck_assert_msg(walk(&ram, cpu.cr3, probes[i], &pa), "%#lx unmapped",
                      (unsigned long)probes[i]);
        ck_assert_uint_eq(pa, probes[i]);
    }
    uint64_t pa;
    ck_assert_int_eq(walk(&ram, cpu.cr3, 0x100000000ull, &pa), 0);
    /* The page tables, boot data and kernel do not overlap. */
    ck_assert_uint_lt(BZ_PD_GPA + 4 * 4096, BZ_CMDLINE_GPA);
    ck_assert_uint_lt(BZ_CMDLINE_GPA + BZ_CMDLINE_MAX, 0x9fc00);
    fake_ram_free(&ram);
}
END_TEST

/* 5 GiB: RAM above 4 GiB in the e820, the initrd kept below the kernel's initrd_addr_max. */
START_TEST(test_real_kernel_high_ram)
{
    fake_ram ram;
    bzimage_info info;
    bzimage_layout lay;
    boot_cpu_state cpu;
    static const char initrd[] = "high-ram initrd";
    bzimage_params p = { .initrd = initrd, .initrd_len = sizeof(initrd) };

    ck_assert_int_eq(bzimage_parse(kernel, kernel_len, kernel_path, &info, NULL), 0);
    fake_ram_init(&ram, 5ull << 30);
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, kernel, kernel_len, kernel_path, &p, &cpu, &lay,
                                         NULL), 0);
    const uint8_t *zp = gpa_ptr(&ram, BZ_ZERO_PAGE_GPA, 4096);
    ck_assert_uint_eq(zp[0x1e8], 5);
    const uint8_t *low = zp + 0x2d0 + 20 * 3, *high = zp + 0x2d0 + 20 * 4;
    ck_assert_uint_eq(rd64(low) + rd64(low + 8), GUEST_PCI_HOLE_START); /* the hole is no RAM */
    ck_assert_uint_eq(rd64(high), GUEST_HIGH_RAM_START);
    ck_assert_uint_eq(rd64(high + 8), (5ull << 30) - GUEST_PCI_HOLE_START);
    ck_assert_uint_eq(rd32(high + 16), 1);
    uint64_t limit = MIN(GUEST_PCI_HOLE_START, (uint64_t)info.initrd_addr_max + 1);
    ck_assert_uint_le(lay.initrd_gpa + sizeof(initrd), limit);
    ck_assert_uint_gt(lay.initrd_gpa + sizeof(initrd) + 4096, limit);
    ck_assert_uint_eq(rd32(zp + 0x0c0), 0); /* ext_ramdisk_image: below 4 GiB */
    fake_ram_free(&ram);
}
END_TEST

START_TEST(test_real_kernel_too_little_ram)
{
    fake_ram ram;
    boot_cpu_state cpu;
    GError *err = NULL;

    fake_ram_init(&ram, 32 << 20);
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, kernel, kernel_len, kernel_path, NULL, &cpu,
                                         NULL, &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "give the VM more memory") &&
                      strstr(err->message, kernel_path), "%s", err->message);
    g_error_free(err);
    fake_ram_free(&ram);
}
END_TEST

/* The real kernel cut at many lengths, and with its header fields broken one at a time. */
START_TEST(test_real_kernel_damaged)
{
    bzimage_info info;
    GError *err = NULL;
    uint8_t *copy = g_memdup2(kernel, kernel_len);
    size_t cuts[] = { 0, 1, 0x1f1, 0x205, 0x206, 0x263, 0x300, 0x1000, kernel_len / 2,
                      kernel_len - 0x10000 };
    struct { size_t off; unsigned width; uint64_t value; const char *want; } pokes[] = {
        { 0x202, 4, 0x5a726448, "HdrS" },          /* "HdrZ" */
        { 0x206, 2, 0x0206, "too old" },
        { 0x1f1, 1, 0xff, "setup_sects is 255" },
        { 0x1f4, 4, 0x0fffffff, "syssize" },
        { 0x236, 2, 0, "no 64-bit entry" },
        { 0x230, 4, 0x12345, "kernel_alignment" },
        { 0x260, 4, 0, "init_size" },
        { 0x1fe, 2, 0, "boot flag" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cuts); i++) {
        ck_assert_int_eq(bzimage_parse(kernel, cuts[i], kernel_path, &info, &err), -EINVAL);
        ck_assert(err && !strchr(err->message, '\n'));
        g_clear_error(&err);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(pokes); i++) {
        memcpy(copy, kernel, 0x1000);
        for (unsigned b = 0; b < pokes[i].width; b++)
            copy[pokes[i].off + b] = (uint8_t)(pokes[i].value >> (8 * b));
        ck_assert_int_eq(bzimage_parse(copy, kernel_len, kernel_path, &info, &err), -EINVAL);
        ck_assert_msg(strstr(err->message, pokes[i].want), "poke %u: %s", i, err->message);
        g_clear_error(&err);
    }
    g_free(copy);
}
END_TEST

int main(void)
{
    GError *err = NULL;

    kernel_path = find_kernel();
    if (!kernel_path) {
        printf("SKIP: no Linux kernel in /boot; scripts/install-deps.sh installs "
               "linux-image-cloud-amd64 (or set TESSERA_LINUX_KERNEL)\n");
        return 77;
    }
    if (!g_file_get_contents(kernel_path, (char **)&kernel, &kernel_len, &err)) {
        printf("SKIP: cannot read %s: %s\n", kernel_path, err->message);
        return 77;
    }
    printf("kernel: %s (%zu bytes)\n", kernel_path, kernel_len);

    Suite *s = suite_create("bzimage-linux");
    TCase *tc = tcase_create("linux");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_real_kernel_layout);
    tcase_add_test(tc, test_real_kernel_high_ram);
    tcase_add_test(tc, test_real_kernel_too_little_ram);
    tcase_add_test(tc, test_real_kernel_damaged);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    g_free(kernel);
    g_free(kernel_path);
    return failed ? 1 : 0;
}
