/* SPDX-License-Identifier: MIT */
/* Structures shared by the engine's files. Nothing here is visible to the block layer. */
#ifndef VMDK_INTERNAL_H
#define VMDK_INTERNAL_H

#include "vmdk.h"
#include "vmdk_descriptor.h"
#include "vmdk_format.h"

struct vmdk_gt_cache;
struct vmdk_grain_cache;
struct vmdk_compressor;
struct vmdk_zpipe;

struct vmdk_extent {
    enum vmdk_extent_type type;
    enum vmdk_access access;
    uint64_t start;          /* first virtual sector */
    uint64_t sectors;        /* virtual sectors */
    struct vmdk_file *file;  /* NULL for ZERO extents */
    bool shares_image_file;  /* monolithic: file belongs to the image, not the extent */
    bool writable;

    uint64_t flat_offset;    /* FLAT/VMFS: bytes into the file */

    /* SPARSE (KDMV) */
    struct vmdk_sparse_header hdr; /* the footer's copy for GD-at-end streams */
    uint64_t file_size;      /* bytes; kept current as the engine appends */
    uint64_t grain_bytes;
    uint32_t gtes;           /* entries per grain table */
    uint32_t gt_sectors;     /* sectors one table occupies on disk */
    uint64_t gt_coverage;    /* virtual sectors one table covers */
    uint64_t gd_entries;
    uint32_t *gd;            /* host-endian copy of the grain directory */
    uint32_t *rgd;           /* redundant directory, NULL if unused */
    bool gd_dirty;           /* entries changed since the last writeback */
    bool compressed, markers, zeroed_gte;
    bool cowd;               /* COWD header (vmfsSparse) mapped onto hdr */
    /* SESPARSE (read-only) */
    uint64_t *se_l1;
    uint64_t se_l1_entries, se_gt_offset, se_gt_count, se_grains_offset, se_grains_count;
    uint32_t cowd_free_sector; /* COWD freeSector as last written */
    uint64_t next_alloc;     /* sector where the next grain (or table) goes */
    struct vmdk_gt_cache *gtc;
    struct vmdk_grain_cache *grc;

    /* streamOptimized with the directory at the end (footer layout) */
    bool gd_at_end;
    uint64_t tail_start;     /* sector where the trailing metadata begins */
    bool tail_open;          /* grains are being appended over the old tail */
};

struct vmdk_image {
    char *path;
    struct vmdk_file *file;     /* the file named by path */
    bool read_only;
    bool ordering_flush;
    const struct vmdk_opener *opener;

    /* descriptor text as stored, for the CID rewrite */
    char *desc_text;
    size_t desc_len;
    bool desc_embedded;
    uint64_t desc_area_offset;  /* bytes */
    uint64_t desc_area_size;    /* bytes available (embedded) */
    struct vmdk_descriptor desc;
    char *create_type;
    bool cid_updated;

    struct vmdk_extent *extents;
    size_t n_extents;
    uint64_t sectors;           /* virtual size */

    struct vmdk_backing backing;
    bool has_backing;
    unsigned gt_cache_tables, grain_cache_grains;

    struct vmdk_compressor *zc;  /* for grains compressed in the caller's thread */
    struct vmdk_zpipe *zpipe;    /* parallel compression, NULL unless asked for */
    unsigned compress_threads;
};

/* vmdk_io.c */
/* The extent holding a virtual sector (which must be below the virtual size). */
struct vmdk_extent *vmdk_find_extent(struct vmdk_image *img, uint64_t sector);
/* -EINVAL with QEMU's "Wrong offset" message unless the range lies inside the disk. */
int vmdk_check_range(struct vmdk_image *img, uint64_t offset, uint64_t len,
                     struct vmdk_error *err);

/* vmdk_sparse.c */
int vmdk_sparse_open(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err);
void vmdk_sparse_close(struct vmdk_extent *e);
/* Reads the GTE for a sector of the extent (0 also when the GDE is 0). */
int vmdk_sparse_get_gte(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                        uint32_t *gte, struct vmdk_error *err);
/* Sets the GTE in the cached table (allocating the table in memory if the GDE is 0).
 * The change reaches the file at the next writeback. */
int vmdk_sparse_set_gte(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                        uint32_t gte, struct vmdk_error *err);
/* Writes dirty tables and directory entries, each after what it points to. */
int vmdk_sparse_writeback(struct vmdk_image *img, struct vmdk_extent *e,
                          struct vmdk_error *err);

/* True when a grain table at this sector lies inside the file. */
bool vmdk_sparse_table_inside(const struct vmdk_extent *e, uint32_t sector);
/* Copies a table's entries (zeros when its GDE is 0). */
int vmdk_sparse_copy_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi,
                           uint32_t *out, struct vmdk_error *err);
/* Marks a table dirty so the next writeback rewrites it (and its redundant copy). */
int vmdk_sparse_touch_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi,
                            struct vmdk_error *err);
/* Forgets the table of a directory entry: a new empty one gets file space at the next
 * writeback. */
