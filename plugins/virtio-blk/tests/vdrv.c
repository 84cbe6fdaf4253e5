/* SPDX-License-Identifier: MIT */
/* The tests' virtio driver; see vdrv.h. */
#include "vdrv.h"

#include <string.h>

#ifdef TESSERA_LIBFUZZER
/* Under libFuzzer there is no Check runner: a failed expectation is a crash. */
#include <stdlib.h>
#define VDRV_CHECK(c) do { if (!(c)) abort(); } while (0)
#define ck_assert(c) VDRV_CHECK(c)
#define ck_assert_msg(c, ...) VDRV_CHECK(c)
#define ck_assert_ptr_nonnull(p) VDRV_CHECK((p) != NULL)
#define ck_assert_int_ge(a, b) VDRV_CHECK((a) >= (b))
#define ck_assert_uint_eq(a, b) VDRV_CHECK((a) == (b))
#define ck_assert_uint_ne(a, b) VDRV_CHECK((a) != (b))
#define ck_assert_uint_ge(a, b) VDRV_CHECK((a) >= (b))
#define ck_assert_uint_gt(a, b) VDRV_CHECK((a) > (b))
#else
#include <check.h>
#endif

#define PCI_CAP_PTR 0x34
#define HEAP_BASE 0x1000000ull  /* 16 MiB: buffers */
#define RING_BASE 0x100000ull   /* 1 MiB: rings, 64 KiB per queue */

uint64_t vdrv_read(vdrv *d, unsigned off, unsigned size)
{
    return tk_mmio_read(d->m, d->bar + off, size);
}

void vdrv_write(vdrv *d, unsigned off, uint64_t v, unsigned size)
{
    tk_mmio_write(d->m, d->bar + off, v, size);
}

uint8_t vdrv_status(vdrv *d)
{
    return (uint8_t)vdrv_read(d, 20, 1);
}

uint64_t vdrv_cfg(vdrv *d, unsigned off, unsigned size)
{
    return tk_mmio_read(d->m, d->bar + 0x2000 + off, size);
}

void *vdrv_ptr(vdrv *d, uint64_t gpa, uint64_t len)
{
    void *p = tk_guest_ram(d->m, gpa, len);
    ck_assert_ptr_nonnull(p);
    return p;
}

uint64_t vdrv_alloc(vdrv *d, uint64_t len)
{
    uint64_t g = d->heap;
    d->heap += (len + 63) & ~63ull;
    memset(vdrv_ptr(d, g, len ? len : 1), 0, len ? len : 1);
    return g;
}

void vdrv_probe(vdrv *d, tk_machine *m)
{
    memset(d, 0, sizeof(*d));
    d->m = m;
    d->heap = HEAP_BASE;
    int devfn = tk_pci_find(m, 0x1af4, 0x1042, 0);
    ck_assert_int_ge(devfn, 0);
    d->devfn = (uint8_t)devfn;
    tk_device_enable(m, d->devfn);
    d->bar = tk_bar_address(m, d->devfn, 4);
    ck_assert_uint_ne(d->bar, 0);
    /* The four vendor capabilities point into BAR4 where QEMU puts them. */
    unsigned seen = 0;
    for (uint8_t p = (uint8_t)tk_config_read(m, d->devfn, PCI_CAP_PTR, 1); p; p = (uint8_t)tk_config_read(m, d->devfn, p + 1u, 1)) {
        if (tk_config_read(m, d->devfn, p, 1) != 0x09)
            continue;
        uint8_t type = (uint8_t)tk_config_read(m, d->devfn, p + 3u, 1);
        ck_assert_uint_eq(tk_config_read(m, d->devfn, p + 4u, 1), 4);
        uint32_t off = tk_config_read(m, d->devfn, p + 8u, 4);
        uint32_t len = tk_config_read(m, d->devfn, p + 12u, 4);
        ck_assert_uint_ge(len, 56);
        static const uint32_t want_off[] = { 0, 0x0000, 0x3000, 0x1000, 0x2000 };
        ck_assert(type >= 1 && type <= 4);
        ck_assert_uint_eq(off, want_off[type]);
        if (type == 2) {
            ck_assert_uint_eq(tk_config_read(m, d->devfn, p + 2u, 1), 20);
            d->notify_mult = tk_config_read(m, d->devfn, p + 16u, 4);
        }
        seen |= 1u << type;
    }
    ck_assert_uint_eq(seen, 0x1e);
    ck_assert_uint_eq(d->notify_mult, 4);
    uint32_t nvec = tk_msix_table_size(m, d->devfn);
    ck_assert_uint_ge(nvec, 2);
    for (uint32_t v = 0; v < nvec; v++)
        tk_msix_set_vector(m, d->devfn, v, VDRV_MSI_ADDR, VDRV_MSI_DATA(v), false);
    tk_msix_enable(m, d->devfn, true);
}

