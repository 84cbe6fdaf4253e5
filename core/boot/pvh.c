/* SPDX-License-Identifier: MIT */
/* Placing a parsed PVH image and its start-of-day data in guest memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "boot/pvh.h"
#include "boot/start_info.h"
#include "util/error.h"

/* Legacy VGA and BIOS area: not RAM as far as the guest is told. */
#define LEGACY_HOLE_START 0xa0000ull
#define LEGACY_HOLE_END 0x100000ull
#define PVH_MAX_MEMMAP ((PVH_MODLIST_GPA - PVH_INFO_GPA - sizeof(struct hvm_start_info)) / \
                        sizeof(struct hvm_memmap_table_entry))

#define BIOS_AREA_START 0xe0000ull /* ACPI tables (core/boot/acpi.h) */

/*
 * RAM as the guest should see it: the banks, minus the legacy hole below 1 MiB. With
 * ACPI tables, their area [0xe0000, 1 MiB) is listed as reserved, as in the bzImage e820.
 */
static unsigned build_memmap(const guest_memory *gm, struct hvm_memmap_table_entry *map,
                             bool acpi)
{
    unsigned n = 0;

    for (unsigned i = 0; i < gm->nr_banks; i++) {
        const guest_ram_bank *b = &gm->banks[i];
        uint64_t start = b->gpa, end = b->gpa + b->size;
        if (start < LEGACY_HOLE_START) {
            map[n++] = (struct hvm_memmap_table_entry){ start, MIN(end, LEGACY_HOLE_START) - start,
                                                        HVM_MEMMAP_TYPE_RAM, 0 };
            if (acpi && end >= LEGACY_HOLE_END)
                map[n++] = (struct hvm_memmap_table_entry){
                    BIOS_AREA_START, LEGACY_HOLE_END - BIOS_AREA_START, HVM_MEMMAP_TYPE_RESERVED, 0 };
            start = end > LEGACY_HOLE_END ? LEGACY_HOLE_END : end; /* resume above 1 MiB */
        }
        if (start < end)
            map[n++] = (struct hvm_memmap_table_entry){ start, end - start, HVM_MEMMAP_TYPE_RAM, 0 };
    }
    return n;
}

static int load_segments(const guest_memory *gm, const uint8_t *buf, const pvh_image *img,
                         const char *name, GError **err)
{
    for (unsigned i = 0; i < img->nr_segments; i++) {
        const pvh_segment *s = &img->segments[i];
        uint8_t *dst = guest_memory_ptr(gm, s->paddr, s->memsz);
        if (!dst) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: segment at %#" PRIx64 "-%#" PRIx64 " does not fit in guest RAM; "
                        "give the VM more memory",
                        name, s->paddr, s->paddr + s->memsz - 1);
            return -EINVAL;
        }
        if (s->paddr < PVH_INFO_END && s->paddr + s->memsz > PVH_INFO_GPA) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: segment at %#" PRIx64 " overlaps the boot data at %#llx-%#llx; "
                        "link the kernel at 1 MiB",
                        name, s->paddr, PVH_INFO_GPA, PVH_INFO_END - 1);
            return -EINVAL;
        }
        memcpy(dst, buf + s->file_offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    return 0;
}

/*
 * Highest page-aligned spot for size bytes in [1 MiB, limit) that no image segment
 * overlaps (below 1 MiB are the boot data, the legacy hole and the ACPI tables).
 */
static uint64_t place_module(const pvh_image *img, uint64_t limit, uint64_t size)
{
    uint64_t top = limit;

    while (size <= top && top - size >= LEGACY_HOLE_END) {
        uint64_t gpa = (top - size) & ~0xfffull;
        bool clash = false;
        for (unsigned i = 0; i < img->nr_segments && !clash; i++) {
            const pvh_segment *s = &img->segments[i];
            if (gpa < s->paddr + s->memsz && s->paddr < gpa + size) {
                top = s->paddr; /* try again below this segment */
                clash = true;
            }
        }
        if (!clash)
            return gpa >= LEGACY_HOLE_END ? gpa : 0;
    }
    return 0;
}

