/* SPDX-License-Identifier: MIT */
/*
 * Device objects: MD_DEVICE items of a validated description instantiated through the
 * plugin registry, after the memory backends, each with a device context (core/pci/
 * devctx.h) so that its realize hook can set up its PCI function, regions and events.
 *
 * References: memory backends are looked up by id (find_object). References to
 * chardevs and drives go to resolve_other, the hook the chardev and block layers fill
 * in; while it is NULL such a device is refused with a clear error.
 */
#ifndef TESSERA_CORE_PCI_DEVICES_H
#define TESSERA_CORE_PCI_DEVICES_H

#include <glib.h>

#include "config/machine.h"
#include "object/object.h"
#include "pci/pci.h"

typedef struct device_refs {
    /* The realized object (memory backend) with this id, or NULL. */
    ts_object *(*find_object)(void *opaque, const char *id);
    /*
     * Binds a TS_REF_CHARDEV or TS_REF_DRIVE value v of device item it: returns what
     * v->ref should hold, or NULL with *err set to the complete one-line message (origin
     * and device included; it is passed on as is). NULL hook: such references are refused.
     */
    void *(*resolve_other)(void *opaque, md_item *it, const prop_value *v, GError **err);
    void *opaque;
} device_refs;

/*
 * Creates and realizes the device of MD_DEVICE item it on host. reserved_devfn >= 0 is
 * a devfn already reserved for it (pci_host_reserve); -1 makes this function reserve
 * the item's addr= (or any free slot). On failure returns NULL with *err =
 * "ORIGIN: device 'ID' (TYPE): MESSAGE".
 */
ts_object *device_instantiate(md_item *it, pci_host *host, const device_refs *refs,
                              int reserved_devfn, GError **err);

typedef struct device_set device_set;

/*
 * Instantiates every MD_DEVICE item of d in order, after reserving every explicit
 * addr= first (so an auto-assigned device never takes a slot a later device asked for,
 * and two devices asking for one address fail naming both). objects holds the memory
 * backends (object_set_build). On failure destroys what it made and returns NULL.
 */
device_set *device_set_build(machine_desc *d, object_set *objects, pci_host *host,
                             void *(*resolve_other)(void *opaque, md_item *it, const prop_value *v,
                                                    GError **err),
                             void *opaque, GError **err);
/* Guest reset: every function's config space, then each device's reset hook, in creation order. */
void device_set_reset(device_set *s);
/* Destroys the devices in reverse creation order. NULL is allowed. */
void device_set_free(device_set *s);
guint device_set_count(const device_set *s);
ts_object *device_set_get(const device_set *s, guint i);

/* Calls obj's reset hook, if its type has one. */
void device_reset(ts_object *obj);

#endif
