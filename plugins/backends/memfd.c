/* SPDX-License-Identifier: MIT */
/*
 * memory-backend-memfd: memory from memfd_create(), shared by default, so that its fd can
 * be handed to other processes (vhost-user, ivshmem peers) without any file system path.
 * Sealing (default on) fixes the size once set, so a peer that receives the fd can trust
 * that it will not shrink under its mapping (which would SIGBUS it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#include "hostmem.h"

typedef struct memfd_backend {
    hostmem_backend common; /* first: the shared hooks in hostmem.c use it */
    bool hugetlb;
    uint64_t hugetlbsize;
    bool seal;
} memfd_backend;

static const ts_prop_desc memfd_props[] = {
    HOSTMEM_COMMON_PROPS("on"),
    TS_PROP_DESC_BOOL("hugetlb", 0, "off", "take the memory from huge pages (MFD_HUGETLB)"),
    TS_PROP_DESC_SIZE("hugetlbsize", 0, "0", 0, 0,
                      "huge page size with hugetlb=on (0: the host's default huge page size)"),
    TS_PROP_DESC_BOOL("seal", 0, "on", "seal the size (F_SEAL_GROW, F_SEAL_SHRINK, F_SEAL_SEAL)"),
    TS_PROP_DESC_END,
};

static int memfd_create_hook(ts_object *obj, void **state)
{
    memfd_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    hostmem_read_opts(obj, &b->common.opts);
    b->hugetlb = hostmem_host->prop_bool(obj, "hugetlb");
    b->hugetlbsize = hostmem_host->prop_size(obj, "hugetlbsize");
    b->seal = hostmem_host->prop_bool(obj, "seal");
    hostmem_map_init(&b->common.map);
    *state = b;
    return 0;
}

/* memfd_create flags for the properties; checks hugetlbsize. */
static int memfd_flags(ts_object *obj, const memfd_backend *b, unsigned int *flags)
{
    char hs[32];
    *flags = MFD_CLOEXEC | (b->seal ? MFD_ALLOW_SEALING : 0);
    if (b->hugetlbsize && !b->hugetlb) {
        hostmem_host->set_error(obj, "hugetlbsize %s needs hugetlb=on",
                                hostmem_size_text(b->hugetlbsize, hs));
        return -EINVAL;
    }
    if (!b->hugetlb)
        return 0;
    *flags |= MFD_HUGETLB;
    if (!b->hugetlbsize)
        return 0;
    if (b->hugetlbsize & (b->hugetlbsize - 1)) {
        hostmem_host->set_error(obj, "hugetlbsize %s is not a power of two",
                                hostmem_size_text(b->hugetlbsize, hs));
        return -EINVAL;
    }
    /* The kernel takes the page size as its log2 in the flags' top bits. */
    *flags |= (unsigned int)__builtin_ctzll(b->hugetlbsize) << MFD_HUGE_SHIFT;
    return 0;
}

static int memfd_open(ts_object *obj, memfd_backend *b, unsigned int flags)
{
    hostmem_map *m = &b->common.map;
    char hs[32];
    m->fd = memfd_create(hostmem_host->object_id(obj), flags);
    if (m->fd >= 0)
        return 0;
    int r = -errno;
    if (b->hugetlb)
        hostmem_host->set_error(obj, "can't create a memfd of %s huge pages: %s",
                                b->hugetlbsize ? hostmem_size_text(b->hugetlbsize, hs) : "default",
                                r == -EINVAL || r == -ENOENT ? "this host has no such huge pages"
                                                              : strerror(-r));
    else
        hostmem_host->set_error(obj, "can't create a memfd: %s", strerror(-r));
    return r;
}

/* Sets the size, then seals it so that neither we nor a peer can change it any more. */
static int memfd_size_and_seal(ts_object *obj, memfd_backend *b)
{
    hostmem_map *m = &b->common.map;
    char sz[32];
    if (ftruncate(m->fd, (off_t)m->size) < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't size the memfd to %s: %s",
                                hostmem_size_text(m->size, sz), strerror(-r));
        return r;
    }
    if (b->seal && fcntl(m->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't seal the memfd: %s (seal=off does without)",
                                strerror(-r));
        return r;
    }
    return 0;
}

static int memfd_realize(ts_object *obj, void *state)
{
    memfd_backend *b = state;
    hostmem_map *m = &b->common.map;
    unsigned int flags;
    bool hugetlb;

    if (b->common.opts.size == 0) {
        hostmem_host->set_error(obj, "can't create a backend of size 0");
        return -EINVAL;
    }
    int r = memfd_flags(obj, b, &flags);
    if (r < 0)
        return r;
    r = memfd_open(obj, b, flags);
    if (r < 0)
        goto fail;
    r = hostmem_page_size(obj, m->fd, NULL, "the memfd", &m->page_size, &hugetlb);
    if (r < 0)
        goto fail;
    if (hugetlb) {
        m->flags |= TS_MEM_HUGETLB;
        r = hostmem_check_huge_multiple(obj, "size", b->common.opts.size, m->page_size, "the hugetlb memfd");
        if (r < 0)
            goto fail;
    }
    m->size = hostmem_round_up(b->common.opts.size, m->page_size);
    r = memfd_size_and_seal(obj, b);
    if (r < 0)
        goto fail;
    r = hostmem_map_with_opts(obj, m, 0, PROT_READ | PROT_WRITE, &b->common.opts);
    if (r < 0)
        goto fail;
    return 0;
fail:
    hostmem_release(m);
    return r;
}

HOSTMEM_PLUGIN_DEFINE(memfd, "memory-backend-memfd",
                      "anonymous memory from a memfd, shareable by fd",
                      "memory backend: anonymous memory from a memfd",
                      memfd_props, memfd_create_hook, memfd_realize,
                      hostmem_unrealize, hostmem_destroy)
