/* SPDX-License-Identifier: MIT */
/* The default struct vmdk_file: a POSIX file descriptor. */
#include "vmdk_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct posix_file {
    struct vmdk_file base;
    int fd;
};

static int posix_fd(struct vmdk_file *f)
{
    return ((struct posix_file *)f)->fd;
}

static ssize_t posix_pread(struct vmdk_file *f, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(posix_fd(f), (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static ssize_t posix_pwrite(struct vmdk_file *f, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(posix_fd(f), (const char *)buf + done, len - done,
                           (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int posix_get_size(struct vmdk_file *f, uint64_t *size)
{
    struct stat st;
    if (fstat(posix_fd(f), &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int posix_allocated_size(struct vmdk_file *f, uint64_t *bytes)
{
    struct stat st;
    if (fstat(posix_fd(f), &st) < 0)
        return -errno;
    *bytes = (uint64_t)st.st_blocks * 512;
    return 0;
}

static int posix_truncate(struct vmdk_file *f, uint64_t size)
{
    return ftruncate(posix_fd(f), (off_t)size) < 0 ? -errno : 0;
}

static int posix_flush(struct vmdk_file *f)
{
    return fdatasync(posix_fd(f)) < 0 ? -errno : 0;
}

static void posix_close(struct vmdk_file *f)
{
    close(posix_fd(f));
    free(f->name);
    free(f);
}

static const struct vmdk_file_ops posix_ops = {
    .pread = posix_pread,
    .pwrite = posix_pwrite,
    .get_size = posix_get_size,
    .truncate = posix_truncate,
    .flush = posix_flush,
    .close = posix_close,
    .allocated_size = posix_allocated_size,
};

static int posix_open(void *ctx, const char *path, unsigned flags, struct vmdk_file **out,
                      struct vmdk_error *err)
{
    (void)ctx;
    int oflags = O_CLOEXEC;
    if (flags & VMDK_OPEN_CREATE)
        oflags |= O_RDWR | O_CREAT | O_TRUNC;
    else
        oflags |= (flags & VMDK_OPEN_WRITE) ? O_RDWR : O_RDONLY;
    int fd = open(path, oflags, 0644);
    if (fd < 0) {
        int e = errno;
        return vmdk_fail(err, e, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        close(fd);
        return vmdk_fail(err, EINVAL, "%s: not a regular file or block device", path);
    }
    struct posix_file *pf = calloc(1, sizeof(*pf));
    char *name = strdup(path);
    if (!pf || !name) {
        free(pf);
        free(name);
        close(fd);
        return vmdk_fail(err, ENOMEM, "%s: out of memory", path);
    }
    pf->base.ops = &posix_ops;
    pf->base.name = name;
    pf->fd = fd;
    *out = &pf->base;
    return 0;
}

static const struct vmdk_opener posix_opener = { .open = posix_open, .ctx = NULL };

const struct vmdk_opener *vmdk_posix_opener(void)
{
    return &posix_opener;
}

/* ---- checked wrappers used by the whole engine ---- */

int vmdk_file_read_exact(struct vmdk_file *f, void *buf, size_t len, uint64_t off,
                         struct vmdk_error *err)
{
    ssize_t n = f->ops->pread(f, buf, len, off);
    if (n < 0)
        return vmdk_fail(err, (int)n, "%s: read of %zu bytes at 0x%" PRIx64 " failed: %s",
                         f->name, len, off, strerror((int)-n));
    if ((size_t)n != len)
        return vmdk_fail(err, EIO,
                         "%s: read of %zu bytes at 0x%" PRIx64 " runs past the end of the file",
                         f->name, len, off);
    return 0;
}

int vmdk_file_write(struct vmdk_file *f, const void *buf, size_t len, uint64_t off,
                    struct vmdk_error *err)
{
    ssize_t n = f->ops->pwrite(f, buf, len, off);
    if (n < 0)
        return vmdk_fail(err, (int)n, "%s: write of %zu bytes at 0x%" PRIx64 " failed: %s",
                         f->name, len, off, strerror((int)-n));
    return 0;
}

int vmdk_file_size(struct vmdk_file *f, uint64_t *size, struct vmdk_error *err)
{
    int r = f->ops->get_size(f, size);
    if (r < 0)
        return vmdk_fail(err, r, "%s: cannot get the file size: %s", f->name, strerror(-r));
    return 0;
}

int vmdk_file_truncate(struct vmdk_file *f, uint64_t size, struct vmdk_error *err)
{
    int r = f->ops->truncate(f, size);
    if (r < 0)
        return vmdk_fail(err, r, "%s: cannot set the length to 0x%" PRIx64 ": %s", f->name,
                         size, strerror(-r));
    return 0;
}

int vmdk_file_flush(struct vmdk_file *f, struct vmdk_error *err)
{
    int r = f->ops->flush(f);
    if (r < 0)
        return vmdk_fail(err, r, "%s: flush failed: %s", f->name, strerror(-r));
    return 0;
}

void vmdk_file_close(struct vmdk_file *f)
{
    if (f)
        f->ops->close(f);
}
