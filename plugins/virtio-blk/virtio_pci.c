/* SPDX-License-Identifier: MIT */
/* The virtio 1.x modern PCI transport; see virtio_pci.h. */
#include "virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Vendor-specific capability cfg_type values (4.1.4). */
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4 };
#define PCI_CAP_ID_VNDR 0x09

#define SUB_HAS(t, m) ((t)->size >= offsetof(__typeof__(*(t)), m) + sizeof((t)->m) && (t)->m)

bool virtio_pci_host_ok(const ts_host_api *h)
{
    if (!TS_HOST_HAS(h, pci) || !TS_HOST_HAS(h, events) || !TS_HOST_HAS(h, guest_memory))
        return false;
    return SUB_HAS(h->pci, function_add) && SUB_HAS(h->pci, bar_add) &&
           SUB_HAS(h->pci, capability_add) && SUB_HAS(h->pci, msix_init) &&
           SUB_HAS(h->pci, msix_enabled) && SUB_HAS(h->pci, msix_bind_eventfd) &&
           SUB_HAS(h->pci, msix_unbind_eventfd) && SUB_HAS(h->pci, intx_set) &&
           SUB_HAS(h->events, ioeventfd_add) && SUB_HAS(h->events, ioeventfd_remove) &&
           SUB_HAS(h->events, fd_watch_add) && SUB_HAS(h->events, fd_watch_remove) &&
           SUB_HAS(h->guest_memory, map);
}

void virtio_pci_init(virtio_pci *vp, ts_object *obj, const ts_host_api *host, uint16_t virtio_id,
                     uint16_t pci_class_hi, unsigned num_queues, uint16_t queue_size,
                     uint64_t host_features, bool use_ioeventfd, const virtio_dev_ops *ops,
                     void *opaque)
{
    memset(vp, 0, sizeof(*vp));
    vp->obj = obj;
    vp->host = host;
    vp->virtio_id = virtio_id;
    vp->pci_class_hi = pci_class_hi;
    vp->num_queues = num_queues;
    vp->nvectors = num_queues + 1;
    vp->host_features = host_features | (1ull << VIRTIO_F_VERSION_1);
    vp->use_ioeventfd = use_ioeventfd;
    vp->ops = ops;
    vp->opaque = opaque;
    vp->config_vector = VIRTIO_NO_VECTOR;
    pthread_mutex_init(&vp->lock, NULL);
    pthread_mutex_init(&vp->inflight_lock, NULL);
    pthread_cond_init(&vp->idle, NULL);
    vp->vqs = calloc(num_queues, sizeof(virtqueue));
    vp->kick_fds = malloc(num_queues * sizeof(int));
    vp->vector_fds = malloc(vp->nvectors * sizeof(int));
    vp->ioeventfds = calloc(num_queues, sizeof(ts_ioeventfd *));
    vp->watches = calloc(num_queues, sizeof(ts_fd_watch *));
    for (unsigned q = 0; vp->vqs && q < num_queues; q++)
        vq_init(&vp->vqs[q], obj, host->guest_memory, queue_size);
    for (unsigned q = 0; vp->kick_fds && q < num_queues; q++)
        vp->kick_fds[q] = -1;
    for (unsigned v = 0; vp->vector_fds && v < vp->nvectors; v++)
        vp->vector_fds[v] = -1;
}

void virtio_pci_destroy(virtio_pci *vp)
{
    for (unsigned q = 0; vp->vqs && q < vp->num_queues; q++)
        vq_destroy(&vp->vqs[q]);
    free(vp->vqs);
    free(vp->kick_fds);
    free(vp->vector_fds);
    free(vp->ioeventfds);
    free(vp->watches);
    pthread_mutex_destroy(&vp->lock);
    pthread_mutex_destroy(&vp->inflight_lock);
    pthread_cond_destroy(&vp->idle);
}

bool virtio_pci_has(const virtio_pci *vp, unsigned bit)
{
    return (vp->guest_features >> bit) & 1;
}

/* ---- interrupts ---- */

static void signal_fd(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* a full counter (never in practice) still leaves the fd readable */
}

static void raise_irq(virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
    if (vp->host->pci->msix_enabled(vp->pci)) {
        if (vector < vp->nvectors)
            signal_fd(vp->vector_fds[vector]);
        return;
    }
    __atomic_fetch_or(&vp->isr, isr_bit, __ATOMIC_SEQ_CST);
    vp->host->pci->intx_set(vp->pci, 1);
}

