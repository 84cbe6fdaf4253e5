/* SPDX-License-Identifier: MIT */
/*
 * Host files for format drivers (ts_block_api.file_*): the one place where image files
 * are opened, so read-only opens, cache modes and extent-path confinement hold for every
 * format. Cache modes as QEMU maps them: none and directsync add O_DIRECT, directsync and
 * writethrough add O_DSYNC, unsafe turns flushes into no-ops.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_internal.h"

/* O_DIRECT needs buffer, offset and length aligned; 4096 is safe on every device. */
#define DIRECT_ALIGN 4096u

static __thread char *thread_error;

char *block_take_error(void)
{
    char *e = thread_error;
    thread_error = NULL;
    return e;
}

void block_set_thread_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(thread_error);
    thread_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

const char *block_node_intern_path(block_node *n, const char *path)
{
    const char *found = NULL;
    g_mutex_lock(&n->paths_lock);
    for (guint i = 0; i < n->paths->len && !found; i++)
        if (strcmp(n->paths->pdata[i], path) == 0)
            found = n->paths->pdata[i];
    if (!found) {
        char *copy = g_strdup(path);
        g_ptr_array_add(n->paths, copy);
        found = copy;
    }
    g_mutex_unlock(&n->paths_lock);
    return found;
}

/* realpath of a file that may not exist yet: its directory resolved, plus its name. */
static char *resolve_for_check(const char *path)
{
    char *real = realpath(path, NULL);
    if (real) {
        char *copy = g_strdup(real);
        free(real);
        return copy;
    }
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    char *rdir = realpath(dir, NULL);
    if (!rdir)
        return NULL;
    char *r = g_build_filename(rdir, base, NULL);
    free(rdir);
    return r;
}

static bool inside_dir(const char *real_dir, const char *real)
{
    size_t n = strlen(real_dir);
    if (n == 1 && real_dir[0] == '/')
        return true;
    return strncmp(real, real_dir, n) == 0 && real[n] == '/';
}

int block_file_open(block_node *n, const char *path, uint32_t flags, ts_block_file **out);
int block_file_open(block_node *n, const char *path, uint32_t flags, ts_block_file **out)
{
    *out = NULL;
    if (!path || !*path) {
        block_set_thread_error("empty file name");
        return -EINVAL;
    }
    bool write = flags & (TS_BLOCK_FILE_WRITE | TS_BLOCK_FILE_CREATE);
    if (n && write && n->read_only) {
        block_set_thread_error("'%s': cannot open for writing: the image is opened read-only", path);
        return -EROFS;
    }
    if (n && !n->allow_outside && n->real_dir && strcmp(path, n->filename) != 0) {
        g_autofree char *real = resolve_for_check(path);
        if (!real || !inside_dir(n->real_dir, real)) {
            block_set_thread_error("'%s': file lies outside the image's directory '%s' "
                                   "(allow it explicitly to open it)", path, n->real_dir);
            return -EACCES;
        }
    }
    int oflags = (write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    if (flags & TS_BLOCK_FILE_CREATE)
        oflags |= O_CREAT | O_TRUNC;
    block_cache_mode cache = n ? n->cache : BLOCK_CACHE_WRITEBACK;
    if (cache == BLOCK_CACHE_DIRECTSYNC || cache == BLOCK_CACHE_WRITETHROUGH)
        oflags |= O_DSYNC;
    int fd = open(path, oflags, 0644);
    if (fd < 0) {
        int e = errno;
        block_set_thread_error("'%s': could not open%s: %s", path, write ? " for writing" : "",
                               g_strerror(e));
        return -e;
    }
    int fd_direct = -1;
    if (cache == BLOCK_CACHE_NONE || cache == BLOCK_CACHE_DIRECTSYNC) {
        fd_direct = open(path, (oflags & ~(O_CREAT | O_TRUNC)) | O_DIRECT);
        if (fd_direct < 0) {
            int e = errno;
            close(fd);
            block_set_thread_error("'%s': cache=%s needs O_DIRECT, which failed: %s", path,
                                   block_cache_mode_name(cache), g_strerror(e));
            return -e;
        }
    }
    ts_block_file *f = g_new0(ts_block_file, 1);
    f->fd = fd;
    f->fd_direct = fd_direct;
    f->path = g_strdup(path);
    f->unsafe = cache == BLOCK_CACHE_UNSAFE;
    f->writable = write;
    if (n)
        f->interned = block_node_intern_path(n, path);
    *out = f;
    return 0;
}

static bool direct_range(const ts_block_file *f, size_t len, uint64_t off)
{
    return f->fd_direct >= 0 && len % DIRECT_ALIGN == 0 && off % DIRECT_ALIGN == 0;
}

/* Largest bounce buffer for aligned ranges in unaligned memory; bigger ones go in pieces. */
#define BOUNCE_MAX (1u << 20)

static int64_t pread_all(ts_block_file *f, int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            block_set_thread_error("'%s': read error at offset %" G_GUINT64_FORMAT ": %s", f->path,
                                   off + done, g_strerror(e));
            return -e;
        }
        if (r == 0)
            break;
        done += (size_t)r;
        if (fd == f->fd_direct && done % DIRECT_ALIGN)
            fd = f->fd; /* a short direct read at EOF leaves the rest unaligned */
    }
    return (int64_t)done;
}

