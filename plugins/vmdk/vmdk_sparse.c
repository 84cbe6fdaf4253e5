/* SPDX-License-Identifier: MIT */
/*
 * Hosted sparse extents (KDMV): opening and bounding the header, the grain directory,
 * grain-table lookup through the cache, and writing tables back after their data.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Loads a directory. Entries pointing past the end of the file are kept: they fail
 * when used (vmdk_check reports and repairs them), so the rest of a damaged image stays
 * readable and checkable. */
static int load_directory(struct vmdk_extent *e, uint64_t sector, uint32_t **out,
                          const char *what, struct vmdk_error *err)
{
    size_t bytes = (size_t)e->gd_entries * 4;
    uint8_t *raw = malloc(bytes ? bytes : 1);
    uint32_t *gd = malloc(bytes ? bytes : 1);
    if (!raw || !gd) {
        free(raw);
        free(gd);
        return vmdk_fail(err, ENOMEM, "%s: out of memory for a %zu-byte %s", e->file->name,
                         bytes, what);
    }
    int r = vmdk_file_read_exact(e->file, raw, bytes, sector * VMDK_SECTOR, err);
    for (uint64_t i = 0; r == 0 && i < e->gd_entries; i++)
        gd[i] = vmdk_le32(raw + 4 * i);
    free(raw);
    if (r < 0) {
        free(gd);
        return r;
    }
    *out = gd;
    return 0;
}

bool vmdk_sparse_table_inside(const struct vmdk_extent *e, uint32_t sector)
{
    return sector && (uint64_t)sector * VMDK_SECTOR + (uint64_t)e->gtes * 4 <= e->file_size;
}

static int table_past_end(struct vmdk_extent *e, const char *what, uint64_t gi, uint32_t at,
                          struct vmdk_error *err)
{
    return vmdk_fail(err, EIO,
                     "%s: %s entry %" PRIu64 " points to a grain table at 0x%" PRIx64
                     " past the end of the file (size 0x%" PRIx64 ")",
                     e->file->name, what, gi, (uint64_t)at * VMDK_SECTOR, e->file_size);
}

/* COWD (ESX "vmfsSparse" redo logs): a 2048-byte header, one directory, 4096-entry
 * tables allocated on first use, no redundant copy. It is mapped onto the same fields
 * as a KDMV header so lookup, allocation and check are shared. */
static int cowd_header(struct vmdk_extent *e, const uint8_t *b, const char *name,
                       struct vmdk_error *err)
{
    uint32_t sectors = vmdk_le32(b + 12), grain = vmdk_le32(b + 16);
    uint32_t gd_offset = vmdk_le32(b + 20), gd_entries = vmdk_le32(b + 24);
    e->cowd_free_sector = vmdk_le32(b + 28);
    if (e->file_size < VMDK_COWD_HEADER_SECTORS * VMDK_SECTOR)
        return vmdk_fail(err, EINVAL, "%s: truncated COWD header (%" PRIu64 " bytes)", name,
                         e->file_size);
    if (grain == 0 || grain > VMDK_MAX_GRAIN_SECTORS)
        return vmdk_fail(err, EINVAL, "%s: Invalid granularity, image may be corrupt (COWD "
                         "grain size %" PRIu32 " sectors)", name, grain);
    if (sectors == 0)
        return vmdk_fail(err, EINVAL, "%s: COWD header has no capacity", name);
    uint64_t needed = vmdk_div_round_up(sectors, (uint64_t)VMDK_COWD_GTES * grain);
    if (gd_entries < needed || gd_entries > VMDK_MAX_GD_ENTRIES)
        return vmdk_fail(err, EINVAL, "%s: COWD grain directory has %" PRIu32 " entries, %"
                         PRIu64 " needed", name, gd_entries, needed);
    uint64_t gd_sectors = vmdk_div_round_up((uint64_t)gd_entries * 4, VMDK_SECTOR);
    if (gd_offset < VMDK_COWD_HEADER_SECTORS ||
        (uint64_t)gd_offset + gd_sectors > e->file_size / VMDK_SECTOR)
        return vmdk_fail(err, EINVAL, "%s: COWD grain directory at sector %" PRIu32
                         " lies outside the header or the file (size 0x%" PRIx64 ")",
                         name, gd_offset, e->file_size);
    memset(&e->hdr, 0, sizeof(e->hdr));
    e->hdr.magic = VMDK_COWD_MAGIC;
    e->hdr.version = vmdk_le32(b + 4);
    e->hdr.capacity = sectors;
    e->hdr.grain_size = grain;
    e->hdr.num_gtes_per_gt = VMDK_COWD_GTES;
    e->hdr.gd_offset = gd_offset;
    e->hdr.overhead = gd_offset + gd_sectors;
    return 0;
}