int vmdk_sparse_reset_table(struct vmdk_image *img, struct vmdk_extent *e, uint64_t gi,
                            struct vmdk_error *err);

/* vmdk_sesparse.c */
int vmdk_sesparse_open(struct vmdk_image *img, struct vmdk_extent *e, struct vmdk_error *err);
void vmdk_sesparse_close(struct vmdk_extent *e);
/* Status of the grain holding a sector; file_offset is the grain's when DATA. */
int vmdk_sesparse_lookup(struct vmdk_extent *e, uint64_t sector, enum vmdk_status *status,
                         uint64_t *file_offset, struct vmdk_error *err);
int vmdk_sesparse_read(struct vmdk_image *img, struct vmdk_extent *e, uint64_t off,
                       uint8_t *buf, size_t len, struct vmdk_error *err);

/* vmdk_stream.c */
int vmdk_stream_read_footer(struct vmdk_extent *e, const char *name, bool writable,
                            struct vmdk_error *err);
int vmdk_stream_read_grain(struct vmdk_image *img, struct vmdk_extent *e, uint64_t grain_index,
                           uint32_t gte, const uint8_t **data, struct vmdk_error *err);
int vmdk_stream_write_grain(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                            const void *buf, size_t len, struct vmdk_error *err);
int vmdk_stream_open_tail(struct vmdk_image *img, struct vmdk_extent *e,
                          struct vmdk_error *err);
int vmdk_stream_write_tail(struct vmdk_image *img, struct vmdk_extent *e,
                           struct vmdk_error *err);
void vmdk_marker_encode(uint8_t sector[VMDK_SECTOR], uint64_t val, uint32_t type);
int vmdk_stream_check_free(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                           struct vmdk_error *err);
int vmdk_stream_store(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                      const uint8_t *out, size_t used, struct vmdk_error *err);

/* vmdk_compress.c */
struct vmdk_compressor *vmdk_compressor_new(void);
void vmdk_compressor_free(struct vmdk_compressor *c);
/* Compresses one grain into a new sector-padded buffer (marker header first when
 * markers). c may be NULL (zlib). Returns 0 or -errno. */
int vmdk_grain_compress(struct vmdk_compressor *c, const uint8_t *in, size_t len, bool markers,
                        uint64_t sector, uint8_t **out, size_t *used);
struct vmdk_zpipe *vmdk_zpipe_new(unsigned threads);
void vmdk_zpipe_free(struct vmdk_zpipe *z);
size_t vmdk_zpipe_pending(const struct vmdk_zpipe *z);
/* Queues a whole grain; stores finished ones. */
int vmdk_zpipe_submit(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                      const uint8_t *buf, size_t len, struct vmdk_error *err);
/* Waits for and stores every queued grain (no-op without a pipeline). */
int vmdk_zpipe_drain(struct vmdk_image *img, struct vmdk_error *err);

/* vmdk_gtcache.c: grain tables in memory, keyed by grain-directory index */
struct vmdk_gt_cache *vmdk_gt_cache_new(uint64_t gd_entries, uint32_t gtes, unsigned slots);
void vmdk_gt_cache_free(struct vmdk_gt_cache *c);
/* Returns the cached table or NULL. */
uint32_t *vmdk_gt_cache_find(struct vmdk_gt_cache *c, uint64_t gd_index);
/* Returns a slot to fill for gd_index, evicting a clean table; NULL when every table
 * is dirty (the caller writes back, then retries) or on allocation failure with grow. */
uint32_t *vmdk_gt_cache_insert(struct vmdk_gt_cache *c, uint64_t gd_index, bool grow);
void vmdk_gt_cache_mark_dirty(struct vmdk_gt_cache *c, uint64_t gd_index);
bool vmdk_gt_cache_any_dirty(const struct vmdk_gt_cache *c);
/* Calls fn for every dirty table in directory order; stops at the first error. */
int vmdk_gt_cache_for_each_dirty(struct vmdk_gt_cache *c,
                                 int (*fn)(void *ctx, uint64_t gd_index, uint32_t *table),
                                 void *ctx);
void vmdk_gt_cache_clean_all(struct vmdk_gt_cache *c);

/* vmdk_grain_cache.c: decompressed grains of stream extents */
struct vmdk_grain_cache *vmdk_grain_cache_new(uint64_t grain_bytes, unsigned slots);
void vmdk_grain_cache_free(struct vmdk_grain_cache *c);
const uint8_t *vmdk_grain_cache_find(struct vmdk_grain_cache *c, uint64_t key);
/* Returns a buffer of grain_bytes to fill for key; call _commit once it is valid. */
uint8_t *vmdk_grain_cache_slot(struct vmdk_grain_cache *c, uint64_t key);
void vmdk_grain_cache_commit(struct vmdk_grain_cache *c, uint64_t key);

/* vmdk_cid.c */
int vmdk_cid_update(struct vmdk_image *img, struct vmdk_error *err);
uint32_t vmdk_random_cid(void);

#endif
