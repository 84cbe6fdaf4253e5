/* SPDX-License-Identifier: MIT */
/*
 * seSparse extents (ESXi 6.5+ snapshots), read-only, from the layout QEMU reverse
 * engineered (the spec, section 1.7): a constant header with (offset, size) pairs for
 * each region, a volatile header, a directory of 64-bit entries naming grain tables by
 * index, and 4096-entry tables of 64-bit entries whose top nibble says what a grain is.
 * Every value is checked against the header's regions before use.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SE_CONST_MAGIC 0xcafebabeull
#define SE_VOLATILE_MAGIC 0xcafecafeull
#define SE_VERSION 0x0000000200000001ull
#define SE_GRAIN_SECTORS 8u
#define SE_GT_SECTORS 64u
#define SE_GTES (SE_GT_SECTORS * VMDK_SECTOR / 8)
#define SE_GDE_TAG 0x10000000u

struct region {
    uint64_t offset, size; /* sectors */
};

static int fail_se(struct vmdk_extent *e, const char *what, struct vmdk_error *err)
{
    return vmdk_fail(err, EINVAL, "%s: seSparse: %s", e->file->name, what);
}

int vmdk_sesparse_open(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err)
{
    (void)img;
    uint8_t h[VMDK_SECTOR];
    int r = vmdk_file_size(e->file, &e->file_size, err);
    if (r == 0 && e->file_size < VMDK_SECTOR)
        return fail_se(e, "file too small for its header", err);
    if (r == 0)
        r = vmdk_file_read_exact(e->file, h, sizeof(h), 0, err);
    if (r < 0)
        return r;
    if (vmdk_le64(h) != SE_CONST_MAGIC)
        return fail_se(e, "Bad const header magic", err);
    if (vmdk_le64(h + 8) != SE_VERSION)
        return fail_se(e, "Unsupported version", err);
    uint64_t capacity = vmdk_le64(h + 16);
    if (vmdk_le64(h + 24) != SE_GRAIN_SECTORS)
        return fail_se(e, "Unsupported grain size", err);
    if (vmdk_le64(h + 32) != SE_GT_SECTORS)
        return fail_se(e, "Unsupported grain table size", err);
    if (vmdk_le64(h + 40) != 0)
        return fail_se(e, "Unsupported flags", err);
    for (unsigned i = 0; i < 4; i++)
        if (vmdk_le64(h + 48 + 8 * i) != 0)
            return fail_se(e, "Unsupported reserved bits", err);
    for (unsigned i = 208; i < VMDK_SECTOR; i++)
        if (h[i])
            return fail_se(e, "Unsupported non-zero const header padding", err);
    struct region reg[8]; /* volatile, journal header, journal, GD, GTs, bitmap, backmap, grains */
    uint64_t file_sectors = e->file_size / VMDK_SECTOR;
    for (unsigned i = 0; i < 8; i++) {
        reg[i].offset = vmdk_le64(h + 80 + 16 * i);
        reg[i].size = vmdk_le64(h + 88 + 16 * i);
    }
    /* The regions read here must lie inside the file (grains may be a sparse tail). */
    for (unsigned i = 0; i < 8; i++) {
        if (i != 0 && i != 3 && i != 4 && i != 7)
            continue;
        if (reg[i].offset == 0 || reg[i].offset > UINT64_MAX / VMDK_SECTOR ||
            reg[i].size > UINT64_MAX / VMDK_SECTOR - reg[i].offset ||
            (i != 7 && reg[i].offset + reg[i].size > file_sectors))
            return fail_se(e, "a header region lies outside the file", err);
    }
    if (capacity < e->sectors)
        return fail_se(e, "capacity smaller than the descriptor's extent", err);
    uint8_t v[VMDK_SECTOR];
    r = vmdk_file_read_exact(e->file, v, sizeof(v), reg[0].offset * VMDK_SECTOR, err);
    if (r < 0)
        return r;
    if (vmdk_le64(v) != SE_VOLATILE_MAGIC)
        return fail_se(e, "Bad volatile header magic", err);
    if (vmdk_le64(v + 24) != 0)
        return vmdk_fail(err, ENOTSUP, "%s: Image is dirty, Replaying journal not supported",
                         e->file->name);
    uint64_t entries = vmdk_div_round_up(e->sectors, (uint64_t)SE_GTES * SE_GRAIN_SECTORS);
    if (entries > VMDK_MAX_GD_ENTRIES || entries * 8 > reg[3].size * VMDK_SECTOR)
        return fail_se(e, "grain directory too small for the capacity", err);
    uint8_t *raw = malloc(entries ? entries * 8 : 1);
    e->se_l1 = malloc((entries ? entries : 1) * sizeof(uint64_t));
    if (!raw || !e->se_l1) {
        free(raw);
        return vmdk_fail(err, ENOMEM, "%s: out of memory", e->file->name);
    }
    r = vmdk_file_read_exact(e->file, raw, entries * 8, reg[3].offset * VMDK_SECTOR, err);
    for (uint64_t i = 0; r == 0 && i < entries; i++)
        e->se_l1[i] = vmdk_le64(raw + 8 * i);
    free(raw);
    if (r < 0)
        return r;
    e->se_l1_entries = entries;
    e->se_gt_offset = reg[4].offset;
    e->se_gt_count = reg[4].size / SE_GT_SECTORS;
    e->se_grains_offset = reg[7].offset;
    e->se_grains_count = reg[7].size / SE_GRAIN_SECTORS;
    e->grain_bytes = SE_GRAIN_SECTORS * VMDK_SECTOR;
    e->writable = false; /* as QEMU: no write support for seSparse */
    return 0;
}

