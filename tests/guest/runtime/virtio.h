/* SPDX-License-Identifier: MIT */
/*
 * The test-guest runtime's virtio driver: the modern (virtio 1.x) PCI transport with
 * split virtqueues driven by polling, and a virtio-blk layer on top (docs/guest-runtime.md).
 *
 * Set-up (vpci_init, vblk_init) runs at CPL0. Submitting and polling touch only guest
 * memory and MMIO, so they work at CPL3 too (every page is user-accessible): put the
 * loops that keep many requests in flight in a cpl3_call.
 */
#ifndef TESSERA_GUEST_VIRTIO_H
#define TESSERA_GUEST_VIRTIO_H

#include "guest.h"

/* ---- transport ---- */

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

#define VQ_MAX_SIZE 128 /* entries per queue this driver uses at most (one 4 KiB page) */

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vq {
    uint16_t index;          /* queue number on the device */
    uint16_t size;           /* entries */
    uint16_t avail_idx;      /* next avail->idx to publish */
    uint16_t last_used;      /* used->idx consumed so far */
    struct vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size] */
    volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len}[size] */
    uint64_t notify;          /* MMIO address of this queue's doorbell */
    bool event_idx;           /* VIRTIO_F_RING_EVENT_IDX negotiated */
    uint16_t kicked_idx;      /* avail_idx when vq_kick last looked */
    uint64_t kicks, kicks_saved; /* doorbells rung; skipped because the device said so */
};

struct vpci {
    struct pci_dev pci;
    uint64_t common, notify_base, isr, device_cfg; /* MMIO addresses from the capabilities */
    uint32_t notify_mult;
    uint64_t device_features, features;           /* offered, negotiated */
};

/*
 * Test hook: when set, vpci_init moves the BARs the capabilities point at below 4 GiB
 * even where they already are below it (that move is what happens to BARs above 4 GiB,
 * which the runtime cannot reach: tessera places 64-bit BARs there).
 */
extern bool vpci_move_bars_low;

/*
 * Finds the four capabilities (common, notify, ISR, device) — moving a BAR that lies above
 * 4 GiB to a free place below it — turns on memory decode and
 * bus mastering, resets the device and negotiates want & offered (VERSION_1 is always
 * asked for and must be offered). Returns 0, or a negative number with a TAP diagnostic.
 */
int vpci_init(struct vpci *d, const struct pci_dev *pci, uint64_t want);
/* Device configuration space accessors (offsets into the device-specific structure). */
uint8_t vpci_cfg8(const struct vpci *d, unsigned off);
uint16_t vpci_cfg16(const struct vpci *d, unsigned off);
uint32_t vpci_cfg32(const struct vpci *d, unsigned off);
uint64_t vpci_cfg64(const struct vpci *d, unsigned off);
uint16_t vpci_num_queues(const struct vpci *d);
/*
 * Sets up queue index with min(device maximum, VQ_MAX_SIZE) entries in page (4 KiB,
 * page-aligned, zeroed here), no MSI-X vector (the driver polls), and enables it.
 */
int vpci_queue_setup(struct vpci *d, struct vq *q, unsigned index, void *page);
void vpci_driver_ok(struct vpci *d);
uint8_t vpci_status(const struct vpci *d);
void vpci_reset(struct vpci *d);

/* Publishes the chain starting at descriptor head (no doorbell yet). */
void vq_push(struct vq *q, uint16_t head);
/*
 * Rings the queue's doorbell for the entries published since the last call, unless the
 * device asked not to be notified (VRING_USED_F_NO_NOTIFY, or with event index an
 * avail_event these entries do not cross), as a Linux driver does.
 */
void vq_kick(struct vq *q);
/* The next used element's head id (and *len), or -1 when none is ready. */
int vq_pop(struct vq *q, uint32_t *len);

/* ---- virtio-blk ---- */

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VBLK_S_PENDING 0xff /* not completed yet (driver-side marker) */

#define VBLK_MAX_QUEUES 4
#define VBLK_SLOTS (VQ_MAX_SIZE / 3) /* requests in flight per queue: 3 descriptors each */

struct vblk_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct vblk_range { /* discard / write-zeroes segment */
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

struct vblk_slot {
    struct vblk_hdr hdr;
    struct vblk_range range;
    volatile uint8_t status;
    bool busy;  /* submitted, not released */
    bool done;  /* its head came back in the used ring: status is final */
};

struct vblk {
    struct vpci dev;
    uint64_t capacity;     /* 512-byte sectors */
    uint32_t blk_size;
    uint16_t nqueues;
    struct vq q[VBLK_MAX_QUEUES];
    struct vblk_slot slot[VBLK_MAX_QUEUES][VBLK_SLOTS];
    uint16_t slots;        /* usable slots per queue (size / 3) */
    uint64_t completed;    /* requests completed so far */
};

/*
 * Finds the first virtio-blk-pci (1af4:1042) on bus 0 at or after slot min_dev, negotiates
 * VERSION_1, SEG_MAX, BLK_SIZE, FLUSH, RO, DISCARD, WRITE_ZEROES, MQ (up to
 * VBLK_MAX_QUEUES queues, at most max_queues) and, unless vblk_no_event_idx is set,
 * RING_EVENT_IDX; sets the queues up and sets DRIVER_OK.
 */
extern bool vblk_no_event_idx;
int vblk_init(struct vblk *b, unsigned max_queues);
static inline bool vblk_has(const struct vblk *b, unsigned feature)
{
    return (b->dev.features >> feature) & 1;
}
/*
 * Queues one request on queue qi: type, sector, and for data requests a buffer of len
 * bytes (device-written for IN and GET_ID); for DISCARD and WRITE_ZEROES sector and
 * len / 512 describe the range and flags go into the segment. Returns the slot number,
 * or -1 when every slot of the queue is busy. Call vblk_kick afterwards.
 */
int vblk_submit(struct vblk *b, unsigned qi, uint32_t type, uint64_t sector, void *buf,
                uint32_t len, uint32_t flags);
static inline void vblk_kick(struct vblk *b, unsigned qi) { vq_kick(&b->q[qi]); }
/*
 * Reaps completions of queue qi and marks their slots done; returns how many. A slot is
 * finished only once it is done (the device may write the status byte before it has
 * returned the chain), and then vblk_release frees it. A done slot whose status the
 * device never wrote reads 0xfd.
 */
unsigned vblk_reap(struct vblk *b, unsigned qi);
/* Frees a completed slot and returns its status. */
uint8_t vblk_release(struct vblk *b, unsigned qi, int slot);
/* One request, submitted and polled to completion; returns its status (0xfe: no slot). */
uint8_t vblk_do(struct vblk *b, unsigned qi, uint32_t type, uint64_t sector, void *buf,
                uint32_t len, uint32_t flags);

#endif
