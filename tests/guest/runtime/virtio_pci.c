/* SPDX-License-Identifier: MIT */
/* Modern virtio-pci transport and polled split virtqueues for test guests (virtio.h). */
#include "virtio.h"

/* Common configuration structure (virtio 1.x, 4.1.4.3). */
#define CC_DEVICE_FEATURE_SELECT 0x00
#define CC_DEVICE_FEATURE 0x04
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE 0x0c
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES 0x12
#define CC_DEVICE_STATUS 0x14
#define CC_QUEUE_SELECT 0x16
#define CC_QUEUE_SIZE 0x18
#define CC_QUEUE_MSIX_VECTOR 0x1a
#define CC_QUEUE_ENABLE 0x1c
#define CC_QUEUE_NOTIFY_OFF 0x1e
#define CC_QUEUE_DESC 0x20
#define CC_QUEUE_DRIVER 0x28
#define CC_QUEUE_DEVICE 0x30

#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define NO_VECTOR 0xffff
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)(uintptr_t)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)(uintptr_t)a = v; }
#define barrier() __asm__ volatile("" ::: "memory")

uint8_t vpci_cfg8(const struct vpci *d, unsigned off) { return mmio_read8(d->device_cfg + off); }
uint16_t vpci_cfg16(const struct vpci *d, unsigned off) { return mmio_read16(d->device_cfg + off); }
uint32_t vpci_cfg32(const struct vpci *d, unsigned off) { return mmio_read32(d->device_cfg + off); }
uint64_t vpci_cfg64(const struct vpci *d, unsigned off)
{
    uint32_t lo = vpci_cfg32(d, off), hi = vpci_cfg32(d, off + 4);
    return (uint64_t)hi << 32 | lo;
}
uint16_t vpci_num_queues(const struct vpci *d) { return mmio_read16(d->common + CC_NUM_QUEUES); }
uint8_t vpci_status(const struct vpci *d) { return mmio_read8(d->common + CC_DEVICE_STATUS); }

static void set_status(struct vpci *d, uint8_t bits)
{
    mmio_write8(d->common + CC_DEVICE_STATUS, vpci_status(d) | bits);
}

void vpci_reset(struct vpci *d)
{
    mmio_write8(d->common + CC_DEVICE_STATUS, 0);
    for (unsigned i = 0; i < 1000000 && vpci_status(d) != 0; i++)
        __asm__ volatile("pause");
}

bool vpci_move_bars_low;

/*
 * Moves a memory BAR of size bytes below the lowest memory BAR any bus-0 function has
 * below 4 GiB (and not under 2 GiB, where test guests' RAM is): the runtime identity-maps
 * only the first 4 GiB, and tessera places 64-bit BARs above it. Returns the new base (now
 * when it is already there) or 0.
 */
static uint64_t move_bar_low(const struct vpci *d, unsigned bar, uint64_t size, uint64_t now)
{
    struct pci_dev devs[32];
    unsigned n = pci_scan_bus0(devs, 32);
    uint64_t lowest = 0xfec00000;

    for (unsigned i = 0; i < n; i++) {
        for (unsigned k = 0; k < 6; k++) {
            struct pci_bar b;
            pci_bar_probe(&devs[i], k, &b);
            bool self = devs[i].dev == d->pci.dev && devs[i].fn == d->pci.fn && k == bar;
            if (!self && !b.io && b.size && b.base && b.base < lowest)
                lowest = b.base;
            if (b.is64)
                k++;
        }
    }
    uint64_t addr = (lowest - size) & ~(size - 1);
    if (size > lowest || addr < 0x80000000ull)
        return 0;
    if (addr == now)
        return now;
    pci_command(&d->pci, 0, PCI_COMMAND_MEMORY);
    pci_bar_set(&d->pci, bar, addr);
    pci_command(&d->pci, PCI_COMMAND_MEMORY, 0);
    return addr;
}

