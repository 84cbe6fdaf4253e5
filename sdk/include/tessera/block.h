/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/block.h
 * @brief Block I/O for devices and the block-format plugin interface.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 *
 * Two halves:
 *  - ts_block_format_ops: what a disk-image format plugin (kind TS_KIND_BLOCK_FORMAT)
 *    implements. The block layer calls it to probe, open, read, write, map, create, check
 *    and describe images. The built-in "raw" format implements the same table.
 *  - ts_block_api: what the block layer offers plugins: host files (a format plugin never
 *    calls open(2) itself, so read-only opens, cache modes and path confinement are
 *    enforced in one place), the backing node, a key/value builder for format-specific
 *    information, and drive access for disk devices.
 *
 * All offsets and lengths are in bytes. Functions returning int return 0 (or a
 * non-negative count where stated) on success and a negative errno value on failure.
 */
#ifndef TESSERA_BLOCK_H
#define TESSERA_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** An open image (one layer of a backing chain) as the block layer sees it (opaque). */
typedef struct ts_block_node ts_block_node;
/** A host file opened for a node through ts_block_api.file_open (opaque). */
typedef struct ts_block_file ts_block_file;
/** Builder of format-specific information, handed to ts_block_format_ops.info (opaque). */
typedef struct ts_block_info_builder ts_block_info_builder;
/** A drive (-drive) as a disk device sees it (opaque). */
typedef struct ts_block_drive ts_block_drive;

/* ------------------------------------------------------------------------------------ */
/* Flags and result structures                                                          */
/* ------------------------------------------------------------------------------------ */

/** ts_block_api.node_flags: the node is open read-only; writes must fail with -EROFS. */
#define TS_BLOCK_NODE_READ_ONLY (1u << 0)
/** ts_block_api.node_flags: file names inside the image (extents) may leave its directory. */
#define TS_BLOCK_NODE_ALLOW_OUTSIDE (1u << 1)
/** ts_block_api.node_flags: cache=unsafe; flushes are no-ops, ordering flushes may be skipped. */
#define TS_BLOCK_NODE_UNSAFE (1u << 2)
/** ts_block_api.node_flags: the node has a backing node (backing_read reads real data). */
#define TS_BLOCK_NODE_HAS_BACKING (1u << 3)

/** ts_block_api.file_open: open for writing (refused with -EROFS on a read-only node). */
#define TS_BLOCK_FILE_WRITE (1u << 0)
/** ts_block_api.file_open: create the file, truncating an existing one (implies WRITE). */
#define TS_BLOCK_FILE_CREATE (1u << 1)

/** ts_block_api.file_allocate mode: reserve space; the range keeps its contents. */
#define TS_BLOCK_ALLOC_RESERVE 0u
/** ts_block_api.file_allocate mode: make the range read as zeros, keeping it allocated. */
#define TS_BLOCK_ALLOC_ZERO 1u
/** ts_block_api.file_allocate mode: make the range read as zeros and give the space back. */
#define TS_BLOCK_ALLOC_PUNCH 2u

/** ts_block_format_ops.write_zeroes flags: the range may be deallocated (unmapped). */
#define TS_BLOCK_ZERO_MAY_UNMAP (1u << 0)

/** ts_block_status.flags: the range holds data stored in this image (or its files). */
#define TS_BLOCK_STATUS_DATA (1u << 0)
/** ts_block_status.flags: the range reads as zeros. */
#define TS_BLOCK_STATUS_ZERO (1u << 1)
/**
 * ts_block_status.flags: this layer decides the range's content (data or zero); without
 * it, reads fall through to the backing node (or read zeros when there is none).
 */
#define TS_BLOCK_STATUS_ALLOCATED (1u << 2)
/** ts_block_status.flags: the data is stored compressed (no host offset). */
#define TS_BLOCK_STATUS_COMPRESSED (1u << 3)
/** ts_block_status.flags: file and host_offset say where the data lies in a host file. */
#define TS_BLOCK_STATUS_OFFSET_VALID (1u << 4)

