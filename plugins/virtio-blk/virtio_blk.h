/* SPDX-License-Identifier: MIT */
/* virtio-blk: the device state shared by the plugin glue and the request logic. */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include <stdint.h>

#include "tessera/tessera.h"
#include "virtio_pci.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_T_DISCARD 11u
#define VIRTIO_BLK_T_WRITE_ZEROES 13u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u
#define VIRTIO_BLK_ID_BYTES 20u
#define VIRTIO_BLK_SECTOR 512u
#define VIRTIO_BLK_CONFIG_LEN 60u

/* Limits we announce: one segment per discard / write-zeroes request, as QEMU. */
#define VBLK_MAX_DISCARD_SECTORS (UINT32_MAX / VIRTIO_BLK_SECTOR)
#define VBLK_MAX_WZ_SECTORS (UINT32_MAX / VIRTIO_BLK_SECTOR)

typedef struct virtio_blk {
    ts_object *obj;
    const ts_host_api *host;
    virtio_pci vp;
    ts_block_drive *drive;
    bool read_only;
    uint64_t capacity;          /* 512-byte sectors */
    uint32_t logical_block_size, physical_block_size;
    uint16_t queue_size, num_queues;
    bool ioeventfd;
    uint64_t poll_ns;           /* poll-us in ns; 0 on one CPU */
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    uint8_t config[VIRTIO_BLK_CONFIG_LEN];
} virtio_blk;

/* The device configuration structure and the features offered (realize). */
uint64_t vblk_features(const virtio_blk *b);
void vblk_build_config(virtio_blk *b);
/* Takes every available request of queue q and starts it (from virtio_pci_queue_poll);
 * completing: on a thread that completed a request, which may watch the idle queue. */
void vblk_queue_kick(void *opaque, unsigned q, bool completing);

#endif
