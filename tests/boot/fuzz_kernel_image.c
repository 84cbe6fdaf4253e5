/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the kernel-image parsers and loaders: whatever the bytes, kind
 * detection, the bzImage and PVH parsers and the full load into (fake) guest RAM either
 * succeed or fail with -EINVAL and a message; they never crash, read outside the input
 * or write outside guest RAM (ASan checks). Invariants of a successful load are asserted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/boot.h"
#include "boot/bzimage.h"
#include "boot/pvh.h"

#define FUZZ_RAM (80u << 20) /* enough for a bzImage at 16 MiB with a large init_size */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static guest_memory *fuzz_ram(void)
{
    static guest_memory gm;
    static ts_memory_region region;
    if (!region.host) {
        region.host = mmap(NULL, FUZZ_RAM, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (region.host == MAP_FAILED)
            abort();
        region.size = FUZZ_RAM;
        region.fd = -1;
        if (guest_memory_init(&gm, &region, NULL) < 0)
            abort();
    }
    return &gm;
}

static void check_error(int ret, GError *err)
{
    if (ret < 0 && (ret != -EINVAL || !err || !err->message[0] || strchr(err->message, '\n')))
        abort();
    if (ret == 0 && err)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const guest_memory *gm = fuzz_ram();
    GError *err = NULL;
    int ret;

    boot_kernel_kind kind = boot_detect(data, size);
    if (kind == BOOT_KERNEL_BZIMAGE) {
        bzimage_info info;
        ret = bzimage_parse(data, size, "fuzz", &info, &err);
        check_error(ret, err);
        g_clear_error(&err);
        if (ret == 0 && (info.setup_size + info.kernel_size != size || info.version < 0x020c))
            abort();

        static const char initrd[] = "initrd bytes";
        bzimage_params p = { .cmdline = "console=ttyS0", .initrd = initrd,
                             .initrd_len = sizeof(initrd), .rsdp = 0xe0000 };
        boot_cpu_state cpu;
        bzimage_layout lay;
        ret = bzimage_load_buffer(gm, data, size, "fuzz", &p, &cpu, &lay, &err);
        check_error(ret, err);
        g_clear_error(&err);
        if (ret == 0 && (cpu.rip != lay.kernel_gpa + 0x200 || lay.initrd_gpa < lay.kernel_end ||
                         lay.initrd_gpa + sizeof(initrd) > FUZZ_RAM))
            abort();
    } else if (kind == BOOT_KERNEL_PVH_ELF) {
        pvh_image img;
        ret = pvh_parse(data, size, "fuzz", &img, &err);
        check_error(ret, err);
        g_clear_error(&err);
        pvh_extras ex = { .rsdp = 0xe0000, .initrd = data, .initrd_len = size < 4096 ? size : 4096 };
        pvh_boot pb;
        ret = pvh_load_buffer_ex(gm, data, size, "fuzz", "x=1", &ex, &pb, &err);
        check_error(ret, err);
        g_clear_error(&err);
    }
    return 0;
}
