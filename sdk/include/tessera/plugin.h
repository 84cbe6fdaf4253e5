/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/plugin.h
 * @brief The plugin descriptor and the types a plugin provides.
 *
 * A plugin is a shared object that exports exactly one symbol, tessera_plugin_entry_v1,
 * a function returning a pointer to a constant ts_plugin_desc. Declare it with
 * TS_PLUGIN_DEFINE(desc). The host loads the file, checks magic, ABI version and sizes,
 * calls init with its services table, and from then on creates objects of the plugin's
 * types through the lifecycle hooks in ts_type_desc.
 *
 * Lifecycle of one object: create → realize → (reset)* → unrealize → destroy. create
 * only reads properties and allocates state; realize acquires resources (files,
 * mappings, guest regions) and may fail; unrealize undoes realize; destroy frees state.
 * The host calls every hook on its main thread, and calls destroy even when realize
 * failed (unrealize only after a successful realize).
 */
#ifndef TESSERA_PLUGIN_H
#define TESSERA_PLUGIN_H

#include <stdint.h>

#include "tessera/abi.h"
#include "tessera/host.h"
#include "tessera/props.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque stream for the reserved state save/load hooks (migration; not called by ABI 1.0 hosts). */
typedef struct ts_state_stream ts_state_stream;

/** Kind-specific operations of a TS_KIND_MEMORY_BACKEND type. */
typedef struct ts_memory_backend_ops {
    uint32_t size;      /**< sizeof(ts_memory_backend_ops) as built by the plugin */
    uint32_t reserved0; /**< zero */
    /** Describes the memory; called only between realize and unrealize. Returns 0 or -errno. */
    int (*get_region)(ts_object *obj, void *state, ts_memory_region *out);
    void *reserved[4]; /**< zero */
} ts_memory_backend_ops;

/** Buses a device type can sit on (ts_device_ops.bus). */
enum ts_device_bus {
    TS_BUS_PCI = 1, /**< a PCI function on bus 0 (addr=SLOT[.FN]) */
    TS_BUS_ISA = 2, /**< a legacy port-I/O device */
};

/**
 * Kind-specific operations of a TS_KIND_DEVICE type. A device does its guest-visible
 * work by registering regions, PCI functions and events through ts_host_api in realize;
 * later ABI minors append per-device callbacks here.
 */
typedef struct ts_device_ops {
    uint32_t size;     /**< sizeof(ts_device_ops) as built by the plugin */
    uint32_t bus;      /**< enum ts_device_bus */
    void *reserved[6]; /**< zero */
} ts_device_ops;

/** One type a plugin provides (a device, a block format or a memory backend). */
typedef struct ts_type_desc {
    uint32_t size;            /**< sizeof(ts_type_desc) as built by the plugin */
    uint32_t kind;            /**< enum ts_kind */
    const char *name;         /**< type name users write, e.g. "memory-backend-file"; unique across plugins */
    const char *description;  /**< one line for listings */
    const ts_prop_desc *props; /**< properties, ending with TS_PROP_DESC_END; may be NULL (none) */

    /** Reads properties and allocates *state. Must not acquire outside resources. */
    int (*create)(ts_object *obj, void **state);
    /** Acquires resources and makes the object live. Returns 0 or -errno (with set_error). */
    int (*realize)(ts_object *obj, void *state);
    /** Returns the object to its power-on state (guest reset). May be NULL. */
    void (*reset)(ts_object *obj, void *state);
    /** Undoes realize. May be NULL. */
    void (*unrealize)(ts_object *obj, void *state);
    /** Frees state. May be NULL. */
    void (*destroy)(ts_object *obj, void *state);

    /** Reserved for migration: ABI 1.0 hosts never call it; leave NULL. */
    int (*save_state)(ts_object *obj, void *state, ts_state_stream *out);
    /** Reserved for migration: ABI 1.0 hosts never call it; leave NULL. */
    int (*load_state)(ts_object *obj, void *state, ts_state_stream *in);

    /** ts_memory_backend_ops, ts_device_ops or ts_block_format_ops, matching kind. */
    const void *kind_ops;
    void *reserved[8]; /**< zero */
} ts_type_desc;

/** What tessera_plugin_entry_v1 returns. */
typedef struct ts_plugin_desc {
    uint32_t magic;      /**< TS_PLUGIN_MAGIC */
    uint16_t abi_major;  /**< TS_ABI_MAJOR the plugin was built for */
    uint16_t abi_minor;  /**< oldest TS_ABI_MINOR whose services the plugin needs */
    uint32_t size;       /**< sizeof(ts_plugin_desc) as built by the plugin */
    uint32_t reserved0;  /**< zero */
    const char *name;        /**< plugin name, e.g. "backends-file" */
    const char *version;     /**< plugin version string, e.g. "1.2.0" */
    const char *license;     /**< SPDX license identifier, e.g. "MIT" */
    const char *description; /**< one line for listings */
    const ts_type_desc *const *types; /**< provided types, NULL-terminated */
    /** Called once after loading, before any hook; keep host for later calls. May be NULL. */
    int (*init)(const ts_host_api *host);
    /** Called once before unloading. May be NULL. */
    void (*fini)(void);
    void *reserved[6]; /**< zero */
} ts_plugin_desc;

/** Signature of the exported entry point. */
typedef const ts_plugin_desc *(*ts_plugin_entry_fn)(void);

/** Defines the exported entry point returning &desc (a static const ts_plugin_desc). */
#define TS_PLUGIN_DEFINE(desc) \
    TS_EXPORT const ts_plugin_desc *tessera_plugin_entry_v1(void); \
    TS_EXPORT const ts_plugin_desc *tessera_plugin_entry_v1(void) { return &(desc); }

/** Initializer for the fixed head of a ts_plugin_desc. */
#define TS_PLUGIN_DESC_HEAD \
    .magic = TS_PLUGIN_MAGIC, .abi_major = TS_ABI_MAJOR, .abi_minor = TS_ABI_MINOR, \
    .size = sizeof(ts_plugin_desc)

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_PLUGIN_H */
