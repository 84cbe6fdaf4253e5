/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the VMDK engine: the input is an image held in memory and served
 * through the engine's file abstraction (struct vmdk_opener), so nothing touches the
 * disk. The input is the image file itself; if it is a text descriptor, the bytes after
 * its first NUL (if any) are what every extent file it names contains (for a binary
 * header, every other file is a copy of the input).
 *
 * Each input is opened read-only (reads at the start, middle and end, a block-status
 * walk, a check) and then, on a private copy, read-write (writes, write-zeroes, discard,
 * check with leak repair, close). Any crash, sanitizer report or leak is a bug.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"

#define MEM_FILE_MAX (64u << 20) /* writes may not grow a file beyond this */

struct mem_data {
    uint8_t *bytes;
    size_t len, cap;
    unsigned refs;
};

struct mem_file {
    struct vmdk_file base;
    struct mem_data *data;
};

static struct mem_data *data_of(struct vmdk_file *f)
{
    return ((struct mem_file *)f)->data;
}

static ssize_t mem_pread(struct vmdk_file *f, void *buf, size_t len, uint64_t off)
{
    struct mem_data *d = data_of(f);
    if (off >= d->len)
        return 0;
    size_t n = d->len - off < len ? (size_t)(d->len - off) : len;
    memcpy(buf, d->bytes + off, n);
    return (ssize_t)n;
}

static int mem_resize(struct mem_data *d, uint64_t size)
{
    if (size > MEM_FILE_MAX)
        return -EFBIG;
    if (size > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < size)
            cap *= 2;
        uint8_t *b = realloc(d->bytes, cap);
        if (!b)
            return -ENOMEM;
        d->bytes = b;
        d->cap = cap;
    }
    if (size > d->len)
        memset(d->bytes + d->len, 0, (size_t)size - d->len);
    d->len = (size_t)size;
    return 0;
}

static ssize_t mem_pwrite(struct vmdk_file *f, const void *buf, size_t len, uint64_t off)
{
    struct mem_data *d = data_of(f);
    if (off > MEM_FILE_MAX || len > MEM_FILE_MAX - off)
        return -EFBIG;
    if (off + len > d->len) {
        int r = mem_resize(d, off + len);
        if (r < 0)
            return r;
    }
    memcpy(d->bytes + off, buf, len);
    return (ssize_t)len;
}

static int mem_get_size(struct vmdk_file *f, uint64_t *size)
{
    *size = data_of(f)->len;
    return 0;
}

static int mem_truncate(struct vmdk_file *f, uint64_t size)
{
    return mem_resize(data_of(f), size);
}

static int mem_flush(struct vmdk_file *f)
{
    (void)f;
    return 0;
}

static void mem_close(struct vmdk_file *f)
{
    struct mem_data *d = data_of(f);
    if (--d->refs == 0) {
        free(d->bytes);
        free(d);
    }
    free(f->name);
    free(f);
}

static const struct vmdk_file_ops mem_ops = {
    .pread = mem_pread,
    .pwrite = mem_pwrite,
    .get_size = mem_get_size,
    .truncate = mem_truncate,
    .flush = mem_flush,
    .close = mem_close,
};

/* The image file and the (shared) content of every other file. Each open of an
 * extent gets its own copy, so extents named twice do not alias. */
struct mem_fs {
    const uint8_t *image, *extent;
    size_t image_len, extent_len;
    struct mem_data *image_data; /* shared by opens of the image path */
};

#define IMAGE_PATH "/fuzz/image.vmdk"

static struct mem_data *new_data(const uint8_t *bytes, size_t len)
{
    struct mem_data *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->bytes = malloc(len ? len : 1);
    if (!d->bytes) {
        free(d);
        return NULL;
    }
    memcpy(d->bytes, bytes, len);
    d->len = d->cap = len;
    return d;
}

static int mem_open(void *ctx, const char *path, unsigned flags, struct vmdk_file **out,
                    struct vmdk_error *err)
{
    struct mem_fs *fs = ctx;
    (void)flags;
    struct mem_data *d;
    if (strcmp(path, IMAGE_PATH) == 0) {
        d = fs->image_data;
    } else {
        if (!fs->extent)
            return vmdk_fail(err, ENOENT, "%s: no such file", path);
        d = new_data(fs->extent, fs->extent_len);
    }
    struct mem_file *f = calloc(1, sizeof(*f));
    char *name = strdup(path);
    if (!d || !f || !name) {
        free(f);
        free(name);
        if (d && d != fs->image_data && d->refs == 0) {
            free(d->bytes);
            free(d);
        }
        return vmdk_fail(err, ENOMEM, "%s: out of memory", path);
    }
    d->refs++;
    f->base.ops = &mem_ops;
    f->base.name = name;
    f->data = d;
    *out = &f->base;
    return 0;
}

