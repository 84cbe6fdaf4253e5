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
    /* grain tables cached per extent; 0: 8 MiB worth (4096 tables of 512 entries, 128
     * GiB of disk at 64 KiB grains), or the whole directory if smaller. Tables are
     * allocated as they are first used. */
    unsigned gt_cache_tables;
    unsigned grain_cache_grains; /* decompressed grains cached per stream extent; 0: 8 */
    /* Skip the flush between data and the grain tables that point to it. Only for
     * cache=unsafe: a crash may then leave tables pointing at unwritten grains. */
    bool unsafe_no_ordering_flush;
    /* streamOptimized writes: threads compressing whole grains in parallel (output
     * stays in order, the file is the same as with one thread). 0: one per CPU (at
     * most 8); 1: compress in the caller's thread. With more than one, vmdk_write may
     * return before its grains reach the file; a later write, read, vmdk_flush or
     * vmdk_close reports any failure. See vmdk_stream_pending(). */
    unsigned compress_threads;
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
    const char *filename; /* host file holding file_offset (NULL for ZERO extents) */
};

/* Describes [offset, offset + max_len): at least one byte, at most max_len. */
int vmdk_block_status(struct vmdk_image *img, uint64_t offset, uint64_t max_len,
                      struct vmdk_map *out, struct vmdk_error *err);

/* ---- zeroes and discard ---- */

#define VMDK_ZEROES_MAY_UNMAP (1u << 0) /* the range may be deallocated if it then reads 0 */

/* Makes [offset, offset + len) read as zeros. Sparse extents with the zeroed-grain flag
 * get GTE 1 for whole grains (the old grain, if any, becomes a leak unless it was the
 * last thing in the file). Without the flag, whole grains are deallocated only when
 * MAY_UNMAP is set and the image has no parent (an unallocated grain then reads 0);
 * otherwise zeros are written, and unallocated grains of a parentless image are left
 * alone. Flat extents get zeros written; ZERO extents need nothing. Stream extents
 * accept only ranges that already read as zeros without a parent (-ENOTSUP
 * otherwise). Returns 0 or -errno (-EACCES for RDONLY/NOACCESS extents). */
int vmdk_write_zeroes(struct vmdk_image *img, uint64_t offset, uint64_t len, unsigned flags,
                      struct vmdk_error *err);

/* Advisory: whole grains in the range that can be dropped safely are (GTE 1 with the
 * zeroed-grain flag, GTE 0 without a parent); everything else is left as it is. The
 * content of a discarded range is whatever it reads afterwards. */
int vmdk_discard(struct vmdk_image *img, uint64_t offset, uint64_t len,
                 struct vmdk_error *err);

/* ---- check and repair ---- */

enum vmdk_check_mode {
    VMDK_CHECK_NONE,   /* report only; the image may be open read-only */
    VMDK_CHECK_LEAKS,  /* repair leaks (reclaim space, resync lagging redundant tables) */
    VMDK_CHECK_ALL,    /* also repair corruptions (dropping entries that cannot be right) */
};

enum vmdk_problem {
    VMDK_PROBLEM_LEAK,       /* harmless: space nothing points to, a lagging copy */
    VMDK_PROBLEM_CORRUPTION, /* data at risk: overlaps, pointers past EOF or into metadata */
    VMDK_PROBLEM_ERROR,      /* could not be checked (I/O error) */
};

/* One line per problem, without a newline; fixed tells whether it was repaired. */
typedef void (*vmdk_check_report_fn)(void *ctx, enum vmdk_problem kind, bool fixed,
                                     const char *msg);

/* Counts as qemu-img check prints them. */
struct vmdk_check_result {
    uint64_t corruptions;        /* found and left as they are */
    uint64_t leaks;              /* found and left as they are */
    uint64_t check_errors;
    uint64_t corruptions_fixed;
    uint64_t leaks_fixed;
    uint64_t total_clusters;     /* grains of every sparse extent */
    uint64_t allocated_clusters; /* grains holding data in this image */
    uint64_t fragmented_clusters;/* allocated grains not right after the previous one */
    uint64_t compressed_clusters;
    uint64_t image_end_offset;   /* bytes: end of the used part of the image file */
};

/* Checks every sparse extent: leaked grains and tables (space after the metadata
 * nothing points to), grains or tables past EOF, inside the header/descriptor/
 * directory area, or overlapping each other (two GTEs naming one grain), and GD/RGD or
 * GT/RGT disagreement. Flat extents only have their file length checked. Repairs need
 * a writable image; repairs write data before the metadata that points to it, so a
 * crash during repair leaves at worst leaks. report may be NULL. Returns 0 when the
 * check ran (whatever it found), -errno when it could not. */
int vmdk_check(struct vmdk_image *img, enum vmdk_check_mode mode, vmdk_check_report_fn report,
               void *ctx, struct vmdk_check_result *res, struct vmdk_error *err);

/* ---- streamOptimized conversion ---- */

/* Number of grains queued for parallel compression and not yet in the file. */
size_t vmdk_stream_pending(const struct vmdk_image *img);

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
/* Bytes the image's files occupy on the host filesystem (qemu-img's "disk size"):
 * the sum over the descriptor and every extent file of allocated blocks, or of file
 * lengths when the opener cannot tell. */
int vmdk_disk_size(struct vmdk_image *img, uint64_t *bytes, struct vmdk_error *err);

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