static int pwrite_all(ts_block_file *f, int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            block_set_thread_error("'%s': write error at offset %" G_GUINT64_FORMAT ": %s", f->path,
                                   off + done, g_strerror(e));
            return -e;
        }
        done += (size_t)r;
        if (fd == f->fd_direct && done % DIRECT_ALIGN)
            fd = f->fd;
    }
    return 0;
}

/*
 * Under O_DIRECT: aligned memory goes straight to the direct descriptor; aligned ranges in
 * unaligned memory go through an aligned bounce buffer (as QEMU does); unaligned ranges
 * use the buffered descriptor (the kernel writes back and invalidates the page cache
 * around direct I/O, so both views agree) rather than a racy read-modify-write.
 */
int64_t block_file_pread(ts_block_file *f, void *buf, size_t len, uint64_t off);
int64_t block_file_pread(ts_block_file *f, void *buf, size_t len, uint64_t off)
{
    if (!direct_range(f, len, off))
        return pread_all(f, f->fd, buf, len, off);
    if ((uintptr_t)buf % DIRECT_ALIGN == 0)
        return pread_all(f, f->fd_direct, buf, len, off);
    void *bounce = NULL;
    size_t blen = MIN(len, (size_t)BOUNCE_MAX);
    if (posix_memalign(&bounce, DIRECT_ALIGN, blen) != 0)
        return pread_all(f, f->fd, buf, len, off);
    size_t done = 0;
    int64_t r = 0;
    while (done < len) {
        size_t now = MIN(blen, len - done);
        r = pread_all(f, f->fd_direct, bounce, now, off + done);
        if (r < 0)
            break;
        memcpy((char *)buf + done, bounce, (size_t)r);
        done += (size_t)r;
        if ((size_t)r < now)
            break; /* end of file */
    }
    free(bounce);
    return r < 0 ? r : (int64_t)done;
}

int block_file_pwrite(ts_block_file *f, const void *buf, size_t len, uint64_t off);
int block_file_pwrite(ts_block_file *f, const void *buf, size_t len, uint64_t off)
{
    if (!f->writable) {
        block_set_thread_error("'%s': file is open read-only", f->path);
        return -EBADF;
    }
    if (!direct_range(f, len, off))
        return pwrite_all(f, f->fd, buf, len, off);
    if ((uintptr_t)buf % DIRECT_ALIGN == 0)
        return pwrite_all(f, f->fd_direct, buf, len, off);
    void *bounce = NULL;
    size_t blen = MIN(len, (size_t)BOUNCE_MAX);
    if (posix_memalign(&bounce, DIRECT_ALIGN, blen) != 0)
        return pwrite_all(f, f->fd, buf, len, off);
    int r = 0;
    for (size_t done = 0; r == 0 && done < len; done += blen) {
        size_t now = MIN(blen, len - done);
        memcpy(bounce, (const char *)buf + done, now);
        r = pwrite_all(f, f->fd_direct, bounce, now, off + done);
    }
    free(bounce);
    return r;
}

