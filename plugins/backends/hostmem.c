/* SPDX-License-Identifier: MIT */
/* Code shared by the memory-backend plugins; see hostmem.h. */
#define _GNU_SOURCE
#include "hostmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

const ts_host_api *hostmem_host;

int hostmem_init(const ts_host_api *host)
{
    if (!TS_HOST_HAS(host, set_error) || !TS_HOST_HAS(host, log) ||
        !TS_HOST_HAS(host, object_id) || !TS_HOST_HAS(host, prop_bool) ||
        !TS_HOST_HAS(host, prop_size) || !TS_HOST_HAS(host, prop_string))
        return -ENOTSUP;
    hostmem_host = host;
    return 0;
}

void hostmem_read_opts(ts_object *obj, hostmem_opts *o)
{
    o->size = hostmem_host->prop_size(obj, "size");
    o->share = hostmem_host->prop_bool(obj, "share");
    o->prealloc = hostmem_host->prop_bool(obj, "prealloc");
    o->merge = hostmem_host->prop_bool(obj, "merge");
    o->dump = hostmem_host->prop_bool(obj, "dump");
}

void hostmem_map_init(hostmem_map *m)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
}

const char *hostmem_size_text(uint64_t bytes, char buf[32])
{
    static const char suffix[] = "KMGTPE";
    int unit = -1;
    while (bytes && unit < 5 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    if (unit < 0)
        snprintf(buf, 32, "%llu", (unsigned long long)bytes);
    else
        snprintf(buf, 32, "%llu%c", (unsigned long long)bytes, suffix[unit]);
    return buf;
}

int hostmem_page_size(ts_object *obj, int fd, const char *path, const char *what,
                      uint64_t *page_size, bool *hugetlb)
{
    struct statfs fs;
    int r = fd >= 0 ? fstatfs(fd, &fs) : statfs(path, &fs);
    if (r < 0) {
        r = -errno;
        hostmem_host->set_error(obj, "can't determine the page size of %s: %s", what, strerror(-r));
        return r;
    }
    *hugetlb = fs.f_type == HUGETLBFS_MAGIC;
    *page_size = *hugetlb ? (uint64_t)fs.f_bsize : (uint64_t)sysconf(_SC_PAGESIZE);
    /* Mapping code relies on a power of two; anything else means we misread the file system. */
    if (*page_size == 0 || (*page_size & (*page_size - 1))) {
        hostmem_host->set_error(obj, "can't determine the page size of %s: the file system "
                                "reports %llu", what, (unsigned long long)*page_size);
        return -EINVAL;
    }
    return 0;
}

int hostmem_check_huge_multiple(ts_object *obj, const char *name, uint64_t value,
                                uint64_t page_size, const char *where)
{
    if (value % page_size == 0)
        return 0;
    char v[32], p[32];
    hostmem_host->set_error(obj, "%s %s is not a multiple of the %s huge page size of %s", name,
                            hostmem_size_text(value, v), hostmem_size_text(page_size, p), where);
    return -EINVAL;
}

/* Maps m at an aligned address; see hostmem_map_with_opts. */
static int hostmem_mmap(ts_object *obj, hostmem_map *m, uint64_t align, int prot, int flags)
{
    char sz[32];
    if (align < m->page_size)
        align = m->page_size;
    /*
     * Reserve enough address space to find an aligned start, map over it with MAP_FIXED,
     * then give back the slack on both sides, so only [host, host + size) stays mapped.
     */
    size_t reserve_len = m->size + align;
    uint8_t *reserve = mmap(NULL, reserve_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                            -1, 0);
    if (reserve == MAP_FAILED)
        goto fail;
    uint8_t *start = (uint8_t *)(((uintptr_t)reserve + align - 1) & ~(uintptr_t)(align - 1));
    int map_flags = flags | MAP_FIXED | (m->fd < 0 ? MAP_ANONYMOUS : 0);
    void *p = mmap(start, m->size, prot, map_flags, m->fd, m->fd < 0 ? 0 : (off_t)m->fd_offset);
    if (p == MAP_FAILED) {
        int e = errno;
        munmap(reserve, reserve_len);
        errno = e;
        goto fail;
    }
    if (start > reserve)
        munmap(reserve, start - reserve);
    uint8_t *end = start + m->size, *reserve_end = reserve + reserve_len;
    if (reserve_end > end)
        munmap(end, reserve_end - end);
    m->host = start;
    if (flags & MAP_SHARED)
        m->flags |= TS_MEM_SHARED;
    if (!(prot & PROT_WRITE))
        m->flags |= TS_MEM_READONLY;
    return 0;
fail:;
    int r = -errno;
    char ps[32];
    /* hugetlbfs reserves the pages of a shared mapping at mmap time */
    if ((m->flags & TS_MEM_HUGETLB) && r == -ENOMEM)
        hostmem_host->set_error(obj, "can't map %s: not enough free %s huge pages",
                                hostmem_size_text(m->size, sz), hostmem_size_text(m->page_size, ps));
    else
        hostmem_host->set_error(obj, "can't map %s of memory: %s", hostmem_size_text(m->size, sz),
                                strerror(-r));
    return r;
}

/* Touches every page, for kernels without MADV_POPULATE_* (before Linux 5.14). */
static int prealloc_by_touching(hostmem_map *m)
{
    bool writable = !(m->flags & TS_MEM_READONLY);
    /*
     * On a file, a shortage of blocks (tmpfs full, no free huge pages) would surface as
     * SIGBUS on touch; reserving the blocks first turns it into an error we can report.
     */
    if (m->fd >= 0 && writable && (m->flags & TS_MEM_SHARED) &&
        fallocate(m->fd, 0, (off_t)m->fd_offset, (off_t)m->size) < 0 && errno != EOPNOTSUPP)
        return -errno;
    volatile uint8_t *p = m->host;
    for (uint64_t off = 0; off < m->size; off += m->page_size) {
        uint8_t v = p[off];
        if (writable)
            p[off] = v; /* writing back what is there keeps shared content intact */
    }
    return 0;
}

static int prealloc(ts_object *obj, hostmem_map *m)
{
    int advice = (m->flags & TS_MEM_READONLY) ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;
    int r = madvise(m->host, m->size, advice) < 0 ? -errno : 0;
    if (r == -EINVAL)
        r = prealloc_by_touching(m);
    if (r == 0)
        return 0;
    char sz[32], ps[32];
    if ((m->flags & TS_MEM_HUGETLB) && (r == -ENOMEM || r == -EFAULT || r == -ENOSPC))
        hostmem_host->set_error(obj, "can't preallocate %s: not enough free %s huge pages",
                                hostmem_size_text(m->size, sz), hostmem_size_text(m->page_size, ps));
    else
        hostmem_host->set_error(obj, "can't preallocate %s: %s", hostmem_size_text(m->size, sz),
                                strerror(-r));
    return r;
}

/* Applies merge and dump hints and preallocates when asked, after hostmem_mmap. */
static int hostmem_apply_opts(ts_object *obj, hostmem_map *m, const hostmem_opts *o)
{
    /* Both are hints: a kernel without KSM refuses MADV_MERGEABLE, and that is fine. */
    if (o->merge && madvise(m->host, m->size, MADV_MERGEABLE) < 0)
        hostmem_host->log(obj, TS_LOG_DEBUG, "MADV_MERGEABLE: %s", strerror(errno));
    if (!o->dump && madvise(m->host, m->size, MADV_DONTDUMP) < 0)
        hostmem_host->log(obj, TS_LOG_WARN, "can't exclude the memory from core dumps: %s",
                          strerror(errno));
    return o->prealloc ? prealloc(obj, m) : 0;
}

int hostmem_map_with_opts(ts_object *obj, hostmem_map *m, uint64_t align, int prot,
                          const hostmem_opts *o)
{
    int r = hostmem_mmap(obj, m, align, prot, o->share ? MAP_SHARED : MAP_PRIVATE);
    return r < 0 ? r : hostmem_apply_opts(obj, m, o);
}

void hostmem_release(hostmem_map *m)
{
    if (m->host)
        munmap(m->host, m->size);
    if (m->fd >= 0)
        close(m->fd);
    hostmem_map_init(m);
}

void hostmem_fill_region(const hostmem_map *m, ts_memory_region *out)
{
    memset(out, 0, sizeof(*out));
    out->host = m->host;
    out->size = m->size;
    /* Another mapping of the file would not see writes made through a private mapping. */
    out->fd = (m->flags & TS_MEM_SHARED) ? m->fd : -1;
    out->fd_offset = (m->flags & TS_MEM_SHARED) ? m->fd_offset : 0;
    out->flags = m->flags;
    out->page_size = m->page_size;
}

void hostmem_unrealize(ts_object *obj, void *state)
{
    hostmem_backend *b = state;
    hostmem_release(&b->map);
}

void hostmem_destroy(ts_object *obj, void *state)
{
    hostmem_backend *b = state;
    if (b)
        hostmem_release(&b->map);
    free(b);
}

static int hostmem_get_region(ts_object *obj, void *state, ts_memory_region *out)
{
    hostmem_backend *b = state;
    hostmem_fill_region(&b->map, out);
    return 0;
}

const ts_memory_backend_ops hostmem_backend_ops = {
    .size = sizeof(ts_memory_backend_ops),
    .get_region = hostmem_get_region,
};