int pvh_load_buffer(const guest_memory *gm, const void *buf, size_t len, const char *name,
                    const char *cmdline, pvh_boot *out, GError **err)
{
    return pvh_load_buffer_ex(gm, buf, len, name, cmdline, NULL, out, err);
}

int pvh_load_buffer_ex(const guest_memory *gm, const void *buf, size_t len, const char *name,
                       const char *cmdline, pvh_extras *extras, pvh_boot *out, GError **err)
{
    pvh_image img;
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = HVM_START_INFO_VERSION,
    };
    struct hvm_memmap_table_entry map[GUEST_MAX_RAM_BANKS + 2];
    int ret;

    G_STATIC_ASSERT(G_N_ELEMENTS(map) <= PVH_MAX_MEMMAP);
    ret = pvh_parse(buf, len, name, &img, err);
    if (ret < 0)
        return ret;
    ret = load_segments(gm, buf, &img, name, err);
    if (ret < 0)
        return ret;

    if (cmdline && *cmdline) {
        size_t clen = strlen(cmdline) + 1;
        if (clen > PVH_CMDLINE_MAX) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "kernel command line is %zu bytes; shorten it to at most %llu", clen - 1,
                        PVH_CMDLINE_MAX - 1);
            return -EINVAL;
        }
        if (guest_memory_write(gm, PVH_CMDLINE_GPA, cmdline, clen) < 0)
            goto no_room;
        si.cmdline_paddr = PVH_CMDLINE_GPA;
    }
    if (extras && extras->initrd && extras->initrd_len) {
        uint64_t limit = MIN(gm->banks[0].gpa + gm->banks[0].size, GUEST_PCI_HOLE_START);
        uint64_t gpa = place_module(&img, limit, extras->initrd_len);
        struct hvm_modlist_entry mod = { 0 };
        if (!gpa) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: the %zu-byte initrd does not fit in low RAM beside the kernel; "
                        "give the VM more memory",
                        extras->initrd_name ? extras->initrd_name : "initrd", extras->initrd_len);
            return -EINVAL;
        }
        if (guest_memory_write(gm, gpa, extras->initrd, extras->initrd_len) < 0)
            goto no_room;
        mod.paddr = gpa;
        mod.size = extras->initrd_len;
        if (guest_memory_write(gm, PVH_MODLIST_GPA, &mod, sizeof(mod)) < 0)
            goto no_room;
        si.nr_modules = 1;
        si.modlist_paddr = PVH_MODLIST_GPA;
        extras->initrd_gpa = gpa;
    }
    if (extras)
        si.rsdp_paddr = extras->rsdp;
    si.memmap_entries = build_memmap(gm, map, si.rsdp_paddr != 0);
    si.memmap_paddr = PVH_INFO_GPA + sizeof(si);
    if (guest_memory_write(gm, si.memmap_paddr, map, si.memmap_entries * sizeof(map[0])) < 0 ||
        guest_memory_write(gm, PVH_INFO_GPA, &si, sizeof(si)) < 0)
        goto no_room;

    out->entry = img.entry;
    out->start_info = (uint32_t)PVH_INFO_GPA;
    return 0;

no_room:
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: guest RAM too small for the boot data", name);
    return -EINVAL;
}

int pvh_load_file(const guest_memory *gm, const char *path, const char *cmdline, pvh_boot *out,
                  GError **err)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    GError *ferr = NULL;

    if (!g_file_get_contents(path, &data, &len, &ferr)) {
        g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "cannot read kernel: %s", ferr->message);
        g_error_free(ferr);
        return -ENOENT;
    }
    return pvh_load_buffer(gm, data, len, path, cmdline, out, err);
}