void virtio_pci_notify_queue(virtio_pci *vp, unsigned q)
{
    raise_irq(vp, __atomic_load_n(&vp->vqs[q].msix_vector, __ATOMIC_RELAXED), 1);
}

void virtio_pci_needs_reset(virtio_pci *vp, const char *why)
{
    uint8_t old = __atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
    if (!(old & VIRTIO_STATUS_NEEDS_RESET))
        vp->host->log(vp->obj, TS_LOG_WARN, "guest error: %s; device needs reset", why);
    if (old & VIRTIO_STATUS_DRIVER_OK)
        raise_irq(vp, vp->config_vector, 2);
}

/* ---- requests in flight ---- */

void virtio_pci_request_begin(virtio_pci *vp)
{
    pthread_mutex_lock(&vp->inflight_lock);
    vp->inflight++;
    pthread_mutex_unlock(&vp->inflight_lock);
}

void virtio_pci_request_end(virtio_pci *vp)
{
    pthread_mutex_lock(&vp->inflight_lock);
    if (--vp->inflight == 0)
        pthread_cond_broadcast(&vp->idle);
    pthread_mutex_unlock(&vp->inflight_lock);
}

/* Waits for every request; polls started meanwhile take no new ones (see virtio_pci_queue_poll). */
static void drain(virtio_pci *vp)
{
    __atomic_store_n(&vp->stopping, true, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&vp->inflight_lock);
    while (vp->inflight)
        pthread_cond_wait(&vp->idle, &vp->inflight_lock);
    pthread_mutex_unlock(&vp->inflight_lock);
}

/* Caller holds vp->lock. Completions never take it, so waiting for them is safe. */
static void reset_locked(virtio_pci *vp)
{
    drain(vp);
    for (unsigned q = 0; q < vp->num_queues; q++)
        vq_reset(&vp->vqs[q]);
    __atomic_store_n(&vp->stopping, false, __ATOMIC_SEQ_CST);
    vp->status = 0;
    vp->guest_features = 0;
    vp->dfselect = vp->gfselect = 0;
    vp->config_vector = VIRTIO_NO_VECTOR;
    vp->queue_sel = 0;
    if (__atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST) && vp->pci)
        vp->host->pci->intx_set(vp->pci, 0);
}

void virtio_pci_reset(virtio_pci *vp)
{
    pthread_mutex_lock(&vp->lock);
    reset_locked(vp);
    pthread_mutex_unlock(&vp->lock);
}

/* ---- the common configuration structure ---- */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void common_image(virtio_pci *vp, uint8_t *b)
{
    memset(b, 0, 64);
    put32(b + 0, vp->dfselect);
    put32(b + 4, vp->dfselect < 2 ? (uint32_t)(vp->host_features >> (32 * vp->dfselect)) : 0);
    put32(b + 8, vp->gfselect);
    put32(b + 12, vp->gfselect < 2 ? (uint32_t)(vp->guest_features >> (32 * vp->gfselect)) : 0);
    put16(b + 16, vp->config_vector);
    put16(b + 18, (uint16_t)vp->num_queues);
    b[20] = vp->status;
    b[21] = 0; /* config_generation: the configuration never changes at run time */
    put16(b + 22, vp->queue_sel);
    if (vp->queue_sel < vp->num_queues) {
        virtqueue *vq = &vp->vqs[vp->queue_sel];
        put16(b + 24, vq->size);
        put16(b + 26, vq->msix_vector);
        put16(b + 28, vq->enabled);
        put16(b + 30, vp->queue_sel); /* queue_notify_off */
        put64(b + 32, vq->desc_gpa);
        put64(b + 40, vq->avail_gpa);
        put64(b + 48, vq->used_gpa);
    }
}

static uint64_t common_read(virtio_pci *vp, uint64_t off, unsigned size)
{
    uint8_t b[64];
    uint64_t v = 0;
    if (off + size > VIRTIO_PCI_COMMON_LEN)
        return 0;
    pthread_mutex_lock(&vp->lock);
    common_image(vp, b);
    pthread_mutex_unlock(&vp->lock);
    memcpy(&v, b + off, size);
    return v;
}

static void kick_all(virtio_pci *vp)
{
    for (unsigned q = 0; q < vp->num_queues; q++)
        if (vp->vqs[q].enabled && vp->kick_fds[q] >= 0)
            signal_fd(vp->kick_fds[q]);
}

