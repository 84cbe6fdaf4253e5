/* SPDX-License-Identifier: MIT */
/*
 * KVM memory-slot numbers: guest RAM takes the first ones, RAM-backed BARs and other
 * mappings take the lowest free one and give it back on removal. Thread-safe.
 */
#ifndef TESSERA_CORE_MEM_SLOTS_H
#define TESSERA_CORE_MEM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mem_slots {
    pthread_mutex_t lock;
    uint32_t nr;   /* slots the kernel offers (KVM_CAP_NR_MEMSLOTS) */
    uint8_t *used; /* one flag per slot */
    uint32_t in_use;
} mem_slots;

void mem_slots_init(mem_slots *s, uint32_t nr);
void mem_slots_fini(mem_slots *s);
/* The lowest free slot in *slot, or -ENOSPC. */
int mem_slots_alloc(mem_slots *s, uint32_t *slot);
/* Gives a slot back; -ENOENT when it was not allocated. */
int mem_slots_release(mem_slots *s, uint32_t slot);

/*
 * Checks a mapping request before it reaches the kernel: size non-zero, gpa, size and
 * host page-aligned, no wrap-around. Returns 0 or -EINVAL.
 */
int mem_slots_check_mapping(uint64_t gpa, uint64_t size, const void *host);

#endif
