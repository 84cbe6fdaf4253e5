/* SPDX-License-Identifier: MIT */
/* Helpers shared by the boot tests: fake guest RAM and little-endian readers. */
#ifndef TESSERA_TESTS_BOOT_UTIL_H
#define TESSERA_TESTS_BOOT_UTIL_H

#include <check.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm/guest_memory.h"

/* Guest RAM of size bytes from an anonymous mapping: untouched pages cost nothing. */
typedef struct fake_ram {
    ts_memory_region region;
    guest_memory gm;
} fake_ram;

static inline void fake_ram_init(fake_ram *r, uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    memset(&r->region, 0, sizeof(r->region));
    r->region.host = p;
    r->region.size = size;
    r->region.fd = -1;
    r->region.page_size = 4096;
    ck_assert_int_eq(guest_memory_init(&r->gm, &r->region, NULL), 0);
}

static inline void fake_ram_free(fake_ram *r)
{
    munmap(r->region.host, r->region.size);
}

static inline const uint8_t *gpa_ptr(const fake_ram *r, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = guest_memory_ptr(&r->gm, gpa, len);
    ck_assert_msg(p != NULL, "guest address %#lx+%#lx is not RAM", (unsigned long)gpa,
                  (unsigned long)len);
    return p;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

#endif