void vmdk_sesparse_close(struct vmdk_extent *e)
{
    free(e->se_l1);
    e->se_l1 = NULL;
}

int vmdk_sesparse_lookup(struct vmdk_extent *e, uint64_t sector, enum vmdk_status *status,
                         uint64_t *file_offset, struct vmdk_error *err)
{
    const char *name = e->file->name;
    uint64_t l1i = sector / ((uint64_t)SE_GTES * SE_GRAIN_SECTORS);
    uint64_t l2i = sector / SE_GRAIN_SECTORS % SE_GTES;
    *file_offset = 0;
    if (l1i >= e->se_l1_entries)
        return vmdk_fail(err, EINVAL, "%s: sector %" PRIu64 " is beyond the directory", name,
                         sector);
    uint64_t gde = e->se_l1[l1i];
    if (gde == 0) {
        *status = VMDK_STATUS_UNALLOCATED;
        return 0;
    }
    uint64_t gt = gde & 0xffffffffu;
    if ((gde >> 32) != SE_GDE_TAG || gt >= e->se_gt_count)
        return vmdk_fail(err, EIO, "%s: seSparse directory entry %" PRIu64 " is invalid (0x%"
                         PRIx64 ")", name, l1i, gde);
    uint8_t b[8];
    uint64_t at = ((e->se_gt_offset + gt * SE_GT_SECTORS) * VMDK_SECTOR) + l2i * 8;
    int r = vmdk_file_read_exact(e->file, b, sizeof(b), at, err);
    if (r < 0)
        return r;
    uint64_t gte = vmdk_le64(b);
    switch (gte >> 60) {
    case 0:
        if (gte != 0)
            return vmdk_fail(err, EIO, "%s: seSparse grain table entry 0x%" PRIx64
                             " is invalid", name, gte);
        *status = VMDK_STATUS_UNALLOCATED;
        return 0;
    case 1: /* unmapped */
    case 2: /* zero */
        *status = VMDK_STATUS_ZERO;
        return 0;
    case 3: {
        uint64_t index = ((gte & 0x0fff000000000000ull) >> 48) |
                         ((gte & 0x0000ffffffffffffull) << 12);
        if (index >= e->se_grains_count)
            return vmdk_fail(err, EIO, "%s: seSparse grain %" PRIu64 " lies outside the grain "
                             "area", name, index);
        *status = VMDK_STATUS_DATA;
        *file_offset = (e->se_grains_offset + index * SE_GRAIN_SECTORS) * VMDK_SECTOR;
        return 0;
    }
    default:
        return vmdk_fail(err, EIO, "%s: seSparse grain table entry 0x%" PRIx64 " is invalid",
                         name, gte);
    }
}

int vmdk_sesparse_read(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                       uint8_t *buf, size_t len, struct vmdk_error *err)
{
    while (len) {
        uint64_t in = off % e->grain_bytes;
        size_t n = e->grain_bytes - in < len ? (size_t)(e->grain_bytes - in) : len;
        enum vmdk_status st;
        uint64_t at;
        int r = vmdk_sesparse_lookup(e, off / VMDK_SECTOR, &st, &at, err);
        if (r < 0)
            return r;
        if (st == VMDK_STATUS_UNALLOCATED && img->has_backing)
            r = img->backing.read(img->backing.ctx, e->start * VMDK_SECTOR + off, buf, n, err);
        else if (st != VMDK_STATUS_DATA)
            memset(buf, 0, n);
        else {
            /* the grain area may be a sparse tail of the file */
            ssize_t got = e->file->ops->pread(e->file, buf, n, at + in);
            if (got < 0)
                return vmdk_fail(err, (int)got, "%s: read at 0x%" PRIx64 " failed",
                                 e->file->name, at + in);
            memset(buf + got, 0, n - (size_t)got);
        }
        if (r < 0)
            return r;
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}
