/* SPDX-License-Identifier: MIT */
/*
 * The block layer: opens disk images through format drivers (the built-in raw format and
 * TS_KIND_BLOCK_FORMAT plugins), follows backing chains, applies cache modes, runs
 * asynchronous requests on a thread pool, creates, checks and describes images, and opens
 * the drives of a machine description. tessera-img and the VMM both use this API.
 *
 * Errors: functions returning int give 0 (or a count where stated) or a negative errno
 * value with *err (TS_ERROR domain) set to one line in the style "'FILE': what is wrong".
 *
 * Threads: block_init and the drive functions run on the main thread. Everything taking
 * a block_node may be called from any thread; calls on one node are serialised inside the
 * layer when its format is not thread-safe. block_close must not race other calls on the
 * node (drain async requests first: block_aio_drain).
 */
#ifndef TESSERA_CORE_BLOCK_H
#define TESSERA_CORE_BLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/machine.h"
#include "plugin/registry.h"
#include "tessera/block.h"

/* One open image and, below it, its backing chain. */
typedef struct block_node block_node;

/*
 * Makes reg the registry formats are looked up in and registers the built-in raw format
 * into it (once per registry). Call before anything else; calling again with the same
 * registry does nothing, with another registry switches to it.
 */
int block_init(registry *reg, GError **err);
/* Waits for the thread pool and forgets the registry (for tests and clean exits). */
void block_shutdown(void);

/* The block host services every plugin gets as ts_host_api.block. */
extern const ts_block_api block_host_services;

/* Names of all block formats ("raw" and the plugins' types), sorted; free with g_ptr_array_unref. */
GPtrArray *block_formats(void);

/* ---- cache modes ---- */

/* In the order of the drive schema's "cache" enum (prop_enum index = mode). */
typedef enum block_cache_mode {
    BLOCK_CACHE_WRITEBACK = 0,    /* page cache; flush = fdatasync */
    BLOCK_CACHE_NONE = 1,         /* O_DIRECT; flush = fdatasync */
    BLOCK_CACHE_UNSAFE = 2,       /* page cache; flushes ignored */
    BLOCK_CACHE_DIRECTSYNC = 3,   /* O_DIRECT | O_DSYNC */
    BLOCK_CACHE_WRITETHROUGH = 4, /* page cache | O_DSYNC */
} block_cache_mode;

/* Parses "writeback", "none", "unsafe", "directsync", "writethrough". */
bool block_cache_mode_parse(const char *text, block_cache_mode *out);
const char *block_cache_mode_name(block_cache_mode mode);

/* ---- open / close ---- */

typedef struct block_open_options {
    const char *format;       /* NULL: probe the content */
    bool read_only;
    block_cache_mode cache;
    bool no_backing;          /* do not open the backing chain (unallocated reads read zeros) */
    bool allow_outside;       /* file names inside images may leave the image's directory */
    const char *backing_format; /* format of the first backing file, overriding the image's word; NULL: as stated or probed */
} block_open_options;

/* Defaults: probe, read-write, writeback, with backing chain, confined. */
void block_open_options_init(block_open_options *o);

/* The maximum depth of a backing chain (the top image counts as 1). */
#define BLOCK_MAX_CHAIN 64

/*
 * Opens filename (and its backing chain, read-only). Probing looks at the content of
 * every layer whose format is not given: a raw image is never promoted to another format
 * by its name. Backing files are resolved relative to the directory of the image naming
 * them; loops and chains deeper than BLOCK_MAX_CHAIN are refused.
 */
block_node *block_open(const char *filename, const block_open_options *o, GError **err);
/* Flushes (unless read-only) and closes the node and its chain. NULL is allowed. */
int block_close(block_node *n, GError **err);

uint64_t block_size(block_node *n);
const char *block_format_name(block_node *n);
const char *block_filename(block_node *n);
bool block_read_only(block_node *n);
block_cache_mode block_cache(block_node *n);
/* The backing node, or NULL. */
block_node *block_backing(block_node *n);

/* ---- synchronous I/O (ranges must lie within block_size) ---- */

int block_read(block_node *n, uint64_t offset, void *buf, size_t len, GError **err);
int block_write(block_node *n, uint64_t offset, const void *buf, size_t len, GError **err);
/* flags: TS_BLOCK_ZERO_MAY_UNMAP. Falls back to writing zero buffers. */
int block_write_zeroes(block_node *n, uint64_t offset, uint64_t len, uint32_t flags, GError **err);
int block_discard(block_node *n, uint64_t offset, uint64_t len, GError **err);
/* Flushes the node (a no-op under cache=unsafe). */
int block_flush(block_node *n, GError **err);

/* ---- asynchronous I/O on the block layer's GThreadPool ---- */

typedef enum block_op {
    BLOCK_OP_READ = TS_BLOCK_OP_READ,
    BLOCK_OP_WRITE = TS_BLOCK_OP_WRITE,
    BLOCK_OP_FLUSH = TS_BLOCK_OP_FLUSH,
    BLOCK_OP_WRITE_ZEROES = TS_BLOCK_OP_WRITE_ZEROES,
    BLOCK_OP_DISCARD = TS_BLOCK_OP_DISCARD,
} block_op;

/*
 * Completion: runs on a pool thread. ret is 0 or -errno; err (NULL on success) is owned
 * by the layer and freed when the callback returns.
 */
typedef void (*block_aio_cb)(void *opaque, int ret, const GError *err);