int vmdk_sparse_open(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err)
{
    const char *name = e->file->name;
    uint8_t buf[VMDK_SECTOR];
    int r = vmdk_file_size(e->file, &e->file_size, err);
    if (r < 0)
        return r;
    if (e->file_size < 4)
        return vmdk_fail(err, EINVAL, "%s: File is too small, not a valid image", name);
    if (e->file_size < VMDK_SECTOR)
        return vmdk_fail(err, EINVAL, "%s: truncated sparse header (%" PRIu64 " bytes)", name,
                         e->file_size);
    r = vmdk_file_read_exact(e->file, buf, sizeof(buf), 0, err);
    if (r < 0)
        return r;
    if (vmdk_le32(buf) == VMDK_COWD_MAGIC) {
        e->cowd = true;
        r = cowd_header(e, buf, name, err);
    } else {
        vmdk_header_decode(buf, &e->hdr);
        r = vmdk_header_validate(&e->hdr, name, e->file_size, e->writable, err);
    }
    if (r < 0)
        return r;
    e->compressed = e->hdr.flags & VMDK_FLAG_COMPRESSED;
    e->markers = e->hdr.flags & VMDK_FLAG_MARKERS;
    if (e->hdr.gd_offset == VMDK_GD_AT_END) {
        r = vmdk_stream_read_footer(e, name, e->writable, err);
        if (r < 0)
            return r;
    }
    e->zeroed_gte = e->hdr.flags & VMDK_FLAG_ZEROED_GTE;
    e->grain_bytes = e->hdr.grain_size * VMDK_SECTOR;
    e->gtes = e->hdr.num_gtes_per_gt;
    e->gt_sectors = (uint32_t)vmdk_div_round_up((uint64_t)e->gtes * 4, VMDK_SECTOR);
    e->gt_coverage = (uint64_t)e->gtes * e->hdr.grain_size;
    e->gd_entries = vmdk_header_gd_entries(&e->hdr);
    if (e->cowd)
        e->gt_coverage = (uint64_t)VMDK_COWD_GTES * e->hdr.grain_size;
    if (e->hdr.capacity < e->sectors)
        return vmdk_fail(err, EINVAL,
                         "%s: sparse header capacity %" PRIu64
                         " sectors is smaller than the descriptor's %" PRIu64,
                         name, e->hdr.capacity, e->sectors);

    r = load_directory(e, e->hdr.gd_offset, &e->gd, "grain directory", err);
    if (r < 0)
        return r;
    if ((e->hdr.flags & VMDK_FLAG_RGD) && e->hdr.rgd_offset && !e->gd_at_end) {
        r = load_directory(e, e->hdr.rgd_offset, &e->rgd, "redundant grain directory", err);
        if (r < 0)
            return r;
    }
    /* Default cache: 8 MiB of tables per extent (4096 KDMV tables = 128 GiB of disk
     * with 64 KiB grains; QEMU keeps 16), never more tables than the directory has. */
    unsigned slots = img->gt_cache_tables;
    if (slots == 0) {
        uint64_t n = (8u << 20) / ((uint64_t)e->gtes * 4);
        slots = (unsigned)(n < 16 ? 16 : n > 4096 ? 4096 : n);
    }
    e->gtc = vmdk_gt_cache_new(e->gd_entries, e->gtes, slots);
    if (!e->gtc)
        return vmdk_fail(err, ENOMEM, "%s: out of memory for the grain-table cache", name);
    if (e->compressed) {
        e->grc = vmdk_grain_cache_new(e->grain_bytes, img->grain_cache_grains);
        if (!e->grc)
            return vmdk_fail(err, ENOMEM, "%s: out of memory for the grain cache", name);
    }
    /* New grains go after everything in the file: grain-aligned for plain sparse
     * extents (as QEMU, so their layouts match), sector-packed for compressed ones. */
    uint64_t end = vmdk_div_round_up(e->file_size, VMDK_SECTOR);
    if (!e->compressed)
        end = vmdk_div_round_up(end, e->hdr.grain_size) * e->hdr.grain_size;
    if (e->cowd && e->cowd_free_sector > end)
        end = e->cowd_free_sector; /* VMware's allocation point */
    e->next_alloc = end > e->hdr.overhead ? end : e->hdr.overhead;
    return 0;
}

void vmdk_sparse_close(struct vmdk_extent *e)
{
    vmdk_gt_cache_free(e->gtc);
    vmdk_grain_cache_free(e->grc);
    free(e->gd);
    free(e->rgd);
    e->gtc = NULL;
    e->grc = NULL;
    e->gd = e->rgd = NULL;
}

/* Finds or loads the table for a directory index. *table is NULL when the GDE is 0
 * and create is false. */
