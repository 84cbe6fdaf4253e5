/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk requests (virtio 1.1, 5.2.6): parse each chain the virtqueue hands over,
 * check it against the drive and what was negotiated, and run it on the block layer's
 * thread pool. Data moves zero-copy: the iovecs point straight into guest RAM. The
 * completion (a pool thread) writes the status byte, returns the chain in the used ring,
 * raises the queue's vector unless the driver suppressed it, and polls the queue for
 * requests queued meanwhile: while reads or writes are in flight the driver is told not
 * to notify, so a guest keeping many requests in flight makes few exits.
 *
 * Errors the guest can cause are its own: a request that names sectors beyond the disk,
 * misaligned sectors, a short header, a buffer outside guest RAM or a write to a
 * read-only drive fails with VIRTIO_BLK_S_IOERR; an unknown type with
 * VIRTIO_BLK_S_UNSUPP. A chain without room for the status byte cannot be answered: it
 * is returned with length 0 and the device asks for a reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "virtio_blk.h"

typedef struct vblk_req {
    ts_block_request br; /* first: the completion gets it back */
    virtio_blk *b;
    unsigned q;
    vq_elem *elem;
    volatile uint8_t *status;
    uint32_t used_len;
    uint32_t type;
    bool polls;          /* counted in the queue's busy: notifications stay off meanwhile */
    struct iovec data[]; /* the data part of the chain, elem->n_out + elem->n_in entries */
} vblk_req;

typedef struct vblk_hdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
} vblk_hdr;

typedef struct vblk_seg {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
} vblk_seg;

