/* SPDX-License-Identifier: MIT */
/*
 * Opening an image: probing the first sector, then either a sparse file with an
 * embedded descriptor (monolithicSparse, streamOptimized) or a text descriptor whose
 * extent lines name the files. Every extent line is honoured, including ZERO, RDONLY
 * and NOACCESS ones that QEMU drops.
 */
#include "vmdk_internal.h"
#include "vmdk_path.h"

#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void vmdk_open_options_init(struct vmdk_open_options *o)
{
    memset(o, 0, sizeof(*o));
}

/* A text descriptor's first significant line is "version = N" (VMware writes a
 * "# Disk DescriptorFile" comment before it). */
static bool looks_like_descriptor(const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p < end && *p == '#') {
            if (end - p >= 17 && strncasecmp(p, "# Disk Descriptor", 17) == 0)
                return true;
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (end - p < 7 || strncasecmp(p, "version", 7) != 0)
            return false;
        p += 7;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        return p < end && *p == '=';
    }
    return false;
}

int vmdk_probe(const void *buf, size_t len)
{
    if (len >= 4) {
        uint32_t magic = vmdk_le32(buf);
        if (magic == VMDK_SPARSE_MAGIC || magic == VMDK_COWD_MAGIC)
            return 100;
    }
    return looks_like_descriptor(buf, len) ? 100 : 0;
}

static struct vmdk_extent *new_extent(struct vmdk_image *img, struct vmdk_error *err)
{
    struct vmdk_extent *grown = realloc(img->extents, (img->n_extents + 1) * sizeof(*grown));
    if (!grown) {
        vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
        return NULL;
    }
    img->extents = grown;
    struct vmdk_extent *e = &grown[img->n_extents++];
    memset(e, 0, sizeof(*e));
    return e;
}

static int parse_descriptor_text(struct vmdk_image *img, char *text, size_t len,
                                 struct vmdk_error *err)
{
    img->desc_text = text;
    img->desc_len = strnlen(text, len);
    return vmdk_descriptor_parse(text, img->desc_len, img->path, &img->desc, err);
}

/* ---- descriptor files ---- */

static int add_described_extent(struct vmdk_image *img, const struct vmdk_desc_extent *de,
                                const struct vmdk_open_options *o, struct vmdk_error *err)
{
    if (img->sectors > INT64_MAX / VMDK_SECTOR - de->sectors)
        return vmdk_fail(err, EFBIG, "%s: the extents add up to more than 2^63 bytes",
                         img->path);
    switch (de->type) {
    case VMDK_EXTENT_FLAT:
    case VMDK_EXTENT_SPARSE:
    case VMDK_EXTENT_ZERO:
    case VMDK_EXTENT_VMFS:
    case VMDK_EXTENT_VMFSSPARSE:
    case VMDK_EXTENT_SESPARSE:
        break;
    default:
        return vmdk_fail(err, ENOTSUP, "%s: %s extents ('%s') are not supported yet", img->path,
                         vmdk_extent_type_name(de->type), de->filename ? de->filename : "");
    }
    struct vmdk_extent *e = new_extent(img, err);
    if (!e)
        return -ENOMEM;
    e->type = de->type;
    e->access = de->access;
    e->start = img->sectors;
    e->sectors = de->sectors;
    e->writable = !img->read_only && de->access == VMDK_ACCESS_RW &&
                  de->type != VMDK_EXTENT_ZERO && de->type != VMDK_EXTENT_SESPARSE;
    e->flat_offset = de->offset * VMDK_SECTOR;
    img->sectors += de->sectors;
    if (de->type == VMDK_EXTENT_ZERO)
        return 0;

    char *path;
    int r = vmdk_path_resolve(img->path, de->filename, o->allow_outside, &path, err);
    if (r < 0)
        return r;
    r = img->opener->open(img->opener->ctx, path, e->writable ? VMDK_OPEN_WRITE : 0, &e->file,
                          err);
    free(path);
    if (r < 0)
        return r;
    if (de->type == VMDK_EXTENT_VMFSSPARSE)
        e->type = VMDK_EXTENT_SPARSE; /* COWD or KDMV, told apart by the magic */
    if (e->type == VMDK_EXTENT_SPARSE)
        return vmdk_sparse_open(img, e, err);
    if (e->type == VMDK_EXTENT_SESPARSE)
        return vmdk_sesparse_open(img, e, err);
    return 0;
}