/** What ts_block_format_ops.block_status reports about [offset, offset + length). */
typedef struct ts_block_status {
    uint32_t size;          /**< sizeof(ts_block_status) as built by the host */
    uint32_t flags;         /**< TS_BLOCK_STATUS_* */
    uint64_t length;        /**< bytes from the queried offset with this status; >= 1 */
    uint64_t host_offset;   /**< with OFFSET_VALID: byte offset in file */
    ts_block_file *file;    /**< with OFFSET_VALID: the host file holding the data */
    void *reserved[4];      /**< zero */
} ts_block_status;

/** ts_block_format_ops.check repair modes (tessera-img check -r). */
enum ts_block_repair {
    TS_BLOCK_REPAIR_NONE = 0,  /**< only report */
    TS_BLOCK_REPAIR_LEAKS = 1, /**< reclaim leaked clusters (safe) */
    TS_BLOCK_REPAIR_ALL = 2,   /**< also fix corruptions (may lose data that is already lost) */
};

/** Kinds of problems reported through ts_block_api.check_report. */
enum ts_block_problem {
    TS_BLOCK_PROBLEM_LEAK = 0,       /**< harmless: space nothing points to */
    TS_BLOCK_PROBLEM_CORRUPTION = 1, /**< data at risk */
    TS_BLOCK_PROBLEM_ERROR = 2,      /**< a part could not be checked (I/O error) */
};

/** What ts_block_format_ops.check found (and fixed). Zeroed by the host before the call. */
typedef struct ts_block_check_result {
    uint32_t size;                 /**< sizeof(ts_block_check_result) as built by the host */
    uint32_t reserved0;            /**< zero */
    uint64_t corruptions;          /**< errors that remain after the call */
    uint64_t leaks;                /**< leaked clusters that remain after the call */
    uint64_t corruptions_fixed;    /**< errors repaired */
    uint64_t leaks_fixed;          /**< leaks reclaimed */
    uint64_t check_errors;         /**< I/O errors that kept the check from finishing */
    uint64_t allocated_clusters;   /**< clusters in use; with total_clusters for statistics */
    uint64_t total_clusters;       /**< clusters the virtual size spans (0: not cluster based) */
    uint64_t fragmented_clusters;  /**< allocated clusters not following their predecessor */
    uint64_t compressed_clusters;  /**< allocated clusters stored compressed */
    uint64_t image_end_offset;     /**< end of the used part of the image file, or 0 */
    void *reserved[4];             /**< zero */
} ts_block_check_result;

/**
 * Generic image information, filled by ts_block_format_ops.info. The host zeroes it and
 * sets size before the call; strings are copied by the host when the call returns.
 */
typedef struct ts_block_info {
    uint32_t size;              /**< sizeof(ts_block_info) as built by the host */
    uint32_t reserved0;         /**< zero */
    uint64_t virtual_size;      /**< guest-visible size */
    uint64_t cluster_size;      /**< allocation unit, or 0 when the format has none */
    const char *backing_file;   /**< backing file name as stored in the image, or NULL */
    const char *backing_format; /**< format of the backing file, or NULL (probe it) */
    bool dirty;                 /**< the image was not closed cleanly */
    bool read_only_format;      /**< the image can never be written (e.g. a read-only subformat) */
    uint16_t reserved1;         /**< zero */
    uint32_t reserved2;         /**< zero */
    void *reserved[4];          /**< zero */
} ts_block_info;

/* ------------------------------------------------------------------------------------ */
/* Requests of disk devices                                                             */
/* ------------------------------------------------------------------------------------ */

/** ts_block_request.op values. */
enum ts_block_op {
    TS_BLOCK_OP_READ = 0,         /**< read into iov */
    TS_BLOCK_OP_WRITE = 1,        /**< write from iov */
    TS_BLOCK_OP_FLUSH = 2,        /**< make earlier completed writes durable */
    TS_BLOCK_OP_WRITE_ZEROES = 3, /**< zero [offset, offset + length); flags TS_BLOCK_ZERO_* */
    TS_BLOCK_OP_DISCARD = 4,      /**< the guest no longer needs [offset, offset + length) */
};

/**
 * An asynchronous request of a disk device, submitted with ts_block_api.drive_submit.
 * The device owns the memory (request, iov and buffers) until complete is called.
 */
