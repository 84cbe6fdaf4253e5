/* SPDX-License-Identifier: MIT */
/* Block status: what backs a range of the virtual disk, for map, convert and compare. */
#include "vmdk_internal.h"

#include <errno.h>
#include <string.h>

struct grain_status {
    enum vmdk_status status;
    bool compressed;
    bool offset_valid;
    uint64_t file_offset; /* of the grain's first byte */
};

static int grain_status(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                        struct grain_status *gs, struct vmdk_error *err)
{
    uint32_t gte;
    int r = vmdk_sparse_get_gte(img, e, off / VMDK_SECTOR, &gte, err);
    if (r < 0)
        return r;
    memset(gs, 0, sizeof(*gs));
    if (gte == 0) {
        gs->status = VMDK_STATUS_UNALLOCATED;
    } else if (gte == 1 && e->zeroed_gte) {
        gs->status = VMDK_STATUS_ZERO;
    } else {
        gs->status = VMDK_STATUS_DATA;
        gs->compressed = e->compressed;
        gs->offset_valid = !e->compressed;
        gs->file_offset = (uint64_t)gte * VMDK_SECTOR;
    }
    return 0;
}

static int sparse_status(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                         uint64_t max, struct vmdk_map *out, struct vmdk_error *err)
{
    struct grain_status first, next;
    int r = grain_status(img, e, off, &first, err);
    if (r < 0)
        return r;
    uint64_t in = off % e->grain_bytes;
    uint64_t len = e->grain_bytes - in;
    /* Extend over following grains while they look the same and, for data, sit right
     * after each other in the file. */
    while (len < max) {
        r = grain_status(img, e, off + len, &next, err);
        if (r < 0)
            return r;
        if (next.status != first.status || next.compressed != first.compressed)
            break;
        if (first.offset_valid && next.file_offset != first.file_offset + in + len)
            break;
        len += e->grain_bytes;
    }
    out->status = first.status;
    out->compressed = first.compressed;
    out->offset_valid = first.offset_valid;
    out->file_offset = first.file_offset + in;
    out->length = len < max ? len : max;
    return 0;
}

int vmdk_block_status(struct vmdk_image *img, uint64_t offset, uint64_t max_len,
                      struct vmdk_map *out, struct vmdk_error *err)
{
    uint64_t size = vmdk_size(img);
    memset(out, 0, sizeof(*out));
    int dr = vmdk_zpipe_drain(img, err);
    if (dr < 0)
        return dr;
    if (offset >= size || max_len == 0)
        return vmdk_fail(err, EINVAL, "%s: block status at 0x%llx is beyond the virtual size",
                         img->path, (unsigned long long)offset);
    size_t lo = 0, hi = img->n_extents, i = 0;
    uint64_t sector = offset / VMDK_SECTOR;
    while (lo < hi) {
        i = (lo + hi) / 2;
        struct vmdk_extent *e = &img->extents[i];
        if (sector < e->start)
            hi = i;
        else if (sector >= e->start + e->sectors)
            lo = i + 1;
        else
            break;
    }
    struct vmdk_extent *e = &img->extents[i];
    uint64_t off = offset - e->start * VMDK_SECTOR;
    uint64_t max = e->sectors * VMDK_SECTOR - off;
    if (max > max_len)
        max = max_len;
    out->offset = offset;
    out->extent = i;
    out->filename = e->file ? e->file->name : NULL;
    out->length = max;
    switch (e->type) {
    case VMDK_EXTENT_ZERO:
        out->status = VMDK_STATUS_ZERO;
        return 0;
    case VMDK_EXTENT_SPARSE:
        if (e->access == VMDK_ACCESS_NOACCESS)
            break;
        return sparse_status(img, e, off, max, out, err);
    case VMDK_EXTENT_SESPARSE: {
        if (e->access == VMDK_ACCESS_NOACCESS)
            break;
        uint64_t in = off % e->grain_bytes, at;
        enum vmdk_status st;
        int r = vmdk_sesparse_lookup(e, off / VMDK_SECTOR, &st, &at, err);
        if (r < 0)
            return r;
        out->status = st;
        out->offset_valid = st == VMDK_STATUS_DATA;
        out->file_offset = st == VMDK_STATUS_DATA ? at + in : 0;
        if (out->length > e->grain_bytes - in)
            out->length = e->grain_bytes - in;
        return 0;
    }
    default:
        if (e->access == VMDK_ACCESS_NOACCESS)
            break;
        out->status = VMDK_STATUS_DATA;
        out->offset_valid = true;
        out->file_offset = e->flat_offset + off;
        return 0;
    }
    out->status = VMDK_STATUS_DATA; /* NOACCESS: present, but unreadable */
    return 0;
}