static void status_write(virtio_pci *vp, uint8_t v)
{
    if (v == 0) {
        reset_locked(vp);
        return;
    }
    uint8_t old = vp->status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Only features we offered, and the driver must speak virtio 1 (FEATURES_OK is then re-read). */
        bool ok = !(vp->guest_features & ~vp->host_features) &&
                  virtio_pci_has(vp, VIRTIO_F_VERSION_1);
        if (!ok)
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    }
    /* NEEDS_RESET may be set meanwhile by a thread completing a request: keep it. */
    uint8_t cur = old;
    while (!__atomic_compare_exchange_n(&vp->status, &cur, (uint8_t)(v | (cur & VIRTIO_STATUS_NEEDS_RESET)),
                                        false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        kick_all(vp); /* buffers made available before DRIVER_OK */
}

static void queue_enable(virtio_pci *vp, virtqueue *vq)
{
    if (vq->enabled)
        return;
    if (!vq_start(vq, virtio_pci_has(vp, VIRTIO_F_RING_EVENT_IDX),
                  virtio_pci_has(vp, VIRTIO_F_RING_INDIRECT_DESC))) {
        virtio_pci_needs_reset(vp, "queue rings misaligned or outside guest RAM");
        return;
    }
    vq->enabled = true;
}

static void set_addr_half(uint64_t *a, uint64_t off_in_field, uint64_t value, unsigned size)
{
    if (size == 8 && off_in_field == 0)
        *a = value;
    else if (size == 4 && off_in_field == 0)
        *a = (*a & 0xffffffff00000000ull) | (uint32_t)value;
    else if (size == 4 && off_in_field == 4)
        *a = (*a & 0xffffffffull) | ((uint64_t)(uint32_t)value << 32);
}

static void common_write(virtio_pci *vp, uint64_t off, uint64_t value, unsigned size)
{
    pthread_mutex_lock(&vp->lock);
    virtqueue *vq = vp->queue_sel < vp->num_queues ? &vp->vqs[vp->queue_sel] : NULL;
    bool fixed = vq && !vq->enabled; /* queue registers are frozen once enabled */
    switch (off) {
    case 0:
        if (size == 4)
            vp->dfselect = (uint32_t)value;
        break;
    case 8:
        if (size == 4)
            vp->gfselect = (uint32_t)value;
        break;
    case 12:
        if (size == 4 && vp->gfselect < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
            unsigned sh = 32 * vp->gfselect;
            vp->guest_features = (vp->guest_features & ~(0xffffffffull << sh)) |
                                 ((uint64_t)(uint32_t)value << sh);
        }
        break;
    case 16:
        if (size == 2)
            vp->config_vector = value < vp->nvectors ? (uint16_t)value : VIRTIO_NO_VECTOR;
        break;
    case 20:
        if (size == 1)
            status_write(vp, (uint8_t)value);
        break;
    case 22:
        if (size == 2)
            vp->queue_sel = (uint16_t)value;
        break;
    case 24:
        if (size == 2 && fixed && value && !(value & (value - 1)) && value <= vq->max_size)
            vq->size = (uint16_t)value;
        break;
    case 26:
        if (size == 2 && vq)
            __atomic_store_n(&vq->msix_vector, value < vp->nvectors ? (uint16_t)value : VIRTIO_NO_VECTOR,
                             __ATOMIC_RELAXED);
        break;
    case 28:
        if (size == 2 && vq && value == 1)
            queue_enable(vp, vq);
        break;
    default:
        if (fixed && off >= 32 && off < 56) {
            uint64_t *a = off < 40 ? &vq->desc_gpa : off < 48 ? &vq->avail_gpa : &vq->used_gpa;
            set_addr_half(a, (off - 32) % 8, value, size);
        }
        break;
    }
    pthread_mutex_unlock(&vp->lock);
}

/* ---- BAR4, on vCPU threads ---- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    virtio_pci *vp = opaque;
    if (off < VIRTIO_PCI_ISR_OFF)
        return common_read(vp, off, size);
    if (off < VIRTIO_PCI_DEVICE_OFF) {
        if (off != VIRTIO_PCI_ISR_OFF)
            return 0;
        /* Reading the ISR acknowledges it and lowers INTx (4.1.4.5). */
        uint8_t v = __atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
        if (v)
            vp->host->pci->intx_set(vp->pci, 0);
        return v;
    }
    if (off < VIRTIO_PCI_NOTIFY_OFF) {
        uint64_t o = off - VIRTIO_PCI_DEVICE_OFF, v = 0;
        if (o + size <= vp->config_len)
            memcpy(&v, vp->config + o, size);
        return v;
    }
    return 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    virtio_pci *vp = opaque;
    if (off < VIRTIO_PCI_ISR_OFF) {
        common_write(vp, off, value, size);
    } else if (off >= VIRTIO_PCI_NOTIFY_OFF) {
        /* A notify the ioeventfd did not catch (other width, ioeventfd=off): pass it on to
         * the main loop, so no disk I/O starts on this vCPU. */
        uint64_t q = (off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT;
        if (q < vp->num_queues && vp->kick_fds[q] >= 0)
            signal_fd(vp->kick_fds[q]);
    }
    /* ISR is read-only; the block device configuration has no writable field we offer. */
}

