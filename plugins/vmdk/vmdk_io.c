/* SPDX-License-Identifier: MIT */
/* Reads, writes and flushes, split across extents and grains. */
#include "vmdk_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

uint64_t vmdk_size(const struct vmdk_image *img)
{
    return img->sectors * VMDK_SECTOR;
}

struct vmdk_extent *vmdk_find_extent(struct vmdk_image *img, uint64_t sector)
{
    size_t lo = 0, hi = img->n_extents;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        struct vmdk_extent *e = &img->extents[mid];
        if (sector < e->start)
            hi = mid;
        else if (sector >= e->start + e->sectors)
            lo = mid + 1;
        else
            return e;
    }
    return NULL;
}

int vmdk_check_range(struct vmdk_image *img, uint64_t offset, uint64_t len,
                     struct vmdk_error *err)
{
    uint64_t size = vmdk_size(img);
    if (offset > size || len > size - offset)
        return vmdk_fail(err, EINVAL, "%s: Wrong offset: offset=0x%" PRIx64 " length=0x%" PRIx64
                         " is beyond the virtual size 0x%" PRIx64, img->path, offset, len, size);
    return 0;
}

/* ---- reading ---- */

static int read_unallocated(struct vmdk_image *img, uint64_t voffset, void *buf, size_t len,
                            struct vmdk_error *err)
{
    if (img->has_backing)
        return img->backing.read(img->backing.ctx, voffset, buf, len, err);
    memset(buf, 0, len);
    return 0;
}

static int read_flat(struct vmdk_extent *e, uint64_t off, void *buf, size_t len,
                     struct vmdk_error *err)
{
    ssize_t n = e->file->ops->pread(e->file, buf, len, e->flat_offset + off);
    if (n < 0)
        return vmdk_fail(err, (int)n, "%s: read at 0x%" PRIx64 " failed: %s", e->file->name,
                         e->flat_offset + off, strerror((int)-n));
    /* A flat file shorter than its extent (a sparse host file cut short) reads as
     * zeros past its end, like the raw format. */
    memset((char *)buf + n, 0, len - (size_t)n);
    return 0;
}

