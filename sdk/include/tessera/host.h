/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/host.h
 * @brief The host-services table: everything a plugin may ask of tessera.
 *
 * The host passes one ts_host_api to each plugin's init hook. Plugins link no symbol of
 * the executable; they call through this table. The table is append-only and starts with
 * its size: a plugin that uses a member must first check that the member lies within
 * ts_host_api.size (TS_HOST_HAS) and, for sub-tables, that the sub-table pointer is not
 * NULL. Sub-tables follow the same rule.
 *
 * Threads: unless a member says otherwise, call it from the thread that called the hook
 * you are in.
 */
#ifndef TESSERA_HOST_H
#define TESSERA_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"
#include "tessera/guest_memory.h"
#include "tessera/io.h"
#include "tessera/pci.h"
#include "tessera/events.h"
#include "tessera/chardev.h"
#include "tessera/block.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An object the host created for a plugin type (opaque; valid until its destroy hook returns). */
typedef struct ts_object ts_object;

/** Log levels for ts_host_api.log. */
enum ts_log_level {
    TS_LOG_ERROR = 0, /**< something failed */
    TS_LOG_WARN = 1,  /**< something works, but not as the user probably wants */
    TS_LOG_INFO = 2,  /**< a notable event */
    TS_LOG_DEBUG = 3, /**< detail for developers; hidden unless debugging is on */
};

/** ts_memory_region.flags: the memory is mapped MAP_SHARED (other processes see writes). */
#define TS_MEM_SHARED (1u << 0)
/** ts_memory_region.flags: the memory is mapped read-only. */
#define TS_MEM_READONLY (1u << 1)
/** ts_memory_region.flags: the memory lives on hugetlbfs (page_size is the huge page size). */
#define TS_MEM_HUGETLB (1u << 2)

/** Where a memory backend's memory is; filled by ts_memory_backend_ops.get_region. */
typedef struct ts_memory_region {
    void *host;         /**< mapping in the VMM's address space */
    uint64_t size;      /**< bytes */
    int fd;             /**< file descriptor backing the memory, or -1 (anonymous memory) */
    uint32_t flags;     /**< TS_MEM_* */
    uint64_t fd_offset; /**< offset of the memory within fd */
    uint64_t page_size; /**< page size of the backing memory in bytes */
    void *reserved[4];  /**< zero */
} ts_memory_region;

/**
 * The host-services table (ABI 1.0). Append-only: members are never removed or
 * reordered; new members go at the end and raise TS_ABI_MINOR.
 */
typedef struct ts_host_api {
    uint32_t size;      /**< sizeof(ts_host_api) as built by the host */
    uint16_t abi_major; /**< host's TS_ABI_MAJOR */
    uint16_t abi_minor; /**< host's TS_ABI_MINOR */

    /* --- logging and errors --- */

    /** Logs a message prefixed with obj's type and id (obj may be NULL). */
    void (*log)(ts_object *obj, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /**
     * Records why the current hook failed. The host prints it once, with the object's
     * origin (file and line, or option), when the hook returns a negative errno value.
     * A later call replaces an earlier one.
     */
    void (*set_error)(ts_object *obj, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

    /* --- objects and properties (values were validated against the type's schema) --- */

    /** The object's id (never NULL; the host makes one up for objects without an id). */
    const char *(*object_id)(ts_object *obj);
    /** The object's type name, e.g. "memory-backend-file". */
    const char *(*object_type)(ts_object *obj);
    /** True when the user gave the property explicitly (not its default). */
    bool (*prop_is_set)(ts_object *obj, const char *name);
    /** Value of a TS_PROP_BOOL property (false when unset without default). */
    bool (*prop_bool)(ts_object *obj, const char *name);
    /** Value of a TS_PROP_INT property (0 when unset without default). */
    int64_t (*prop_int)(ts_object *obj, const char *name);
    /** Value of a TS_PROP_SIZE property in bytes (0 when unset without default). */
    uint64_t (*prop_size)(ts_object *obj, const char *name);
    /** Value of a TS_PROP_STRING property, or NULL when unset; owned by the host. */
    const char *(*prop_string)(ts_object *obj, const char *name);
    /** Index into enum_values of a TS_PROP_ENUM property (0 when unset without default). */
    uint32_t (*prop_enum)(ts_object *obj, const char *name);
    /** Object named by a TS_PROP_REF property, or NULL when unset. */
    ts_object *(*prop_ref)(ts_object *obj, const char *name);

    /* --- memory backends --- */

    /**
     * Describes the memory of a realized memory-backend object (found with prop_ref).
     * Returns 0, or -EINVAL when backend is not a memory backend.
     */
    int (*memory_backend_region)(ts_object *backend, ts_memory_region *out);
    /**
     * Claims a memory backend for exclusive use by user (a device's own object).
     * Returns 0, or -EBUSY when another object holds it; the host then records an
     * error naming both objects.
     */
    int (*memory_backend_claim)(ts_object *backend, ts_object *user);
    /** Gives back a claim made by memory_backend_claim. */
    void (*memory_backend_release)(ts_object *backend, ts_object *user);

    /* --- services filled by later parts of the host; NULL where this host lacks them --- */

    const ts_guest_memory_api *guest_memory; /**< guest RAM access (KVM core) */
    const ts_io_api *io;                     /**< PIO and MMIO regions (KVM core) */
    const ts_pci_api *pci;                   /**< PCI functions (KVM core) */
    const ts_event_api *events;              /**< interrupts, eventfds, main loop (KVM core) */
    const ts_chardev_api *chardev;           /**< character devices (KVM core) */
    const ts_block_api *block;               /**< block I/O (block layer) */
} ts_host_api;

/** True when the host's table is large enough to contain member m. */
#define TS_HOST_HAS(host, m) \
    ((host)->size >= offsetof(ts_host_api, m) + sizeof(((ts_host_api *)0)->m) && (host)->m != NULL)

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_HOST_H */
