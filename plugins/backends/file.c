/* SPDX-License-Identifier: MIT */
/*
 * memory-backend-file: memory mapped from a file (tmpfs, hugetlbfs, a DAX device, a disk
 * file), or from an unlinked temporary file in a directory.
 *
 * Everything that can be checked without touching the file system (size, align, page size)
 * is checked first; anything realize creates or changes (a new file, a grown file) is undone
 * when a later step fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostmem.h"

typedef struct file_backend {
    hostmem_backend common; /* first: the shared hooks in hostmem.c use it */
    char *mem_path;
    bool readonly;
    bool discard_data;
    uint64_t align;
} file_backend;

/* What realize did to the file system, to be undone on failure. */
typedef struct file_undo {
    bool created;       /* mem_path did not exist */
    bool grown;         /* the file was shorter than size */
    off_t original_len; /* its length before growing */
} file_undo;

static const ts_prop_desc file_props[] = {
    HOSTMEM_COMMON_PROPS("off"),
    TS_PROP_DESC_STRING("mem-path", TS_PROP_REQUIRED, NULL,
                        "file to map (created if missing), or a directory for a temporary file"),
    TS_PROP_DESC_BOOL("readonly", 0, "off", "open the file read-only and map it read-only"),
    TS_PROP_DESC_BOOL("discard-data", 0, "off",
                      "throw the file's content away when the backend goes away (share=on)"),
    TS_PROP_DESC_SIZE("align", 0, "0", 0, 0, "alignment of the mapping's address (0: page size)"),
    TS_PROP_DESC_END,
};

static int file_create(ts_object *obj, void **state)
{
    file_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    hostmem_read_opts(obj, &b->common.opts);
    const char *path = hostmem_host->prop_string(obj, "mem-path");
    b->mem_path = path ? strdup(path) : NULL;
    if (path && !b->mem_path) {
        free(b);
        return -ENOMEM;
    }
    b->readonly = hostmem_host->prop_bool(obj, "readonly");
    b->discard_data = hostmem_host->prop_bool(obj, "discard-data");
    b->align = hostmem_host->prop_size(obj, "align");
    hostmem_map_init(&b->common.map);
    *state = b;
    return 0;
}

/* Directory part of path ("." for a bare name), in buf. */
static const char *parent_dir(const char *path, char buf[PATH_MAX])
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= PATH_MAX)
        len = PATH_MAX - 1;
    memcpy(buf, path, len);
    buf[len] = '\0';
    return buf;
}

/* An unnamed file in dir: O_TMPFILE where the file system has it, else mkstemp + unlink. */
static int open_temp_in_dir(ts_object *obj, const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char name[PATH_MAX];
    if (snprintf(name, sizeof(name), "%s/tessera-mem.XXXXXX", dir) >= (int)sizeof(name)) {
        hostmem_host->set_error(obj, "mem-path %s: directory name too long", dir);
        return -ENAMETOOLONG;
    }
    fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't create a file in mem-path directory %s: %s", dir,
                                strerror(-r));
        return r;
    }
    unlink(name); /* the memory lives as long as the fd and the mapping, and no longer */
    return fd;
}

/* Opens (or creates) the named file mem_path for writing. */
static int open_rw(ts_object *obj, const char *path, file_undo *undo)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == ENOENT) {
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd >= 0) {
                undo->created = true;
                return fd;
            }
            if (errno == EEXIST)
                continue; /* someone else created it in between: open theirs */
        }
        int r = -errno;
        if (r == -EACCES || r == -EPERM || r == -EROFS)
            hostmem_host->set_error(obj, "can't open mem-path %s for writing: %s (readonly=on "
                                    "maps it read-only)", path, strerror(-r));
        else
            hostmem_host->set_error(obj, "can't open mem-path %s: %s", path, strerror(-r));
        return r;
    }
    hostmem_host->set_error(obj, "can't open mem-path %s: it keeps appearing and vanishing", path);
    return -EAGAIN;
}

/* Opens what mem_path names: an existing file, a new file or a temporary file in a directory. */
static int file_open(ts_object *obj, file_backend *b, bool is_dir, file_undo *undo)
{
    if (is_dir)
        return open_temp_in_dir(obj, b->mem_path);
    if (!b->readonly)
        return open_rw(obj, b->mem_path, undo);
    int fd = open(b->mem_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't open mem-path %s: %s", b->mem_path, strerror(-r));
        return r;
    }
    return fd;
}

/* Makes a regular file at least m->size bytes long; other files (devices) are taken as they are. */
static int file_fit_size(ts_object *obj, file_backend *b, file_undo *undo)
{
    hostmem_map *m = &b->common.map;
    struct stat st;
    if (fstat(m->fd, &st) < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't stat mem-path %s: %s", b->mem_path, strerror(-r));
        return r;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size >= m->size)
        return 0;
    char have[32], want[32];
    if (b->readonly) {
        hostmem_host->set_error(obj, "mem-path %s is %s, smaller than size %s, and readonly=on "
                                "cannot grow it", b->mem_path, hostmem_size_text((uint64_t)st.st_size, have),
                                hostmem_size_text(m->size, want));
        return -EINVAL;
    }
    if (ftruncate(m->fd, (off_t)m->size) < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't grow mem-path %s from %s to size %s: %s", b->mem_path,
                                hostmem_size_text((uint64_t)st.st_size, have),
                                hostmem_size_text(m->size, want), strerror(-r));
        return r;
    }
    undo->grown = !undo->created;
    undo->original_len = st.st_size;
    return 0;
}

