/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, section 2.7) over guest RAM, for any virtio device.
 *
 * The guest is hostile: every index, length, flag and address it puts in a ring is
 * checked here before use. A chain that breaks the ring's rules (head or next index out
 * of range, a loop or a chain longer than the queue, a nested or malformed indirect
 * table, a device-readable descriptor after a device-writable one) makes vq_pop return
 * VQ_BROKEN; the device then stops the queue and sets DEVICE_NEEDS_RESET. A descriptor
 * whose buffer is not guest RAM is not a ring error: the element is returned with
 * bad_addr set (and that iovec's base NULL) so the device can fail just that request.
 *
 * Threads: vq_pop, vq_enable_notify and vq_disable_notify on one thread at a time (the
 * one polling the queue, see virtio_pci_queue_poll); vq_push from any thread (it takes the
 * queue's lock).
 */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tessera/tessera.h"

#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u

/* Largest queue the transport offers (the split ring's limit in practice, as QEMU's). */
#define VQ_MAX_SIZE 1024u

typedef struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} vring_desc;

typedef struct vq_elem {
    uint16_t head;         /* descriptor index to return in the used ring */
    uint32_t n_out, n_in;  /* device-readable iovecs first, then device-writable ones */
    bool bad_addr;         /* a buffer was not guest RAM (its iovec has base NULL) */
    struct iovec iov[];    /* n_out + n_in <= max_size entries (zero-length descriptors are skipped) */
} vq_elem;

typedef struct virtqueue {
    /* Configured by the driver through the transport (under the transport's lock). */
    uint16_t size;        /* entries, a power of two <= max_size */
    uint16_t max_size;
    uint16_t msix_vector; /* VIRTIO_NO_VECTOR when none */
    bool enabled;
    uint64_t desc_gpa, avail_gpa, used_gpa;

    /* Live state once enabled. */
    volatile vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
    volatile uint8_t *used;   /* flags, idx, {id, len}[size], avail_event */
    bool event_idx;           /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool indirect;            /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
    bool broken;              /* a ring error stopped the queue until reset */
    uint16_t last_avail;      /* next avail entry to take */
    uint16_t used_idx;        /* shadow of used->idx (under lock) */
    uint32_t inuse;           /* popped, not yet pushed (atomic): at most size */
    uint32_t busy;            /* atomic: requests in flight whose completion polls the queue */
    uint32_t poll_requests;   /* atomic: polls asked for and not yet run (virtio_pci_queue_poll) */
    pthread_mutex_t lock;     /* used ring pushes */
    struct vq_elem *scratch;  /* vq_pop's room for a chain of max_size entries (NULL: out of memory) */

    ts_object *obj;
    const ts_guest_memory_api *gm;
} virtqueue;

enum vq_pop_result {
    VQ_EMPTY = 0,  /* nothing new in the avail ring */
    VQ_ELEM = 1,   /* *out is an element (free it with free()) */
    VQ_BROKEN = -1 /* the ring breaks the rules; the queue is now broken */
};

/* Sets the queue to its reset state (size max_size, no vector, disabled, addresses 0). */
void vq_init(virtqueue *vq, ts_object *obj, const ts_guest_memory_api *gm, uint16_t max_size);
void vq_destroy(virtqueue *vq);
void vq_reset(virtqueue *vq);
/* Maps the rings the driver configured. false when they are not guest RAM. */
bool vq_start(virtqueue *vq, bool event_idx, bool indirect);
/* Takes the next available chain. */
int vq_pop(virtqueue *vq, vq_elem **out);
/* Asks the driver to notify again for entries past last_avail (avail_event with event
 * index, else clears VRING_USED_F_NO_NOTIFY). Returns true when more entries arrived
 * meanwhile (pop again). */
bool vq_enable_notify(virtqueue *vq);
/* Tells the driver it need not notify (the device polls the ring on its own): sets
 * VRING_USED_F_NO_NOTIFY, or with event index leaves avail_event behind. A hint only: a
 * driver may notify anyway. */
void vq_disable_notify(virtqueue *vq);
/* True when the driver has made entries available that vq_pop has not taken. */
bool vq_has_avail(virtqueue *vq);
/* True while a request whose completion polls the queue is in flight. */
static inline bool vq_busy(virtqueue *vq) { return __atomic_load_n(&vq->busy, __ATOMIC_ACQUIRE) != 0; }
/* Returns head with len bytes written to the used ring; true when the driver wants an
 * interrupt for it (event index or the NO_INTERRUPT flag). Any thread. */
bool vq_push(virtqueue *vq, uint16_t head, uint32_t len);

/* Copies up to len bytes from the iovecs (skipping skip bytes) into buf; returns the count. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
/* Copies up to len bytes from buf into the iovecs at skip; returns the count. */
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);
/* Total bytes of the iovecs. */
size_t iov_size(const struct iovec *iov, unsigned n);

#endif
