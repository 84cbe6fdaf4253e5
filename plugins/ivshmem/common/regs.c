/* SPDX-License-Identifier: MIT */
/* BAR0 of ivshmem: IntrMask, IntrStatus (read-to-clear), IVPosition, Doorbell. */
#include "ivshmem-dev.h"

void ivshmem_regs_init(struct ivshmem_regs *r, uint16_t ivposition)
{
    __atomic_store_n(&r->intrmask, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->intrstatus, 0, __ATOMIC_RELAXED);
    r->ivposition = ivposition;
}

void ivshmem_regs_reset(struct ivshmem_regs *r)
{
    __atomic_store_n(&r->intrmask, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->intrstatus, 0, __ATOMIC_RELAXED);
}

/* One 32-bit register read at an exact offset, as QEMU's handler sees it. */
static uint32_t read32(struct ivshmem_regs *r, uint64_t offset)
{
    switch (offset) {
    case IVSHMEM_REG_INTRMASK:
        return __atomic_load_n(&r->intrmask, __ATOMIC_RELAXED);
    case IVSHMEM_REG_INTRSTATUS:
        /* Read-to-clear: an exchange, so a concurrent write is either seen or kept. */
        return __atomic_exchange_n(&r->intrstatus, 0, __ATOMIC_RELAXED);
    case IVSHMEM_REG_IVPOSITION:
        return r->ivposition;
    default:
        return 0; /* Doorbell, reserved, unaligned */
    }
}

/* One 32-bit register write; returns 1 and sets *doorbell for a doorbell write. */
static int write32(struct ivshmem_regs *r, uint64_t offset, uint32_t value, uint32_t *doorbell)
{
    if (offset >= IVSHMEM_REG_BAR_SIZE)
        return 0;
    switch (offset & 0xfc) {
    case IVSHMEM_REG_INTRMASK:
        __atomic_store_n(&r->intrmask, value, __ATOMIC_RELAXED);
        return 0;
    case IVSHMEM_REG_INTRSTATUS:
        __atomic_store_n(&r->intrstatus, value, __ATOMIC_RELAXED);
        return 0;
    case IVSHMEM_REG_DOORBELL:
        *doorbell = value;
        return 1;
    default:
        return 0; /* IVPosition is read-only; the rest is reserved */
    }
}

static uint32_t size_mask(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

uint64_t ivshmem_regs_read(struct ivshmem_regs *r, uint64_t offset, unsigned size)
{
    if (offset >= IVSHMEM_REG_BAR_SIZE)
        return 0;
    switch (size) {
    case 1:
    case 2:
    case 4:
        return read32(r, offset) & size_mask(size);
    case 8:
        return read32(r, offset) | (uint64_t)read32(r, offset + 4) << 32;
    default:
        return 0;
    }
}

int ivshmem_regs_write(struct ivshmem_regs *r, uint64_t offset, unsigned size, uint64_t value,
                       uint32_t *doorbell)
{
    int rung = 0;

    switch (size) {
    case 1:
    case 2:
    case 4:
        return write32(r, offset, (uint32_t)value & size_mask(size), doorbell);
    case 8:
        /* Two 32-bit halves, low first; at most the high half can be the doorbell. */
        rung += write32(r, offset, (uint32_t)value, doorbell);
        rung += write32(r, offset + 4, (uint32_t)(value >> 32), doorbell);
        return rung > 1 ? 1 : rung;
    default:
        return 0;
    }
}
