/* SPDX-License-Identifier: MIT */
/*
 * A small virtio 1.x PCI driver for tests: it finds the device through the testkit,
 * checks its capabilities, negotiates features, sets up split rings in the testkit's
 * guest RAM and submits virtio-blk requests the way a guest driver does (ring writes in
 * RAM, a notify write to the BAR, MSI-X messages back).
 */
#ifndef VDRV_H
#define VDRV_H

#include <stdbool.h>
#include <stdint.h>
#include <tessera/testkit.h>

#define VDRV_MAX_QUEUES 8
#define VDRV_MSI_ADDR 0xfee00000ull
#define VDRV_MSI_DATA(v) (0x40u + (v))

#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)

typedef struct vdrv_queue {
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx;
    uint16_t next_desc;
} vdrv_queue;

typedef struct vdrv {
    tk_machine *m;
    uint8_t devfn;
    uint64_t bar;          /* BAR4 */
    uint32_t notify_mult;
    uint64_t dev_features, features;
    unsigned nq;
    vdrv_queue q[VDRV_MAX_QUEUES];
    uint64_t heap;         /* next free guest-physical byte for buffers */
} vdrv;

typedef struct vdrv_buf {
    uint64_t gpa;
    uint32_t len;
    bool write;            /* device-writable */
} vdrv_buf;

/* Finds the device, checks the vendor capabilities, enables MSI-X with one message per vector. */
void vdrv_probe(vdrv *d, tk_machine *m);
/* Reset, features (want & offered), nq queues of qsize entries (0: the device's), DRIVER_OK. */
void vdrv_init(vdrv *d, uint64_t want, unsigned nq, uint16_t qsize);
/* Feature negotiation only; returns whether FEATURES_OK stuck. */
bool vdrv_negotiate(vdrv *d, uint64_t features);

uint64_t vdrv_read(vdrv *d, unsigned off, unsigned size);   /* common cfg */
void vdrv_write(vdrv *d, unsigned off, uint64_t v, unsigned size);
uint8_t vdrv_status(vdrv *d);
uint64_t vdrv_cfg(vdrv *d, unsigned off, unsigned size);     /* device cfg */

void *vdrv_ptr(vdrv *d, uint64_t gpa, uint64_t len);
uint64_t vdrv_alloc(vdrv *d, uint64_t len);

/* Writes a chain into queue q's descriptor table (consecutive slots); returns its head. */
uint16_t vdrv_chain(vdrv *d, unsigned q, const vdrv_buf *b, unsigned n);
/* Makes head available (does not notify). */
void vdrv_avail(vdrv *d, unsigned q, uint16_t head);
void vdrv_kick(vdrv *d, unsigned q);
uint16_t vdrv_used_idx(vdrv *d, unsigned q);
/* Used ring entry i (id and len). */
void vdrv_used_elem(vdrv *d, unsigned q, uint16_t i, uint32_t *id, uint32_t *len);
/* Waits (bounded, about 20 s) until queue q's used index reaches target. */
bool vdrv_wait_used(vdrv *d, unsigned q, uint16_t target);
/* Waits (bounded) for n MSI messages in total; pops none. */
bool vdrv_wait_msi(vdrv *d, unsigned n);

/* A virtio-blk request: header, data (len 0: none), status; returns head; *status_gpa set. */
uint16_t vdrv_blk_submit(vdrv *d, unsigned q, uint32_t type, uint64_t sector, uint64_t data,
                         uint32_t len, uint64_t *status_gpa);
/* Submits, notifies, waits; returns the status byte (0xee when none came). */
uint8_t vdrv_blk(vdrv *d, unsigned q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len);

#endif