static void exercise_read(struct vmdk_image *img)
{
    static uint8_t buf[1 << 20];
    struct vmdk_error err = { 0 };
    uint64_t size = vmdk_size(img);
    uint64_t n = size < sizeof(buf) ? size : sizeof(buf);
    vmdk_read(img, 0, buf, (size_t)n, &err);
    if (size > 8192) {
        vmdk_read(img, size / 2 - 100, buf, 4096, &err);
        vmdk_read(img, size - 4096, buf, 4096, &err);
        vmdk_read(img, size - 4096, buf, 4096, &err); /* cached grain */
    }
    uint64_t off = 0;
    for (int i = 0; i < 64 && off < size; i++) {
        struct vmdk_map m;
        if (vmdk_block_status(img, off, size - off, &m, &err) < 0 || m.length == 0)
            break;
        off += m.length;
    }
    struct vmdk_check_result res;
    vmdk_check(img, VMDK_CHECK_NONE, NULL, NULL, &res, &err);
    for (size_t i = 0; i < vmdk_extent_count(img); i++) {
        struct vmdk_extent_info info;
        vmdk_extent_info(img, i, &info);
    }
    (void)vmdk_create_type(img);
    (void)vmdk_parent_hint(img);
    (void)vmdk_ddb(img, "ddb.adapterType");
}

static void exercise_write(struct vmdk_image *img)
{
    static uint8_t grain[65536];
    memset(grain, 0xa5, sizeof(grain));
    struct vmdk_error err = { 0 };
    uint64_t size = vmdk_size(img);
    if (size >= sizeof(grain)) {
        vmdk_write(img, 0, grain, sizeof(grain), &err);
        vmdk_write(img, (size / 2) & ~(uint64_t)65535, grain, sizeof(grain), &err);
    }
    if (size >= 4096) {
        vmdk_write(img, size - 1000, grain, 1000, &err);
        vmdk_write_zeroes(img, 0, size < (1 << 20) ? size : (1 << 20), VMDK_ZEROES_MAY_UNMAP,
                          &err);
        vmdk_discard(img, size / 4, size / 4 < (1 << 20) ? size / 4 : (1 << 20), &err);
    }
    vmdk_flush(img, &err);
    struct vmdk_check_result res;
    vmdk_check(img, VMDK_CHECK_ALL, NULL, NULL, &res, &err);
    vmdk_read(img, 0, grain, size < sizeof(grain) ? (size_t)size : sizeof(grain), &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_vmdk_run(const uint8_t *data, size_t size, int passes, struct vmdk_error *open_err);

static void split_input(struct mem_fs *fs, const uint8_t *data, size_t size)
{
    memset(fs, 0, sizeof(*fs));
    fs->image = data;
    fs->image_len = size;
    const uint8_t *nul = memchr(data, 0, size);
    bool binary = size >= 4 && (memcmp(data, "KDMV", 4) == 0 || memcmp(data, "COWD", 4) == 0);
    if (binary) {
        fs->extent = data; /* a sparse header posing as a descriptor names itself */
        fs->extent_len = size;
    } else if (nul) {
        fs->extent = nul + 1;
        fs->extent_len = size - (size_t)(nul + 1 - data);
    }
}

/* Runs the read-only pass (passes 1) or both; returns the first open's result. Used by
 * the replay test to make sure the seeds are images the engine accepts. */
int fuzz_vmdk_run(const uint8_t *data, size_t size, int passes, struct vmdk_error *open_err)
{
    struct mem_fs fs;
    split_input(&fs, data, size);
    struct vmdk_opener opener = { .open = mem_open, .ctx = &fs };
    int first = 0;
    for (int rw = 0; rw < passes; rw++) {
        fs.image_data = new_data(data, size);
        if (!fs.image_data)
            return 0;
        fs.image_data->refs = 1; /* held by this loop */
        struct vmdk_open_options o;
        vmdk_open_options_init(&o);
        o.opener = &opener;
        o.read_only = !rw;
        o.allow_outside = true; /* names are looked up in memory, not on disk */
        o.gt_cache_tables = 2;
        o.compress_threads = rw ? 2 : 1; /* the pipeline too */
        struct vmdk_image *img = NULL;
        struct vmdk_error err = { 0 };
        int r = vmdk_open(IMAGE_PATH, &o, &img, &err);
        if (rw == 0) {
            first = r;
            if (open_err)
                *open_err = err;
        }
        if (r == 0) {
            if (rw)
                exercise_write(img);
            else
                exercise_read(img);
            vmdk_close(img, &err);
        }
        struct mem_data *d = fs.image_data;
        if (--d->refs == 0) {
            free(d->bytes);
            free(d);
        }
    }
    return first;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_vmdk_run(data, size, 2, NULL);
    return 0;
}
