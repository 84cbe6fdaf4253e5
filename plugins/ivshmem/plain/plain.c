/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-plain: a memory backend's memory shown to the guest as BAR2 of a PCI function
 * (1af4:1110 rev 1, class RAM), zero copy, plus QEMU's BAR0 registers. No interrupts: the
 * function has no INTx pin and no MSI-X, and doorbell writes are no-ops (there are no
 * peers). Shared with other VMs or processes through a shared backend (file, memfd).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ivshmem-dev.h"
#include "tessera/tessera.h"

static const ts_host_api *host;

typedef struct ivshmem_plain {
    ts_object *obj;
    uint32_t master;          /* enum ivshmem_master_prop */
    enum ivshmem_role role;   /* what migration must do (recorded for it) */
    ts_object *backend;       /* claimed while realized */
    ts_memory_region region;
    ts_pci_dev *pci;
    struct ivshmem_regs regs;
} ivshmem_plain;

/* In QEMU's order (alphabetical), so that "-device ivshmem-plain,help" reads the same. */
static const ts_prop_desc plain_props[] = {
    TS_PROP_DESC_ENUM("master", 0, "off", ivshmem_master_values,
                      "on/off/auto: master (memory migrates with the VM) or peer (blocks migration)"),
    TS_PROP_DESC_REF("memdev", TS_PROP_REQUIRED, TS_REF_MEMORY_BACKEND,
                     "ID of the memory backend to share (a power of two in size; share=on)"),
    TS_PROP_DESC_END,
};

/* BAR0, on vCPU threads. */
static uint64_t plain_reg_read(void *opaque, uint64_t offset, unsigned size)
{
    ivshmem_plain *d = opaque;
    return ivshmem_regs_read(&d->regs, offset, size);
}

static void plain_reg_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    ivshmem_plain *d = opaque;
    uint32_t doorbell;

    /* A doorbell has no peer to go to on ivshmem-plain: ignored, as in QEMU. */
    ivshmem_regs_write(&d->regs, offset, size, value, &doorbell);
}

static const ts_io_ops plain_reg_ops = {
    .size = sizeof(ts_io_ops),
    .read = plain_reg_read,
    .write = plain_reg_write,
};

static int plain_init(const ts_host_api *h)
{
    if (!TS_HOST_HAS(h, memory_backend_claim) || !TS_HOST_HAS(h, pci) ||
        h->pci->size < offsetof(ts_pci_api, bar_add) + sizeof(h->pci->bar_add) ||
        !h->pci->function_add || !h->pci->bar_add)
        return -ENOTSUP;
    host = h;
    return 0;
}

static int plain_create(ts_object *obj, void **state)
{
    ivshmem_plain *d = calloc(1, sizeof(*d));

    if (!d)
        return -ENOMEM;
    d->obj = obj;
    d->master = host->prop_enum(obj, "master");
    *state = d;
    return 0;
}

static int plain_realize(ts_object *obj, void *state)
{
    ivshmem_plain *d = state;
    char err[200];
    int r;

    ivshmem_regs_init(&d->regs, 0);
    /* The ID of a plain device is always 0, so master=on is always allowed. */
    if ((r = ivshmem_role_resolve(d->master, 0, &d->role, err, sizeof(err))) < 0) {
        host->set_error(obj, "%s", err);
        return r;
    }
    ts_object *backend = host->prop_ref(obj, "memdev");
    if ((r = ivshmem_memdev_attach(host, obj, backend, &d->region)) < 0)
        return r;
    d->backend = backend;

    if ((r = ivshmem_pci_add(host, obj, &plain_reg_ops, d, 0, &d->region, &d->pci)) < 0)
        goto fail;
    host->log(obj, TS_LOG_INFO, "sharing memdev '%s' (%" PRIu64 " bytes) as %s",
              host->object_id(backend), d->region.size, ivshmem_role_name(d->role));
    return 0;
fail:
    host->memory_backend_release(d->backend, obj);
    d->backend = NULL;
    return r;
}

static void plain_reset(ts_object *obj, void *state)
{
    ivshmem_plain *d = state;
    ivshmem_regs_reset(&d->regs);
}

static void plain_unrealize(ts_object *obj, void *state)
{
    ivshmem_plain *d = state;

    /* The host removes the function and its BARs after this returns; the memory stays
     * mapped by the backend, which outlives us. */
    if (d->backend)
        host->memory_backend_release(d->backend, obj);
    d->backend = NULL;
}

static void plain_destroy(ts_object *obj, void *state)
{
    free(state);
}

IVSHMEM_PLUGIN_DEFINE(plain, "Inter-VM shared memory (memory backend as PCI BAR2, no interrupts)")
