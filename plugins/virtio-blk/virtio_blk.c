/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk-pci: a drive (-drive) shown to the guest as a virtio 1.x block device on
 * the modern PCI transport (1af4:1042 rev 1), QEMU's properties where QEMU has them.
 * Queues are processed on the main loop (virtio_pci.c), requests run on the block
 * layer's thread pool (blk_req.c), descriptor chains are checked in virtqueue.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio_blk.h"

static const ts_host_api *host;

/* In QEMU's order (alphabetical), so "-device virtio-blk-pci,help" reads like QEMU's. */
static const ts_prop_desc vblk_props[] = {
    TS_PROP_DESC_STRING("drive", TS_PROP_REQUIRED, NULL, "ID of the drive (-drive ...,id=ID) to give the guest"),
    TS_PROP_DESC_BOOL("ioeventfd", 0, "on", "queue notifications as ioeventfds (off: trapped, for debugging)"),
    TS_PROP_DESC_SIZE("logical_block_size", 0, "512", 512, 32768, "logical block size the guest sees (a power of two)"),
    TS_PROP_DESC_INT("num-queues", 0, "1", 1, 64, "number of request queues (multi-queue with more than 1)"),
    TS_PROP_DESC_SIZE("physical_block_size", 0, "512", 512, 32768, "physical block size the guest sees (a power of two)"),
    TS_PROP_DESC_INT("poll-us", 0, "32", 0, 1000, "microseconds a thread completing a request keeps watching the idle queue before the driver must notify again (0: never)"),
    TS_PROP_DESC_INT("queue-size", 0, "256", 4, VQ_MAX_SIZE, "entries per queue (a power of two)"),
    TS_PROP_DESC_STRING("serial", 0, NULL, "disk serial number (GET_ID; at most 20 bytes are shown)"),
    TS_PROP_DESC_END,
};

static const virtio_dev_ops vblk_ops = {
    .queue_kick = vblk_queue_kick,
};

static int vblk_init(const ts_host_api *h)
{
    if (!virtio_pci_host_ok(h) || !TS_HOST_HAS(h, block) ||
        h->block->size < offsetof(ts_block_api, drive_submit) + sizeof(h->block->drive_submit) ||
        !h->block->drive_get || !h->block->drive_submit)
        return -ENOTSUP;
    host = h;
    return 0;
}

static bool pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static int vblk_create(ts_object *obj, void **state)
{
    virtio_blk *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->obj = obj;
    b->host = host;
    b->num_queues = (uint16_t)host->prop_int(obj, "num-queues");
    b->queue_size = (uint16_t)host->prop_int(obj, "queue-size");
    b->logical_block_size = (uint32_t)host->prop_size(obj, "logical_block_size");
    b->physical_block_size = (uint32_t)host->prop_size(obj, "physical_block_size");
    b->ioeventfd = host->prop_bool(obj, "ioeventfd");
    /* Watching the ring only pays where another CPU runs the guest meanwhile. */
    b->poll_ns = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? (uint64_t)host->prop_int(obj, "poll-us") * 1000 : 0;
    const char *serial = host->prop_string(obj, "serial");
    if (serial)
        strncpy(b->serial, serial, VIRTIO_BLK_ID_BYTES);
    *state = b;
    return 0;
}

static int vblk_realize(ts_object *obj, void *state)
{
    virtio_blk *b = state;
    int r;
    if (!pow2(b->queue_size)) {
        host->set_error(obj, "property 'queue-size': %u is not a power of two", b->queue_size);
        return -EINVAL;
    }
    if (!pow2(b->logical_block_size) || !pow2(b->physical_block_size) ||
        b->physical_block_size < b->logical_block_size) {
        host->set_error(obj, "property 'physical_block_size': block sizes must be powers of two "
                        "with physical_block_size >= logical_block_size (%u, %u)",
                        b->logical_block_size, b->physical_block_size);
        return -EINVAL;
    }
    b->drive = host->block->drive_get(obj, "drive");
    if (!b->drive)
        return -EINVAL;
    uint64_t size = host->block->drive_size(b->drive);
    b->read_only = host->block->drive_read_only(b->drive);
    b->capacity = size / VIRTIO_BLK_SECTOR;
    if (size % b->logical_block_size)
        host->log(obj, TS_LOG_WARN, "drive size %" PRIu64 " is not a multiple of logical_block_size %u;"
                  " the guest cannot reach the last %" PRIu64 " bytes", size, b->logical_block_size,
                  size % b->logical_block_size);
    vblk_build_config(b);
    virtio_pci_init(&b->vp, obj, host, VIRTIO_ID_BLOCK, 0x0100 /* mass storage, SCSI, as QEMU */,
                    b->num_queues, b->queue_size, vblk_features(b), b->ioeventfd, &vblk_ops, b);
    b->vp.config = b->config;
    b->vp.config_len = VIRTIO_BLK_CONFIG_LEN;
    if ((r = virtio_pci_realize(&b->vp)) < 0) {
        virtio_pci_unrealize(&b->vp);
        virtio_pci_destroy(&b->vp);
        host->block->drive_release(b->drive, obj);
        b->drive = NULL;
        return r;
    }
    host->log(obj, TS_LOG_INFO, "drive '%s': %" PRIu64 " sectors%s, %u queue(s) of %u",
              host->prop_string(obj, "drive"), b->capacity, b->read_only ? ", read-only" : "",
              b->num_queues, b->queue_size);
    return 0;
}

static void vblk_reset(ts_object *obj, void *state)
{
    virtio_blk *b = state;
    (void)obj;
    if (b->drive)
        virtio_pci_reset(&b->vp);
}

static void vblk_unrealize(ts_object *obj, void *state)
{
    virtio_blk *b = state;
    if (!b->drive)
        return;
    virtio_pci_unrealize(&b->vp); /* waits for requests in flight */
    virtio_pci_destroy(&b->vp);
    host->block->drive_release(b->drive, obj);
    b->drive = NULL;
}

static void vblk_destroy(ts_object *obj, void *state)
{
    (void)obj;
    free(state);
}

static const ts_device_ops vblk_device_ops = {
    .size = sizeof(ts_device_ops),
    .bus = TS_BUS_PCI,
};

static const ts_type_desc vblk_type = {
    .size = sizeof(ts_type_desc),
    .kind = TS_KIND_DEVICE,
    .name = "virtio-blk-pci",
    .description = "virtio block device (virtio 1.x, modern PCI transport)",
    .props = vblk_props,
    .create = vblk_create,
    .realize = vblk_realize,
    .reset = vblk_reset,
    .unrealize = vblk_unrealize,
    .destroy = vblk_destroy,
    .kind_ops = &vblk_device_ops,
};

static const ts_type_desc *const vblk_types[] = { &vblk_type, NULL };

static const ts_plugin_desc vblk_plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "virtio-blk",
    .version = "1.0.0",
    .license = "MIT",
    .description = "virtio-blk-pci disk device",
    .types = vblk_types,
    .init = vblk_init,
};

TS_PLUGIN_DEFINE(vblk_plugin)