typedef struct ts_block_request {
    uint32_t size;         /**< sizeof(ts_block_request) as built by the device */
    uint32_t op;           /**< enum ts_block_op */
    uint64_t offset;       /**< byte offset on the drive */
    uint64_t length;       /**< WRITE_ZEROES/DISCARD: bytes; READ/WRITE: ignored (sum of iov) */
    const struct iovec *iov; /**< READ/WRITE: buffers, in order */
    uint32_t iovcnt;       /**< entries in iov */
    uint32_t flags;        /**< WRITE_ZEROES: TS_BLOCK_ZERO_* ; otherwise 0 */
    /**
     * Called exactly once with 0 or -errno, on one of the block layer's pool threads
     * (never inside drive_submit). The device may free or reuse req from here on.
     */
    void (*complete)(struct ts_block_request *req, int ret);
    void *opaque;          /**< the device's; untouched by the host */
    void *reserved[4];     /**< zero */
} ts_block_request;

/* ------------------------------------------------------------------------------------ */
/* Host services                                                                        */
/* ------------------------------------------------------------------------------------ */

/**
 * Block I/O on the host files under a drive, for format plugins and disk devices. Filled
 * by the block layer; NULL where absent.
 *
 * Threads: node, file and builder services may be called from any thread that is running
 * a ts_block_format_ops call for that node. Drive services are called from the device's
 * hooks or from any thread after realize.
 */