/*
 * Queues one request. buf/len: READ and WRITE buffers (the caller keeps them alive until
 * the callback); WRITE_ZEROES and DISCARD use len as the length and ignore buf; FLUSH
 * ignores both. flags: TS_BLOCK_ZERO_* for WRITE_ZEROES. Independent requests run in
 * parallel (serialised per node for formats that are not thread-safe). Returns 0, or
 * -errno without queuing (the callback is then not called).
 */
int block_aio_submit(block_node *n, block_op op, uint64_t offset, void *buf, size_t len,
                     uint32_t flags, block_aio_cb cb, void *opaque);
/* Waits until every request submitted on n has completed (its callback returned). */
void block_aio_drain(block_node *n);
/* Sets the pool's maximum threads (default 8); for tools that want more parallelism. */
void block_aio_set_threads(unsigned n);

/* ---- block status ---- */

typedef struct block_status {
    uint64_t offset;       /* = the queried offset */
    uint64_t length;       /* bytes with this status (>= 1) */
    bool allocated;        /* some layer of the chain holds the range */
    bool data;             /* reads come from stored data (not known zeros) */
    bool zero;             /* reads as zeros */
    bool compressed;
    int depth;             /* layer that decided: 0 = n itself; the last layer asked when none did */
    block_node *layer;     /* that layer, or NULL */
    bool offset_valid;     /* host_file/host_offset are meaningful */
    uint64_t host_offset;
    const char *host_file; /* path of the host file; valid while the node is open */
} block_status;

/*
 * Describes [offset, offset + max_len) of n (clipped to the end of n; offset must lie
 * inside n). With through_backing, unallocated ranges are
 * looked up in the backing chain (as qemu-img map does); otherwise only n is asked.
 */
int block_get_status(block_node *n, uint64_t offset, uint64_t max_len, bool through_backing,
                     block_status *out, GError **err);

/* ---- create ---- */

/*
 * Creates filename in format fmt with size bytes. options: "a=b,c=d" (",," is a literal
 * comma; NULL or "" for none), validated against the format's create options (its
 * declared properties); unknown options, bad values and plugin refusals are errors.
 */
int block_create(const char *fmt, const char *filename, uint64_t size, const char *options,
                 GError **err);
/* The same with options as parallel arrays of n keys and values (value NULL = bare key). */
int block_create_kv(const char *fmt, const char *filename, uint64_t size,
                    const char *const *keys, const char *const *values, guint n, GError **err);
/* "-o help" text for fmt: one line per option with type, default and help. */
char *block_create_help(const char *fmt, GError **err);

/* ---- check ---- */

typedef enum block_repair {
    BLOCK_REPAIR_NONE = TS_BLOCK_REPAIR_NONE,
    BLOCK_REPAIR_LEAKS = TS_BLOCK_REPAIR_LEAKS,
    BLOCK_REPAIR_ALL = TS_BLOCK_REPAIR_ALL,
} block_repair;

typedef struct block_check_result {
    uint64_t corruptions, leaks, corruptions_fixed, leaks_fixed, check_errors;
    uint64_t allocated_clusters, total_clusters, fragmented_clusters, compressed_clusters;
    uint64_t image_end_offset;
} block_check_result;

/* Returns 0 when the check ran (look at *out), -ENOTSUP when the format cannot check. */
int block_check(block_node *n, block_repair repair, block_check_result *out, GError **err);

/* One problem the check found: kind is enum ts_block_problem; msg is one line. */
typedef void (*block_check_report_fn)(void *ctx, int kind, bool fixed, const char *msg);
/* block_check, with every problem passed to report (on the calling thread) as it is found. */
int block_check_report(block_node *n, block_repair repair, block_check_report_fn report, void *ctx,
                       block_check_result *out, GError **err);

/* ---- info ---- */

typedef struct block_info {
    char *filename;
    char *format;
    uint64_t virtual_size;
    uint64_t disk_size;       /* bytes allocated on the host, over every file of the node */
    uint64_t cluster_size;    /* 0: none */
    char *backing_file;       /* as stored in the image, or NULL */
    char *backing_format;     /* as stored, or NULL */
    char *full_backing_filename; /* resolved against the image's directory, or NULL */
    bool dirty;
    bool read_only;           /* the node is open read-only */
    GVariant *format_specific; /* a{sv} in the order the format added keys, or NULL; owned */
} block_info;

int block_get_info(block_node *n, block_info *out, GError **err);
void block_info_clear(block_info *info);

/* ---- drives of a machine description ---- */

/*
 * Opens every MD_DRIVE item of a validated description (file, format, readonly, cache).
 * A drive without id gets "driveN" (N = its index among drives, as QEMU names them). On
 * failure closes what it opened and fails with the drive's origin and option named.
 */
int block_drives_open(machine_desc *d, GError **err);
/* Closes every drive (flushing). */
void block_drives_close(void);
/* The node of drive id, or NULL. */
block_node *block_drive_find(const char *id);
/*
 * Ids of drives given with if=virtio (QEMU's shorthand for a virtio-blk device on that
 * drive), in order; the future virtio-blk device creates one device for each. Owned.
 */
const GPtrArray *block_drives_virtio(void);
/*
 * Adds a "-device virtio-blk-pci,drive=ID" item to d for every if=virtio drive (call after
 * block_drives_open, before the devices are created) and validates d again, so a missing
 * virtio-blk plugin fails naming the drive's option. 0 or -errno. (drive_virtio.c)
 */
int block_drives_add_virtio_devices(machine_desc *d, registry *reg, GError **err);

#endif
