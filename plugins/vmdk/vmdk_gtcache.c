/* SPDX-License-Identifier: MIT */
/*
 * Grain-table cache. QEMU keeps 16 tables per extent, covering 512 MiB of disk, and
 * re-reads tables constantly on bigger working sets. Here the number of slots is a
 * parameter (256 by default: 512 KiB covering 8 GiB), lookups are O(1) through an index
 * parallel to the grain directory (no bigger than the directory itself), and eviction
 * is least-recently-used among clean tables. Dirty tables are never evicted: they hold
 * grain-table updates that reach the file only at writeback, after the data.
 */
#include "vmdk_internal.h"

#include <stdlib.h>
#include <string.h>

struct gt_slot {
    uint64_t gd_index;
    uint64_t last_use;
    bool used, dirty;
    uint32_t *table;
};

struct vmdk_gt_cache {
    uint32_t gtes;
    unsigned n_slots;
    uint64_t gd_entries;
    uint64_t clock;
    int32_t *slot_of;   /* gd index -> slot, -1 if not cached */
    struct gt_slot *slots;
};

struct vmdk_gt_cache *vmdk_gt_cache_new(uint64_t gd_entries, uint32_t gtes, unsigned slots)
{
    struct vmdk_gt_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (slots == 0)
        slots = 256;
    if (gd_entries && slots > gd_entries)
        slots = (unsigned)gd_entries;
    if (slots == 0)
        slots = 1;
    c->gtes = gtes;
    c->n_slots = slots;
    c->gd_entries = gd_entries;
    c->slot_of = malloc((gd_entries ? gd_entries : 1) * sizeof(*c->slot_of));
    c->slots = calloc(slots, sizeof(*c->slots));
    if (!c->slot_of || !c->slots) {
        vmdk_gt_cache_free(c);
        return NULL;
    }
    for (uint64_t i = 0; i < gd_entries; i++)
        c->slot_of[i] = -1;
    return c;
}

void vmdk_gt_cache_free(struct vmdk_gt_cache *c)
{
    if (!c)
        return;
    if (c->slots)
        for (unsigned i = 0; i < c->n_slots; i++)
            free(c->slots[i].table);
    free(c->slots);
    free(c->slot_of);
    free(c);
}

uint32_t *vmdk_gt_cache_find(struct vmdk_gt_cache *c, uint64_t gd_index)
{
    if (gd_index >= c->gd_entries || c->slot_of[gd_index] < 0)
        return NULL;
    struct gt_slot *s = &c->slots[c->slot_of[gd_index]];
    s->last_use = ++c->clock;
    return s->table;
}

static bool grow_slots(struct vmdk_gt_cache *c)
{
    unsigned n = c->n_slots * 2;
    struct gt_slot *grown = realloc(c->slots, n * sizeof(*grown));
    if (!grown)
        return false;
    memset(grown + c->n_slots, 0, (n - c->n_slots) * sizeof(*grown));
    c->slots = grown;
    c->n_slots = n;
    return true;
}

uint32_t *vmdk_gt_cache_insert(struct vmdk_gt_cache *c, uint64_t gd_index, bool grow)
{
    if (gd_index >= c->gd_entries)
        return NULL;
    int victim = -1;
    for (unsigned i = 0; i < c->n_slots; i++) {
        struct gt_slot *s = &c->slots[i];
        if (!s->used) {
            victim = (int)i;
            break;
        }
        if (!s->dirty && (victim < 0 || s->last_use < c->slots[victim].last_use))
            victim = (int)i;
    }
    if (victim < 0) {
        if (!grow || !grow_slots(c))
            return NULL;
        victim = (int)(c->n_slots / 2);
    }
    struct gt_slot *s = &c->slots[victim];
    if (!s->table) {
        s->table = malloc((size_t)c->gtes * sizeof(uint32_t));
        if (!s->table)
            return NULL;
    }
    if (s->used)
        c->slot_of[s->gd_index] = -1;
    s->used = true;
    s->dirty = false;
    s->gd_index = gd_index;
    s->last_use = ++c->clock;
    c->slot_of[gd_index] = victim;
    return s->table;
}

void vmdk_gt_cache_mark_dirty(struct vmdk_gt_cache *c, uint64_t gd_index)
{
    if (gd_index < c->gd_entries && c->slot_of[gd_index] >= 0)
        c->slots[c->slot_of[gd_index]].dirty = true;
}

bool vmdk_gt_cache_any_dirty(const struct vmdk_gt_cache *c)
{
    for (unsigned i = 0; i < c->n_slots; i++)
        if (c->slots[i].used && c->slots[i].dirty)
            return true;
    return false;
}

static int by_gd_index(const void *a, const void *b)
{
    const struct gt_slot *x = *(const struct gt_slot *const *)a;
    const struct gt_slot *y = *(const struct gt_slot *const *)b;
    return x->gd_index < y->gd_index ? -1 : x->gd_index > y->gd_index;
}

int vmdk_gt_cache_for_each_dirty(struct vmdk_gt_cache *c,
                                 int (*fn)(void *ctx, uint64_t gd_index, uint32_t *table),
                                 void *ctx)
{
    struct gt_slot **dirty = malloc(c->n_slots * sizeof(*dirty));
    if (!dirty)
        return -12; /* -ENOMEM */
    size_t n = 0;
    for (unsigned i = 0; i < c->n_slots; i++)
        if (c->slots[i].used && c->slots[i].dirty)
            dirty[n++] = &c->slots[i];
    /* Directory order makes the writes of a stream tail deterministic. */
    qsort(dirty, n, sizeof(*dirty), by_gd_index);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = fn(ctx, dirty[i]->gd_index, dirty[i]->table);
    free(dirty);
    return r;
}

void vmdk_gt_cache_clean_all(struct vmdk_gt_cache *c)
{
    for (unsigned i = 0; i < c->n_slots; i++)
        c->slots[i].dirty = false;
}