static int get_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi, bool create,
                     uint32_t **table, struct vmdk_error *err)
{
    *table = vmdk_gt_cache_find(e->gtc, gi);
    if (*table)
        return 0;
    if (e->gd[gi] == 0 && !create)
        return 0;
    if (e->gd[gi] && !vmdk_sparse_table_inside(e, e->gd[gi]))
        return table_past_end(e, "grain directory", gi, e->gd[gi], err);
    /* Stream tails keep every new table in memory until the tail is written. */
    uint32_t *t = vmdk_gt_cache_insert(e->gtc, gi, e->gd_at_end);
    if (!t) {
        int r = vmdk_sparse_writeback(img, e, err);
        if (r < 0)
            return r;
        t = vmdk_gt_cache_insert(e->gtc, gi, false);
        if (!t)
            return vmdk_fail(err, ENOMEM, "%s: out of memory for a grain table", e->file->name);
    }
    if (e->gd[gi] == 0) {
        memset(t, 0, (size_t)e->gtes * 4);
    } else {
        size_t bytes = (size_t)e->gtes * 4;
        uint8_t raw[VMDK_MAX_TABLE_ENTRIES * 4];
        int r = vmdk_file_read_exact(e->file, raw, bytes, (uint64_t)e->gd[gi] * VMDK_SECTOR, err);
        if (r < 0) {
            /* Leave no half-filled table behind under this index. */
            memset(t, 0, bytes);
            return r;
        }
        for (uint32_t i = 0; i < e->gtes; i++)
            t[i] = vmdk_le32(raw + 4 * i);
    }
    *table = t;
    return 0;
}

int vmdk_sparse_get_gte(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                        uint32_t *gte, struct vmdk_error *err)
{
    uint64_t gi = sector / e->gt_coverage;
    uint32_t ti = (uint32_t)(sector % e->gt_coverage / e->hdr.grain_size);
    if (gi >= e->gd_entries)
        return vmdk_fail(err, EINVAL, "%s: sector %" PRIu64 " is beyond the grain directory",
                         e->file->name, sector);
    uint32_t *t;
    int r = get_table(img, e, gi, false, &t, err);
    if (r < 0)
        return r;
    *gte = t ? t[ti] : 0;
    return 0;
}

int vmdk_sparse_set_gte(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                        uint32_t gte, struct vmdk_error *err)
{
    uint64_t gi = sector / e->gt_coverage;
    uint32_t ti = (uint32_t)(sector % e->gt_coverage / e->hdr.grain_size);
    uint32_t *t;
    int r = get_table(img, e, gi, true, &t, err);
    if (r < 0)
        return r;
    t[ti] = gte;
    vmdk_gt_cache_mark_dirty(e->gtc, gi);
    return 0;
}

/* ---- writeback ---- */

struct writeback {
    struct vmdk_image *img;
    struct vmdk_extent *e;
    struct vmdk_error *err;
};

static int write_table_at(struct vmdk_extent *e, uint64_t sector, const uint32_t *table,
                          struct vmdk_error *err)
{
    uint8_t raw[VMDK_MAX_TABLE_ENTRIES * 4];
    for (uint32_t i = 0; i < e->gtes; i++)
        vmdk_put_le32(raw + 4 * i, table[i]);
    int r = vmdk_file_write(e->file, raw, (size_t)e->gtes * 4, sector * VMDK_SECTOR, err);
    if (r == 0 && sector * VMDK_SECTOR + (uint64_t)e->gtes * 4 > e->file_size)
        e->file_size = sector * VMDK_SECTOR + (uint64_t)e->gtes * 4;
    return r;
}

/* A table whose GDE is 0 gets file space now: after every grain so far, padded so the
 * grains that follow stay grain-aligned. The GD entry is set in memory only; it goes
 * to the file after the table is durable. */
static int place_new_table(struct vmdk_extent *e, uint64_t gi, struct vmdk_error *err)
{
    unsigned copies = e->rgd ? 2 : 1;
    uint64_t at = e->next_alloc;
    uint64_t end = at + (uint64_t)copies * e->gt_sectors;
    end = vmdk_div_round_up(end, e->hdr.grain_size) * e->hdr.grain_size;
    if (end >= VMDK_MAX_EXTENT_FILE_SECTORS)
        return vmdk_fail(err, ENOSPC, "%s: no room for a grain table below 2 TiB",
                         e->file->name);
    e->gd[gi] = (uint32_t)at;
    if (e->rgd)
        e->rgd[gi] = (uint32_t)(at + e->gt_sectors);
    e->next_alloc = end;
    e->gd_dirty = true;
    return 0;
}

