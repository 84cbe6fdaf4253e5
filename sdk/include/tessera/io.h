/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/io.h
 * @brief Port-I/O and MMIO regions for devices, filled by the KVM core.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_IO_H
#define TESSERA_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** A registered region (opaque; see ts_io_api.region_add). */
typedef struct ts_io_region ts_io_region;

/** Address spaces of a region (ts_io_api.region_add). */
enum ts_io_space {
    TS_IO_PIO = 0,  /**< x86 port I/O (16-bit addresses, in/out instructions) */
    TS_IO_MMIO = 1, /**< guest-physical memory-mapped I/O */
};

/**
 * Callbacks of a trapped region: a port-I/O or MMIO region registered with
 * ts_io_api.region_add, or a trapped PCI BAR (ts_pci_bar_desc.ops).
 *
 * Threads: called on vCPU threads, **concurrently** when the VM has several vCPUs (and
 * on the testkit's calling thread in tests). A device protects its own state. The host
 * holds none of its locks while calling, so a callback may call any ts_host_api service
 * (raise an MSI-X vector, signal an eventfd, read guest memory). A callback must not
 * block for long: the vCPU that made the access waits for it.
 *
 * Accesses: offset is relative to the start of the region (or the BAR), size is the
 * guest's access width, 1, 2, 4 or 8 bytes, and the whole access lies within the
 * region (accesses straddling the end never reach the device: reads see all-ones,
 * writes are dropped). Offsets are not necessarily aligned to size; a device that
 * supports only aligned 4-byte accesses must check and ignore the rest itself.
 * Values are the little-endian interpretation of the accessed bytes, in the low size
 * bytes of the uint64_t.
 */
typedef struct ts_io_ops {
    uint32_t size;      /**< sizeof(ts_io_ops) as built by the plugin */
    uint32_t reserved0; /**< zero */
    /** A guest read; returns the value (bits above size bytes are ignored). NULL: reads return 0. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    /** A guest write of value. NULL: writes are ignored. */
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    void *reserved[4]; /**< zero */
} ts_io_ops;

/** Port-I/O and MMIO region registration. Filled by the KVM core; NULL where absent. */
typedef struct ts_io_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */

    /* --- ABI 1.1 --- */

    /**
     * Claims [base, base + len) of space (enum ts_io_space) for obj: guest accesses
     * there call ops with opaque. ops and opaque must stay valid until the region is
     * removed. For PCI devices use a BAR instead (ts_pci_api.bar_add): the guest places
     * BARs; fixed regions are for ISA-style devices at fixed addresses.
     *
     * Returns 0 and *out, or -EINVAL (empty or wrapping range, port range beyond
     * 0xffff, bad space), -EEXIST (overlaps another region; an error naming both is
     * recorded with set_error). Call from realize (main thread).
     *
     * The host removes regions an object still holds after its unrealize hook returns.
     */
    int (*region_add)(ts_object *obj, uint32_t space, uint64_t base, uint64_t len,
                      const ts_io_ops *ops, void *opaque, ts_io_region **out);
    /**
     * Removes a region. Main thread, typically in unrealize. When it returns no new
     * call of the region's callbacks starts; the caller must still make sure no vCPU is
     * inside one (the host guarantees that for removals from unrealize, which runs with
     * the vCPUs stopped). NULL is allowed.
     */
    void (*region_remove)(ts_io_region *region);
} ts_io_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_IO_H */
