/* SPDX-License-Identifier: MIT */
/*
 * streamOptimized extents: the footer, compressed grains behind markers, and the
 * append-only writer. Two layouts exist and both are read and written:
 *  - VMware's: header gdOffset = GD_AT_END; grains, then GT markers + tables, then a GD
 *    marker + directory, a footer marker + footer (header copy with the real gdOffset)
 *    and an end-of-stream marker. The engine creates this one (ESXi and VirtualBox
 *    want it). Appending overwrites the trailing metadata, which is rewritten at flush.
 *  - QEMU's: directory and tables up front like monolithicSparse, grains appended;
 *    tables are updated in place like a sparse extent.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void vmdk_marker_encode(uint8_t s[VMDK_SECTOR], uint64_t val, uint32_t type)
{
    memset(s, 0, VMDK_SECTOR);
    vmdk_put_le64(s, val);
    vmdk_put_le32(s + 8, 0);
    vmdk_put_le32(s + 12, type);
}

static bool is_marker(const uint8_t *s, uint32_t type)
{
    return vmdk_le32(s + 8) == 0 && vmdk_le32(s + 12) == type;
}

int vmdk_stream_read_footer(struct vmdk_extent *e, const char *name, bool writable,
                            struct vmdk_error *err)
{
    uint8_t buf[3 * VMDK_SECTOR];
    if (e->file_size < sizeof(buf) + VMDK_SECTOR)
        return vmdk_fail(err, EINVAL, "%s: Invalid footer (file too short to hold one)", name);
    int r = vmdk_file_read_exact(e->file, buf, sizeof(buf), e->file_size - sizeof(buf), err);
    if (r < 0)
        return r;
    struct vmdk_sparse_header footer;
    vmdk_header_decode(buf + VMDK_SECTOR, &footer);
    const uint8_t *eos = buf + 2 * VMDK_SECTOR;
    if (!is_marker(buf, VMDK_MARKER_FOOTER) || footer.magic != VMDK_SPARSE_MAGIC ||
        vmdk_le64(eos) != 0 || !is_marker(eos, VMDK_MARKER_EOS))
        return vmdk_fail(err, EINVAL,
                         "%s: Invalid footer (expected footer marker, footer and end-of-stream "
                         "marker in the last 1536 bytes)",
                         name);
    if (footer.gd_offset == VMDK_GD_AT_END)
        return vmdk_fail(err, EINVAL, "%s: Invalid footer (its grain directory offset is unset)",
                         name);
    r = vmdk_header_validate(&footer, name, e->file_size, writable, err);
    if (r < 0)
        return r;
    if (!(footer.flags & VMDK_FLAG_COMPRESSED))
        return vmdk_fail(err, EINVAL, "%s: Invalid footer (grain directory at the end of an "
                         "uncompressed extent)", name);
    e->hdr = footer;
    e->gd_at_end = true;
    /* Appending starts over the directory's marker, if the sector before the directory
     * holds one; otherwise the stream cannot be extended safely. */
    e->tail_start = 0;
    if (footer.gd_offset >= 2) {
        uint8_t m[VMDK_SECTOR];
        uint64_t at = (footer.gd_offset - 1) * VMDK_SECTOR;
        if (vmdk_file_read_exact(e->file, m, sizeof(m), at, NULL) == 0 &&
            is_marker(m, VMDK_MARKER_GD))
            e->tail_start = footer.gd_offset - 1;
    }
    return 0;
}

/* Bytes of the grain that lie inside the extent's capacity. */
static uint64_t grain_valid_bytes(const struct vmdk_extent *e, uint64_t grain_index)
{
    uint64_t first = grain_index * e->hdr.grain_size;
    uint64_t left = e->hdr.capacity - first;
    return (left < e->hdr.grain_size ? left : e->hdr.grain_size) * VMDK_SECTOR;
}

