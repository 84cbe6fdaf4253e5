/* SPDX-License-Identifier: MIT */
/*
 * Booting a kernel: recognise the file (PVH ELF or Linux bzImage), write the platform
 * tables (ACPI), load the kernel, its initrd and command line, and say where the boot
 * vCPU starts. This is what -kernel/-initrd/-append end up calling.
 *
 *     boot_config bc = { .kernel = path, .initrd = NULL, .cmdline = "console=ttyS0",
 *                        .nr_vcpus = 2, .acpi = true };
 *     boot_result br;
 *     if (boot_load_kernel(gm, &bc, &br, &err) < 0) ...
 *     then set the boot vCPU's registers from br.cpu (boot_cpu.h)
 */
#ifndef TESSERA_CORE_BOOT_H
#define TESSERA_CORE_BOOT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "boot/boot_cpu.h"
#include "kvm/guest_memory.h"

typedef enum boot_kernel_kind {
    BOOT_KERNEL_UNKNOWN = 0,
    BOOT_KERNEL_PVH_ELF, /* an ELF file: booted through its Xen PHYS32_ENTRY note */
    BOOT_KERNEL_BZIMAGE, /* "HdrS" at 0x202: the Linux 64-bit boot protocol */
} boot_kernel_kind;

/* Which kind buf (a kernel file's first len bytes, or all of it) is; by content only. */
boot_kernel_kind boot_detect(const void *buf, size_t len);
/* "PVH ELF", "bzImage" or "unknown". */
const char *boot_kernel_kind_name(boot_kernel_kind kind);
/*
 * boot_detect on a file. An unreadable file is -ENOENT/-EIO, a file of neither kind is
 * -EINVAL; both with a message naming the file (and, for the latter, what was looked at).
 */
int boot_detect_file(const char *path, boot_kernel_kind *kind, GError **err);

typedef struct boot_config {
    const char *kernel;  /* path of a PVH ELF or bzImage */
    const char *initrd;  /* path, or NULL */
    const char *cmdline; /* NULL = empty */
    unsigned nr_vcpus;   /* for the MADT; 0 means 1 */
    const uint32_t *apic_ids; /* each vCPU's APIC id for the MADT; NULL = 0 .. n-1 */
    bool acpi;           /* write ACPI tables and pass their RSDP to the kernel */
    bool irq0_to_gsi2;   /* see acpi_config.irq0_to_gsi2 */
} boot_config;

typedef struct boot_result {
    boot_kernel_kind kind;
    boot_cpu_state cpu;  /* the boot vCPU's entry state */
    uint64_t rsdp;       /* 0 without ACPI */
    uint64_t initrd_gpa; /* 0 without an initrd */
} boot_result;

/*
 * Loads everything into gm (which must be zeroed RAM, as a new VM's is) and fills out.
 * Errors are one line naming the file and the problem.
 */
int boot_load_kernel(const guest_memory *gm, const boot_config *cfg, boot_result *out,
                     GError **err);

#endif
