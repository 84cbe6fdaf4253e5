/* SPDX-License-Identifier: MIT */
/* What vmdk_create writes: sparse extent files, stream files and descriptor text. */
#ifndef VMDK_LAYOUT_H
#define VMDK_LAYOUT_H

#include "vmdk_internal.h"

/* QEMU's monolithicSparse layout for a capacity: header, 20-sector descriptor area,
 * redundant directory and tables, directory and tables, padding to a grain. */
struct vmdk_sparse_layout {
    uint64_t gt_count;
    uint64_t gd_sectors;
    uint64_t rgd_offset, gd_offset, overhead; /* sectors */
};

void vmdk_layout_sparse(uint64_t capacity, struct vmdk_sparse_layout *l);

/* Writes a complete empty sparse extent. desc may be NULL (split extents get a zero
 * descriptor area, as QEMU writes them). */
int vmdk_layout_write_sparse(struct vmdk_file *f, uint64_t capacity, bool zeroed_grain,
                             const char *desc, struct vmdk_error *err);

/* Writes a complete empty stream: header (GD at end), descriptor, then a directory of
 * zeros, footer and end-of-stream marker, so even an empty image is valid for ESXi. */
int vmdk_layout_write_stream(struct vmdk_file *f, uint64_t capacity, bool zeroed_grain,
                             const char *desc, struct vmdk_error *err);

struct vmdk_desc_params {
    uint32_t cid, parent_cid;
    const char *create_type;
    const char *parent_hint;  /* NULL: none */
    const char *extent_lines; /* each ending in '\n' */
    const char *hwversion, *adapter_type, *toolsversion;
    uint64_t size;            /* bytes, for the geometry */
};

/* Newly allocated descriptor text in qemu-img's template. */
char *vmdk_layout_descriptor(const struct vmdk_desc_params *p);

#endif
