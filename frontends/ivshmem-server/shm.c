/*
 * The shared memory every client maps: a POSIX shm object or an unlinked file in a directory
 * (hugetlbfs mounts included), sized to a power of two as QEMU's PCI BAR requires.
 */
#define _GNU_SOURCE /* mkostemp */
#include "server-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Sizes beyond this are certainly a typo; it also keeps the doubling below from overflowing. */
#define SHM_SIZE_MAX (1ULL << 50)
/* hugetlbfs refuses sizes that are not a multiple of its page size (up to 16 GiB pages). */
#define MAX_TRUNCATE_DOUBLINGS 40

static uint64_t round_up_pow2(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static bool is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int open_named(struct ivshmem_server *s, const char *name, mode_t mode)
{
    /* No O_EXCL: like QEMU, an existing object (e.g. one a VM already maps) is reused. */
    int fd = shm_open(name, O_CREAT | O_RDWR | O_CLOEXEC, mode);

    if (fd < 0) {
        int err = errno;
        server_error("cannot open shared memory object %s: %s", name, strerror(err));
        return -err;
    }
    if (s->cfg.unlink_shm) {
        s->shm_unlink_name = strdup(name);
        if (!s->shm_unlink_name) {
            close(fd);
            return -ENOMEM;
        }
    }
    return fd;
}

static int open_in_directory(const char *dir)
{
    size_t len = strlen(dir) + sizeof("/ivshmem.XXXXXX");
    char *tmpl = malloc(len);
    int fd, err;

    if (!tmpl)
        return -ENOMEM;
    snprintf(tmpl, len, "%s/ivshmem.XXXXXX", dir);
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        server_error("cannot create a shared memory file in %s: %s", dir, strerror(errno));
        free(tmpl);
        return err;
    }
    /* Nothing else should find it; the memory lives as long as someone holds the fd. */
    unlink(tmpl);
    free(tmpl);
    return fd;
}

/* Set the size, trying larger powers of two where the filesystem (hugetlbfs) insists. */
static int truncate_pow2(struct ivshmem_server *s, int fd, uint64_t size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if ((uint64_t)st.st_size == size) {
        s->shm_size = size;
        return 0;
    }
    for (int i = 0; i <= MAX_TRUNCATE_DOUBLINGS && size <= SHM_SIZE_MAX; i++, size <<= 1) {
        if (ftruncate(fd, (off_t)size) == 0) {
            s->shm_size = size;
            return 0;
        }
        if (errno != EINVAL)
            break;
    }
    int err = errno ? errno : EINVAL;
    server_error("cannot set the shared memory size to %" PRIu64 " bytes: %s",
                 s->cfg.shm_size, strerror(err));
    return -err;
}

int server_shm_create(struct ivshmem_server *s)
{
    const struct ivshmem_server_config *cfg = &s->cfg;
    mode_t mode = cfg->shm_mode_set ? cfg->shm_mode : 0600;
    bool in_dir = cfg->shm_kind == IVSHMEM_SHM_DIR ||
                  (cfg->shm_kind == IVSHMEM_SHM_AUTO && is_directory(cfg->shm_path));
    uint64_t size;
    int fd, rc;

    if (cfg->shm_size == 0 || cfg->shm_size > SHM_SIZE_MAX) {
        server_error("invalid shared memory size %" PRIu64, cfg->shm_size);
        return -EINVAL;
    }
    size = round_up_pow2(cfg->shm_size);
    fd = in_dir ? open_in_directory(cfg->shm_path) : open_named(s, cfg->shm_path, mode);
    if (fd < 0)
        return fd;
    /* shm_open() honours the umask; an explicit mode is meant as given. */
    if (cfg->shm_mode_set && fchmod(fd, cfg->shm_mode) < 0) {
        rc = -errno;
        server_error("cannot set mode %o on shared memory %s: %s", (unsigned)cfg->shm_mode,
                     cfg->shm_path, strerror(errno));
        goto fail;
    }
    if (cfg->shm_group_set && fchown(fd, (uid_t)-1, cfg->shm_group) < 0) {
        rc = -errno;
        server_error("cannot set group %u on shared memory %s: %s", (unsigned)cfg->shm_group,
                     cfg->shm_path, strerror(errno));
        goto fail;
    }
    rc = truncate_pow2(s, fd, size);
    if (rc < 0)
        goto fail;
    server_debug(s, "shared memory: %s %s, %" PRIu64 " bytes", in_dir ? "file in" : "object",
                 cfg->shm_path, s->shm_size);
    s->shm = shared_fd_new(fd);
    return s->shm ? 0 : -ENOMEM;

fail:
    close(fd);
    if (s->shm_unlink_name) {
        free(s->shm_unlink_name);
        s->shm_unlink_name = NULL;
    }
    return rc;
}
