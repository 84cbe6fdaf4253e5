/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.x modern PCI transport (virtio 1.1, section 4.1), for any virtio device:
 * vendor 0x1af4, device 0x1040 + virtio id, revision 1; the common, notify, ISR and
 * device configuration structures in one 64-bit prefetchable BAR (BAR4, as QEMU) and the
 * MSI-X table and PBA in BAR1 (as QEMU), one vector for configuration changes and one
 * per queue.
 *
 * Notifications: each queue's notify address is an ioeventfd (len 2) on a per-queue
 * eventfd the main loop watches; other widths, and ioeventfd=off, reach the BAR handler
 * on the vCPU, which only signals that eventfd. So queues are processed on the main
 * thread (ops->queue_kick, with the transport's lock held), or by a thread completing a
 * request of the queue (virtio_pci_queue_poll), never on a vCPU. While requests are in
 * flight a device may tell the driver not to notify (vq_disable_notify) and take new
 * buffers as its requests complete instead: a busy queue then costs the guest no exits.
 * Interrupts: one eventfd per MSI-X vector, bound to it (irqfd), signalled from any thread;
 * without MSI-X, the ISR register and INTx pin A.
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tessera/tessera.h"
#include "virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4u
#define VIRTIO_PCI_DEVICE_BASE 0x1040u
#define VIRTIO_NO_VECTOR 0xffffu

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* Transport feature bits (6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* BAR layout, as QEMU's. */
#define VIRTIO_PCI_BAR 4u
#define VIRTIO_PCI_MSIX_BAR 1u
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_REGION 0x1000u
#define VIRTIO_PCI_BAR_SIZE 0x4000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_COMMON_LEN 56u

typedef struct virtio_pci virtio_pci;

typedef struct virtio_dev_ops {
    /*
     * Queue q may have new buffers: take them (DRIVER_OK set, queue enabled). Called by
     * virtio_pci_queue_poll, on one thread at a time per queue: the main thread on a
     * notification (transport lock held), or a thread completing one of the queue's
     * requests (lock not held; completing is then true: the thread may wait a little
     * for more requests, never the main thread).
     */
    void (*queue_kick)(void *opaque, unsigned q, bool completing);
} virtio_dev_ops;

struct virtio_pci {
    ts_object *obj;
    const ts_host_api *host;
    ts_pci_dev *pci;
    pthread_mutex_t lock; /* transport state; queue processing */

    uint16_t virtio_id;
    uint16_t pci_class_hi; /* base class << 8 | subclass */
    uint64_t host_features, guest_features;
    uint32_t dfselect, gfselect;
    uint8_t status;
    uint8_t isr;          /* atomic */
    uint16_t config_vector;
    uint16_t queue_sel;

    unsigned num_queues;
    virtqueue *vqs;
    unsigned nvectors;
    int *vector_fds;       /* nvectors eventfds bound to the vectors */
    int *kick_fds;         /* num_queues */
    ts_ioeventfd **ioeventfds;
    ts_fd_watch **watches;
    bool use_ioeventfd;

    const uint8_t *config; /* device configuration structure (the device's, read-only here) */
    uint32_t config_len;

    const virtio_dev_ops *ops;
    void *opaque;

    pthread_mutex_t inflight_lock;
    pthread_cond_t idle;
    unsigned inflight;
    bool stopping; /* atomic: a reset or unrealize waits for requests; polls take no more */
};

/* Fills vp (no resources yet). */
void virtio_pci_init(virtio_pci *vp, ts_object *obj, const ts_host_api *host, uint16_t virtio_id,
                     uint16_t pci_class_hi, unsigned num_queues, uint16_t queue_size,
                     uint64_t host_features, bool use_ioeventfd, const virtio_dev_ops *ops,
                     void *opaque);
/* True when the host offers every service the transport needs. */
bool virtio_pci_host_ok(const ts_host_api *host);
/* Creates the PCI function and its events (realize). 0 or -errno with the error recorded. */
int virtio_pci_realize(virtio_pci *vp);
/* Drains requests and releases fds and watches (unrealize); safe after a failed realize. */
void virtio_pci_unrealize(virtio_pci *vp);
void virtio_pci_destroy(virtio_pci *vp);
/* Device reset (guest writes 0 to device_status, or a system reset): waits for requests. */
void virtio_pci_reset(virtio_pci *vp);
/* The driver accepted feature bit. */
bool virtio_pci_has(const virtio_pci *vp, unsigned bit);
/* Interrupts the driver for queue q (used buffers). Any thread. */
void virtio_pci_notify_queue(virtio_pci *vp, unsigned q);
/* Marks the device DEVICE_NEEDS_RESET and sends a configuration interrupt. Any thread. */
void virtio_pci_needs_reset(virtio_pci *vp, const char *why);
/*
 * Runs ops->queue_kick for queue q now, or, when another thread is running it for q,
 * makes that thread run it once more when it is done: so polls of one queue never run at
 * the same time and none is lost. The main thread calls it on a notification; a device
 * calls it when one of q's requests completes (completing true), before
 * virtio_pci_request_end, to take what the driver queued meanwhile without waiting for a
 * notification. The passes run with the flag of the thread that runs them.
 */
void virtio_pci_queue_poll(virtio_pci *vp, unsigned q, bool completing);
/* Counts a request handed to another thread; reset and unrealize wait for them. */
void virtio_pci_request_begin(virtio_pci *vp);
void virtio_pci_request_end(virtio_pci *vp);

#endif
