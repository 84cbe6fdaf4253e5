/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot ABI's start-of-day structure (Xen's x86/HVM direct boot ABI), as the
 * guest sees it: the VMM puts it in guest memory and passes its address in ebx.
 */
#ifndef TESSERA_GUEST_START_INFO_H
#define TESSERA_GUEST_START_INFO_H

#include <stdint.h>

#define HVM_START_MAGIC 0x336ec578u /* "xEn3" with the top bit of 'E' set */

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;        /* 0, or 1 when the memory map fields are valid */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;  /* array of struct hvm_modlist_entry */
    uint64_t cmdline_paddr;  /* NUL-terminated, or 0 */
    uint64_t rsdp_paddr;     /* ACPI RSDP, or 0 */
    uint64_t memmap_paddr;   /* version 1: array of struct hvm_memmap_entry */
    uint32_t memmap_entries; /* version 1 */
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

/* Types follow the e820 numbering. */
#define HVM_MEMMAP_RAM 1
#define HVM_MEMMAP_RESERVED 2
#define HVM_MEMMAP_ACPI 3
#define HVM_MEMMAP_NVS 4

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

#endif
