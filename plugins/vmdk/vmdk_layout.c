/* SPDX-License-Identifier: MIT */
/*
 * Layouts of new files. Sparse extents follow qemu-img byte for byte (apart from the
 * random CID), so offsets seen by `map` and by QEMU's tests are the same. Stream files
 * follow VMware's layout instead (header version 3, no redundant directory, directory
 * at the end behind a footer, end-of-stream marker), which ESXi and VirtualBox accept.
 */
#define _GNU_SOURCE
#include "vmdk_layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GT_SECTORS 4u /* 512 entries of 4 bytes */
#define STREAM_OVERHEAD 128u /* first grain sector, as VMware's own stream files */

void vmdk_layout_sparse(uint64_t capacity, struct vmdk_sparse_layout *l)
{
    uint64_t grains = vmdk_div_round_up(capacity, VMDK_DEFAULT_GRAIN_SECTORS);
    l->gt_count = vmdk_div_round_up(grains, VMDK_DEFAULT_GTES_PER_GT);
    l->gd_sectors = vmdk_div_round_up(l->gt_count * 4, VMDK_SECTOR);
    l->rgd_offset = VMDK_EMBEDDED_DESC_OFFSET + VMDK_EMBEDDED_DESC_SECTORS;
    l->gd_offset = l->rgd_offset + l->gd_sectors + GT_SECTORS * l->gt_count;
    uint64_t end = l->gd_offset + l->gd_sectors + GT_SECTORS * l->gt_count;
    l->overhead = vmdk_div_round_up(end, VMDK_DEFAULT_GRAIN_SECTORS) * VMDK_DEFAULT_GRAIN_SECTORS;
}

static void default_header(struct vmdk_sparse_header *h, uint64_t capacity)
{
    memset(h, 0, sizeof(*h));
    h->magic = VMDK_SPARSE_MAGIC;
    h->capacity = capacity;
    h->grain_size = VMDK_DEFAULT_GRAIN_SECTORS;
    h->desc_offset = VMDK_EMBEDDED_DESC_OFFSET;
    h->desc_size = VMDK_EMBEDDED_DESC_SECTORS;
    h->num_gtes_per_gt = VMDK_DEFAULT_GTES_PER_GT;
    memcpy(h->nl_chars, "\n \r\n", 4);
}

/* Header sector followed by the NUL-padded descriptor area. */
static int write_head(struct vmdk_file *f, const struct vmdk_sparse_header *h, const char *desc,
                      struct vmdk_error *err)
{
    size_t area = VMDK_EMBEDDED_DESC_SECTORS * VMDK_SECTOR;
    size_t n = desc ? strlen(desc) : 0;
    if (n >= area)
        return vmdk_fail(err, ENOSPC, "%s: descriptor of %zu bytes does not fit in %zu", f->name,
                         n, area);
    uint8_t *buf = calloc(1, VMDK_SECTOR + area);
    if (!buf)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", f->name);
    vmdk_header_encode(h, buf);
    if (desc)
        memcpy(buf + VMDK_SECTOR, desc, n);
    int r = vmdk_file_write(f, buf, VMDK_SECTOR + area, 0, err);
    free(buf);
    return r;
}

static int write_directory(struct vmdk_file *f, uint64_t at, uint64_t first_table,
                           const struct vmdk_sparse_layout *l, struct vmdk_error *err)
{
    size_t bytes = (size_t)l->gd_sectors * VMDK_SECTOR;
    uint8_t *buf = calloc(1, bytes ? bytes : 1);
    if (!buf)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", f->name);
    for (uint64_t i = 0; i < l->gt_count; i++)
        vmdk_put_le32(buf + 4 * i, (uint32_t)(first_table + GT_SECTORS * i));
    int r = vmdk_file_write(f, buf, bytes, at * VMDK_SECTOR, err);
    free(buf);
    return r;
}

