/* SPDX-License-Identifier: MIT */
/*
 * The tiny I/O abstraction the VMDK engine runs on. The engine never calls open(2) or
 * pread(2) itself: it asks an opener for a struct vmdk_file and uses its ops, so the
 * block layer can later hand in its own files (thread pool, O_DIRECT, cache modes)
 * without the engine changing. vmdk_posix_opener() is the default, over plain fds.
 */
#ifndef VMDK_FILE_H
#define VMDK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmdk_error.h"

struct vmdk_file;

struct vmdk_file_ops {
    /* Reads up to len bytes at off. Returns the count read (short only at end of file)
     * or -errno. */
    ssize_t (*pread)(struct vmdk_file *f, void *buf, size_t len, uint64_t off);
    /* Writes all len bytes at off, or returns -errno. Returns len on success. */
    ssize_t (*pwrite)(struct vmdk_file *f, const void *buf, size_t len, uint64_t off);
    int (*get_size)(struct vmdk_file *f, uint64_t *size);
    /* Sets the file length; growing leaves a hole that reads as zeros. */
    int (*truncate)(struct vmdk_file *f, uint64_t size);
    /* Makes everything written so far durable (fdatasync). */
    int (*flush)(struct vmdk_file *f);
    void (*close)(struct vmdk_file *f);
    /* Optional (NULL: unknown): bytes the file occupies on the host (st_blocks * 512). */
    int (*allocated_size)(struct vmdk_file *f, uint64_t *bytes);
};

/* Implementations embed this as their first member. */
struct vmdk_file {
    const struct vmdk_file_ops *ops;
    char *name; /* the path as given, for error messages; owned by the file */
};

enum {
    VMDK_OPEN_WRITE = 1u << 0,  /* open read-write */
    VMDK_OPEN_CREATE = 1u << 1, /* create, truncating an existing file */
};

/* Opens extent and descriptor files. Returns 0 or -errno with err filled in. */
struct vmdk_opener {
    int (*open)(void *ctx, const char *path, unsigned flags, struct vmdk_file **out,
                struct vmdk_error *err);
    void *ctx;
};

const struct vmdk_opener *vmdk_posix_opener(void);

/* Wrappers that turn short reads and I/O errors into messages naming the file. */
int vmdk_file_read_exact(struct vmdk_file *f, void *buf, size_t len, uint64_t off,
                         struct vmdk_error *err);
int vmdk_file_write(struct vmdk_file *f, const void *buf, size_t len, uint64_t off,
                    struct vmdk_error *err);
int vmdk_file_size(struct vmdk_file *f, uint64_t *size, struct vmdk_error *err);
int vmdk_file_truncate(struct vmdk_file *f, uint64_t size, struct vmdk_error *err);
int vmdk_file_flush(struct vmdk_file *f, struct vmdk_error *err);
void vmdk_file_close(struct vmdk_file *f);

#endif
