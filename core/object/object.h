/* SPDX-License-Identifier: MIT */
/*
 * Objects: instances of plugin types (and, later, core types), created from validated
 * description items through the plugin's lifecycle hooks, and the host-services table
 * plugins use to read their properties and reach other objects.
 */
#ifndef TESSERA_CORE_OBJECT_H
#define TESSERA_CORE_OBJECT_H

#include <glib.h>

#include "config/machine.h"
#include "plugin/registry.h"
#include "tessera/host.h"

typedef struct ts_object ts_object;

/* The services table handed to every plugin's init hook. */
const ts_host_api *object_host_api(void);

/* Calls a plugin's init hook once (the registry calls this after loading). */
int object_plugin_init(const ts_plugin_desc *desc, GError **err);

/*
 * Creates and realizes the object of a validated MD_OBJECT or MD_DEVICE item whose
 * TS_PROP_REF properties are already bound (see object_set_build). On failure returns
 * NULL with *err = "ORIGIN: TYPE 'ID': MESSAGE".
 */
ts_object *object_instantiate(md_item *it, GError **err);
/*
 * Like object_instantiate, for a device: ctx (core/pci/devctx.h) is attached before the
 * create hook, so the host services know the device's machine and PCI address; the
 * object takes ownership of ctx and releases it (devctx_release: what the device still
 * holds) right after the unrealize hook or a failed realize.
 */
struct devctx;
ts_object *object_instantiate_device(md_item *it, struct devctx *ctx, GError **err);
/* The device context of a device object, or NULL. */
struct devctx *object_devctx(const ts_object *obj);
/* Unrealizes (if realized) and destroys the object. NULL is allowed. */
void object_destroy(ts_object *obj);

const char *object_get_id(const ts_object *obj);
const registry_type *object_get_type(const ts_object *obj);
void *object_get_state(const ts_object *obj);
/* The region of a realized memory-backend object. */
int object_memory_region(ts_object *obj, ts_memory_region *out);

/*
 * All objects of a validated description, created in dependency order (an object
 * after every object it references). Only MD_OBJECT items are instantiated here;
 * devices are instantiated by the machine once it exists.
 */
typedef struct object_set object_set;
object_set *object_set_build(machine_desc *d, GError **err);
ts_object *object_set_find(object_set *set, const char *id);
void object_set_free(object_set *set); /* destroys in reverse creation order */

#endif
