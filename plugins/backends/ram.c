/* SPDX-License-Identifier: MIT */
/*
 * memory-backend-ram: anonymous memory.
 *
 * share=off maps private anonymous memory (no fd). share=on uses a memfd rather than
 * MAP_SHARED|MAP_ANONYMOUS: both are shared memory, but only the memfd can be handed to
 * another process (vhost-user, an ivshmem peer), which is the reason to ask for sharing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hostmem.h"

typedef struct ram_backend {
    hostmem_backend common; /* first: the shared hooks in hostmem.c use it */
} ram_backend;

static const ts_prop_desc ram_props[] = {
    HOSTMEM_COMMON_PROPS("off"),
    TS_PROP_DESC_END,
};

static int ram_create(ts_object *obj, void **state)
{
    ram_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    hostmem_read_opts(obj, &b->common.opts);
    hostmem_map_init(&b->common.map);
    *state = b;
    return 0;
}

/* A memfd named after the object (visible in /proc/PID/fd), sized to m->size. */
static int ram_open_memfd(ts_object *obj, hostmem_map *m)
{
    m->fd = memfd_create(hostmem_host->object_id(obj), MFD_CLOEXEC);
    if (m->fd < 0 || ftruncate(m->fd, (off_t)m->size) < 0) {
        int r = -errno;
        hostmem_host->set_error(obj, "can't create shared memory: %s", strerror(-r));
        return r;
    }
    return 0;
}

static int ram_realize(ts_object *obj, void *state)
{
    ram_backend *b = state;
    hostmem_map *m = &b->common.map;
    if (b->common.opts.size == 0) {
        hostmem_host->set_error(obj, "can't create a backend of size 0");
        return -EINVAL;
    }
    m->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
    m->size = hostmem_round_up(b->common.opts.size, m->page_size);
    int r = b->common.opts.share ? ram_open_memfd(obj, m) : 0;
    if (r == 0)
        r = hostmem_map_with_opts(obj, m, 0, PROT_READ | PROT_WRITE, &b->common.opts);
    if (r < 0)
        hostmem_release(m);
    return r;
}

HOSTMEM_PLUGIN_DEFINE(ram, "memory-backend-ram",
                      "anonymous host memory",
                      "memory backend: anonymous host memory",
                      ram_props, ram_create, ram_realize,
                      hostmem_unrealize, hostmem_destroy)
