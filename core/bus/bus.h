/* SPDX-License-Identifier: MIT */
/*
 * I/O buses: the port-I/O space and the MMIO space each are one io_bus, a set of
 * non-overlapping regions that vCPU threads search on every userspace I/O exit.
 *
 * Threading: registration and dispatch may run on any thread. A handler runs without
 * the bus lock held (so it may register or remove regions, as a PCI BAR move will),
 * which means whoever removes a region must make sure no vCPU is still inside its
 * handler before freeing the handler's opaque data (stop or pause the vCPUs first).
 */
#ifndef TESSERA_CORE_BUS_H
#define TESSERA_CORE_BUS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * One access. offset is relative to the region's base. On reads the handler fills
 * data[0..len); on writes it consumes it. len is 1, 2, 4 or 8.
 */
typedef void (*io_handler_fn)(void *opaque, uint64_t offset, uint8_t *data, unsigned len,
                              bool is_write);

typedef struct io_region {
    uint64_t base;
    uint64_t len;
    io_handler_fn handler;
    void *opaque;
    const char *owner; /* for messages, e.g. "serial 0x3f8"; static or outliving the region */
} io_region;

typedef struct io_bus io_bus;

/* name appears in messages ("pio", "mmio"). */
io_bus *io_bus_new(const char *name);
void io_bus_free(io_bus *bus);

/*
 * Claims [base, base + len). Returns 0; -EINVAL for an empty or wrapping range;
 * -EEXIST (with a message naming both owners) when it overlaps a registered region.
 */
int io_bus_register(io_bus *bus, uint64_t base, uint64_t len, io_handler_fn handler,
                    void *opaque, const char *owner, GError **err);
/* Removes the region starting exactly at base. Returns 0 or -ENOENT. */
int io_bus_unregister(io_bus *bus, uint64_t base);

/* Copies the region containing addr into *out. Returns false when no region does. */
bool io_bus_lookup(io_bus *bus, uint64_t addr, io_region *out);

/*
 * Performs one access. An access no region contains entirely is unclaimed: a read
 * returns all-ones, a write is dropped, and both are logged when logging is on.
 * Returns whether a region claimed it.
 */
bool io_bus_dispatch(io_bus *bus, uint64_t addr, uint8_t *data, unsigned len, bool is_write);

/* Log unclaimed accesses to stderr (off by default). */
void io_bus_set_log_unclaimed(io_bus *bus, bool on);

/* Number of registered regions. */
unsigned io_bus_count(io_bus *bus);

#endif
