/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM layout and bounds-checked access. The RAM of one memory backend (one host
 * mapping) is split around the 32-bit PCI hole: the first part at guest physical 0 up
 * to the hole, the rest from 4 GiB up.
 *
 *   0 ............ low_end      RAM (low_end = min(size, GUEST_PCI_HOLE_START))
 *   0xC0000000 ... 4 GiB        PCI hole: 32-bit BARs, IOAPIC, LAPIC, TSS pages
 *   4 GiB ........ 4 GiB + rest RAM (only when size > GUEST_PCI_HOLE_START)
 */
#ifndef TESSERA_CORE_GUEST_MEMORY_H
#define TESSERA_CORE_GUEST_MEMORY_H

#include <glib.h>
#include <stdint.h>

#include "tessera/host.h"

#define GUEST_PCI_HOLE_START 0xc0000000ull
#define GUEST_HIGH_RAM_START 0x100000000ull
#define GUEST_MAX_RAM_BANKS 2

typedef struct guest_ram_bank {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
} guest_ram_bank;

typedef struct guest_memory {
    guest_ram_bank banks[GUEST_MAX_RAM_BANKS];
    unsigned nr_banks;
    uint64_t total;
} guest_memory;

/* Lays out ram. Fails (-EINVAL) on RAM smaller than 2 MiB, read-only or unmapped RAM. */
int guest_memory_init(guest_memory *gm, const ts_memory_region *ram, GError **err);

/*
 * Host address of [gpa, gpa + len) when the whole range is guest RAM within one bank,
 * else NULL. Every guest-supplied address goes through here (or the helpers below).
 */
void *guest_memory_ptr(const guest_memory *gm, uint64_t gpa, uint64_t len);
/* Copy into / out of guest RAM; -EFAULT when the range is not entirely RAM. */
int guest_memory_write(const guest_memory *gm, uint64_t gpa, const void *src, uint64_t len);
int guest_memory_read(const guest_memory *gm, uint64_t gpa, void *dst, uint64_t len);

#endif
