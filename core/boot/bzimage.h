/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loading with the 64-bit boot protocol (Documentation/arch/x86/boot.rst,
 * "64-bit boot protocol"): the kernel's own real-mode set-up code never runs; we build
 * the zero page (struct boot_params) ourselves and enter the kernel's 64-bit entry,
 * load address + 0x200, in long mode with identity-mapped page tables.
 *
 * Guest memory the loader uses besides the kernel and the initrd:
 *   BZ_GDT_GPA       0x0500   GDT: null, null, code 0x10, data 0x18, TSS 0x20
 *   BZ_IDT_GPA       0x0540   an empty IDT (limit 0): any early fault is a triple fault
 *   BZ_ZERO_PAGE_GPA 0x7000   struct boot_params (4 KiB)
 *   BZ_STACK_GPA     0x8ff0   initial rsp/rbp
 *   BZ_PML4_GPA      0x9000   PML4, PDPT at 0xa000, four page directories 0xb000-0xefff:
 *                             2 MiB pages identity-mapping the first 4 GiB
 *   BZ_CMDLINE_GPA   0x20000  the command line (at most the kernel's cmdline_size bytes)
 * The kernel goes to its preferred address (pref_address, 16 MiB for distribution
 * kernels) or 1 MiB for protocols without one; it needs init_size bytes of RAM there.
 * The initrd goes to the top of low RAM, below the kernel's initrd_addr_max.
 */
#ifndef TESSERA_CORE_BZIMAGE_H
#define TESSERA_CORE_BZIMAGE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot_cpu.h"
#include "kvm/guest_memory.h"

#define BZ_GDT_GPA 0x500ull
#define BZ_IDT_GPA 0x540ull
#define BZ_ZERO_PAGE_GPA 0x7000ull
#define BZ_STACK_GPA 0x8ff0ull
#define BZ_PML4_GPA 0x9000ull
#define BZ_PDPT_GPA 0xa000ull
#define BZ_PD_GPA 0xb000ull /* four 4 KiB page directories */
#define BZ_CMDLINE_GPA 0x20000ull
#define BZ_CMDLINE_MAX 0x10000ull

/* Selectors the 64-bit boot protocol requires (__BOOT_CS, __BOOT_DS), and our TSS. */
#define BZ_SEL_CODE 0x10
#define BZ_SEL_DATA 0x18
#define BZ_SEL_TSS 0x20

/* The low-memory e820 layout: EBDA and BIOS area are reserved, ACPI tables live there. */
#define BZ_EBDA_START 0x9fc00ull
#define BZ_BIOS_START 0xe0000ull /* [0xe0000, 1 MiB) reserved: ACPI tables, RSDP */
#define BZ_HIGH_MEMORY 0x100000ull
#define BZ_E820_MAX 128

#define BZ_ENTRY64_OFFSET 0x200 /* 64-bit entry = protected-mode kernel start + 0x200 */

/* Setup-header flags. */
#define BZ_LOADFLAG_LOADED_HIGH 0x01
#define BZ_LOADFLAG_KEEP_SEGMENTS 0x40
#define BZ_LOADFLAG_CAN_USE_HEAP 0x80
#define BZ_XLF_KERNEL_64 0x01
#define BZ_XLF_CAN_BE_LOADED_ABOVE_4G 0x02

/* e820 types (also used by the PVH memory map). */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3

typedef struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} e820_entry;

/* What a bzImage's setup header says, validated against the file. */
typedef struct bzimage_info {
    uint16_t version;          /* boot protocol, 0x020c = 2.12 */
    unsigned setup_sects;      /* 512-byte sectors of real-mode code (0 read as 4) */
    uint64_t setup_size;       /* (setup_sects + 1) * 512: where the kernel starts in the file */
    uint64_t kernel_size;      /* protected-mode kernel bytes in the file */
    uint8_t loadflags;
    uint16_t xloadflags;
    uint8_t relocatable;
    uint32_t kernel_alignment;
    uint32_t initrd_addr_max;  /* highest address the initrd's last byte may have */
    uint32_t cmdline_size;     /* longest command line, without the NUL */
    uint64_t pref_address;     /* where the kernel wants to be loaded */
    uint32_t init_size;        /* bytes the kernel needs from its load address on */
    uint32_t header_end;       /* end of the setup header in the file (0x202 + byte 0x201) */
} bzimage_info;

/* What to load besides the kernel. */
typedef struct bzimage_params {
    const char *cmdline;    /* NULL or "" = empty */
    const void *initrd;     /* NULL = none */
    size_t initrd_len;
    const char *initrd_name;/* for messages */
    uint64_t rsdp;          /* ACPI RSDP's guest address for boot_params.acpi_rsdp_addr, or 0 */
} bzimage_params;

/* What the loader did (for the caller's report and the tests). */
typedef struct bzimage_layout {
    uint64_t kernel_gpa, kernel_end; /* [kernel_gpa, kernel_gpa + max(file, init_size)) */
    uint64_t initrd_gpa, initrd_size;
    uint64_t cmdline_gpa;
    unsigned nr_e820;
    e820_entry e820[BZ_E820_MAX];
} bzimage_layout;

/* True when buf carries the "HdrS" magic of a Linux boot-protocol image. */
bool bzimage_probe(const void *buf, size_t len);

/*
 * Parses and validates the setup header: magic and boot flag, protocol >= 2.12 with a
 * 64-bit entry (XLF_KERNEL_64), a sane setup_sects, syssize within the file, a power-of-
 * two kernel_alignment, init_size. Every problem is -EINVAL with a message naming name.
 */
int bzimage_parse(const void *buf, size_t len, const char *name, bzimage_info *info,
                  GError **err);

/*
 * Builds the e820 map of gm: [0, EBDA) RAM, [EBDA, 0xa0000) reserved, [0xe0000, 1 MiB)
 * reserved, [1 MiB, low end) RAM, [4 GiB, ...) RAM. Returns the number of entries.
 */
unsigned bzimage_e820(const guest_memory *gm, e820_entry *map, unsigned max);

/*
 * Loads the bzImage in buf and its boot data into gm and fills the boot vCPU's state
 * (layout may be NULL). -EINVAL with a one-line message when the image is malformed or
 * does not fit (the message says how much RAM it needs).
 */
int bzimage_load_buffer(const guest_memory *gm, const void *buf, size_t len, const char *name,
                        const bzimage_params *params, boot_cpu_state *cpu,
                        bzimage_layout *layout, GError **err);

#endif
