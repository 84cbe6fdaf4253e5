/* SPDX-License-Identifier: MIT */
/*
 * Write-zeroes and discard. Whole grains become GTE 1 when the extent has the
 * zeroed-grain flag, or GTE 0 when nothing can show through (no parent); everything
 * else gets zeros written. A replaced grain is left where it is (a leak that
 * `check -r leaks` reclaims): freeing it now would let a new grain reuse the space
 * while the file's tables still point at it, which a crash would expose.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static bool has_parent(const struct vmdk_image *img)
{
    return img->has_backing || img->desc.parent_hint != NULL;
}

static int check_writable(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err)
{
    if (!e->writable && e->type != VMDK_EXTENT_ZERO)
        return vmdk_fail(err, EACCES, "%s: extent %zu (%s %s) is not writable", img->path,
                         (size_t)(e - img->extents), vmdk_access_name(e->access),
                         vmdk_extent_type_name(e->type));
    return 0;
}

/* Writes len zero bytes at the virtual offset through the normal write path. */
static int write_zero_bytes(struct vmdk_image *img, uint64_t offset, uint64_t len,
                            struct vmdk_error *err)
{
    size_t chunk = len < (1u << 20) ? (size_t)len : (1u << 20);
    uint8_t *zeros = calloc(1, chunk ? chunk : 1);
    if (!zeros)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
    int r = 0;
    while (r == 0 && len) {
        size_t n = len < chunk ? (size_t)len : chunk;
        r = vmdk_write(img, offset, zeros, n, err);
        offset += n;
        len -= n;
    }
    free(zeros);
    return r;
}

/* Bytes of the grain starting at extent offset grain_start that lie in the extent. */
static uint64_t grain_span(const struct vmdk_extent *e, uint64_t grain_start)
{
    uint64_t left = e->sectors * VMDK_SECTOR - grain_start;
    return left < e->grain_bytes ? left : e->grain_bytes;
}

enum zero_kind { ZERO_WRITE, ZERO_DISCARD };

static int zero_sparse(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                       uint64_t len, unsigned flags, enum zero_kind kind, bool *changed,
                       struct vmdk_error *err)
{
    bool parent = has_parent(img);
    while (len) {
        uint64_t in = off % e->grain_bytes;
        uint64_t grain_start = off - in;
        uint64_t span = grain_span(e, grain_start);
        uint64_t n = span - in < len ? span - in : len;
        bool whole = in == 0 && n == span;
        uint32_t gte;
        int r = vmdk_sparse_get_gte(img, e, off / VMDK_SECTOR, &gte, err);
        if (r < 0)
            return r;
        bool zeroed = gte == 1 && e->zeroed_gte;
        bool reads_zero = zeroed || (gte == 0 && !parent);
        uint32_t want = UINT32_MAX; /* new GTE, if the grain can be replaced */
        if (whole && !e->compressed) {
            if (e->zeroed_gte)
                want = 1;
            else if (!parent && (kind == ZERO_DISCARD || (flags & VMDK_ZEROES_MAY_UNMAP)))
                want = 0;
        }
        if (want != UINT32_MAX && gte != want) {
            r = vmdk_sparse_set_gte(img, e, off / VMDK_SECTOR, want, err);
            *changed = true;
        } else if (want == UINT32_MAX && !reads_zero && kind == ZERO_WRITE) {
            if (e->compressed)
                return vmdk_fail(err, ENOTSUP, "%s: cannot zero allocated data of a "
                                 "streamOptimized extent (offset 0x%" PRIx64 ")",
                                 e->file->name, off);
            r = write_zero_bytes(img, e->start * VMDK_SECTOR + off, n, err);
        }
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

static int zero_or_discard(struct vmdk_image *img, uint64_t offset, uint64_t len,
                           unsigned flags, enum zero_kind kind, struct vmdk_error *err)
{
    if (img->read_only)
        return vmdk_fail(err, EROFS, "%s: image is open read-only", img->path);
    int r = vmdk_zpipe_drain(img, err);
    if (r == 0)
        r = vmdk_check_range(img, offset, len, err);
    bool changed = false;
    while (r == 0 && len) {
        struct vmdk_extent *e = vmdk_find_extent(img, offset / VMDK_SECTOR);
        uint64_t off = offset - e->start * VMDK_SECTOR;
        uint64_t left = e->sectors * VMDK_SECTOR - off;
        uint64_t n = left < len ? left : len;
        r = check_writable(img, e, err);
        if (r < 0)
            return r;
        if (e->type == VMDK_EXTENT_SPARSE)
            r = zero_sparse(img, e, off, n, flags, kind, &changed, err);
        else if (e->type != VMDK_EXTENT_ZERO && kind == ZERO_WRITE)
            r = write_zero_bytes(img, offset, n, err);
        offset += n;
        len -= n;
    }
    if (r == 0 && changed && !img->cid_updated)
        r = vmdk_cid_update(img, err);
    return r;
}

int vmdk_write_zeroes(struct vmdk_image *img, uint64_t offset, uint64_t len, unsigned flags,
                      struct vmdk_error *err)
{
    return zero_or_discard(img, offset, len, flags, ZERO_WRITE, err);
}

int vmdk_discard(struct vmdk_image *img, uint64_t offset, uint64_t len, struct vmdk_error *err)
{
    return zero_or_discard(img, offset, len, 0, ZERO_DISCARD, err);
}

size_t vmdk_stream_pending(const struct vmdk_image *img)
{
    return vmdk_zpipe_pending(img->zpipe);
}