static const ts_io_ops bar_ops = {
    .size = sizeof(ts_io_ops),
    .read = bar_read,
    .write = bar_write,
};

/* ---- queue polls ---- */

static bool queue_live(virtio_pci *vp, virtqueue *vq)
{
    return (__atomic_load_n(&vp->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK) &&
           __atomic_load_n(&vq->enabled, __ATOMIC_ACQUIRE) && !__atomic_load_n(&vq->broken, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&vp->stopping, __ATOMIC_ACQUIRE);
}

void virtio_pci_queue_poll(virtio_pci *vp, unsigned q, bool completing)
{
    virtqueue *vq = &vp->vqs[q];
    if (__atomic_fetch_add(&vq->poll_requests, 1, __ATOMIC_ACQ_REL))
        return; /* the thread polling q now runs once more for this request */
    uint32_t taken = 1;
    for (;;) {
        if (queue_live(vp, vq))
            vp->ops->queue_kick(vp->opaque, q, completing);
        uint32_t left = __atomic_sub_fetch(&vq->poll_requests, taken, __ATOMIC_ACQ_REL);
        if (!left)
            return;
        taken = left; /* asked for while we ran: one more pass covers them all */
    }
}

/* ---- main loop ---- */

static void kick_ready(void *opaque, int fd, uint32_t events)
{
    virtio_pci *vp = opaque;
    uint64_t n;
    (void)events;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return;
    for (unsigned q = 0; q < vp->num_queues; q++) {
        if (vp->kick_fds[q] != fd)
            continue;
        /* Under the lock: a reset (which holds it) never runs while this poll takes requests. */
        pthread_mutex_lock(&vp->lock);
        virtio_pci_queue_poll(vp, q, false);
        pthread_mutex_unlock(&vp->lock);
    }
}

/* ---- realize ---- */

static int add_cap(virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
    uint8_t cap[20] = { 0 };
    uint8_t cap_len = notify ? 20 : 16;
    cap[2] = cap_len;
    cap[3] = type;
    cap[4] = VIRTIO_PCI_BAR;
    put32(cap + 8, off);
    put32(cap + 12, len);
    if (notify)
        put32(cap + 16, VIRTIO_PCI_NOTIFY_MULT);
    int r = vp->host->pci->capability_add(vp->pci, PCI_CAP_ID_VNDR, cap, cap_len, NULL);
    return r < 0 ? r : 0;
}

int virtio_pci_realize(virtio_pci *vp)
{
    const ts_host_api *h = vp->host;
    int r;
    if (!vp->vqs || !vp->kick_fds || !vp->vector_fds || !vp->ioeventfds || !vp->watches) {
        h->set_error(vp->obj, "out of memory");
        return -ENOMEM;
    }
    const ts_pci_identity id = {
        .size = sizeof(id),
        .vendor_id = VIRTIO_PCI_VENDOR,
        .device_id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vp->virtio_id),
        .class_code = (uint32_t)vp->pci_class_hi << 8,
        .revision = 1, /* modern-only device (4.1.2.1) */
        .interrupt_pin = 1,
        .subsystem_vendor_id = VIRTIO_PCI_VENDOR,
        .subsystem_id = vp->virtio_id, /* as QEMU: the virtio device id */
    };
    const ts_pci_bar_desc msix_bar = {
        .size = sizeof(msix_bar), .index = VIRTIO_PCI_MSIX_BAR, .type = TS_PCI_BAR_MEM32,
        .bar_size = 0x1000, /* table at 0, PBA at 0x800: room for 128 vectors */
    };
    const ts_pci_bar_desc bar = {
        .size = sizeof(bar), .index = VIRTIO_PCI_BAR, .type = TS_PCI_BAR_MEM64,
        .flags = TS_PCI_BAR_PREFETCHABLE, .bar_size = VIRTIO_PCI_BAR_SIZE, .ops = &bar_ops,
        .opaque = vp,
    };
    uint32_t pba_off = msix_bar.bar_size / 2;
    if ((r = h->pci->function_add(vp->obj, &id, &vp->pci)) < 0 ||
        (r = h->pci->bar_add(vp->pci, &msix_bar)) < 0 || (r = h->pci->bar_add(vp->pci, &bar)) < 0 ||
        (r = h->pci->msix_init(vp->pci, vp->nvectors, VIRTIO_PCI_MSIX_BAR, 0, VIRTIO_PCI_MSIX_BAR,
                               pba_off)) < 0)
        return r;
    if ((r = add_cap(vp, CAP_COMMON, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_REGION, false)) < 0 ||
        (r = add_cap(vp, CAP_ISR, VIRTIO_PCI_ISR_OFF, VIRTIO_PCI_REGION, false)) < 0 ||
        (r = add_cap(vp, CAP_DEVICE, VIRTIO_PCI_DEVICE_OFF, VIRTIO_PCI_REGION, false)) < 0 ||
        (r = add_cap(vp, CAP_NOTIFY, VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_REGION, true)) < 0) {
        h->set_error(vp->obj, "no room for the virtio capabilities in config space");
        return r;
    }
    for (unsigned v = 0; v < vp->nvectors; v++) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            r = -errno;
            h->set_error(vp->obj, "cannot create an eventfd for MSI-X vector %u: %s", v, strerror(errno));
            return r;
        }
        vp->vector_fds[v] = fd;
        if ((r = h->pci->msix_bind_eventfd(vp->pci, v, fd)) < 0) {
            h->set_error(vp->obj, "cannot bind MSI-X vector %u to its eventfd: %s", v, strerror(-r));
            return r;
        }
    }
    for (unsigned q = 0; q < vp->num_queues; q++) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            r = -errno;
            h->set_error(vp->obj, "cannot create an eventfd for queue %u: %s", q, strerror(errno));
            return r;
        }
        vp->kick_fds[q] = fd;
        if ((r = h->events->fd_watch_add(vp->obj, fd, TS_FD_READABLE, kick_ready, vp, &vp->watches[q])) < 0) {
            h->set_error(vp->obj, "cannot watch the notify eventfd of queue %u: %s", q, strerror(-r));
            return r;
        }
        if (!vp->use_ioeventfd)
            continue;
        const ts_ioeventfd_desc d = {
            .size = sizeof(d), .where = TS_IOEVENTFD_BAR, .pci = vp->pci, .bar = VIRTIO_PCI_BAR,
            .len = 2, .addr = VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT, .fd = fd,
        };
        if ((r = h->events->ioeventfd_add(vp->obj, &d, &vp->ioeventfds[q])) < 0) {
            /* Still correct, only slower: the write traps and bar_write rings the fd. */
            h->log(vp->obj, TS_LOG_WARN, "ioeventfd for queue %u failed (%s); notifications trap instead",
                   q, strerror(-r));
            vp->ioeventfds[q] = NULL;
        }
    }
    return 0;
}

void virtio_pci_unrealize(virtio_pci *vp)
{
    const ts_host_api *h = vp->host;
    drain(vp);
    for (unsigned q = 0; vp->kick_fds && vp->ioeventfds && vp->watches && q < vp->num_queues; q++) {
        h->events->ioeventfd_remove(vp->ioeventfds[q]);
        vp->ioeventfds[q] = NULL;
        h->events->fd_watch_remove(vp->watches[q]);
        vp->watches[q] = NULL;
        if (vp->kick_fds[q] >= 0)
            close(vp->kick_fds[q]);
        vp->kick_fds[q] = -1;
    }
    for (unsigned v = 0; vp->vector_fds && v < vp->nvectors; v++) {
        if (vp->vector_fds[v] < 0)
            continue;
        if (vp->pci)
            h->pci->msix_unbind_eventfd(vp->pci, v);
        close(vp->vector_fds[v]);
        vp->vector_fds[v] = -1;
    }
}
