/* SPDX-License-Identifier: MIT */
/* Layout of block nodes and host files: known to core/block only. */
#ifndef TESSERA_CORE_BLOCK_INTERNAL_H
#define TESSERA_CORE_BLOCK_INTERNAL_H

#include "block/block.h"

struct block_node {
    char *filename;            /* as given (backing files: resolved against the child's directory) */
    char *real_dir;            /* realpath of the image's directory, for extent confinement */
    char *real_path;           /* realpath of the image file, for loop detection */
    const registry_type *type;
    const ts_block_format_ops *ops;
    void *state;
    bool opened;               /* ops->open succeeded */
    bool read_only;
    bool allow_outside;
    bool thread_safe;
    bool has_backing_name;     /* the image names a backing file */
    block_cache_mode cache;
    uint64_t size;
    struct block_node *backing;

    GMutex lock;               /* serialises format calls of non-thread-safe formats */
    GMutex paths_lock;
    GPtrArray *paths;          /* char *: every host file opened for the node (interned) */

    GMutex aio_lock;
    GCond aio_cond;
    unsigned aio_inflight;
    /* Non-thread-safe formats: one pool task at a time runs the node's requests in
     * submission order; the others wait here (under aio_lock) instead of each taking a
     * pool thread only to block on the node's lock. */
    GQueue aio_serial;
    bool aio_serial_running;
};

struct ts_block_file {
    int fd;                    /* buffered (or O_DSYNC) descriptor */
    int fd_direct;             /* O_DIRECT descriptor under cache=none/directsync, else -1 */
    char *path;
    const char *interned;      /* the node's copy of path, or NULL (create) */
    bool unsafe;               /* cache=unsafe: flush is a no-op */
    bool writable;
};

/* The calling thread's pending plugin error (set by ts_block_api.set_error); caller frees. */
char *block_take_error(void);
/* Records an error for the calling thread, replacing an earlier one. */
void block_set_thread_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Interns path in n's file list; returns the node's copy. */
const char *block_node_intern_path(block_node *n, const char *path);

/* Registers the built-in raw format. */
int block_raw_register(registry *reg, GError **err);

/* The format's registry entry by name (raw or a plugin), or NULL with *err. */
const registry_type *block_find_format(const char *name, GError **err);

/* Runs the node's read through its chain: used by ts_block_api.backing_read. */
int block_node_backing_read(block_node *n, uint64_t offset, void *buf, size_t len);

/* info builder (core/block/block_info.c) */
ts_block_info_builder *block_info_builder_new(void);
GVariant *block_info_builder_finish(ts_block_info_builder *b); /* frees b; NULL when empty */
void block_info_builder_free(ts_block_info_builder *b);

/* Drive services for devices (core/block/drive.c). */
ts_block_drive *block_drive_get(ts_object *dev, const char *prop);
void block_drive_release(ts_block_drive *drive, ts_object *dev);
uint64_t block_drive_size(ts_block_drive *drive);
bool block_drive_read_only(ts_block_drive *drive);
int block_drive_submit(ts_block_drive *drive, ts_block_request *req);

/* Async: runs a device request on the pool (core/block/block_aio.c). */
int block_aio_submit_request(block_node *n, ts_block_request *req);

#endif