bool vdrv_negotiate(vdrv *d, uint64_t features)
{
    vdrv_write(d, 20, 0, 1);
    ck_assert_uint_eq(vdrv_status(d), 0);
    vdrv_write(d, 20, 1, 1);
    vdrv_write(d, 20, 1 | 2, 1);
    vdrv_write(d, 0, 0, 4);
    d->dev_features = vdrv_read(d, 4, 4);
    vdrv_write(d, 0, 1, 4);
    d->dev_features |= vdrv_read(d, 4, 4) << 32;
    vdrv_write(d, 8, 0, 4);
    vdrv_write(d, 12, (uint32_t)features, 4);
    vdrv_write(d, 8, 1, 4);
    vdrv_write(d, 12, features >> 32, 4);
    d->features = features;
    vdrv_write(d, 20, 1 | 2 | 8, 1);
    return (vdrv_status(d) & 8) != 0; /* FEATURES_OK must be re-read */
}

void vdrv_init(vdrv *d, uint64_t want, unsigned nq, uint16_t qsize)
{
    ck_assert(vdrv_negotiate(d, (want | F_VERSION_1) & ~0ull));
    ck_assert(nq <= VDRV_MAX_QUEUES && nq <= vdrv_read(d, 18, 2));
    d->nq = nq;
    vdrv_write(d, 16, 0, 2); /* configuration changes on vector 0 */
    ck_assert_uint_eq(vdrv_read(d, 16, 2), 0);
    for (unsigned q = 0; q < nq; q++) {
        vdrv_queue *vq = &d->q[q];
        vdrv_write(d, 22, q, 2);
        uint16_t max = (uint16_t)vdrv_read(d, 24, 2);
        ck_assert_uint_gt(max, 0);
        if (qsize)
            vdrv_write(d, 24, qsize, 2);
        vq->size = (uint16_t)vdrv_read(d, 24, 2);
        ck_assert_uint_eq(vq->size, qsize ? qsize : max);
        ck_assert_uint_eq(vdrv_read(d, 30, 2), q); /* queue_notify_off */
        vdrv_write(d, 26, q + 1, 2);
        ck_assert_uint_eq(vdrv_read(d, 26, 2), q + 1);
        uint64_t base = RING_BASE + (uint64_t)q * 0x10000;
        vq->desc = base;
        vq->avail = base + 0x4000;
        vq->used = base + 0x6000;
        memset(vdrv_ptr(d, base, 0x10000), 0, 0x10000);
        /* 64-bit addresses as two 32-bit halves, as Linux writes them. */
        vdrv_write(d, 32, (uint32_t)vq->desc, 4);
        vdrv_write(d, 36, vq->desc >> 32, 4);
        vdrv_write(d, 40, (uint32_t)vq->avail, 4);
        vdrv_write(d, 44, vq->avail >> 32, 4);
        vdrv_write(d, 48, vq->used, 8);
        ck_assert_uint_eq(vdrv_read(d, 40, 8), vq->avail);
        vdrv_write(d, 28, 1, 2);
        ck_assert_uint_eq(vdrv_read(d, 28, 2), 1);
        vq->avail_idx = 0;
        vq->next_desc = 0;
    }
    vdrv_write(d, 20, 1 | 2 | 8 | 4, 1);
    ck_assert_uint_eq(vdrv_status(d), 1 | 2 | 8 | 4);
}

