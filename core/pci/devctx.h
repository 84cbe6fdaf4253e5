/* SPDX-License-Identifier: MIT */
/*
 * Device context: what the host services need to know about one device object (the
 * machine it lives in, its PCI address and function) and everything it registered
 * (regions, ioeventfds, fd watches, timers), so the host can release what the device
 * left behind after its unrealize hook.
 */
#ifndef TESSERA_CORE_PCI_DEVCTX_H
#define TESSERA_CORE_PCI_DEVCTX_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"
#include "tessera/host.h"

typedef struct devctx {
    pci_host *host;           /* the machine's PCI host (also used for non-PCI devices) */
    const pci_platform *plat; /* = pci_host_platform(host) */
    ts_object *obj;
    uint32_t bus;             /* enum ts_device_bus */
    bool has_devfn;           /* PCI: a devfn is reserved for the device */
    uint8_t devfn;
    bool reserved;            /* the devfn reservation is still held (until function_add) */
    char *label;              /* "TYPE 'ID'" for messages */
    pci_function *fn;         /* created by ts_pci_api.function_add */
    GPtrArray *regions;       /* ts_io_region * */
    GPtrArray *ioeventfds;    /* ts_ioeventfd * */
    GPtrArray *watches;       /* ts_fd_watch * */
    GPtrArray *timers;        /* ts_timer * */
} devctx;

/* A context for a device on host; label is copied. */
devctx *devctx_new(pci_host *host, uint32_t bus, const char *label);
/*
 * Releases everything the device still holds (the PCI function, regions, ioeventfds,
 * watches, timers, the devfn reservation) and frees ctx. Called by core/object after
 * the unrealize hook (or after a failed realize). NULL is allowed.
 */
void devctx_release(devctx *ctx);
/* Makes the PCI function (if any) visible to the guest; called after realize succeeded. */
void devctx_realized(devctx *ctx);

#endif