static int open_descriptor(struct vmdk_image *img, const struct vmdk_open_options *o,
                           struct vmdk_error *err)
{
    const struct vmdk_descriptor *d = &img->desc;
    if (!d->create_type)
        return vmdk_fail(err, EINVAL, "%s: invalid VMDK image descriptor (no createType)",
                         img->path);
    if (!vmdk_create_type_supported(d->create_type))
        return vmdk_fail(err, ENOTSUP, "%s: Unsupported image type '%s'", img->path,
                         d->create_type);
    if (d->n_extents == 0)
        return vmdk_fail(err, EINVAL, "%s: invalid VMDK image descriptor (no extents)",
                         img->path);
    img->create_type = strdup(d->create_type);
    if (!img->create_type)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
    for (size_t i = 0; i < d->n_extents; i++) {
        int r = add_described_extent(img, &d->extents[i], o, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int open_descriptor_file(struct vmdk_image *img, uint64_t size,
                                const struct vmdk_open_options *o, struct vmdk_error *err)
{
    if (size > VMDK_MAX_DESC_FILE_BYTES)
        return vmdk_fail(err, EFBIG, "%s: not a VMDK sparse file, and too big (%" PRIu64
                         " bytes) for a descriptor", img->path, size);
    char *text = malloc(size + 1);
    if (!text)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
    int r = vmdk_file_read_exact(img->file, text, size, 0, err);
    text[size] = '\0';
    if (r < 0) {
        free(text);
        return r;
    }
    if (!looks_like_descriptor(text, size)) {
        free(text);
        return vmdk_fail(err, EINVAL, "%s: Image not in VMDK format", img->path);
    }
    r = parse_descriptor_text(img, text, size, err);
    if (r < 0)
        return r;
    return open_descriptor(img, o, err);
}

/* ---- sparse files with an embedded descriptor ---- */

static int read_embedded_descriptor(struct vmdk_image *img, const struct vmdk_sparse_header *h,
                                    uint64_t file_size, struct vmdk_error *err)
{
    /* Bounds were checked against the file by vmdk_header_validate for this header;
     * the Haiku case below comes here before that, so check again. */
    uint64_t bytes = h->desc_size * VMDK_SECTOR;
    if (h->desc_size > VMDK_MAX_EMBEDDED_DESC_SECTORS || h->desc_offset > file_size / VMDK_SECTOR ||
        h->desc_offset * VMDK_SECTOR + bytes > file_size)
        return vmdk_fail(err, EINVAL, "%s: embedded descriptor (sector %" PRIu64 ", %" PRIu64
                         " sectors) lies outside the file", img->path, h->desc_offset,
                         h->desc_size);
    char *text = malloc(bytes + 1);
    if (!text)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
    int r = vmdk_file_read_exact(img->file, text, bytes, h->desc_offset * VMDK_SECTOR, err);
    text[bytes] = '\0';
    if (r < 0) {
        free(text);
        return r;
    }
    img->desc_embedded = true;
    img->desc_area_offset = h->desc_offset * VMDK_SECTOR;
    img->desc_area_size = bytes;
    return parse_descriptor_text(img, text, bytes, err);
}

static int open_monolithic(struct vmdk_image *img, const uint8_t *first, uint64_t size,
                           const struct vmdk_open_options *o, struct vmdk_error *err)
{
    struct vmdk_sparse_header h;
    vmdk_header_decode(first, &h);
    /* A sparse header with no capacity but a descriptor is a descriptor file in
     * disguise (images made by Haiku's tools). */
    if (h.capacity == 0 && h.desc_offset != 0) {
        int r = read_embedded_descriptor(img, &h, size, err);
        return r < 0 ? r : open_descriptor(img, o, err);
    }
    struct vmdk_extent *e = new_extent(img, err);
    if (!e)
        return -ENOMEM;
    e->type = VMDK_EXTENT_SPARSE;
    e->access = VMDK_ACCESS_RW;
    e->file = img->file;
    e->shares_image_file = true;
    e->writable = !img->read_only;
    int r = vmdk_sparse_open(img, e, err);
    if (r < 0)
        return r;
    e->sectors = e->hdr.capacity;
    img->sectors = e->sectors;
    if (h.desc_offset) {
        r = read_embedded_descriptor(img, &h, size, err);
        if (r < 0)
            return r;
        /* VMware marks finished stream files RDONLY in their own descriptor. */
        const struct vmdk_descriptor *d = &img->desc;
        if (d->n_extents == 1 && d->extents[0].type == VMDK_EXTENT_SPARSE)
            e->access = d->extents[0].access;
        if (e->access != VMDK_ACCESS_RW)
            e->writable = false;
    }
    const char *derived = e->compressed ? "streamOptimized" : "monolithicSparse";
    img->create_type = strdup(img->desc.create_type ? img->desc.create_type : derived);
    return img->create_type ? 0 : vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
}

/* A COWD file opened directly: one extent, no descriptor. */
static int open_cowd(struct vmdk_image *img, struct vmdk_error *err)
{
    struct vmdk_extent *e = new_extent(img, err);
    if (!e)
        return -ENOMEM;
    e->type = VMDK_EXTENT_SPARSE;
    e->access = VMDK_ACCESS_RW;
    e->file = img->file;
    e->shares_image_file = true;
    e->writable = !img->read_only;
    int r = vmdk_sparse_open(img, e, err);
    if (r < 0)
        return r;
    e->sectors = e->hdr.capacity;
    img->sectors = e->sectors;
    img->create_type = strdup("vmfsSparse");
    return img->create_type ? 0 : vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
}

/* Writable compressed extents get a compressor, and a pipeline if threads were asked
 * for. */
static int setup_compression(struct vmdk_image *img, struct vmdk_error *err)
{
    bool any = false;
    for (size_t i = 0; i < img->n_extents; i++)
        any = any || (img->extents[i].compressed && img->extents[i].writable);
    if (!any)
        return 0;
    img->zc = vmdk_compressor_new();
    if (img->compress_threads == 0) {
        unsigned cpus = g_get_num_processors();
        img->compress_threads = cpus < 8 ? cpus : 8;
    }
    if (img->compress_threads > 1)
        img->zpipe = vmdk_zpipe_new(img->compress_threads);
    if (!img->zc || (img->compress_threads > 1 && !img->zpipe))
        return vmdk_fail(err, ENOMEM, "%s: out of memory for compression", img->path);
    return 0;
}

/* ---- entry points ---- */

int vmdk_open(const char *path, const struct vmdk_open_options *opts, struct vmdk_image **out,
              struct vmdk_error *err)
{
    struct vmdk_open_options defaults;
    if (!opts) {
        vmdk_open_options_init(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    struct vmdk_image *img = calloc(1, sizeof(*img));
    if (!img || !(img->path = strdup(path))) {
        free(img);
        return vmdk_fail(err, ENOMEM, "%s: out of memory", path);
    }
    img->read_only = opts->read_only;
    img->ordering_flush = !opts->unsafe_no_ordering_flush;
    img->opener = opts->opener ? opts->opener : vmdk_posix_opener();
    img->gt_cache_tables = opts->gt_cache_tables;
    img->grain_cache_grains = opts->grain_cache_grains;
    img->compress_threads = opts->compress_threads;
    img->desc.parent_cid = VMDK_CID_NONE;

    uint8_t first[VMDK_SECTOR] = { 0 };
    uint64_t size = 0;
    int r = img->opener->open(img->opener->ctx, path, img->read_only ? 0 : VMDK_OPEN_WRITE,
                              &img->file, err);
    if (r == 0)
        r = vmdk_file_size(img->file, &size, err);
    if (r == 0 && size < 4)
        r = vmdk_fail(err, EINVAL, "%s: File is too small, not a valid image", path);
    if (r == 0)
        r = vmdk_file_read_exact(img->file, first, size < VMDK_SECTOR ? size : VMDK_SECTOR, 0, err);
    if (r == 0) {
        uint32_t magic = vmdk_le32(first);
        if (magic == VMDK_SPARSE_MAGIC)
            r = open_monolithic(img, first, size, opts, err);
        else if (magic == VMDK_COWD_MAGIC)
            r = open_cowd(img, err);
        else
            r = open_descriptor_file(img, size, opts, err);
    }
    if (r == 0 && !img->read_only)
        r = setup_compression(img, err);
    if (r < 0) {
        img->read_only = true; /* nothing to write back from a half-open image */
        vmdk_close(img, NULL);
        return r;
    }
    *out = img;
    return 0;
}

int vmdk_close(struct vmdk_image *img, struct vmdk_error *err)
{
    if (!img)
        return 0;
    int r = img->read_only ? 0 : vmdk_flush(img, err);
    vmdk_zpipe_free(img->zpipe); /* after the flush drained it */
    vmdk_compressor_free(img->zc);
    for (size_t i = 0; i < img->n_extents; i++) {
        struct vmdk_extent *e = &img->extents[i];
        vmdk_sparse_close(e);
        vmdk_sesparse_close(e);
        if (!e->shares_image_file)
            vmdk_file_close(e->file);
    }
    vmdk_file_close(img->file);
    vmdk_descriptor_free(&img->desc);
    free(img->extents);
    free(img->desc_text);
    free(img->create_type);
    free(img->path);
    free(img);
    return r;
}

void vmdk_set_backing(struct vmdk_image *img, const struct vmdk_backing *backing)
{
    img->has_backing = backing && backing->read;
    if (img->has_backing)
        img->backing = *backing;
}