typedef struct ts_block_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */

    /* --- nodes (the image a format op is working on) --- */

    /**
     * Records why the current format op failed. The host reports it as
     * "'FILENAME': MESSAGE", so name a file only when it is another one (an extent).
     * A later call replaces an earlier one. node may be NULL during create: the message
     * then goes to the create call's error.
     */
    void (*set_error)(ts_block_node *node, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
    /** The image's file name as the user gave it (never NULL). */
    const char *(*node_filename)(ts_block_node *node);
    /** TS_BLOCK_NODE_* flags of the node. */
    uint32_t (*node_flags)(ts_block_node *node);
    /**
     * Reads the backing node's data at [offset, offset + len), for copy-on-write and
     * reads of unallocated ranges; zeros beyond the backing node's end. Without a backing
     * node it fills zeros. Returns 0 or -errno.
     */
    int (*backing_read)(ts_block_node *node, uint64_t offset, void *buf, size_t len);

    /* --- host files --- */

    /**
     * Opens a host file for node (node NULL during create). path is absolute, or relative
     * to the current directory exactly as the image's own name is. With a node the file
     * gets the node's cache mode (O_DIRECT/O_DSYNC as the drive says), writing is refused
     * with -EROFS on a read-only node, and the resolved path must lie inside the image's
     * directory unless the node has TS_BLOCK_NODE_ALLOW_OUTSIDE (-EACCES, with an error
     * recorded). flags: TS_BLOCK_FILE_*. Returns 0 and *out, or -errno with an error
     * recorded naming the file.
     */
    int (*file_open)(ts_block_node *node, const char *path, uint32_t flags, ts_block_file **out);
    /** Reads up to len bytes at offset. Returns the count (short only at end of file) or -errno. */
    int64_t (*file_pread)(ts_block_file *f, void *buf, size_t len, uint64_t offset);
    /** Writes all len bytes at offset. Returns 0 or -errno. */
    int (*file_pwrite)(ts_block_file *f, const void *buf, size_t len, uint64_t offset);
    /** Current length of the file in *size. */
    int (*file_size)(ts_block_file *f, uint64_t *size);
    /** Sets the file's length; growing leaves a hole that reads as zeros. */
    int (*file_truncate)(ts_block_file *f, uint64_t size);
    /**
     * fallocate-style space control, mode TS_BLOCK_ALLOC_*. Returns -ENOTSUP when the host
     * file system cannot do it (the caller then writes zeros itself).
     */
    int (*file_allocate)(ts_block_file *f, uint64_t offset, uint64_t len, uint32_t mode);
    /** Makes completed writes durable (fdatasync); a no-op under cache=unsafe. */
    int (*file_flush)(ts_block_file *f);
    /** Closes the file (NULL is allowed). */
    void (*file_close)(ts_block_file *f);
    /** The path the file was opened with. */
    const char *(*file_name)(ts_block_file *f);
    /**
     * Where the file has data (SEEK_DATA/SEEK_HOLE): from offset, *len bytes (>= 1, at
     * most max_len) are all data (*is_data true) or all hole. Past the end of the file:
     * hole. Returns 0 or -errno (the caller may then assume data).
     */
    int (*file_extent)(ts_block_file *f, uint64_t offset, uint64_t max_len, bool *is_data,
                       uint64_t *len);

    /* --- format-specific information (ts_block_format_ops.info) --- */
    /*
     * A tree of named values, kept in the order added. Keys are JSON-style names with
     * dashes ("parent-cid", "create-type"); tessera-img prints them with spaces in human
     * output. key is NULL for elements of a list. All builder calls accept a NULL builder
     * and then do nothing.
     */

    /** Adds a string. */
    void (*info_string)(ts_block_info_builder *b, const char *key, const char *value);
    /** Adds a signed integer. */
    void (*info_int)(ts_block_info_builder *b, const char *key, int64_t value);
    /** Adds an unsigned integer. */
    void (*info_uint)(ts_block_info_builder *b, const char *key, uint64_t value);
    /** Adds a boolean. */
    void (*info_bool)(ts_block_info_builder *b, const char *key, bool value);
    /** Opens a nested dictionary; values go into it until info_end. */
    void (*info_begin_dict)(ts_block_info_builder *b, const char *key);
    /** Opens a list; elements (key NULL) go into it until info_end. */
    void (*info_begin_list)(ts_block_info_builder *b, const char *key);
    /** Closes the innermost open dictionary or list. */
    void (*info_end)(ts_block_info_builder *b);

    /* --- drives, for disk devices --- */

    /**
     * The drive named by dev's property prop (a TS_PROP_STRING or TS_PROP_REF holding a
     * drive id), claimed for dev. Returns NULL with an error recorded on dev (set_error)
     * when the property is unset, names no drive, or another device holds the drive.
     */
    ts_block_drive *(*drive_get)(ts_object *dev, const char *prop);
    /** Gives back a drive claimed by drive_get (dev's unrealize). */
    void (*drive_release)(ts_block_drive *drive, ts_object *dev);
    /** The drive's size in bytes. */
    uint64_t (*drive_size)(ts_block_drive *drive);
    /** True when the drive is read-only (readonly=on, or a read-only image). */
    bool (*drive_read_only)(ts_block_drive *drive);
    /**
     * Queues req on the block layer's thread pool. Independent requests run in parallel;
     * a FLUSH completes after every write completed before it was submitted. Returns 0
     * (complete will be called) or -errno (complete will not be called).
     */
    int (*drive_submit)(ts_block_drive *drive, ts_block_request *req);

    /* --- check --- */

    /**
     * Reports one problem found by ts_block_format_ops.check, as one line without a
     * newline ("Leaked grain at offset 0x50000"); kind is enum ts_block_problem, fixed
     * whether the repair mode fixed it. Call only from within check.
     */
    void (*check_report)(ts_block_node *node, uint32_t kind, bool fixed, const char *msg);

    /* --- backing node, continued --- */

    /**
     * The per-node state (what open returned) of node's backing node when that node is
     * open with the format named format (your own type name), else NULL. Lets a format
     * check its parent's metadata (VMDK compares its parentCID with the parent's CID).
     * The backing node is read-only and stays open as long as node; treat the state as
     * read-only and do not call into it concurrently with its own ops.
     */
    void *(*backing_state)(ts_block_node *node, const char *format);
} ts_block_api;

/* ------------------------------------------------------------------------------------ */
/* Format plugins                                                                       */
/* ------------------------------------------------------------------------------------ */

/**
 * ts_block_format_ops.flags: read, write, write_zeroes, discard and block_status may run
 * concurrently on one node. Without it the block layer serialises all calls on a node.
 */
#define TS_BLOCK_FORMAT_THREAD_SAFE (1u << 0)
/** ts_block_format_ops.flags: the format stores a backing file name (info fills backing_file). */
#define TS_BLOCK_FORMAT_HAS_BACKING (1u << 1)