int vmdk_layout_write_sparse(struct vmdk_file *f, uint64_t capacity, bool zeroed_grain,
                             const char *desc, struct vmdk_error *err)
{
    struct vmdk_sparse_layout l;
    vmdk_layout_sparse(capacity, &l);
    if (l.overhead >= VMDK_MAX_EXTENT_FILE_SECTORS)
        return vmdk_fail(err, EFBIG, "%s: capacity too large for a sparse extent", f->name);
    struct vmdk_sparse_header h;
    default_header(&h, capacity);
    h.version = zeroed_grain ? 2 : 1;
    h.flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_RGD | (zeroed_grain ? VMDK_FLAG_ZEROED_GTE : 0);
    h.rgd_offset = l.rgd_offset;
    h.gd_offset = l.gd_offset;
    h.overhead = l.overhead;
    /* Size first: the tables are the zeros of the new length. */
    int r = vmdk_file_truncate(f, l.overhead * VMDK_SECTOR, err);
    if (r == 0)
        r = write_head(f, &h, desc, err);
    if (r == 0)
        r = write_directory(f, l.rgd_offset, l.rgd_offset + l.gd_sectors, &l, err);
    if (r == 0)
        r = write_directory(f, l.gd_offset, l.gd_offset + l.gd_sectors, &l, err);
    return r;
}

int vmdk_layout_write_stream(struct vmdk_file *f, uint64_t capacity, bool zeroed_grain,
                             const char *desc, struct vmdk_error *err)
{
    struct vmdk_sparse_header h;
    default_header(&h, capacity);
    uint64_t gd_entries = vmdk_header_gd_entries(&h);
    if (gd_entries > VMDK_MAX_GD_ENTRIES)
        return vmdk_fail(err, EFBIG, "%s: capacity too large for a stream image", f->name);
    uint64_t gd_sectors = vmdk_div_round_up(gd_entries * 4, VMDK_SECTOR);
    h.version = 3;
    h.flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS |
              (zeroed_grain ? VMDK_FLAG_ZEROED_GTE : 0);
    h.gd_offset = VMDK_GD_AT_END;
    h.overhead = STREAM_OVERHEAD;
    h.compress_algorithm = VMDK_COMPRESS_DEFLATE;
    int r = write_head(f, &h, desc, err);
    if (r < 0)
        return r;

    size_t tail_sectors = 1 + gd_sectors + 3;
    uint8_t *tail = calloc(tail_sectors, VMDK_SECTOR);
    if (!tail)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", f->name);
    vmdk_marker_encode(tail, gd_sectors, VMDK_MARKER_GD);
    uint8_t *p = tail + (1 + gd_sectors) * VMDK_SECTOR;
    vmdk_marker_encode(p, 1, VMDK_MARKER_FOOTER);
    struct vmdk_sparse_header footer = h;
    footer.gd_offset = STREAM_OVERHEAD + 1;
    vmdk_header_encode(&footer, p + VMDK_SECTOR);
    vmdk_marker_encode(p + 2 * VMDK_SECTOR, 0, VMDK_MARKER_EOS);
    r = vmdk_file_write(f, tail, tail_sectors * VMDK_SECTOR, STREAM_OVERHEAD * VMDK_SECTOR, err);
    free(tail);
    return r;
}

char *vmdk_layout_descriptor(const struct vmdk_desc_params *p)
{
    unsigned heads = strcmp(p->adapter_type, "ide") == 0 ? 16 : 255;
    uint64_t cylinders = p->size / (63ull * heads * VMDK_SECTOR);
    char *hint = NULL, *text = NULL;
    if (p->parent_hint && asprintf(&hint, "parentFileNameHint=\"%s\"\n", p->parent_hint) < 0)
        return NULL;
    int n = asprintf(&text,
                     "# Disk DescriptorFile\n"
                     "version=1\n"
                     "CID=%08" PRIx32 "\n"
                     "parentCID=%08" PRIx32 "\n"
                     "createType=\"%s\"\n"
                     "%s"
                     "# Extent description\n"
                     "%s"
                     "\n"
                     "# The Disk Data Base\n"
                     "#DDB\n"
                     "\n"
                     "ddb.virtualHWVersion = \"%s\"\n"
                     "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
                     "ddb.geometry.heads = \"%u\"\n"
                     "ddb.geometry.sectors = \"63\"\n"
                     "ddb.adapterType = \"%s\"\n"
                     "ddb.toolsVersion = \"%s\"\n",
                     p->cid, p->parent_cid, p->create_type, hint ? hint : "\n", p->extent_lines,
                     p->hwversion, cylinders, heads, p->adapter_type, p->toolsversion);
    free(hint);
    return n < 0 ? NULL : text;
}