int vmdk_stream_read_grain(struct vmdk_image *img, struct vmdk_extent *e, uint64_t grain_index,
                           uint32_t gte, const uint8_t **data, struct vmdk_error *err)
{
    (void)img;
    const char *name = e->file->name;
    const uint8_t *hit = vmdk_grain_cache_find(e->grc, gte);
    if (hit) {
        *data = hit;
        return 0;
    }
    uint64_t at = (uint64_t)gte * VMDK_SECTOR;
    uint64_t max_payload = 2 * e->grain_bytes;
    uint64_t payload;
    if (at >= e->file_size)
        return vmdk_fail(err, EIO, "%s: grain at 0x%" PRIx64 " lies past the end of the file "
                         "(size 0x%" PRIx64 ")", name, at, e->file_size);
    if (e->markers) {
        uint8_t m[12];
        int r = vmdk_file_read_exact(e->file, m, sizeof(m), at, err);
        if (r < 0)
            return r;
        payload = vmdk_le32(m + 8);
        if (payload == 0)
            return vmdk_fail(err, EIO, "%s: grain table entry points to a metadata marker at 0x%"
                             PRIx64, name, at);
        if (payload > max_payload)
            return vmdk_fail(err, EIO, "%s: compressed grain at 0x%" PRIx64 " claims %" PRIu64
                             " bytes, more than twice the grain size", name, at, payload);
        at += sizeof(m);
        if (payload > e->file_size - at)
            return vmdk_fail(err, EIO, "%s: compressed grain at 0x%" PRIx64 " runs past the end "
                             "of the file", name, at);
    } else {
        payload = e->file_size - at < max_payload ? e->file_size - at : max_payload;
    }
    uint8_t *in = malloc(payload);
    uint8_t *out = vmdk_grain_cache_slot(e->grc, gte);
    if (!in || !out) {
        free(in);
        return vmdk_fail(err, ENOMEM, "%s: out of memory for a compressed grain", name);
    }
    int r = vmdk_file_read_exact(e->file, in, payload, at, err);
    if (r < 0) {
        free(in);
        return r;
    }
    z_stream z = { 0 };
    if (inflateInit(&z) != Z_OK) {
        free(in);
        return vmdk_fail(err, ENOMEM, "%s: cannot initialise zlib", name);
    }
    z.next_in = in;
    z.avail_in = (uInt)payload;
    z.next_out = out;
    z.avail_out = (uInt)e->grain_bytes;
    int zr = inflate(&z, Z_FINISH);
    uint64_t produced = z.total_out;
    inflateEnd(&z);
    free(in);
    if (zr != Z_STREAM_END) {
        if (zr == Z_BUF_ERROR && z.avail_out == 0)
            return vmdk_fail(err, EIO, "%s: compressed grain at 0x%" PRIx64
                             " inflates to more than a grain (%" PRIu64 " bytes)",
                             name, (uint64_t)gte * VMDK_SECTOR, e->grain_bytes);
        return vmdk_fail(err, EIO, "%s: compressed grain at 0x%" PRIx64 " is corrupt (zlib: %s)",
                         name, (uint64_t)gte * VMDK_SECTOR, z.msg ? z.msg : "truncated");
    }
    if (produced < grain_valid_bytes(e, grain_index))
        return vmdk_fail(err, EIO, "%s: compressed grain at 0x%" PRIx64 " inflates to only %"
                         PRIu64 " bytes", name, (uint64_t)gte * VMDK_SECTOR, produced);
    memset(out + produced, 0, e->grain_bytes - produced);
    vmdk_grain_cache_commit(e->grc, gte);
    *data = out;
    return 0;
}

int vmdk_stream_open_tail(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err)
{
    if (e->tail_open)
        return 0;
    if (e->tail_start == 0)
        return vmdk_fail(err, EROFS, "%s: cannot append to this stream: no grain-directory "
                         "marker precedes its directory", e->file->name);
    /* Tables stored inside the tail are about to be overwritten: pull them into memory
     * as dirty so the next tail carries them again. */
    for (uint64_t gi = 0; gi < e->gd_entries; gi++) {
        if (e->gd[gi] < e->tail_start)
            continue;
        uint32_t gte;
        int r = vmdk_sparse_get_gte(img, e, gi * e->gt_coverage, &gte, err);
        if (r < 0)
            return r;
        vmdk_gt_cache_mark_dirty(e->gtc, gi);
        e->gd[gi] = 0;
    }
    e->next_alloc = e->tail_start;
    e->tail_open = true;
    return 0;
}

/* Checks that a grain may be written: not allocated yet. */
int vmdk_stream_check_free(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                           struct vmdk_error *err)
{
    uint32_t gte;
    int r = vmdk_sparse_get_gte(img, e, sector, &gte, err);
    if (r == 0 && gte != 0)
        r = vmdk_fail(err, EIO, "%s: Could not write to allocated cluster for "
                      "streamOptimized (grain at sector %" PRIu64 ")", e->file->name, sector);
    return r;
}

/* Appends a compressed grain (marker included, sector-padded) and points its GTE at it. */
int vmdk_stream_store(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                      const uint8_t *out, size_t used, struct vmdk_error *err)
{
    if (e->gd_at_end) {
        int r = vmdk_stream_open_tail(img, e, err);
        if (r < 0)
            return r;
    }
    uint64_t at = e->next_alloc;
    if (at + used / VMDK_SECTOR >= VMDK_MAX_EXTENT_FILE_SECTORS)
        return vmdk_fail(err, ENOSPC, "%s: stream extent would grow past 2 TiB", e->file->name);
    int r = vmdk_file_write(e->file, out, used, at * VMDK_SECTOR, err);
    if (r < 0)
        return r;
    e->next_alloc = at + used / VMDK_SECTOR;
    if (e->next_alloc * VMDK_SECTOR > e->file_size)
        e->file_size = e->next_alloc * VMDK_SECTOR;
    return vmdk_sparse_set_gte(img, e, sector, (uint32_t)at, err);
}

