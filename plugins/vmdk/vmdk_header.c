/* SPDX-License-Identifier: MIT */
/* Decoding, encoding and validating the 512-byte hosted sparse extent header. */
#include "vmdk_format.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void vmdk_header_decode(const uint8_t b[VMDK_SECTOR], struct vmdk_sparse_header *h)
{
    h->magic = vmdk_le32(b + 0);
    h->version = vmdk_le32(b + 4);
    h->flags = vmdk_le32(b + 8);
    h->capacity = vmdk_le64(b + 12);
    h->grain_size = vmdk_le64(b + 20);
    h->desc_offset = vmdk_le64(b + 28);
    h->desc_size = vmdk_le64(b + 36);
    h->num_gtes_per_gt = vmdk_le32(b + 44);
    h->rgd_offset = vmdk_le64(b + 48);
    h->gd_offset = vmdk_le64(b + 56);
    h->overhead = vmdk_le64(b + 64);
    h->unclean_shutdown = b[72];
    memcpy(h->nl_chars, b + 73, 4);
    h->compress_algorithm = (uint16_t)(b[77] | b[78] << 8);
}

void vmdk_header_encode(const struct vmdk_sparse_header *h, uint8_t b[VMDK_SECTOR])
{
    memset(b, 0, VMDK_SECTOR);
    vmdk_put_le32(b + 0, h->magic);
    vmdk_put_le32(b + 4, h->version);
    vmdk_put_le32(b + 8, h->flags);
    vmdk_put_le64(b + 12, h->capacity);
    vmdk_put_le64(b + 20, h->grain_size);
    vmdk_put_le64(b + 28, h->desc_offset);
    vmdk_put_le64(b + 36, h->desc_size);
    vmdk_put_le32(b + 44, h->num_gtes_per_gt);
    vmdk_put_le64(b + 48, h->rgd_offset);
    vmdk_put_le64(b + 56, h->gd_offset);
    vmdk_put_le64(b + 64, h->overhead);
    b[72] = h->unclean_shutdown;
    memcpy(b + 73, h->nl_chars, 4);
    b[77] = (uint8_t)h->compress_algorithm;
    b[78] = (uint8_t)(h->compress_algorithm >> 8);
}

uint64_t vmdk_header_gd_entries(const struct vmdk_sparse_header *h)
{
    uint64_t coverage = (uint64_t)h->num_gtes_per_gt * h->grain_size;
    return vmdk_div_round_up(h->capacity, coverage);
}

/* A table of `bytes` at `sector` must lie inside the file. */
static int check_inside(const char *name, const char *what, uint64_t sector, uint64_t bytes,
                        uint64_t file_size, struct vmdk_error *err)
{
    if (sector > file_size / VMDK_SECTOR || sector * VMDK_SECTOR + bytes > file_size)
        return vmdk_fail(err, EINVAL,
                         "%s: %s offset 0x%" PRIx64 " lies past the end of the file (size 0x%" PRIx64
                         ")",
                         name, what, sector * VMDK_SECTOR, file_size);
    return 0;
}

int vmdk_header_validate(const struct vmdk_sparse_header *h, const char *name,
                         uint64_t file_size, bool writable, struct vmdk_error *err)
{
    if (h->magic != VMDK_SPARSE_MAGIC)
        return vmdk_fail(err, EINVAL, "%s: Image not in VMDK format (bad magic 0x%08" PRIx32 ")",
                         name, h->magic);
    if (h->version > 3 || h->version == 0)
        return vmdk_fail(err, ENOTSUP, "%s: Unsupported VMDK version %" PRIu32, name,
                         h->version);
    bool compressed = h->flags & VMDK_FLAG_COMPRESSED;
    if (h->version == 3 && writable && !compressed)
        return vmdk_fail(err, EROFS, "%s: VMDK version 3 must be read only", name);
    if (compressed && h->compress_algorithm != VMDK_COMPRESS_DEFLATE)
        return vmdk_fail(err, ENOTSUP, "%s: unsupported compression algorithm %u", name,
                         h->compress_algorithm);
    if ((h->flags & VMDK_FLAG_MARKERS) && !compressed)
        return vmdk_fail(err, EINVAL, "%s: marker flag set without the compression flag",
                         name);
    if (h->num_gtes_per_gt > VMDK_MAX_GTES_PER_GT)
        return vmdk_fail(err, EFBIG, "%s: L2 table size too big (%" PRIu32 " entries per grain table)",
                         name, h->num_gtes_per_gt);
    if (h->num_gtes_per_gt == 0 || h->grain_size == 0)
        return vmdk_fail(err, EINVAL, "%s: L1 entry size is invalid (grain size %" PRIu64
                         " sectors, %" PRIu32 " entries per grain table)",
                         name, h->grain_size, h->num_gtes_per_gt);
    if (h->overhead > file_size / VMDK_SECTOR)
        return vmdk_fail(err, EINVAL,
                         "%s: File truncated, expecting at least %" PRIu64 " bytes (size 0x%" PRIx64 ")",
                         name, h->overhead > UINT64_MAX / VMDK_SECTOR ? UINT64_MAX
                                                                      : h->overhead * VMDK_SECTOR,
                         file_size);
    if (h->grain_size > VMDK_MAX_GRAIN_SECTORS)
        return vmdk_fail(err, EFBIG, "%s: Invalid granularity, image may be corrupt (grain size %"
                         PRIu64 " sectors)", name, h->grain_size);
    uint64_t gd_entries = vmdk_header_gd_entries(h);
    if (gd_entries > VMDK_MAX_GD_ENTRIES)
        return vmdk_fail(err, EFBIG, "%s: L1 size too big (capacity %" PRIu64 " sectors needs %"
                         PRIu64 " grain directory entries)", name, h->capacity, gd_entries);
    /* Not checked by QEMU, but a capacity whose byte size overflows would break every
     * offset computation that follows. */
    if (h->capacity > INT64_MAX / VMDK_SECTOR)
        return vmdk_fail(err, EFBIG, "%s: capacity %" PRIu64 " sectors is too large", name,
                         h->capacity);
    uint64_t gd_bytes = gd_entries * 4;
    if (h->gd_offset != VMDK_GD_AT_END) {
        int r = check_inside(name, "grain directory", h->gd_offset, gd_bytes, file_size, err);
        if (r < 0)
            return r;
    }
    if ((h->flags & VMDK_FLAG_RGD) && h->rgd_offset != 0 && h->gd_offset != VMDK_GD_AT_END) {
        int r = check_inside(name, "redundant grain directory", h->rgd_offset, gd_bytes,
                             file_size, err);
        if (r < 0)
            return r;
    }
    if (h->desc_offset) {
        if (h->desc_size > VMDK_MAX_EMBEDDED_DESC_SECTORS)
            return vmdk_fail(err, EFBIG, "%s: embedded descriptor of %" PRIu64
                             " sectors is larger than the limit of %u",
                             name, h->desc_size, VMDK_MAX_EMBEDDED_DESC_SECTORS);
        int r = check_inside(name, "embedded descriptor", h->desc_offset,
                             h->desc_size * VMDK_SECTOR, file_size, err);
        if (r < 0)
            return r;
    }
    return 0;
}
