/* SPDX-License-Identifier: MIT */
/*
 * Cache of decompressed grains for stream extents. QEMU inflates a whole 64 KiB grain
 * for every read, so 4 KiB sequential reads inflate each grain 16 times; keeping the
 * last few grains makes that once. Keyed by the grain's sector in the file.
 */
#include "vmdk_internal.h"

#include <stdlib.h>

struct grain_slot {
    uint64_t key;
    uint64_t last_use;
    bool valid;
    uint8_t *data;
};

struct vmdk_grain_cache {
    uint64_t grain_bytes;
    unsigned n_slots;
    uint64_t clock;
    struct grain_slot *slots;
};

struct vmdk_grain_cache *vmdk_grain_cache_new(uint64_t grain_bytes, unsigned slots)
{
    struct vmdk_grain_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->grain_bytes = grain_bytes;
    c->n_slots = slots ? slots : 8;
    c->slots = calloc(c->n_slots, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void vmdk_grain_cache_free(struct vmdk_grain_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n_slots; i++)
        free(c->slots[i].data);
    free(c->slots);
    free(c);
}

const uint8_t *vmdk_grain_cache_find(struct vmdk_grain_cache *c, uint64_t key)
{
    for (unsigned i = 0; i < c->n_slots; i++)
        if (c->slots[i].valid && c->slots[i].key == key) {
            c->slots[i].last_use = ++c->clock;
            return c->slots[i].data;
        }
    return NULL;
}

uint8_t *vmdk_grain_cache_slot(struct vmdk_grain_cache *c, uint64_t key)
{
    struct grain_slot *victim = &c->slots[0];
    for (unsigned i = 0; i < c->n_slots; i++) {
        if (!c->slots[i].valid) {
            victim = &c->slots[i];
            break;
        }
        if (c->slots[i].last_use < victim->last_use)
            victim = &c->slots[i];
    }
    /* Allocated on first use: a 1 GiB grain size costs nothing until a grain is read. */
    if (!victim->data) {
        victim->data = malloc(c->grain_bytes);
        if (!victim->data)
            return NULL;
    }
    victim->valid = false;
    victim->key = key;
    return victim->data;
}

void vmdk_grain_cache_commit(struct vmdk_grain_cache *c, uint64_t key)
{
    for (unsigned i = 0; i < c->n_slots; i++)
        if (c->slots[i].key == key && !c->slots[i].valid && c->slots[i].data) {
            c->slots[i].valid = true;
            c->slots[i].last_use = ++c->clock;
            return;
        }
}
