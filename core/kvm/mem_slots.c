/* SPDX-License-Identifier: MIT */
/* KVM memory-slot number allocation; see mem_slots.h. */
#include "kvm/mem_slots.h"

#include <errno.h>
#include <glib.h>

#define PAGE_MASK_4K 0xfffull

void mem_slots_init(mem_slots *s, uint32_t nr)
{
    pthread_mutex_init(&s->lock, NULL);
    s->nr = nr;
    s->used = g_new0(uint8_t, nr ? nr : 1);
    s->in_use = 0;
}

void mem_slots_fini(mem_slots *s)
{
    pthread_mutex_destroy(&s->lock);
    g_free(s->used);
    s->used = NULL;
    s->nr = 0;
}

int mem_slots_alloc(mem_slots *s, uint32_t *slot)
{
    int ret = -ENOSPC;
    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < s->nr; i++) {
        if (!s->used[i]) {
            s->used[i] = 1;
            s->in_use++;
            *slot = i;
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int mem_slots_release(mem_slots *s, uint32_t slot)
{
    int ret = -ENOENT;
    pthread_mutex_lock(&s->lock);
    if (slot < s->nr && s->used[slot]) {
        s->used[slot] = 0;
        s->in_use--;
        ret = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int mem_slots_check_mapping(uint64_t gpa, uint64_t size, const void *host)
{
    if (size == 0 || (gpa & PAGE_MASK_4K) || (size & PAGE_MASK_4K) ||
        ((uintptr_t)host & PAGE_MASK_4K) || gpa + size < gpa)
        return -EINVAL;
    return 0;
}
