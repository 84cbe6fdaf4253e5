/* SPDX-License-Identifier: MIT */
/*
 * boot-dump: runs tessera's bzImage loader and ACPI table builder into a RAM buffer and
 * writes the result out, so that another VMM can start the kernel exactly as tessera
 * would (tests/boot/linux-boot.sh does it under QEMU TCG with the bzimage-shim guest):
 *
 *   boot-dump KERNEL INITRD CMDLINE MEM_MIB CPUS OUTDIR
 *
 * writes OUTDIR/low.bin (guest RAM 0 - 1 MiB: boot_params, command line, GDT, page
 * tables, ACPI tables), OUTDIR/kernel.bin (the protected-mode kernel as loaded),
 * OUTDIR/initrd.bin, and prints shell assignments: kernel_gpa= initrd_gpa= rip= rsi=.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "boot/acpi.h"
#include "boot/bzimage.h"

static int die(const char *what, GError *err)
{
    fprintf(stderr, "boot-dump: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
    return 1;
}

static int dump(const char *dir, const char *name, const void *p, size_t len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *err = NULL;
    if (!g_file_set_contents(path, p, (gssize)len, &err))
        return die("writing output", err);
    return 0;
}

int main(int argc, char **argv)
{
    g_autofree char *kernel = NULL, *initrd = NULL;
    gsize kernel_len = 0, initrd_len = 0;
    GError *err = NULL;

    if (argc != 7) {
        fprintf(stderr, "usage: %s KERNEL INITRD CMDLINE MEM_MIB CPUS OUTDIR\n", argv[0]);
        return 2;
    }
    uint64_t mem = strtoull(argv[4], NULL, 0) << 20;
    unsigned cpus = (unsigned)strtoul(argv[5], NULL, 0);
    if (!g_file_get_contents(argv[1], &kernel, &kernel_len, &err) ||
        !g_file_get_contents(argv[2], &initrd, &initrd_len, &err))
        return die("reading input", err);

    ts_memory_region region = { .size = mem, .fd = -1, .page_size = 4096 };
    region.host = mmap(NULL, mem, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    guest_memory gm;
    if (region.host == MAP_FAILED || guest_memory_init(&gm, &region, &err) < 0)
        return die("guest RAM", err);

    /* What boot_load_kernel does for a bzImage, with the layout kept for the dump. */
    acpi_config ac = { .nr_vcpus = cpus, .irq0_to_gsi2 = true };
    acpi_layout al;
    if (acpi_write(&gm, &ac, &al, &err) < 0)
        return die("ACPI tables", err);
    bzimage_params p = { .cmdline = argv[3], .initrd = initrd, .initrd_len = initrd_len,
                         .initrd_name = argv[2], .rsdp = al.rsdp };
    bzimage_info info;
    bzimage_layout lay;
    boot_cpu_state cpu;
    if (bzimage_parse(kernel, kernel_len, argv[1], &info, &err) < 0 ||
        bzimage_load_buffer(&gm, kernel, kernel_len, argv[1], &p, &cpu, &lay, &err) < 0)
        return die("loading the kernel", err);

    const uint8_t *ram = region.host;
    if (dump(argv[6], "low.bin", ram, 1 << 20) || dump(argv[6], "kernel.bin", ram + lay.kernel_gpa,
                                                         info.kernel_size) ||
        dump(argv[6], "initrd.bin", ram + lay.initrd_gpa, lay.initrd_size))
        return 1;
    printf("kernel_gpa=%#" PRIx64 " initrd_gpa=%#" PRIx64 " rip=%#" PRIx64 " rsi=%#" PRIx64
           " cr3=%#" PRIx64 " gdt=%#" PRIx64 "\n",
           lay.kernel_gpa, lay.initrd_gpa, cpu.rip, cpu.rsi, cpu.cr3, cpu.gdt_base);
    return 0;
}