int vmdk_stream_write_grain(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                            const void *buf, size_t len, struct vmdk_error *err)
{
    int r = vmdk_stream_check_free(img, e, sector, err);
    if (r < 0)
        return r;
    uint8_t *out;
    size_t used;
    r = vmdk_grain_compress(img->zc, buf, len, e->markers, sector, &out, &used);
    if (r < 0)
        return vmdk_fail(err, r, "%s: %s a grain", e->file->name,
                         r == -ENOMEM ? "out of memory compressing" : "could not compress");
    r = vmdk_stream_store(img, e, sector, out, used, err);
    free(out);
    return r;
}

/* ---- the trailing metadata of a GD-at-end stream ---- */

struct tail {
    struct vmdk_extent *e;
    uint8_t *buf;
    uint64_t used, cap; /* sectors */
    uint64_t base;      /* file sector of buf[0] */
};

static uint8_t *tail_reserve(struct tail *t, uint64_t sectors)
{
    if (t->used + sectors > t->cap) {
        uint64_t n = (t->used + sectors) * 2;
        uint8_t *b = realloc(t->buf, n * VMDK_SECTOR);
        if (!b)
            return NULL;
        t->buf = b;
        t->cap = n;
    }
    uint8_t *p = t->buf + t->used * VMDK_SECTOR;
    memset(p, 0, sectors * VMDK_SECTOR);
    t->used += sectors;
    return p;
}

static int tail_add_table(void *ctx, uint64_t gi, uint32_t *table)
{
    struct tail *t = ctx;
    struct vmdk_extent *e = t->e;
    bool empty = true;
    for (uint32_t i = 0; i < e->gtes && empty; i++)
        empty = table[i] == 0;
    if (empty) { /* VMware writes no table for an empty range; GDE 0 says the same */
        e->gd[gi] = 0;
        return 0;
    }
    uint8_t *p = tail_reserve(t, 1 + e->gt_sectors);
    if (!p)
        return -ENOMEM;
    vmdk_marker_encode(p, e->gt_sectors, VMDK_MARKER_GT);
    for (uint32_t i = 0; i < e->gtes; i++)
        vmdk_put_le32(p + VMDK_SECTOR + 4 * i, table[i]);
    e->gd[gi] = (uint32_t)(t->base + t->used - e->gt_sectors);
    return 0;
}

int vmdk_stream_write_tail(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err)
{
    (void)img;
    if (!e->tail_open)
        return 0;
    const char *name = e->file->name;
    struct tail t = { .e = e, .base = e->next_alloc };
    uint64_t gd_sectors = vmdk_div_round_up(e->gd_entries * 4, VMDK_SECTOR);
    int r = vmdk_gt_cache_for_each_dirty(e->gtc, tail_add_table, &t);
    uint8_t *p = r == 0 ? tail_reserve(&t, 1 + gd_sectors + 3) : NULL;
    if (!p) {
        free(t.buf);
        return vmdk_fail(err, ENOMEM, "%s: out of memory for the stream footer", name);
    }
    uint64_t gd_at = t.base + t.used - 3 - gd_sectors;
    vmdk_marker_encode(p, gd_sectors, VMDK_MARKER_GD);
    for (uint64_t i = 0; i < e->gd_entries; i++)
        vmdk_put_le32(p + VMDK_SECTOR + 4 * i, e->gd[i]);
    p += (1 + gd_sectors) * VMDK_SECTOR;
    vmdk_marker_encode(p, 1, VMDK_MARKER_FOOTER);
    struct vmdk_sparse_header footer = e->hdr;
    footer.gd_offset = gd_at;
    vmdk_header_encode(&footer, p + VMDK_SECTOR);
    vmdk_marker_encode(p + 2 * VMDK_SECTOR, 0, VMDK_MARKER_EOS);
    uint64_t end = t.base + t.used;
    if (end >= VMDK_MAX_EXTENT_FILE_SECTORS) {
        free(t.buf);
        return vmdk_fail(err, ENOSPC, "%s: stream extent would grow past 2 TiB", name);
    }
    r = vmdk_file_write(e->file, t.buf, t.used * VMDK_SECTOR, t.base * VMDK_SECTOR, err);
    free(t.buf);
    if (r == 0 && e->file_size > end * VMDK_SECTOR)
        r = vmdk_file_truncate(e->file, end * VMDK_SECTOR, err);
    if (r < 0)
        return r;
    e->hdr.gd_offset = gd_at;
    e->file_size = end * VMDK_SECTOR;
    /* The next append starts over the tables just written, so they are reloaded and
     * carried into the next tail. */
    e->tail_start = t.base;
    e->tail_open = false;
    vmdk_gt_cache_clean_all(e->gtc);
    return 0;
}