static int file_size(ts_block_file *f, uint64_t *size)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0) {
        int e = errno;
        block_set_thread_error("'%s': %s", f->path, g_strerror(e));
        return -e;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

static int file_truncate(ts_block_file *f, uint64_t size)
{
    if (!f->writable) {
        block_set_thread_error("'%s': file is open read-only", f->path);
        return -EBADF;
    }
    if (ftruncate(f->fd, (off_t)size) < 0) {
        int e = errno;
        block_set_thread_error("'%s': could not resize to %" G_GUINT64_FORMAT " bytes: %s",
                               f->path, size, g_strerror(e));
        return -e;
    }
    return 0;
}

static int file_allocate(ts_block_file *f, uint64_t off, uint64_t len, uint32_t mode)
{
    if (!f->writable)
        return -EBADF;
    int m = mode == TS_BLOCK_ALLOC_PUNCH ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
          : mode == TS_BLOCK_ALLOC_ZERO ? FALLOC_FL_ZERO_RANGE : 0;
    if (len == 0)
        return 0;
    if (fallocate(f->fd, m, (off_t)off, (off_t)len) < 0) {
        int e = errno;
        if (e == EOPNOTSUPP || e == ENOSYS)
            return -ENOTSUP;
        block_set_thread_error("'%s': fallocate failed: %s", f->path, g_strerror(e));
        return -e;
    }
    return 0;
}

static int file_flush(ts_block_file *f)
{
    if (f->unsafe || !f->writable)
        return 0;
    if (fdatasync(f->fd) < 0) {
        int e = errno;
        block_set_thread_error("'%s': flush failed: %s", f->path, g_strerror(e));
        return -e;
    }
    return 0;
}

void block_file_close(ts_block_file *f);
void block_file_close(ts_block_file *f)
{
    if (!f)
        return;
    if (f->fd_direct >= 0)
        close(f->fd_direct);
    close(f->fd);
    g_free(f->path);
    g_free(f);
}

static const char *file_name(ts_block_file *f)
{
    return f->interned ? f->interned : f->path;
}

static int file_extent(ts_block_file *f, uint64_t off, uint64_t max_len, bool *is_data, uint64_t *len)
{
    uint64_t size;
    int r = file_size(f, &size);
    if (r < 0)
        return r;
    if (off >= size) {
        *is_data = false;
        *len = max_len;
        return 0;
    }
    off_t data = lseek(f->fd, (off_t)off, SEEK_DATA);
    if (data < 0 && errno == ENXIO) { /* a hole up to the end */
        *is_data = false;
        *len = MIN(max_len, size - off);
        return 0;
    }
    if (data < 0)
        return -errno;
    if ((uint64_t)data > off) {
        *is_data = false;
        *len = MIN(max_len, (uint64_t)data - off);
        return 0;
    }
    off_t hole = lseek(f->fd, (off_t)off, SEEK_HOLE);
    if (hole < 0)
        return -errno;
    *is_data = true;
    *len = MIN(max_len, (uint64_t)hole - off);
    if (*len == 0)
        *len = 1;
    return 0;
}

/* ---- node services ---- */

static void api_set_error(ts_block_node *node, const char *fmt, ...)
{
    (void)node;
    va_list ap;
    va_start(ap, fmt);
    g_free(thread_error);
    thread_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static const char *api_node_filename(ts_block_node *node)
{
    return ((block_node *)node)->filename;
}

static uint32_t api_node_flags(ts_block_node *node)
{
    block_node *n = (block_node *)node;
    return (n->read_only ? TS_BLOCK_NODE_READ_ONLY : 0) |
           (n->allow_outside ? TS_BLOCK_NODE_ALLOW_OUTSIDE : 0) |
           (n->cache == BLOCK_CACHE_UNSAFE ? TS_BLOCK_NODE_UNSAFE : 0) |
           (n->backing ? TS_BLOCK_NODE_HAS_BACKING : 0);
}

static int api_backing_read(ts_block_node *node, uint64_t off, void *buf, size_t len)
{
    return block_node_backing_read((block_node *)node, off, buf, len);
}

static void *api_backing_state(ts_block_node *node, const char *format)
{
    block_node *b = ((block_node *)node)->backing;
    if (!b || !format || strcmp(b->type->desc->name, format) != 0)
        return NULL;
    return b->state;
}

static int api_file_open(ts_block_node *node, const char *path, uint32_t flags, ts_block_file **out)
{
    return block_file_open((block_node *)node, path, flags, out);
}

/* info builder entry points live in block_info.c */
void block_info_add_string(ts_block_info_builder *b, const char *key, const char *value);
void block_info_add_int(ts_block_info_builder *b, const char *key, int64_t value);
void block_info_add_uint(ts_block_info_builder *b, const char *key, uint64_t value);
void block_info_add_bool(ts_block_info_builder *b, const char *key, bool value);
void block_info_begin_dict(ts_block_info_builder *b, const char *key);
void block_info_begin_list(ts_block_info_builder *b, const char *key);
void block_info_end(ts_block_info_builder *b);

void block_check_report_problem(ts_block_node *node, uint32_t kind, bool fixed, const char *msg);

const ts_block_api block_host_services = {
    .size = sizeof(ts_block_api),
    .set_error = api_set_error,
    .node_filename = api_node_filename,
    .node_flags = api_node_flags,
    .backing_read = api_backing_read,
    .file_open = api_file_open,
    .file_pread = block_file_pread,
    .file_pwrite = block_file_pwrite,
    .file_size = file_size,
    .file_truncate = file_truncate,
    .file_allocate = file_allocate,
    .file_flush = file_flush,
    .file_close = block_file_close,
    .file_name = file_name,
    .file_extent = file_extent,
    .info_string = block_info_add_string,
    .info_int = block_info_add_int,
    .info_uint = block_info_add_uint,
    .info_bool = block_info_add_bool,
    .info_begin_dict = block_info_begin_dict,
    .info_begin_list = block_info_begin_list,
    .info_end = block_info_end,
    .drive_get = block_drive_get,
    .drive_release = block_drive_release,
    .drive_size = block_drive_size,
    .drive_read_only = block_drive_read_only,
    .drive_submit = block_drive_submit,
    .check_report = block_check_report_problem,
    .backing_state = api_backing_state,
};
