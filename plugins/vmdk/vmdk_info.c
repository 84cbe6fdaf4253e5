/* SPDX-License-Identifier: MIT */
/* Read-only accessors for qemu-img-style `info`. */
#include "vmdk_internal.h"

#include <errno.h>
#include <string.h>

const char *vmdk_create_type(const struct vmdk_image *img)
{
    return img->create_type;
}

uint32_t vmdk_cid(const struct vmdk_image *img)
{
    return img->desc.has_cid ? img->desc.cid : VMDK_CID_NONE;
}

uint32_t vmdk_parent_cid(const struct vmdk_image *img)
{
    return img->desc.parent_cid;
}

const char *vmdk_parent_hint(const struct vmdk_image *img)
{
    return img->desc.parent_hint;
}

const char *vmdk_ddb(const struct vmdk_image *img, const char *key)
{
    return vmdk_descriptor_ddb(&img->desc, key);
}

size_t vmdk_extent_count(const struct vmdk_image *img)
{
    return img->n_extents;
}

void vmdk_extent_info(const struct vmdk_image *img, size_t i, struct vmdk_extent_info *out)
{
    const struct vmdk_extent *e = &img->extents[i];
    memset(out, 0, sizeof(*out));
    out->filename = e->file ? e->file->name : NULL;
    out->type = e->cowd ? "VMFSSPARSE" : vmdk_extent_type_name(e->type);
    out->access = vmdk_access_name(e->access);
    out->virtual_size = e->sectors * VMDK_SECTOR;
    out->flat_offset = e->flat_offset;
    out->monolithic = e->shares_image_file;
    if (e->type == VMDK_EXTENT_SPARSE) {
        out->cluster_size = e->grain_bytes;
        out->compressed = e->compressed;
        out->header_version = e->hdr.version;
    } else if (e->type == VMDK_EXTENT_SESPARSE) {
        out->cluster_size = e->grain_bytes;
    }
}

static int file_bytes(struct vmdk_file *f, uint64_t *bytes, struct vmdk_error *err)
{
    if (f->ops->allocated_size && f->ops->allocated_size(f, bytes) == 0)
        return 0;
    return vmdk_file_size(f, bytes, err);
}

int vmdk_disk_size(struct vmdk_image *img, uint64_t *bytes, struct vmdk_error *err)
{
    uint64_t total = 0, n;
    int r = file_bytes(img->file, &n, err);
    if (r < 0)
        return r;
    total += n;
    for (size_t i = 0; i < img->n_extents; i++) {
        struct vmdk_extent *e = &img->extents[i];
        if (!e->file || e->shares_image_file)
            continue;
        r = file_bytes(e->file, &n, err);
        if (r < 0)
            return r;
        total += n;
    }
    *bytes = total;
    return 0;
}