uint64_t vblk_features(const virtio_blk *b)
{
    uint64_t f = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                 (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_TOPOLOGY) |
                 (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES) |
                 (1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_F_RING_EVENT_IDX);
    if (b->read_only)
        f |= 1ull << VIRTIO_BLK_F_RO;
    if (b->num_queues > 1)
        f |= 1ull << VIRTIO_BLK_F_MQ;
    return f;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

void vblk_build_config(virtio_blk *b)
{
    uint8_t *c = b->config;
    uint32_t lbs_sectors = b->logical_block_size / VIRTIO_BLK_SECTOR;
    memset(c, 0, VIRTIO_BLK_CONFIG_LEN);
    put64(c + 0, b->capacity);
    put32(c + 12, b->queue_size - 2u); /* seg_max: the header and the status take two */
    put32(c + 20, b->logical_block_size);
    /* topology: physical_block_exp, alignment_offset, min_io_size, opt_io_size */
    unsigned exp = 0;
    while ((b->logical_block_size << exp) < b->physical_block_size)
        exp++;
    c[24] = (uint8_t)exp;
    put16(c + 26, (uint16_t)(b->physical_block_size / b->logical_block_size));
    put32(c + 28, 0);
    c[32] = 1; /* writeback: FLUSH is honoured */
    put16(c + 34, b->num_queues);
    put32(c + 36, VBLK_MAX_DISCARD_SECTORS / lbs_sectors * lbs_sectors);
    put32(c + 40, 1);
    put32(c + 44, lbs_sectors);
    put32(c + 48, VBLK_MAX_WZ_SECTORS / lbs_sectors * lbs_sectors);
    put32(c + 52, 1);
    c[56] = 1; /* write_zeroes_may_unmap */
}

/* Returns the chain with the status set; on any thread. */
static void finish(vblk_req *r, uint8_t status)
{
    virtio_blk *b = r->b;
    virtqueue *vq = &b->vp.vqs[r->q];
    *r->status = status;
    if (status != VIRTIO_BLK_S_OK)
        r->used_len = 1;
    if (vq_push(vq, r->elem->head, r->used_len))
        virtio_pci_notify_queue(&b->vp, r->q);
    if (r->polls)
        __atomic_fetch_sub(&vq->busy, 1, __ATOMIC_ACQ_REL);
    /* Take what the driver queued meanwhile (it may have been told not to notify). Still
     * a request in flight here, so a reset waits for this poll. */
    virtio_pci_queue_poll(&b->vp, r->q, true);
    free(r->elem);
    free(r);
    virtio_pci_request_end(&b->vp);
}

static void req_complete(ts_block_request *br, int ret)
{
    vblk_req *r = (vblk_req *)br;
    /* A discard is advice: a drive that cannot deallocate still did what was asked. */
    if (ret == -ENOTSUP && r->type == VIRTIO_BLK_T_DISCARD)
        ret = 0;
    finish(r, ret == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
}

/* Copies the part of src after skip bytes, at most len bytes, into dst; returns entries. */
static unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len, struct iovec *dst)
{
    unsigned out = 0;
    for (unsigned i = 0; i < n && len; i++) {
        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        size_t take = src[i].iov_len - skip;
        if (take > len)
            take = len;
        dst[out].iov_base = (char *)src[i].iov_base + skip;
        dst[out].iov_len = take;
        out++;
        len -= take;
        skip = 0;
    }
    return out;
}

/* True when [sector, sector + bytes / 512) lies on the disk and on logical blocks. */
static bool range_ok(const virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    uint64_t lbs_sectors = b->logical_block_size / VIRTIO_BLK_SECTOR;
    if (sector % lbs_sectors || bytes % b->logical_block_size)
        return false;
    return sector <= b->capacity && bytes / VIRTIO_BLK_SECTOR <= b->capacity - sector;
}

static void submit(vblk_req *r)
{
    int ret = r->b->host->block->drive_submit(r->b->drive, &r->br);
    if (ret < 0)
        finish(r, VIRTIO_BLK_S_IOERR);
}

/* Discard and write-zeroes: one 16-byte segment after the header. Returns a status or -1 (submitted). */
static int start_discard_or_zero(vblk_req *r, const struct iovec *out, unsigned n_out)
{
    virtio_blk *b = r->b;
    bool zero = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    unsigned feature = zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
    if (!virtio_pci_has(&b->vp, feature))
        return VIRTIO_BLK_S_UNSUPP;
    size_t payload = iov_size(out, n_out) - sizeof(vblk_hdr);
    if (payload > sizeof(vblk_seg))
        return VIRTIO_BLK_S_UNSUPP; /* max_discard_seg / max_write_zeroes_seg is 1 */
    vblk_seg seg;
    if (payload < sizeof(seg) || iov_to_buf(out, n_out, sizeof(vblk_hdr), &seg, sizeof(seg)) != sizeof(seg))
        return VIRTIO_BLK_S_IOERR;
    uint32_t allowed = zero ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
    if (seg.flags & ~allowed)
        return VIRTIO_BLK_S_UNSUPP; /* discard with unmap set is UNSUPP by the spec */
    uint64_t bytes = (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR;
    if (b->read_only || !range_ok(b, seg.sector, bytes))
        return VIRTIO_BLK_S_IOERR;
    if (!bytes)
        return VIRTIO_BLK_S_OK;
    r->br.op = zero ? TS_BLOCK_OP_WRITE_ZEROES : TS_BLOCK_OP_DISCARD;
    r->br.offset = seg.sector * VIRTIO_BLK_SECTOR;
    r->br.length = bytes;
    r->br.flags = zero && (seg.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ? TS_BLOCK_ZERO_MAY_UNMAP : 0;
    submit(r);
    return -1;
}

/* Starts one request; every path ends in finish() exactly once (now or on completion). */
static void handle(virtio_blk *b, unsigned q, vq_elem *e)
{
    const struct iovec *out = e->iov, *in = e->iov + e->n_out;
    if (!e->n_in || !in[e->n_in - 1].iov_base) {
        /* No status byte we may write: give the chain back empty and ask for a reset. */
        char why[80];
        snprintf(why, sizeof(why), "queue %u: request %u has no writable status byte", q, e->head);
        if (vq_push(&b->vp.vqs[q], e->head, 0))
            virtio_pci_notify_queue(&b->vp, q);
        virtio_pci_needs_reset(&b->vp, why);
        free(e);
        return;
    }
    vblk_req *r = calloc(1, sizeof(*r) + sizeof(struct iovec) * (e->n_out + e->n_in));
    if (!r) {
        /* Cannot even allocate: leave the chain unanswered rather than crash; a reset recovers. */
        virtio_pci_needs_reset(&b->vp, "out of memory");
        free(e);
        return;
    }
    const struct iovec *st = &in[e->n_in - 1];
    r->b = b;
    r->q = q;
    r->elem = e;
    r->status = (uint8_t *)st->iov_base + st->iov_len - 1;
    r->used_len = 1;
    r->br.size = sizeof(r->br);
    r->br.complete = req_complete;
    virtio_pci_request_begin(&b->vp);

    vblk_hdr h;
    if (iov_to_buf(out, e->n_out, 0, &h, sizeof(h)) != sizeof(h) || e->bad_addr) {
        finish(r, VIRTIO_BLK_S_IOERR); /* header too short, or a buffer outside guest RAM */
        return;
    }
    r->type = h.type;
    size_t in_data = iov_size(in, e->n_in) - 1;
    switch (h.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool write = h.type == VIRTIO_BLK_T_OUT;
        size_t len = write ? iov_size(out, e->n_out) - sizeof(h) : in_data;
        /* Data in the wrong direction (OUT into device-writable buffers, IN from readable ones). */
        bool wrong_way = write ? in_data != 0 : iov_size(out, e->n_out) != sizeof(h);
        if (wrong_way || (write && b->read_only) || !range_ok(b, h.sector, len)) {
            finish(r, VIRTIO_BLK_S_IOERR);
            return;
        }
        r->used_len = write ? 1 : (uint32_t)(len + 1);
        if (!len) {
            finish(r, VIRTIO_BLK_S_OK);
            return;
        }
        r->br.iovcnt = write ? iov_slice(out, e->n_out, sizeof(h), len, r->data)
                             : iov_slice(in, e->n_in, 0, len, r->data);
        r->br.iov = r->data;
        r->br.op = write ? TS_BLOCK_OP_WRITE : TS_BLOCK_OP_READ;
        r->br.offset = h.sector * VIRTIO_BLK_SECTOR;
        /* Reads and writes complete soon enough to poll the queue on; a flush, discard
         * or write-zeroes may take long and must not hold back requests queued behind it. */
        r->polls = true;
        __atomic_fetch_add(&b->vp.vqs[q].busy, 1, __ATOMIC_ACQ_REL);
        submit(r);
        return;
    }
    case VIRTIO_BLK_T_FLUSH:
        /* Completes after every write completed before it is durable (the block layer's
         * flush follows the drive's cache mode; cache=unsafe makes it a no-op). */
        r->br.op = TS_BLOCK_OP_FLUSH;
        submit(r);
        return;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
        size_t done = iov_from_buf(in, e->n_in, 0, b->serial, n);
        r->used_len = (uint32_t)done + 1;
        finish(r, VIRTIO_BLK_S_OK);
        return;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
        int s = start_discard_or_zero(r, out, e->n_out);
        if (s >= 0)
            finish(r, (uint8_t)s);
        return;
    }
    default:
        finish(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
}

/*
 * The queue just went idle on a thread that completed a request: watch the avail ring for
 * up to poll_ns before asking the driver to notify. A guest that keeps submitting (a
 * polling driver, or one woken by the completion's interrupt) then costs no notification
 * exit, and this thread no sleep and wake-up. True when new entries arrived.
 */
static bool watch_idle_queue(virtio_blk *b, virtqueue *vq)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned spin = 1;; spin++) {
        if (vq_has_avail(vq))
            return true;
        if (__atomic_load_n(&b->vp.stopping, __ATOMIC_ACQUIRE))
            return false;
        __builtin_ia32_pause();
        if (spin % 64 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            uint64_t ns = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec - (uint64_t)t0.tv_nsec;
            if (ns >= b->poll_ns)
                return false;
        }
    }
}

void vblk_queue_kick(void *opaque, unsigned q, bool completing)
{
    virtio_blk *b = opaque;
    virtqueue *vq = &b->vp.vqs[q];
    for (;;) {
        vq_elem *e;
        int r;
        while ((r = vq_pop(vq, &e)) == VQ_ELEM)
            handle(b, q, e);
        if (r == VQ_BROKEN) {
            char why[64];
            snprintf(why, sizeof(why), "queue %u: malformed descriptor chain", q);
            virtio_pci_needs_reset(&b->vp, why);
            return;
        }
        /* A read or write in flight polls the queue again when it completes: until then
         * the driver need not notify, which saves a guest exit per request. */
        if (vq_busy(vq)) {
            vq_disable_notify(vq);
            return;
        }
        if (completing && b->poll_ns && watch_idle_queue(b, vq))
            continue;
        if (!vq_enable_notify(vq))
            return;
    }
}
