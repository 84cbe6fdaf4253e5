/* SPDX-License-Identifier: MIT */
/* Split virtqueues over guest RAM; see virtqueue.h. */
#include "virtqueue.h"

#include <stdlib.h>
#include <string.h>

#define VIRTIO_NO_VECTOR 0xffffu

/* Ring field addresses (little-endian host: x86-64, where tessera runs). */
static inline volatile uint16_t *avail_idx_p(virtqueue *vq) { return &vq->avail[1]; }
static inline volatile uint16_t *avail_ring_p(virtqueue *vq, uint16_t i) { return &vq->avail[2 + (i & (vq->size - 1))]; }
static inline volatile uint16_t *used_event_p(virtqueue *vq) { return &vq->avail[2 + vq->size]; }
static inline volatile uint16_t *used_idx_p(virtqueue *vq) { return (volatile uint16_t *)(vq->used + 2); }
static inline volatile uint32_t *used_elem_p(virtqueue *vq, uint16_t i)
{
    return (volatile uint32_t *)(vq->used + 4 + 8u * (i & (vq->size - 1)));
}
static inline volatile uint16_t *avail_event_p(virtqueue *vq) { return (volatile uint16_t *)(vq->used + 4 + 8u * vq->size); }
static inline volatile uint16_t *used_flags_p(virtqueue *vq) { return (volatile uint16_t *)vq->used; }

void vq_init(virtqueue *vq, ts_object *obj, const ts_guest_memory_api *gm, uint16_t max_size)
{
    memset(vq, 0, sizeof(*vq));
    vq->obj = obj;
    vq->gm = gm;
    vq->max_size = max_size;
    vq->scratch = malloc(sizeof(vq_elem) + sizeof(struct iovec) * max_size);
    pthread_mutex_init(&vq->lock, NULL);
    vq_reset(vq);
}

void vq_destroy(virtqueue *vq)
{
    pthread_mutex_destroy(&vq->lock);
    free(vq->scratch);
    vq->scratch = NULL;
}

void vq_reset(virtqueue *vq)
{
    pthread_mutex_lock(&vq->lock);
    vq->size = vq->max_size;
    vq->msix_vector = VIRTIO_NO_VECTOR;
    vq->enabled = false;
    vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
    vq->event_idx = vq->indirect = vq->broken = false;
    vq->last_avail = vq->used_idx = 0;
    vq->inuse = vq->busy = 0;
    pthread_mutex_unlock(&vq->lock);
}

bool vq_start(virtqueue *vq, bool event_idx, bool indirect)
{
    uint64_t n = vq->size;
    if (!n || (n & (n - 1)) || n > vq->max_size)
        return false;
    /* Alignments of virtio 1.x 2.7: descriptors 16, driver area 2, device area 4. */
    if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
        return false;
    void *d = vq->gm->map(vq->obj, vq->desc_gpa, 16 * n);
    void *a = vq->gm->map(vq->obj, vq->avail_gpa, 6 + 2 * n);
    void *u = vq->gm->map(vq->obj, vq->used_gpa, 6 + 8 * n);
    if (!d || !a || !u)
        return false;
    pthread_mutex_lock(&vq->lock);
    vq->desc = d;
    vq->avail = a;
    vq->used = u;
    vq->event_idx = event_idx;
    vq->indirect = indirect;
    vq->last_avail = 0;
    vq->used_idx = 0;
    vq->inuse = vq->busy = 0;
    vq->broken = false;
    *used_flags_p(vq) = 0; /* the device's field: notifications wanted */
    pthread_mutex_unlock(&vq->lock);
    return true;
}

static int broken(virtqueue *vq)
{
    vq->broken = true;
    return VQ_BROKEN;
}