/* Checks size and align against the page size of the file system mem_path lives on. */
static int file_check_geometry(ts_object *obj, file_backend *b, const char *where)
{
    hostmem_map *m = &b->common.map;
    bool hugetlb;
    char a[32], p[32];
    int r = hostmem_page_size(obj, -1, where, where, &m->page_size, &hugetlb);
    if (r < 0)
        return r;
    if (b->align & (b->align - 1)) {
        hostmem_host->set_error(obj, "align %s is not a power of two", hostmem_size_text(b->align, a));
        return -EINVAL;
    }
    if (hugetlb) {
        m->flags |= TS_MEM_HUGETLB;
        r = hostmem_check_huge_multiple(obj, "size", b->common.opts.size, m->page_size, where);
        if (r == 0 && b->align)
            r = hostmem_check_huge_multiple(obj, "align", b->align, m->page_size, where);
        if (r < 0)
            return r;
    } else if (b->align && b->align < m->page_size) {
        hostmem_host->set_error(obj, "align %s is smaller than the %s page size of %s",
                                hostmem_size_text(b->align, a), hostmem_size_text(m->page_size, p), where);
        return -EINVAL;
    }
    m->size = hostmem_round_up(b->common.opts.size, m->page_size);
    return 0;
}

/* Finds out what mem_path is, without changing anything; *where is what to statfs. */
static int file_inspect_path(ts_object *obj, file_backend *b, bool *is_dir, const char **where,
                             char dirbuf[PATH_MAX])
{
    struct stat st;
    *is_dir = false;
    *where = b->mem_path;
    if (stat(b->mem_path, &st) == 0) {
        *is_dir = S_ISDIR(st.st_mode);
        if (*is_dir && b->readonly) {
            hostmem_host->set_error(obj, "mem-path %s is a directory, but readonly=on needs an "
                                    "existing file", b->mem_path);
            return -EISDIR;
        }
        return 0;
    }
    int r = -errno;
    if (r != -ENOENT) {
        hostmem_host->set_error(obj, "can't access mem-path %s: %s", b->mem_path, strerror(-r));
        return r;
    }
    if (b->readonly) {
        hostmem_host->set_error(obj, "mem-path %s does not exist, and readonly=on cannot create it",
                                b->mem_path);
        return r;
    }
    *where = parent_dir(b->mem_path, dirbuf);
    if (stat(*where, &st) < 0 || !S_ISDIR(st.st_mode)) {
        hostmem_host->set_error(obj, "can't create mem-path %s: directory %s does not exist",
                                b->mem_path, *where);
        return -ENOENT;
    }
    return 0;
}

static int file_realize(ts_object *obj, void *state)
{
    file_backend *b = state;
    hostmem_map *m = &b->common.map;
    file_undo undo = { 0 };
    char dirbuf[PATH_MAX];
    const char *where;
    bool is_dir;

    if (b->common.opts.size == 0) {
        hostmem_host->set_error(obj, "can't create a backend of size 0");
        return -EINVAL;
    }
    if (!b->mem_path || !*b->mem_path) {
        hostmem_host->set_error(obj, "mem-path is not set");
        return -EINVAL;
    }
    int r = file_inspect_path(obj, b, &is_dir, &where, dirbuf);
    if (r < 0)
        goto fail;
    r = file_check_geometry(obj, b, where);
    if (r < 0)
        goto fail;
    r = file_open(obj, b, is_dir, &undo);
    if (r < 0)
        goto fail;
    m->fd = r;
    r = file_fit_size(obj, b, &undo);
    if (r < 0)
        goto fail;
    r = hostmem_map_with_opts(obj, m, b->align, b->readonly ? PROT_READ : PROT_READ | PROT_WRITE,
                              &b->common.opts);
    if (r < 0)
        goto fail;
    return 0;
fail:
    if (undo.grown && ftruncate(m->fd, undo.original_len) < 0)
        hostmem_host->log(obj, TS_LOG_WARN, "can't shrink mem-path %s back: %s", b->mem_path,
                          strerror(errno));
    hostmem_release(m);
    if (undo.created)
        unlink(b->mem_path);
    return r;
}

/* discard-data: the guest's data is not wanted after us; spare the kernel writing it back. */
static void file_discard(ts_object *obj, file_backend *b)
{
    hostmem_map *m = &b->common.map;
    if (!b->discard_data || b->readonly || !(m->flags & TS_MEM_SHARED) || !m->host)
        return;
    if (fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)m->fd_offset,
                  (off_t)m->size) == 0)
        return;
    if (madvise(m->host, m->size, MADV_REMOVE) < 0)
        hostmem_host->log(obj, TS_LOG_WARN, "can't discard the data of mem-path %s: %s",
                          b->mem_path, strerror(errno));
}

static void file_unrealize(ts_object *obj, void *state)
{
    file_backend *b = state;
    file_discard(obj, b);
    hostmem_release(&b->common.map);
}

static void file_destroy(ts_object *obj, void *state)
{
    file_backend *b = state;
    if (!b)
        return;
    hostmem_release(&b->common.map);
    free(b->mem_path);
    free(b);
}

HOSTMEM_PLUGIN_DEFINE(file, "memory-backend-file",
                      "memory mapped from a file (tmpfs, hugetlbfs, DAX, disk)",
                      "memory backend: memory mapped from a file",
                      file_props, file_create, file_realize,
                      file_unrealize, file_destroy)
