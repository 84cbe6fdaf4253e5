/* SPDX-License-Identifier: MIT */
/*
 * I/O buses as a sorted array of regions searched by bisection: buses hold tens of
 * regions, change rarely and are searched on every exit, which is what a sorted array
 * does best (one cache-friendly binary search, no per-node pointers).
 */
#include "bus/bus.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

struct io_bus {
    char *name;
    pthread_rwlock_t lock;
    io_region *regions; /* sorted by base, non-overlapping */
    unsigned count;
    unsigned capacity;
    bool log_unclaimed;
};

io_bus *io_bus_new(const char *name)
{
    io_bus *bus = g_new0(io_bus, 1);
    bus->name = g_strdup(name);
    pthread_rwlock_init(&bus->lock, NULL);
    return bus;
}

void io_bus_free(io_bus *bus)
{
    if (!bus)
        return;
    pthread_rwlock_destroy(&bus->lock);
    g_free(bus->regions);
    g_free(bus->name);
    g_free(bus);
}

/* Index of the first region whose base is greater than addr. Caller holds the lock. */
static unsigned upper_bound(const io_bus *bus, uint64_t addr)
{
    unsigned lo = 0, hi = bus->count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (bus->regions[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The region containing addr, or NULL. Caller holds the lock. */
static const io_region *find_region(const io_bus *bus, uint64_t addr)
{
    unsigned i = upper_bound(bus, addr);
    if (i == 0)
        return NULL;
    const io_region *r = &bus->regions[i - 1];
    return addr - r->base < r->len ? r : NULL;
}

int io_bus_register(io_bus *bus, uint64_t base, uint64_t len, io_handler_fn handler,
                    void *opaque, const char *owner, GError **err)
{
    if (!len || base + len - 1 < base || !handler) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "%s region %#" PRIx64 "+%#" PRIx64 " for %s is empty or wraps around",
                    bus->name, base, len, owner ? owner : "?");
        return -EINVAL;
    }
    pthread_rwlock_wrlock(&bus->lock);
    unsigned i = upper_bound(bus, base);
    const io_region *prev = i > 0 ? &bus->regions[i - 1] : NULL;
    const io_region *next = i < bus->count ? &bus->regions[i] : NULL;
    const io_region *clash = NULL;
    if (prev && base - prev->base < prev->len)
        clash = prev;
    else if (next && next->base - base < len)
        clash = next;
    if (clash) {
        g_set_error(err, TS_ERROR, TS_ERROR_EXISTS,
                    "%s region %#" PRIx64 "-%#" PRIx64 " for %s overlaps %#" PRIx64
                    "-%#" PRIx64 " of %s: move one of them",
                    bus->name, base, base + len - 1, owner ? owner : "?", clash->base,
                    clash->base + clash->len - 1, clash->owner ? clash->owner : "?");
        pthread_rwlock_unlock(&bus->lock);
        return -EEXIST;
    }
    if (bus->count == bus->capacity) {
        bus->capacity = bus->capacity ? bus->capacity * 2 : 16;
        bus->regions = g_renew(io_region, bus->regions, bus->capacity);
    }
    memmove(&bus->regions[i + 1], &bus->regions[i], (bus->count - i) * sizeof(io_region));
    bus->regions[i] = (io_region){ base, len, handler, opaque, owner };
    bus->count++;
    pthread_rwlock_unlock(&bus->lock);
    return 0;
}

int io_bus_unregister(io_bus *bus, uint64_t base)
{
    int ret = -ENOENT;

    pthread_rwlock_wrlock(&bus->lock);
    unsigned i = upper_bound(bus, base);
    if (i > 0 && bus->regions[i - 1].base == base) {
        memmove(&bus->regions[i - 1], &bus->regions[i], (bus->count - i) * sizeof(io_region));
        bus->count--;
        ret = 0;
    }
    pthread_rwlock_unlock(&bus->lock);
    return ret;
}

bool io_bus_lookup(io_bus *bus, uint64_t addr, io_region *out)
{
    pthread_rwlock_rdlock(&bus->lock);
    const io_region *r = find_region(bus, addr);
    if (r && out)
        *out = *r;
    pthread_rwlock_unlock(&bus->lock);
    return r != NULL;
}

bool io_bus_dispatch(io_bus *bus, uint64_t addr, uint8_t *data, unsigned len, bool is_write)
{
    io_region r;
    bool claimed = io_bus_lookup(bus, addr, &r) && len <= r.len && addr - r.base <= r.len - len;

    if (claimed) {
        r.handler(r.opaque, addr - r.base, data, len, is_write);
        return true;
    }
    if (!is_write)
        memset(data, 0xff, len);
    if (bus->log_unclaimed)
        fprintf(stderr, "tessera: unclaimed %s %s of %u byte(s) at %#" PRIx64 "\n", bus->name,
                is_write ? "write" : "read", len, addr);
    return false;
}

void io_bus_set_log_unclaimed(io_bus *bus, bool on)
{
    bus->log_unclaimed = on;
}

unsigned io_bus_count(io_bus *bus)
{
    pthread_rwlock_rdlock(&bus->lock);
    unsigned n = bus->count;
    pthread_rwlock_unlock(&bus->lock);
    return n;
}
