/* SPDX-License-Identifier: MIT */
/* Guest RAM layout around the PCI hole, and bounds-checked guest-physical access. */
#include "kvm/guest_memory.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "util/error.h"

#define GUEST_MIN_RAM (2ull << 20)

int guest_memory_init(guest_memory *gm, const ts_memory_region *ram, GError **err)
{
    memset(gm, 0, sizeof(*gm));
    if (!ram || !ram->host || ram->size < GUEST_MIN_RAM) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "guest RAM of %" PRIu64 " bytes is too small: give the VM at least 2 MiB",
                    ram ? ram->size : 0);
        return -EINVAL;
    }
    if (ram->flags & TS_MEM_READONLY) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "guest RAM cannot come from a read-only memory backend: drop readonly=on");
        return -EINVAL;
    }
    uint64_t low = MIN(ram->size, GUEST_PCI_HOLE_START);
    gm->banks[0] = (guest_ram_bank){ 0, low, ram->host };
    gm->nr_banks = 1;
    if (ram->size > low) {
        gm->banks[1] = (guest_ram_bank){ GUEST_HIGH_RAM_START, ram->size - low,
                                         (uint8_t *)ram->host + low };
        gm->nr_banks = 2;
    }
    gm->total = ram->size;
    return 0;
}

void *guest_memory_ptr(const guest_memory *gm, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < gm->nr_banks; i++) {
        const guest_ram_bank *b = &gm->banks[i];
        /* Written so that no sum can wrap: offset first, then the remaining room. */
        if (gpa >= b->gpa && gpa - b->gpa <= b->size && len <= b->size - (gpa - b->gpa))
            return b->host + (gpa - b->gpa);
    }
    return NULL;
}

int guest_memory_write(const guest_memory *gm, uint64_t gpa, const void *src, uint64_t len)
{
    void *p = guest_memory_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

int guest_memory_read(const guest_memory *gm, uint64_t gpa, void *dst, uint64_t len)
{
    const void *p = guest_memory_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}