static int write_one_table(void *ctx, uint64_t gi, uint32_t *table)
{
    struct writeback *wb = ctx;
    struct vmdk_extent *e = wb->e;
    if (e->gd[gi] == 0) {
        int r = place_new_table(e, gi, wb->err);
        if (r < 0)
            return r;
    } else if (e->rgd && e->rgd[gi] && !vmdk_sparse_table_inside(e, e->rgd[gi])) {
        return table_past_end(e, "redundant grain directory", gi, e->rgd[gi], wb->err);
    }
    int r = write_table_at(e, e->gd[gi], table, wb->err);
    if (r == 0 && e->rgd && e->rgd[gi])
        r = write_table_at(e, e->rgd[gi], table, wb->err);
    return r;
}

static int write_directory(struct vmdk_extent *e, uint64_t sector, const uint32_t *gd,
                           struct vmdk_error *err)
{
    size_t bytes = (size_t)e->gd_entries * 4;
    uint8_t *raw = malloc(bytes ? bytes : 1);
    if (!raw)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", e->file->name);
    for (uint64_t i = 0; i < e->gd_entries; i++)
        vmdk_put_le32(raw + 4 * i, gd[i]);
    int r = vmdk_file_write(e->file, raw, bytes, sector * VMDK_SECTOR, err);
    free(raw);
    return r;
}

int vmdk_sparse_writeback(struct vmdk_image *img, struct vmdk_extent *e,
                          struct vmdk_error *err)
{
    if (e->gtc && e->gd_at_end)
        return vmdk_stream_write_tail(img, e, err);
    if (!e->gtc || (!vmdk_gt_cache_any_dirty(e->gtc) && !e->gd_dirty))
        return 0;
    /* 0. COWD: VMware allocates at freeSector, so it moves past everything used before
     *    anything in the file points there. */
    int r = 0;
    if (e->cowd) {
        uint64_t end = e->next_alloc;
        for (uint64_t gi = 0; gi < e->gd_entries; gi++)
            if (e->gd[gi] == 0 && vmdk_gt_cache_find(e->gtc, gi))
                end += e->gt_sectors + e->hdr.grain_size; /* a table placed below */
        if (end > UINT32_MAX)
            return vmdk_fail(err, ENOSPC, "%s: COWD extent full", e->file->name);
        if (end > e->cowd_free_sector) {
            uint8_t v[4];
            vmdk_put_le32(v, (uint32_t)end);
            r = vmdk_file_write(e->file, v, 4, 28, err);
            if (r < 0)
                return r;
            e->cowd_free_sector = (uint32_t)end;
        }
    }
    /* 1. The grains the tables point to must be durable before the tables. */
    r = (!img || img->ordering_flush) ? vmdk_file_flush(e->file, err) : 0;
    if (r < 0)
        return r;
    /* 2. The tables. New ones get their file space here. */
    struct writeback wb = { img, e, err };
    r = vmdk_gt_cache_for_each_dirty(e->gtc, write_one_table, &wb);
    if (r < 0)
        return r == -ENOMEM ? vmdk_fail(err, ENOMEM, "%s: out of memory", e->file->name) : r;
    vmdk_gt_cache_clean_all(e->gtc);
    /* 3. Directory entries of new tables, only once those tables are durable. A crash
     *    before this point leaks the new tables; nothing points at garbage. */
    if (e->gd_dirty) {
        if (!img || img->ordering_flush) {
            r = vmdk_file_flush(e->file, err);
            if (r < 0)
                return r;
        }
        r = write_directory(e, e->hdr.gd_offset, e->gd, err);
        if (r == 0 && e->rgd)
            r = write_directory(e, e->hdr.rgd_offset, e->rgd, err);
        if (r < 0)
            return r;
        e->gd_dirty = false;
    }
    return 0;
}

/* ---- helpers for check and repair ---- */

int vmdk_sparse_copy_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi,
                           uint32_t *out, struct vmdk_error *err)
{
    uint32_t *t;
    int r = get_table(img, e, gi, false, &t, err);
    if (r < 0)
        return r;
    if (t)
        memcpy(out, t, (size_t)e->gtes * 4);
    else
        memset(out, 0, (size_t)e->gtes * 4);
    return 0;
}

int vmdk_sparse_touch_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi,
                            struct vmdk_error *err)
{
    uint32_t *t;
    int r = get_table(img, e, gi, false, &t, err);
    if (r == 0 && t)
        vmdk_gt_cache_mark_dirty(e->gtc, gi);
    return r;
}

int vmdk_sparse_reset_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi,
                            struct vmdk_error *err)
{
    e->gd[gi] = 0;
    if (e->rgd)
        e->rgd[gi] = 0;
    e->gd_dirty = true;
    uint32_t *t = vmdk_gt_cache_find(e->gtc, gi);
    if (!t) {
        int r = get_table(img, e, gi, true, &t, err);
        if (r < 0)
            return r;
    }
    memset(t, 0, (size_t)e->gtes * 4);
    vmdk_gt_cache_mark_dirty(e->gtc, gi);
    return 0;
}