/* Address of the structure a virtio vendor capability at cap points at, or 0. */
static uint64_t cap_address(const struct vpci *d, uint8_t cap)
{
    unsigned bar = pci_read8(&d->pci, cap + 4);
    uint32_t off = pci_read32(&d->pci, cap + 8);
    struct pci_bar b;

    if (bar > 5)
        return 0;
    pci_bar_probe(&d->pci, bar, &b);
    if (!b.io && b.size && (vpci_move_bars_low || b.base + b.size > 0x100000000ull)) {
        uint64_t to = move_bar_low(d, bar, b.size, b.base);
        if (to != b.base)
            tap_diag("virtio: BAR%u (%#lx bytes) moved from %#lx to %#lx", bar, b.size, b.base,
                     to);
        pci_bar_probe(&d->pci, bar, &b);
    }
    if (b.io || !b.size || !b.base || b.base + b.size > 0x100000000ull || off >= b.size) {
        tap_diag("virtio: BAR%u (base %#lx, size %#lx) is not a usable memory BAR below 4 GiB",
                 bar, b.base, b.size);
        return 0;
    }
    return b.base + off;
}

int vpci_init(struct vpci *d, const struct pci_dev *pci, uint64_t want)
{
    memset(d, 0, sizeof(*d));
    d->pci = *pci;
    if (!(pci_read16(pci, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return -1;
    uint8_t cap = pci_read8(pci, PCI_CAP_PTR) & ~3u;
    for (unsigned hops = 0; cap >= 0x40 && hops < 48; hops++) {
        if (pci_read8(pci, cap) == PCI_CAP_ID_VENDOR) {
            uint8_t type = pci_read8(pci, cap + 3);
            uint64_t *slot = type == CAP_COMMON ? &d->common
                             : type == CAP_NOTIFY ? &d->notify_base
                             : type == CAP_ISR ? &d->isr
                             : type == CAP_DEVICE ? &d->device_cfg : NULL;
            if (slot && !*slot) {
                *slot = cap_address(d, cap);
                if (type == CAP_NOTIFY)
                    d->notify_mult = pci_read32(pci, cap + 16);
            }
        }
        cap = pci_read8(pci, cap + 1) & ~3u;
    }
    if (!d->common || !d->notify_base || !d->isr || !d->device_cfg) {
        tap_diag("virtio: capabilities missing (common %#lx notify %#lx isr %#lx device %#lx)",
                 d->common, d->notify_base, d->isr, d->device_cfg);
        return -2;
    }
    pci_command(pci, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, PCI_COMMAND_IO);

    vpci_reset(d);
    set_status(d, VIRTIO_STATUS_ACK);
    set_status(d, VIRTIO_STATUS_DRIVER);
    for (unsigned half = 0; half < 2; half++) {
        mmio_write32(d->common + CC_DEVICE_FEATURE_SELECT, half);
        d->device_features |= (uint64_t)mmio_read32(d->common + CC_DEVICE_FEATURE) << (32 * half);
    }
    if (!(d->device_features >> VIRTIO_F_VERSION_1 & 1)) {
        tap_diag("virtio: device does not offer VERSION_1 (features %#lx)", d->device_features);
        set_status(d, VIRTIO_STATUS_FAILED);
        return -3;
    }
    d->features = d->device_features & (want | 1ull << VIRTIO_F_VERSION_1);
    for (unsigned half = 0; half < 2; half++) {
        mmio_write32(d->common + CC_DRIVER_FEATURE_SELECT, half);
        mmio_write32(d->common + CC_DRIVER_FEATURE, (uint32_t)(d->features >> (32 * half)));
    }
    set_status(d, VIRTIO_STATUS_FEATURES_OK);
    if (!(vpci_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
        tap_diag("virtio: device refused features %#lx", d->features);
        set_status(d, VIRTIO_STATUS_FAILED);
        return -4;
    }
    mmio_write16(d->common + CC_MSIX_CONFIG, NO_VECTOR);
    return 0;
}

int vpci_queue_setup(struct vpci *d, struct vq *q, unsigned index, void *page)
{
    uint64_t cc = d->common;

    mmio_write16(cc + CC_QUEUE_SELECT, (uint16_t)index);
    uint16_t max = mmio_read16(cc + CC_QUEUE_SIZE);
    if (max == 0)
        return -1;
    uint16_t size = max < VQ_MAX_SIZE ? max : VQ_MAX_SIZE;
    while (size & (size - 1)) /* split rings are a power of two */
        size &= (uint16_t)(size - 1);

    memset(page, 0, 4096);
    uint8_t *p = page;
    uint64_t used_off = (16u * size + 6u + 2u * size + 3u) & ~3ull;
    q->index = (uint16_t)index;
    q->size = size;
    q->avail_idx = q->last_used = q->kicked_idx = 0;
    q->kicks = q->kicks_saved = 0;
    q->event_idx = (d->features >> VIRTIO_F_RING_EVENT_IDX) & 1;
    q->desc = (struct vring_desc *)p;
    q->avail = (volatile uint16_t *)(p + 16u * size);
    q->used = (volatile uint16_t *)(p + used_off);
    q->avail[0] = VRING_AVAIL_F_NO_INTERRUPT; /* we poll */

    uint64_t desc = (uintptr_t)q->desc, avail = (uintptr_t)q->avail, used = (uintptr_t)q->used;
    mmio_write16(cc + CC_QUEUE_SIZE, size);
    mmio_write16(cc + CC_QUEUE_MSIX_VECTOR, NO_VECTOR);
    mmio_write32(cc + CC_QUEUE_DESC, (uint32_t)desc);
    mmio_write32(cc + CC_QUEUE_DESC + 4, (uint32_t)(desc >> 32));
    mmio_write32(cc + CC_QUEUE_DRIVER, (uint32_t)avail);
    mmio_write32(cc + CC_QUEUE_DRIVER + 4, (uint32_t)(avail >> 32));
    mmio_write32(cc + CC_QUEUE_DEVICE, (uint32_t)used);
    mmio_write32(cc + CC_QUEUE_DEVICE + 4, (uint32_t)(used >> 32));
    q->notify = d->notify_base + (uint64_t)mmio_read16(cc + CC_QUEUE_NOTIFY_OFF) * d->notify_mult;
    mmio_write16(cc + CC_QUEUE_ENABLE, 1);
    return mmio_read16(cc + CC_QUEUE_ENABLE) == 1 ? 0 : -2;
}

void vpci_driver_ok(struct vpci *d) { set_status(d, VIRTIO_STATUS_DRIVER_OK); }

void vq_push(struct vq *q, uint16_t head)
{
    q->avail[2 + q->avail_idx % q->size] = head;
    barrier(); /* x86 keeps stores in order; the compiler must too */
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
}

void vq_kick(struct vq *q)
{
    uint16_t old = q->kicked_idx, now = q->avail_idx;
    /* The published index must be visible before we read the device's wishes (2.7.10). */
    __asm__ volatile("mfence" ::: "memory");
    q->kicked_idx = now;
    bool want;
    if (q->event_idx) {
        uint16_t ev = q->used[2 + 4u * q->size]; /* avail_event, after the used ring */
        want = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        want = !(q->used[0] & VRING_USED_F_NO_NOTIFY);
    }
    if (!want) {
        q->kicks_saved++;
        return;
    }
    q->kicks++;
    mmio_write16(q->notify, q->index);
}

int vq_pop(struct vq *q, uint32_t *len)
{
    if (q->used[1] == q->last_used)
        return -1;
    barrier();
    const volatile uint32_t *elem = (const volatile uint32_t *)(q->used + 2) +
                                    2u * (q->last_used % q->size);
    uint32_t id = elem[0];
    if (len)
        *len = elem[1];
    q->last_used++;
    return (int)id;
}
