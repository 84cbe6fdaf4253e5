/* SPDX-License-Identifier: MIT */
/* Kernel recognition and the whole boot set-up (boot.h). */
#include "boot/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/bzimage.h"
#include "boot/pvh.h"
#include "util/error.h"

boot_kernel_kind boot_detect(const void *buf, size_t len)
{
    if (len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG))
        return BOOT_KERNEL_PVH_ELF;
    if (bzimage_probe(buf, len))
        return BOOT_KERNEL_BZIMAGE;
    return BOOT_KERNEL_UNKNOWN;
}

const char *boot_kernel_kind_name(boot_kernel_kind kind)
{
    switch (kind) {
    case BOOT_KERNEL_PVH_ELF:
        return "PVH ELF";
    case BOOT_KERNEL_BZIMAGE:
        return "bzImage";
    default:
        return "unknown";
    }
}

static int read_file(const char *what, const char *path, char **data, gsize *len, GError **err)
{
    GError *ferr = NULL;

    if (!g_file_get_contents(path, data, len, &ferr)) {
        int ret = ferr->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO;
        g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "cannot read %s: %s", what, ferr->message);
        g_error_free(ferr);
        return ret;
    }
    return 0;
}

static int unknown_kind(const char *path, const void *buf, size_t len, GError **err)
{
    const uint8_t *b = buf;
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                "%s: neither a PVH ELF kernel (no \\177ELF magic at offset 0: found "
                "%02x %02x %02x %02x) nor a Linux bzImage (no \"HdrS\" at offset 0x202%s); "
                "-kernel takes one of these",
                path, len > 0 ? b[0] : 0, len > 1 ? b[1] : 0, len > 2 ? b[2] : 0,
                len > 3 ? b[3] : 0, len < 0x206 ? ": the file is too short" : "");
    return -EINVAL;
}

int boot_detect_file(const char *path, boot_kernel_kind *kind, GError **err)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    int ret = read_file("kernel", path, &data, &len, err);
    if (ret < 0)
        return ret;
    *kind = boot_detect(data, len);
    return *kind == BOOT_KERNEL_UNKNOWN ? unknown_kind(path, data, len, err) : 0;
}

/* The PVH ABI's entry state: 32-bit protected mode, paging off, ebx = start_info. */
static void pvh_cpu_state(boot_cpu_state *cpu, const pvh_boot *pb)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->rip = pb->entry;
    cpu->rbx = pb->start_info;
    cpu->rflags = BOOT_RFLAGS_RESERVED;
    cpu->cr0 = BOOT_CR0_PE | BOOT_CR0_ET;
    cpu->cs = (boot_segment){ .limit = 0xffffffff, .selector = 0x08, .type = 0xb, .present = 1,
                              .s = 1, .db = 1, .g = 1 };
    cpu->ds = (boot_segment){ .limit = 0xffffffff, .selector = 0x10, .type = 0x3, .present = 1,
                              .s = 1, .db = 1, .g = 1 };
    cpu->tr = (boot_segment){ .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1 };
}

int boot_load_kernel(const guest_memory *gm, const boot_config *cfg, boot_result *out,
                     GError **err)
{
    g_autofree char *kernel = NULL, *initrd = NULL;
    gsize kernel_len = 0, initrd_len = 0;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = read_file("kernel", cfg->kernel, &kernel, &kernel_len, err);
    if (ret < 0)
        return ret;
    out->kind = boot_detect(kernel, kernel_len);
    if (out->kind == BOOT_KERNEL_UNKNOWN)
        return unknown_kind(cfg->kernel, kernel, kernel_len, err);
    if (cfg->initrd) {
        ret = read_file("initrd", cfg->initrd, &initrd, &initrd_len, err);
        if (ret < 0)
            return ret;
    }

    if (cfg->acpi) {
        acpi_config ac = { .nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1, .apic_ids = cfg->apic_ids,
                           .irq0_to_gsi2 = cfg->irq0_to_gsi2 };
        acpi_layout lay;
        ret = acpi_write(gm, &ac, &lay, err);
        if (ret < 0)
            return ret;
        out->rsdp = lay.rsdp;
    }

    if (out->kind == BOOT_KERNEL_BZIMAGE) {
        bzimage_params p = { .cmdline = cfg->cmdline, .initrd = initrd, .initrd_len = initrd_len,
                             .initrd_name = cfg->initrd, .rsdp = out->rsdp };
        bzimage_layout lay = { 0 };
        ret = bzimage_load_buffer(gm, kernel, kernel_len, cfg->kernel, &p, &out->cpu, &lay, err);
        out->initrd_gpa = lay.initrd_gpa;
        return ret;
    }

    pvh_extras ex = { .rsdp = out->rsdp, .initrd = initrd, .initrd_len = initrd_len,
                      .initrd_name = cfg->initrd };
    pvh_boot pb;
    ret = pvh_load_buffer_ex(gm, kernel, kernel_len, cfg->kernel, cfg->cmdline, &ex, &pb, err);
    if (ret < 0)
        return ret;
    out->initrd_gpa = ex.initrd_gpa;
    pvh_cpu_state(&out->cpu, &pb);
    return 0;
}
