/* SPDX-License-Identifier: MIT */
/*
 * PVH boot: loading an ELF kernel that carries a XEN_ELFNOTE_PHYS32_ENTRY note, and the
 * start-of-day data (hvm_start_info, memory map, command line) it expects.
 *
 * Guest memory used by the loader (besides the image's own segments):
 *   PVH_INFO_GPA ..   hvm_start_info, then the memory map; the module list at +0x800
 *   PVH_CMDLINE_GPA.. the command line, at most PVH_CMDLINE_MAX bytes with its NUL
 * The image may not overlap [PVH_INFO_GPA, PVH_INFO_END).
 */
#ifndef TESSERA_CORE_PVH_H
#define TESSERA_CORE_PVH_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/guest_memory.h"

#define PVH_INFO_GPA 0x6000ull
#define PVH_CMDLINE_GPA 0x7000ull
#define PVH_CMDLINE_MAX 0x2000ull
#define PVH_INFO_END (PVH_CMDLINE_GPA + PVH_CMDLINE_MAX)
#define PVH_MODLIST_GPA (PVH_INFO_GPA + 0x800) /* module list, in the info page */

#define PVH_MAX_SEGMENTS 16

/* One PT_LOAD segment, validated against the file it came from. */
typedef struct pvh_segment {
    uint64_t paddr;
    uint64_t file_offset;
    uint64_t filesz;
    uint64_t memsz;
} pvh_segment;

/* What an ELF file says about booting it. */
typedef struct pvh_image {
    uint32_t entry; /* from the PHYS32_ENTRY note */
    unsigned nr_segments;
    pvh_segment segments[PVH_MAX_SEGMENTS];
} pvh_image;

/* Where the vCPU starts: 32-bit protected mode at entry, ebx = start_info. */
typedef struct pvh_boot {
    uint32_t entry;
    uint32_t start_info;
} pvh_boot;

/*
 * Parses an ELF32 or ELF64 image in buf. Every header, segment and note is checked
 * against len; anything malformed, or the lack of a PHYS32_ENTRY note, is -EINVAL
 * with a message that starts with name.
 */
int pvh_parse(const void *buf, size_t len, const char *name, pvh_image *img, GError **err);

/*
 * Parses buf, copies its segments into guest memory (zero-filling each segment past its
 * file size) and writes hvm_start_info, the memory map and cmdline (NULL = none).
 */
int pvh_load_buffer(const guest_memory *gm, const void *buf, size_t len, const char *name,
                    const char *cmdline, pvh_boot *out, GError **err);

/* Optional start-of-day data for pvh_load_buffer_ex. */
typedef struct pvh_extras {
    uint64_t rsdp;          /* hvm_start_info.rsdp_paddr (0 = none) */
    const void *initrd;     /* loaded as module 0 at the top of low RAM (NULL = none) */
    size_t initrd_len;
    const char *initrd_name;/* for messages */
    uint64_t initrd_gpa;    /* out: where the initrd went */
} pvh_extras;

/*
 * pvh_load_buffer plus an RSDP address and an initrd module. The initrd goes to the
 * highest page-aligned address below the end of low RAM (and 4 GiB) that does not
 * overlap the image's segments; hvm_start_info lists it as module 0 (modlist at
 * PVH_MODLIST_GPA).
 */
int pvh_load_buffer_ex(const guest_memory *gm, const void *buf, size_t len, const char *name,
                       const char *cmdline, pvh_extras *extras, pvh_boot *out, GError **err);

/* pvh_load_buffer on the contents of the file at path. */
int pvh_load_file(const guest_memory *gm, const char *path, const char *cmdline, pvh_boot *out,
                  GError **err);

#endif
