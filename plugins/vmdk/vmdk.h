/* SPDX-License-Identifier: MIT */
/*
 * The VMDK engine: open, read, write, map and create VMDK images of every common
 * subformat. It knows nothing of the block layer; the block layer wraps it, passing its
 * own files through struct vmdk_opener (vmdk_file.h) and its own backing chain through
 * struct vmdk_backing. All offsets and lengths are in bytes.
 *
 * Threading: one image is not thread-safe; callers serialise calls on one image.
 */
#ifndef VMDK_H
#define VMDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmdk_error.h"
#include "vmdk_file.h"

struct vmdk_image;

/* ---- probing ---- */

/* Scores the first bytes of a file (at least 512 if the file has them): 100 for a
 * sparse header, 100 for a text descriptor that starts like one, 0 otherwise. */
int vmdk_probe(const void *buf, size_t len);

/* ---- open / close ---- */

struct vmdk_open_options {
    bool read_only;
    bool allow_outside;       /* extent names may leave the descriptor's directory */
    const struct vmdk_opener *opener; /* NULL: vmdk_posix_opener() */
    unsigned gt_cache_tables;  /* grain tables cached per extent; 0: default (256) */
    unsigned grain_cache_grains; /* decompressed grains cached per stream extent; 0: 8 */
    /* Skip the flush between data and the grain tables that point to it. Only for
     * cache=unsafe: a crash may then leave tables pointing at unwritten grains. */
    bool unsafe_no_ordering_flush;
};

void vmdk_open_options_init(struct vmdk_open_options *o);

int vmdk_open(const char *path, const struct vmdk_open_options *o, struct vmdk_image **out,
              struct vmdk_error *err);

/* Writes back pending metadata and closes every file. The image is freed even when
 * the final flush fails (the error is returned). */
int vmdk_close(struct vmdk_image *img, struct vmdk_error *err);

/* ---- backing chain ---- */

/* How the engine reads the parent's data for unallocated grains (on reads and for
 * copy-on-write of partial grain writes). Without a backing, those read as zeros.
 * The block layer opens the parent named by vmdk_parent_hint() and checks
 * vmdk_parent_cid() against the parent's vmdk_cid() before installing it. */
struct vmdk_backing {
    int (*read)(void *ctx, uint64_t offset, void *buf, size_t len, struct vmdk_error *err);
    void *ctx;
};

void vmdk_set_backing(struct vmdk_image *img, const struct vmdk_backing *backing);

/* ---- I/O ---- */

uint64_t vmdk_size(const struct vmdk_image *img);
int vmdk_read(struct vmdk_image *img, uint64_t offset, void *buf, size_t len,
              struct vmdk_error *err);
/* Sparse extents allocate grains; stream extents accept only whole grains (or the
 * short last one) not yet allocated, as QEMU does. */
int vmdk_write(struct vmdk_image *img, uint64_t offset, const void *buf, size_t len,
               struct vmdk_error *err);
/* Writes pending grain tables (after the data they point to) and flushes files. */
int vmdk_flush(struct vmdk_image *img, struct vmdk_error *err);

enum vmdk_status {
    VMDK_STATUS_UNALLOCATED, /* read from the backing, or zeros */
    VMDK_STATUS_ZERO,        /* reads as zeros, never from the backing */
    VMDK_STATUS_DATA,        /* data stored in this image */
};

struct vmdk_map {
    uint64_t offset;     /* virtual, = the queried offset */
    uint64_t length;     /* bytes with the same status (and contiguous file offsets) */
    enum vmdk_status status;
    bool compressed;
    bool offset_valid;   /* file_offset is meaningful (uncompressed data) */
    uint64_t file_offset;
    size_t extent;       /* index for vmdk_extent_info() */
};

/* Describes [offset, offset + max_len): at least one byte, at most max_len. */
int vmdk_block_status(struct vmdk_image *img, uint64_t offset, uint64_t max_len,
                      struct vmdk_map *out, struct vmdk_error *err);

/* ---- information ---- */

struct vmdk_extent_info {
    const char *filename;   /* path as opened; NULL for ZERO extents */
    const char *type;       /* "SPARSE", "FLAT", ... */
    const char *access;     /* "RW", "RDONLY", "NOACCESS" */
    uint64_t virtual_size;  /* bytes */
    uint64_t cluster_size;  /* bytes; 0 for non-sparse extents */
    uint64_t flat_offset;   /* bytes into the file (FLAT/VMFS) */
    bool compressed;
    bool monolithic;        /* the extent is the image file itself */
    unsigned header_version; /* sparse only */
};

const char *vmdk_create_type(const struct vmdk_image *img);
uint32_t vmdk_cid(const struct vmdk_image *img);
uint32_t vmdk_parent_cid(const struct vmdk_image *img);
const char *vmdk_parent_hint(const struct vmdk_image *img); /* NULL without a parent */
/* A ddb.* value from the descriptor (case-insensitive key), or NULL. */
const char *vmdk_ddb(const struct vmdk_image *img, const char *key);
size_t vmdk_extent_count(const struct vmdk_image *img);
void vmdk_extent_info(const struct vmdk_image *img, size_t i, struct vmdk_extent_info *out);

/* ---- create ---- */

enum vmdk_subformat {
    VMDK_MONOLITHIC_SPARSE,
    VMDK_MONOLITHIC_FLAT,
    VMDK_TWO_GB_SPARSE,
    VMDK_TWO_GB_FLAT,
    VMDK_STREAM_OPTIMIZED,
};

struct vmdk_create_options {
    uint64_t size;                 /* bytes; rounded up to 512 as qemu-img does */
    enum vmdk_subformat subformat;
    const char *adapter_type;      /* NULL: "ide" */
    const char *hwversion;         /* NULL: "4" (or "6" with compat6) */
    bool compat6;
    const char *toolsversion;      /* NULL: "2147483647" */
    bool zeroed_grain;
    const char *backing_file;      /* written verbatim as parentFileNameHint */
    const struct vmdk_opener *opener; /* NULL: vmdk_posix_opener() */
    bool allow_outside;            /* for opening the backing file */
};

void vmdk_create_options_init(struct vmdk_create_options *o);
/* Parses "monolithicSparse", ... (case-sensitive, as qemu-img). */
int vmdk_subformat_parse(const char *s, enum vmdk_subformat *out);
const char *vmdk_subformat_name(enum vmdk_subformat f);
int vmdk_create(const char *path, const struct vmdk_create_options *o, struct vmdk_error *err);

#endif
