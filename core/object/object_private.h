/* SPDX-License-Identifier: MIT */
/* The layout of ts_object: known to core/object only, opaque everywhere else. */
#ifndef TESSERA_CORE_OBJECT_PRIVATE_H
#define TESSERA_CORE_OBJECT_PRIVATE_H

#include "object/object.h"

struct ts_object {
    md_item *item;              /* description item: origin, validated values */
    const registry_type *type;
    char *id;                   /* item's id, or a made-up one */
    void *state;                /* the plugin's */
    bool realized;
    char *error;                /* set by ts_host_api.set_error during a hook */
    ts_object *claimed_by;      /* memory backends: the device using it */
    struct devctx *dev;         /* devices: machine, PCI function, registrations (core/pci/devctx.h) */
};

#endif