/**
 * Kind-specific operations of a TS_KIND_BLOCK_FORMAT type.
 *
 * Per-node state: open returns a pointer (*state) that every later call gets back.
 * Errors: return -errno and say why with ts_block_api.set_error(node, ...).
 * Create options: the type's declared properties (ts_type_desc.props) are the create
 * options; the host parses and validates "-o a=b,c=d" against them and prints them for
 * "-o help". create reads them through the ts_host_api property getters on opts. The
 * type's lifecycle hooks (ts_type_desc.create etc.) are called around create for opts
 * like for any object; a format may keep them trivial.
 * Unless TS_BLOCK_FORMAT_THREAD_SAFE is set, the host never calls two ops of one node at
 * the same time. NULL members are "not supported" (-ENOTSUP), except where noted.
 */
typedef struct ts_block_format_ops {
    uint32_t size;      /**< sizeof(ts_block_format_ops) as built by the plugin */
    uint32_t reserved0; /**< zero */

    /** TS_BLOCK_FORMAT_* */
    uint32_t flags;
    /** zero */
    uint32_t reserved1;

    /**
     * Scores how sure the format is that an image starts with buf (the first len bytes,
     * len >= 512 unless the file is shorter). 0: not this format; 100: a magic number
     * matched. filename is a hint only: content decides, so a name alone never earns
     * more than 1. Required. Must not touch the file.
     */
    int (*probe)(const uint8_t *buf, size_t len, const char *filename);
    /**
     * Opens the image node_filename(node) (through file_open) and returns per-node state.
     * A read-only node (node_flags) must not be modified. Required.
     */
    int (*open)(ts_block_node *node, void **state);
    /** Writes back pending metadata and closes every file; state is freed even on error. */
    int (*close)(ts_block_node *node, void *state);
    /** Virtual (guest-visible) size in bytes. Required. */
    uint64_t (*get_size)(ts_block_node *node, void *state);
    /** Reads [offset, offset + len) (within the virtual size). Required. */
    int (*read)(ts_block_node *node, void *state, uint64_t offset, void *buf, size_t len);
    /** Writes [offset, offset + len) (within the virtual size). */
    int (*write)(ts_block_node *node, void *state, uint64_t offset, const void *buf, size_t len);
    /**
     * Makes [offset, offset + len) read as zeros (never from the backing node). flags:
     * TS_BLOCK_ZERO_MAY_UNMAP. NULL or -ENOTSUP: the host writes zero buffers instead.
     */
    int (*write_zeroes)(ts_block_node *node, void *state, uint64_t offset, uint64_t len,
                        uint32_t flags);
    /** May deallocate [offset, offset + len); content afterwards is unspecified. NULL: ignored. */
    int (*discard)(ts_block_node *node, void *state, uint64_t offset, uint64_t len);
    /** Writes back metadata and flushes the files (ts_block_api.file_flush). NULL: nothing to do. */
    int (*flush)(ts_block_node *node, void *state);
    /**
     * Describes [offset, offset + max_len): out->length (1..max_len) bytes share out->flags.
     * NULL: the host reports everything as allocated data.
     */
    int (*block_status)(ts_block_node *node, void *state, uint64_t offset, uint64_t max_len,
                        ts_block_status *out);
    /**
     * Creates a new image at filename of size bytes with the options in opts (an object of
     * this type: read options with ts_host_api.prop_*; report errors with
     * ts_host_api.set_error(opts, ...)). Files are opened with file_open(NULL, ...).
     */
    int (*create)(ts_object *opts, const char *filename, uint64_t size);
    /** Checks the image's metadata and repairs as repair (enum ts_block_repair) asks. */
    int (*check)(ts_block_node *node, void *state, uint32_t repair, ts_block_check_result *out);
    /**
     * Fills generic information and adds format-specific values to b (which may be NULL:
     * then only out is wanted). Strings in out must live until the next call on state.
     */
    int (*info)(ts_block_node *node, void *state, ts_block_info *out, ts_block_info_builder *b);
    void *reserved[8]; /**< zero */
} ts_block_format_ops;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_BLOCK_H */