int vq_pop(virtqueue *vq, vq_elem **out)
{
    *out = NULL;
    if (!vq->desc || vq->broken)
        return VQ_EMPTY;
    uint16_t avail = __atomic_load_n(avail_idx_p(vq), __ATOMIC_ACQUIRE);
    if (avail == vq->last_avail)
        return VQ_EMPTY;
    /* The driver cannot have more entries outstanding than the ring holds. */
    if ((uint16_t)(avail - vq->last_avail) > vq->size)
        return broken(vq);
    /* A driver re-offering heads that are still in flight would make us hold unbounded
     * work; a ring never has more chains outstanding than entries. */
    if (__atomic_load_n(&vq->inuse, __ATOMIC_ACQUIRE) >= vq->size)
        return broken(vq);
    uint16_t head = *avail_ring_p(vq, vq->last_avail);
    vq->last_avail++;
    if (head >= vq->size)
        return broken(vq);

    /*
     * At most size entries in a direct chain (loops exceed it) and max_size in an indirect
     * table: seg_max is announced from max_size, so a driver that chose a smaller ring
     * still sends tables that long.
     */
    vq_elem *e = vq->scratch; /* the chain is walked here; the caller gets a copy of its size */
    if (!e)
        return broken(vq);
    e->head = head;
    e->n_out = e->n_in = 0;
    e->bad_addr = false;
    const volatile vring_desc *table = vq->desc;
    uint32_t table_n = vq->size, count = 0, n = 0;
    uint16_t i = head;
    bool in_indirect = false, seen_write = false;
    for (;;) {
        vring_desc d = { .addr = table[i].addr, .len = table[i].len, .flags = table[i].flags,
                         .next = table[i].next };
        if (d.flags & VRING_DESC_F_INDIRECT) {
            /* Only as the head of a chain, alone, not nested, a whole number of entries. */
            if (!vq->indirect || in_indirect || count || (d.flags & VRING_DESC_F_NEXT) ||
                d.len == 0 || d.len % sizeof(vring_desc) || d.len / sizeof(vring_desc) > vq->max_size)
                return broken(vq);
            table = vq->gm->map(vq->obj, d.addr, d.len);
            if (!table)
                return broken(vq);
            table_n = d.len / sizeof(vring_desc);
            in_indirect = true;
            i = 0;
            continue;
        }
        if (++count > table_n)
            return broken(vq);
        if (d.flags & VRING_DESC_F_WRITE)
            seen_write = true;
        else if (seen_write)
            return broken(vq); /* readable buffers come first (2.7.4.2) */
        if (d.len) {
            void *p = vq->gm->map(vq->obj, d.addr, d.len);
            if (!p)
                e->bad_addr = true;
            e->iov[n].iov_base = p;
            e->iov[n].iov_len = d.len;
            n++;
            if (d.flags & VRING_DESC_F_WRITE)
                e->n_in++;
            else
                e->n_out++;
        }
        if (!(d.flags & VRING_DESC_F_NEXT))
            break;
        if (d.next >= table_n)
            return broken(vq);
        i = d.next;
    }
    size_t bytes = sizeof(*e) + sizeof(struct iovec) * n;
    vq_elem *copy = malloc(bytes);
    if (!copy)
        return broken(vq);
    memcpy(copy, e, bytes);
    __atomic_fetch_add(&vq->inuse, 1, __ATOMIC_RELEASE);
    *out = copy;
    return VQ_ELEM;
}

bool vq_has_avail(virtqueue *vq)
{
    return vq->avail && __atomic_load_n(avail_idx_p(vq), __ATOMIC_ACQUIRE) != vq->last_avail;
}

bool vq_enable_notify(virtqueue *vq)
{
    if (!vq->avail || vq->broken)
        return false;
    if (vq->event_idx)
        __atomic_store_n(avail_event_p(vq), vq->last_avail, __ATOMIC_RELAXED);
    else if (*used_flags_p(vq))
        __atomic_store_n(used_flags_p(vq), 0, __ATOMIC_RELAXED);
    /* The store above must be visible before we look at the index again (2.7.10). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return vq_has_avail(vq);
}

void vq_disable_notify(virtqueue *vq)
{
    /* With event index avail_event stays where it was: the driver has passed it already, so
     * it does not notify again until the index wraps (one harmless extra notification). */
    if (vq->used && !vq->event_idx && !*used_flags_p(vq))
        __atomic_store_n(used_flags_p(vq), VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool vq_push(virtqueue *vq, uint16_t head, uint32_t len)
{
    bool notify = false;
    pthread_mutex_lock(&vq->lock);
    if (vq->used) {
        uint16_t old = vq->used_idx, now = (uint16_t)(old + 1);
        volatile uint32_t *el = used_elem_p(vq, old);
        el[0] = head;
        el[1] = len;
        /* Not in use any more before the driver can see it returned and offer it again. */
        if (vq->inuse)
            __atomic_fetch_sub(&vq->inuse, 1, __ATOMIC_RELEASE);
        __atomic_store_n(used_idx_p(vq), now, __ATOMIC_RELEASE);
        vq->used_idx = now;
        /* The index must be visible before we read the driver's suppression state. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (vq->event_idx) {
            uint16_t ev = __atomic_load_n(used_event_p(vq), __ATOMIC_RELAXED);
            notify = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
        } else {
            notify = !(__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
        }
    }
    pthread_mutex_unlock(&vq->lock);
    return notify;
}

size_t iov_size(const struct iovec *iov, unsigned n)
{
    size_t s = 0;
    for (unsigned i = 0; i < n; i++)
        s += iov[i].iov_len;
    return s;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = iov[i].iov_len - skip;
        if (take > len - done)
            take = len - done;
        if (!iov[i].iov_base)
            break;
        memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, take);
        done += take;
        skip = 0;
    }
    return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = iov[i].iov_len - skip;
        if (take > len - done)
            take = len - done;
        if (!iov[i].iov_base)
            break;
        memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done, take);
        done += take;
        skip = 0;
    }
    return done;
}
