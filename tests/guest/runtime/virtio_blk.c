/* SPDX-License-Identifier: MIT */
/* virtio-blk on the polled virtio-pci driver (virtio.h): 3 descriptors per request. */
#include "virtio.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_BLK_MODERN 0x1042
/* Device configuration offsets (virtio 1.x, 5.2.4). */
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_BLK_SIZE 20
#define BLK_CFG_NUM_QUEUES 34

static uint8_t vblk_rings[VBLK_MAX_QUEUES][4096] __attribute__((aligned(4096)));

bool vblk_no_event_idx;

int vblk_init(struct vblk *b, unsigned max_queues)
{
    struct pci_dev devs[32], *pci = NULL;
    unsigned n = pci_scan_bus0(devs, 32);

    for (unsigned i = 0; i < n && !pci; i++)
        if (devs[i].vendor == VIRTIO_VENDOR && devs[i].device == VIRTIO_BLK_MODERN)
            pci = &devs[i];
    if (!pci) {
        tap_diag("virtio-blk: no 1af4:1042 device on bus 0");
        return -1;
    }
    memset(b, 0, sizeof(*b));
    uint64_t want = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                    1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_RO |
                    1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES |
                    1ull << VIRTIO_BLK_F_MQ;
    if (!vblk_no_event_idx)
        want |= 1ull << VIRTIO_F_RING_EVENT_IDX;
    int r = vpci_init(&b->dev, pci, want);
    if (r < 0)
        return r;
    b->capacity = vpci_cfg64(&b->dev, BLK_CFG_CAPACITY);
    b->blk_size = vblk_has(b, VIRTIO_BLK_F_BLK_SIZE) ? vpci_cfg32(&b->dev, BLK_CFG_BLK_SIZE) : 512;
    unsigned nq = vblk_has(b, VIRTIO_BLK_F_MQ) ? vpci_cfg16(&b->dev, BLK_CFG_NUM_QUEUES) : 1;
    if (nq > VBLK_MAX_QUEUES)
        nq = VBLK_MAX_QUEUES;
    if (nq > max_queues)
        nq = max_queues ? max_queues : 1;
    if (nq == 0)
        nq = 1;
    for (unsigned i = 0; i < nq; i++) {
        if (vpci_queue_setup(&b->dev, &b->q[i], i, vblk_rings[i]) < 0) {
            tap_diag("virtio-blk: queue %u could not be set up", i);
            return -5;
        }
    }
    b->nqueues = (uint16_t)nq;
    b->slots = (uint16_t)(b->q[0].size / 3);
    for (unsigned i = 1; i < nq; i++)
        if (b->q[i].size / 3 < b->slots)
            b->slots = (uint16_t)(b->q[i].size / 3);
    vpci_driver_ok(&b->dev);
    return (vpci_status(&b->dev) & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)) ? -6 : 0;
}

int vblk_submit(struct vblk *b, unsigned qi, uint32_t type, uint64_t sector, void *buf,
                uint32_t len, uint32_t flags)
{
    struct vq *q = &b->q[qi];
    int s = -1;

    for (unsigned i = 0; i < b->slots; i++) {
        if (!b->slot[qi][i].busy) {
            s = (int)i;
            break;
        }
    }
    if (s < 0)
        return -1;
    struct vblk_slot *sl = &b->slot[qi][s];
    struct vring_desc *d = &q->desc[3 * s];
    uint16_t head = (uint16_t)(3 * s);
    unsigned k = 0;

    sl->busy = true;
    sl->done = false;
    sl->status = VBLK_S_PENDING;
    sl->hdr = (struct vblk_hdr){ .type = type, .sector = sector };
    d[k++] = (struct vring_desc){ (uintptr_t)&sl->hdr, sizeof(sl->hdr), VRING_DESC_F_NEXT, 0 };
    if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
        sl->range = (struct vblk_range){ sector, len / 512, flags };
        sl->hdr.sector = 0;
        d[k++] = (struct vring_desc){ (uintptr_t)&sl->range, sizeof(sl->range), VRING_DESC_F_NEXT, 0 };
    } else if (type != VIRTIO_BLK_T_FLUSH && len) {
        uint16_t dir = (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID) ? VRING_DESC_F_WRITE : 0;
        d[k++] = (struct vring_desc){ (uintptr_t)buf, len, (uint16_t)(VRING_DESC_F_NEXT | dir), 0 };
    }
    d[k++] = (struct vring_desc){ (uintptr_t)&sl->status, 1, VRING_DESC_F_WRITE, 0 };
    for (unsigned i = 0; i + 1 < k; i++)
        d[i].next = (uint16_t)(head + i + 1);
    vq_push(q, head);
    return s;
}

unsigned vblk_reap(struct vblk *b, unsigned qi)
{
    unsigned n = 0;
    int id;

    while ((id = vq_pop(&b->q[qi], NULL)) >= 0) {
        n++;
        if (id % 3 || id / 3 >= b->slots || !b->slot[qi][id / 3].busy)
            continue; /* not a head we submitted: ignored (the device is broken) */
        struct vblk_slot *sl = &b->slot[qi][id / 3];
        if (sl->status == VBLK_S_PENDING)
            sl->status = 0xfd; /* returned without a status */
        sl->done = true;
    }
    b->completed += n;
    return n;
}

uint8_t vblk_release(struct vblk *b, unsigned qi, int slot)
{
    b->slot[qi][slot].busy = false;
    b->slot[qi][slot].done = false;
    return b->slot[qi][slot].status;
}

uint8_t vblk_do(struct vblk *b, unsigned qi, uint32_t type, uint64_t sector, void *buf,
                uint32_t len, uint32_t flags)
{
    int s = vblk_submit(b, qi, type, sector, buf, len, flags);
    if (s < 0)
        return 0xfe;
    vblk_kick(b, qi);
    for (uint64_t spin = 0; !b->slot[qi][s].done && spin < (1ull << 32); spin++) {
        if (!vblk_reap(b, qi))
            __asm__ volatile("pause");
    }
    return vblk_release(b, qi, s);
}