uint16_t vdrv_chain(vdrv *d, unsigned q, const vdrv_buf *b, unsigned n)
{
    vdrv_queue *vq = &d->q[q];
    uint8_t *desc = vdrv_ptr(d, vq->desc, 16ull * vq->size);
    uint16_t head = vq->next_desc;
    for (unsigned i = 0; i < n; i++) {
        uint16_t slot = (uint16_t)((head + i) % vq->size);
        uint16_t next = (uint16_t)((slot + 1) % vq->size);
        uint16_t flags = (uint16_t)((b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0));
        memcpy(desc + 16 * slot, &b[i].gpa, 8);
        memcpy(desc + 16 * slot + 8, &b[i].len, 4);
        memcpy(desc + 16 * slot + 12, &flags, 2);
        memcpy(desc + 16 * slot + 14, &next, 2);
    }
    vq->next_desc = (uint16_t)((head + n) % vq->size);
    return head;
}

void vdrv_avail(vdrv *d, unsigned q, uint16_t head)
{
    vdrv_queue *vq = &d->q[q];
    uint16_t *avail = vdrv_ptr(d, vq->avail, 6 + 2ull * vq->size);
    avail[2 + vq->avail_idx % vq->size] = head;
    vq->avail_idx++;
    __atomic_store_n(&avail[1], vq->avail_idx, __ATOMIC_RELEASE);
}

void vdrv_kick(vdrv *d, unsigned q)
{
    tk_mmio_write(d->m, d->bar + 0x3000 + (uint64_t)q * d->notify_mult, q, 2);
}

uint16_t vdrv_used_idx(vdrv *d, unsigned q)
{
    uint16_t *used = vdrv_ptr(d, d->q[q].used + 2, 2);
    return __atomic_load_n(used, __ATOMIC_ACQUIRE);
}

void vdrv_used_elem(vdrv *d, unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
    uint32_t *e = vdrv_ptr(d, d->q[q].used + 4 + 8ull * (i % d->q[q].size), 8);
    *id = e[0];
    *len = e[1];
}

bool vdrv_wait_used(vdrv *d, unsigned q, uint16_t target)
{
    for (int i = 0; i < 2000; i++) {
        tk_process_events(d->m);
        if (vdrv_used_idx(d, q) == target)
            return true;
        tk_wait_event(d->m, 10);
    }
    return vdrv_used_idx(d, q) == target;
}

bool vdrv_wait_msi(vdrv *d, unsigned n)
{
    for (int i = 0; i < 2000 && tk_msi_count(d->m) < n; i++)
        tk_wait_event(d->m, 10);
    return tk_msi_count(d->m) >= n;
}

uint16_t vdrv_blk_submit(vdrv *d, unsigned q, uint32_t type, uint64_t sector, uint64_t data,
                         uint32_t len, uint64_t *status_gpa)
{
    uint64_t hdr = vdrv_alloc(d, 16);
    uint8_t *h = vdrv_ptr(d, hdr, 16);
    memcpy(h, &type, 4);
    memset(h + 4, 0, 4);
    memcpy(h + 8, &sector, 8);
    uint64_t st = vdrv_alloc(d, 1);
    *(uint8_t *)vdrv_ptr(d, st, 1) = 0xee;
    /* Data the device writes: IN and GET_ID; everything else it reads. */
    bool wr = type == 0 || type == 8;
    vdrv_buf b[3] = { { hdr, 16, false }, { data, len, wr }, { st, 1, true } };
    unsigned n = 0;
    vdrv_buf c[3];
    c[n++] = b[0];
    if (len)
        c[n++] = b[1];
    c[n++] = b[2];
    uint16_t head = vdrv_chain(d, q, c, n);
    vdrv_avail(d, q, head);
    if (status_gpa)
        *status_gpa = st;
    return head;
}

uint8_t vdrv_blk(vdrv *d, unsigned q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
    uint64_t st;
    uint16_t target = (uint16_t)(vdrv_used_idx(d, q) + 1);
    vdrv_blk_submit(d, q, type, sector, data, len, &st);
    vdrv_kick(d, q);
    ck_assert_msg(vdrv_wait_used(d, q, target), "queue %u: request not completed", q);
    return *(uint8_t *)vdrv_ptr(d, st, 1);
}