static int read_sparse(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                       uint8_t *buf, size_t len, struct vmdk_error *err)
{
    while (len) {
        uint64_t grain_index = off / e->grain_bytes;
        uint64_t in = off % e->grain_bytes;
        size_t n = e->grain_bytes - in < len ? (size_t)(e->grain_bytes - in) : len;
        uint32_t gte;
        int r = vmdk_sparse_get_gte(img, e, off / VMDK_SECTOR, &gte, err);
        if (r < 0)
            return r;
        if (gte == 0) {
            r = read_unallocated(img, e->start * VMDK_SECTOR + off, buf, n, err);
        } else if (gte == 1 && e->zeroed_gte) {
            memset(buf, 0, n);
        } else if (e->compressed) {
            const uint8_t *grain;
            r = vmdk_stream_read_grain(img, e, grain_index, gte, &grain, err);
            if (r == 0)
                memcpy(buf, grain + in, n);
        } else {
            uint64_t at = (uint64_t)gte * VMDK_SECTOR + in;
            if (at + n > e->file_size)
                return vmdk_fail(err, EIO, "%s: grain at 0x%" PRIx64 " lies past the end of "
                                 "the file (size 0x%" PRIx64 ")", e->file->name,
                                 (uint64_t)gte * VMDK_SECTOR, e->file_size);
            r = vmdk_file_read_exact(e->file, buf, n, at, err);
        }
        if (r < 0)
            return r;
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

int vmdk_read(struct vmdk_image *img, uint64_t offset, void *buf, size_t len,
              struct vmdk_error *err)
{
    int r = vmdk_zpipe_drain(img, err); /* queued grains must be readable */
    if (r == 0)
        r = vmdk_check_range(img, offset, len, err);
    uint8_t *p = buf;
    while (r == 0 && len) {
        struct vmdk_extent *e = vmdk_find_extent(img, offset / VMDK_SECTOR);
        uint64_t off = offset - e->start * VMDK_SECTOR;
        uint64_t left = e->sectors * VMDK_SECTOR - off;
        size_t n = left < len ? (size_t)left : len;
        if (e->access == VMDK_ACCESS_NOACCESS)
            return vmdk_fail(err, EACCES, "%s: extent %zu is NOACCESS", img->path,
                             (size_t)(e - img->extents));
        switch (e->type) {
        case VMDK_EXTENT_ZERO:
            memset(p, 0, n);
            break;
        case VMDK_EXTENT_SPARSE:
            r = read_sparse(img, e, off, p, n, err);
            break;
        case VMDK_EXTENT_SESPARSE:
            r = vmdk_sesparse_read(img, e, off, p, n, err);
            break;
        default:
            r = read_flat(e, off, p, n, err);
            break;
        }
        p += n;
        offset += n;
        len -= n;
    }
    return r;
}

/* ---- writing ---- */

/* Allocates a grain for a write of [in, in + len) within it: the rest of the grain is
 * the parent's data or zeros. The data goes to the file now; the table entry only
 * reaches the file at writeback, after a flush of this data. */
static int allocate_grain(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                          const uint8_t *data, size_t len, bool zeroed, struct vmdk_error *err)
{
    uint64_t grain_start = off - off % e->grain_bytes;
    uint64_t in = off - grain_start;
    uint64_t at = e->next_alloc;
    if (at + e->hdr.grain_size > VMDK_MAX_EXTENT_FILE_SECTORS)
        return vmdk_fail(err, ENOSPC, "%s: grain table entries cannot address grains past "
                         "2 TiB of file", e->file->name);
    const uint8_t *grain = data;
    uint8_t *fill = NULL;
    int r = 0;
    bool fill_zero = zeroed || !img->has_backing;
    if (len != e->grain_bytes && fill_zero && at * VMDK_SECTOR >= e->file_size) {
        /* Past the end of the file everything reads as zeros already: write only the
         * data and, to give the grain its full length, its last sector. No 64 KiB of
         * zero fill per allocation (QEMU's main cost after the flush). */
        r = vmdk_file_write(e->file, data, len, at * VMDK_SECTOR + in, err);
        if (r == 0 && in + len < e->grain_bytes) {
            static const uint8_t zero_sector[VMDK_SECTOR];
            uint64_t last = e->grain_bytes - VMDK_SECTOR;
            if (in + len > last) /* the data ends inside the last sector */
                r = vmdk_file_write(e->file, zero_sector, e->grain_bytes - (in + len),
                                    at * VMDK_SECTOR + in + len, err);
            else
                r = vmdk_file_write(e->file, zero_sector, VMDK_SECTOR,
                                    at * VMDK_SECTOR + last, err);
        }
        if (r < 0)
            return r;
        goto allocated;
    }
    if (len != e->grain_bytes) {
        fill = malloc(e->grain_bytes);
        if (!fill)
            return vmdk_fail(err, ENOMEM, "%s: out of memory for a grain", e->file->name);
        uint64_t valid = e->sectors * VMDK_SECTOR - grain_start;
        if (valid > e->grain_bytes)
            valid = e->grain_bytes;
        memset(fill, 0, e->grain_bytes);
        if (!fill_zero)
            r = img->backing.read(img->backing.ctx, e->start * VMDK_SECTOR + grain_start, fill,
                                  valid, err);
        memcpy(fill + in, data, len);
        grain = fill;
    }
    if (r == 0)
        r = vmdk_file_write(e->file, grain, e->grain_bytes, at * VMDK_SECTOR, err);
    free(fill);
    if (r < 0)
        return r;
allocated:
    e->next_alloc = at + e->hdr.grain_size;
    if (e->next_alloc * VMDK_SECTOR > e->file_size)
        e->file_size = e->next_alloc * VMDK_SECTOR;
    return vmdk_sparse_set_gte(img, e, off / VMDK_SECTOR, (uint32_t)at, err);
}

static int write_sparse(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                        const uint8_t *buf, size_t len, struct vmdk_error *err)
{
    while (len) {
        uint64_t in = off % e->grain_bytes;
        size_t n = e->grain_bytes - in < len ? (size_t)(e->grain_bytes - in) : len;
        uint32_t gte;
        int r = vmdk_sparse_get_gte(img, e, off / VMDK_SECTOR, &gte, err);
        if (r < 0)
            return r;
        bool zeroed = gte == 1 && e->zeroed_gte;
        if (gte == 0 || zeroed) {
            r = allocate_grain(img, e, off, buf, n, zeroed, err);
        } else if (gte < e->hdr.overhead) {
            return vmdk_fail(err, EIO, "%s: grain table entry for offset 0x%" PRIx64
                             " points into the metadata (sector %" PRIu32 ")", e->file->name,
                             off, gte);
        } else {
            r = vmdk_file_write(e->file, buf, n, (uint64_t)gte * VMDK_SECTOR + in, err);
        }
        if (r < 0)
            return r;
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int write_stream(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                        const uint8_t *buf, size_t len, struct vmdk_error *err)
{
    while (len) {
        uint64_t left = e->sectors * VMDK_SECTOR - off;
        size_t n = left < e->grain_bytes ? (size_t)left : (size_t)e->grain_bytes;
        if (off % e->grain_bytes || len < n)
            return vmdk_fail(err, EINVAL, "%s: streamOptimized images accept only whole-grain "
                             "writes (offset 0x%" PRIx64 ", length 0x%zx)", e->file->name, off,
                             len);
        /* An unallocated grain already reads as zeros when there is no parent. */
        if (img->has_backing || !all_zero(buf, n)) {
            int r = img->zpipe ? vmdk_zpipe_submit(img, e, off / VMDK_SECTOR, buf, n, err)
                               : vmdk_stream_write_grain(img, e, off / VMDK_SECTOR, buf, n, err);
            if (r < 0)
                return r;
        }
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

int vmdk_write(struct vmdk_image *img, uint64_t offset, const void *buf, size_t len,
               struct vmdk_error *err)
{
    if (img->read_only)
        return vmdk_fail(err, EROFS, "%s: image is open read-only", img->path);
    int r = vmdk_check_range(img, offset, len, err);
    const uint8_t *p = buf;
    bool wrote = false;
    while (r == 0 && len) {
        struct vmdk_extent *e = vmdk_find_extent(img, offset / VMDK_SECTOR);
        uint64_t off = offset - e->start * VMDK_SECTOR;
        uint64_t left = e->sectors * VMDK_SECTOR - off;
        size_t n = left < len ? (size_t)left : len;
        if (!e->writable || e->type == VMDK_EXTENT_ZERO)
            return vmdk_fail(err, EACCES, "%s: extent %zu (%s %s) is not writable", img->path,
                             (size_t)(e - img->extents), vmdk_access_name(e->access),
                             vmdk_extent_type_name(e->type));
        if (e->type == VMDK_EXTENT_SPARSE && e->compressed)
            r = write_stream(img, e, off, p, n, err);
        else if (e->type == VMDK_EXTENT_SPARSE)
            r = write_sparse(img, e, off, p, n, err);
        else
            r = vmdk_file_write(e->file, p, n, e->flat_offset + off, err);
        wrote = true;
        p += n;
        offset += n;
        len -= n;
    }
    if (r == 0 && wrote && !img->cid_updated)
        r = vmdk_cid_update(img, err);
    return r;
}

int vmdk_flush(struct vmdk_image *img, struct vmdk_error *err)
{
    if (img->read_only)
        return 0;
    int r = vmdk_zpipe_drain(img, err);
    for (size_t i = 0; i < img->n_extents && r == 0; i++) {
        struct vmdk_extent *e = &img->extents[i];
        if (e->type == VMDK_EXTENT_SPARSE && e->writable)
            r = vmdk_sparse_writeback(img, e, err);
    }
    for (size_t i = 0; i < img->n_extents && r == 0; i++) {
        struct vmdk_extent *e = &img->extents[i];
        if (e->writable && e->file && !e->shares_image_file)
            r = vmdk_file_flush(e->file, err);
    }
    if (r == 0)
        r = vmdk_file_flush(img->file, err);
    return r;
}
