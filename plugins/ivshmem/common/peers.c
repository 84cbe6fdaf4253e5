/* SPDX-License-Identifier: MIT */
/* The peer table: every peer's eventfds by ID and vector, owned here, under one lock. */
#include "ivshmem-dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ivshmem_peers_init(struct ivshmem_peers *p, unsigned max_vectors)
{
    memset(p, 0, sizeof(*p));
    p->max_vectors = max_vectors;
    return -pthread_mutex_init(&p->lock, NULL);
}

static struct ivshmem_peer *peer_of(struct ivshmem_peers *p, uint16_t id)
{
    return id < p->len ? &p->peer[id] : NULL;
}

/* Make room for peer id; the array doubles from 16 up to 65536 entries. */
static int grow_ids(struct ivshmem_peers *p, uint16_t id)
{
    size_t want = (size_t)id + 1, len = p->len ? p->len : 16;
    struct ivshmem_peer *grown;

    if (want <= p->len)
        return 0;
    while (len < want)
        len *= 2;
    if (len > (size_t)IVSHMEM_MAX_PEER_ID + 1)
        len = (size_t)IVSHMEM_MAX_PEER_ID + 1;
    grown = realloc(p->peer, len * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    memset(grown + p->len, 0, (len - p->len) * sizeof(*grown));
    p->peer = grown;
    p->len = len;
    return 0;
}

/* Make room for vector v of a peer; the array grows with what arrives, not with max_vectors. */
static int grow_vectors(struct ivshmem_peer *pe, unsigned v)
{
    unsigned cap = pe->cap ? pe->cap : 4;
    int *grown;

    if (v < pe->cap)
        return 0;
    while (cap <= v)
        cap *= 2;
    if (cap > IVSHMEM_MAX_VECTORS)
        cap = IVSHMEM_MAX_VECTORS;
    grown = realloc(pe->fds, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    for (unsigned i = pe->cap; i < cap; i++)
        grown[i] = -1;
    pe->fds = grown;
    pe->cap = (uint16_t)cap;
    return 0;
}

int ivshmem_peers_set(struct ivshmem_peers *p, uint16_t id, unsigned vector, int fd)
{
    struct ivshmem_peer *pe;
    int err = 0;

    if (vector >= p->max_vectors || vector >= IVSHMEM_MAX_VECTORS) {
        close(fd);
        return -ERANGE;
    }
    pthread_mutex_lock(&p->lock);
    if ((err = grow_ids(p, id)) < 0)
        goto fail;
    pe = &p->peer[id];
    if ((err = grow_vectors(pe, vector)) < 0)
        goto fail;
    if (pe->fds[vector] >= 0) {
        err = -EEXIST;
        goto fail;
    }
    pe->fds[vector] = fd;
    if (vector >= pe->nb)
        pe->nb = (uint16_t)(vector + 1);
    p->fd_count++;
    pthread_mutex_unlock(&p->lock);
    return 0;
fail:
    pthread_mutex_unlock(&p->lock);
    close(fd);
    return err;
}

/* Takes slot v of pe out of the table (caller holds the lock); returns the fd or -1. */
static int take_slot(struct ivshmem_peers *p, struct ivshmem_peer *pe, unsigned v)
{
    int fd;

    if (v >= pe->nb || pe->fds[v] < 0)
        return -1;
    fd = pe->fds[v];
    pe->fds[v] = -1;
    p->fd_count--;
    while (pe->nb > 0 && pe->fds[pe->nb - 1] < 0)
        pe->nb--;
    return fd;
}

/*
 * The callback runs outside the lock (it may unregister an ioeventfd, which can wait for a
 * vCPU that is itself ringing through this table); the fd is closed only afterwards, so a
 * vCPU never writes to a closed or reused fd: once out of the table nobody else finds it.
 */
int ivshmem_peers_drop(struct ivshmem_peers *p, uint16_t id, unsigned vector,
                       ivshmem_peer_fd_fn *each, void *opaque)
{
    struct ivshmem_peer *pe;
    int fd = -1;

    pthread_mutex_lock(&p->lock);
    if ((pe = peer_of(p, id)))
        fd = take_slot(p, pe, vector);
    pthread_mutex_unlock(&p->lock);
    if (fd < 0)
        return -ENOENT;
    if (each)
        each(opaque, id, vector, fd);
    close(fd);
    return 0;
}

unsigned ivshmem_peers_remove(struct ivshmem_peers *p, uint16_t id, ivshmem_peer_fd_fn *each,
                              void *opaque)
{
    unsigned n = 0, nb;

    pthread_mutex_lock(&p->lock);
    nb = peer_of(p, id) ? p->peer[id].nb : 0;
    pthread_mutex_unlock(&p->lock);
    for (unsigned v = 0; v < nb; v++)
        if (ivshmem_peers_drop(p, id, v, each, opaque) == 0)
            n++;
    pthread_mutex_lock(&p->lock);
    if (peer_of(p, id) && p->peer[id].nb == 0) {
        free(p->peer[id].fds);
        p->peer[id].fds = NULL;
        p->peer[id].cap = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

void ivshmem_peers_foreach(struct ivshmem_peers *p, ivshmem_peer_fd_fn *fn, void *opaque)
{
    /* Main thread only, like every change to the table, so nothing moves under us. */
    for (size_t id = 0; id < p->len; id++)
        for (unsigned v = 0; v < p->peer[id].nb; v++)
            if (p->peer[id].fds[v] >= 0)
                fn(opaque, (uint16_t)id, v, p->peer[id].fds[v]);
}

unsigned ivshmem_peers_vectors(struct ivshmem_peers *p, uint16_t id)
{
    unsigned nb;

    pthread_mutex_lock(&p->lock);
    nb = peer_of(p, id) ? p->peer[id].nb : 0;
    pthread_mutex_unlock(&p->lock);
    return nb;
}

int ivshmem_peers_fd(struct ivshmem_peers *p, uint16_t id, unsigned vector)
{
    struct ivshmem_peer *pe;
    int fd = -1;

    pthread_mutex_lock(&p->lock);
    if ((pe = peer_of(p, id)) && vector < pe->nb)
        fd = pe->fds[vector];
    pthread_mutex_unlock(&p->lock);
    return fd;
}

int ivshmem_peers_ring(struct ivshmem_peers *p, uint16_t id, unsigned vector)
{
    struct ivshmem_peer *pe;
    int err = -ENOENT;

    /* Writing to an eventfd never blocks for long: it fails with EAGAIN at the limit. */
    pthread_mutex_lock(&p->lock);
    if ((pe = peer_of(p, id)) && vector < pe->nb && pe->fds[vector] >= 0)
        err = ivshmem_eventfd_ring(pe->fds[vector]);
    pthread_mutex_unlock(&p->lock);
    return err;
}

void ivshmem_peers_destroy(struct ivshmem_peers *p, ivshmem_peer_fd_fn *each, void *opaque)
{
    for (size_t id = 0; id < p->len; id++) {
        ivshmem_peers_remove(p, (uint16_t)id, each, opaque);
        free(p->peer[id].fds);
    }
    free(p->peer);
    p->peer = NULL;
    p->len = 0;
    pthread_mutex_destroy(&p->lock);
}
