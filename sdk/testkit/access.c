/* SPDX-License-Identifier: MIT */
/*
 * Guest-visible accesses for tests, made the way a vCPU's accesses are handled under
 * KVM: an ioeventfd match first, then memory (guest RAM, memory slots), then the I/O
 * buses. On top: config space through 0xcf8/0xcfc, BARs, and MSI-X as a driver sees it.
 */
#include <string.h>

#include "testkit_internal.h"

static uint64_t le_get(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void le_put(uint8_t *p, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static uint64_t ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

TK_API uint64_t tk_pio_read(tk_machine *m, uint16_t port, unsigned size)
{
    if (!size_ok(size) || size == 8)
        return ones(size);
    uint8_t b[8];
    io_bus_dispatch(m->pio, port, b, size, false);
    return le_get(b, size);
}

TK_API void tk_pio_write(tk_machine *m, uint16_t port, uint64_t value, unsigned size)
{
    if (!size_ok(size) || size == 8)
        return;
    if (fake_ioeventfd_write(m->fake, true, port, value & ones(size), size))
        return;
    uint8_t b[8];
    le_put(b, size, value);
    io_bus_dispatch(m->pio, port, b, size, true);
}

static void *memory_ptr(tk_machine *m, uint64_t addr, uint64_t len, bool write)
{
    void *p = guest_memory_ptr(&m->gm, addr, len);
    return p ? p : fake_slot_ptr(m->fake, addr, len, write);
}

TK_API uint64_t tk_mmio_read(tk_machine *m, uint64_t addr, unsigned size)
{
    if (!size_ok(size))
        return UINT64_MAX;
    uint8_t b[8];
    void *p = memory_ptr(m, addr, size, false);
    if (p)
        memcpy(b, p, size);
    else
        io_bus_dispatch(m->mmio, addr, b, size, false);
    return le_get(b, size);
}

TK_API void tk_mmio_write(tk_machine *m, uint64_t addr, uint64_t value, unsigned size)
{
    if (!size_ok(size))
        return;
    if (fake_ioeventfd_write(m->fake, false, addr, value & ones(size), size))
        return;
    uint8_t b[8];
    le_put(b, size, value);
    void *p = memory_ptr(m, addr, size, true);
    if (p)
        memcpy(p, b, size);
    else if (!guest_memory_ptr(&m->gm, addr, size) && !fake_slot_ptr(m->fake, addr, size, false))
        io_bus_dispatch(m->mmio, addr, b, size, true);
}

TK_API void tk_memread(tk_machine *m, uint64_t addr, void *buf, size_t len)
{
    void *p = memory_ptr(m, addr, len, false);
    if (p) {
        memcpy(buf, p, len);
        return;
    }
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)tk_mmio_read(m, addr + i, 1);
}

TK_API void tk_memwrite(tk_machine *m, uint64_t addr, const void *buf, size_t len)
{
    void *p = memory_ptr(m, addr, len, true);
    if (p) {
        memcpy(p, buf, len);
        return;
    }
    for (size_t i = 0; i < len; i++)
        tk_mmio_write(m, addr + i, ((const uint8_t *)buf)[i], 1);
}

TK_API void *tk_guest_ram(tk_machine *m, uint64_t gpa, uint64_t len)
{
    return guest_memory_ptr(&m->gm, gpa, len);
}

/* --- config space through mechanism #1 --- */

static void select_reg(tk_machine *m, uint8_t devfn, uint32_t off)
{
    tk_pio_write(m, PCI_CONFIG_ADDRESS_PORT, 0x80000000u | ((uint32_t)devfn << 8) | (off & 0xfc), 4);
}

TK_API uint32_t tk_config_read(tk_machine *m, uint8_t devfn, uint32_t off, unsigned size)
{
    select_reg(m, devfn, off);
    return (uint32_t)tk_pio_read(m, (uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size);
}

TK_API void tk_config_write(tk_machine *m, uint8_t devfn, uint32_t off, uint32_t value, unsigned size)
{
    select_reg(m, devfn, off);
    tk_pio_write(m, (uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), value, size);
}

TK_API int tk_pci_find(tk_machine *m, uint16_t vendor, uint16_t device, unsigned index)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = tk_config_read(m, (uint8_t)devfn, 0, 4);
        if (id == 0xffffffffu)
            continue;
        if ((id & 0xffff) == vendor && (id >> 16) == device && index-- == 0)
            return (int)devfn;
    }
    return -1;
}

TK_API uint8_t tk_pci_find_capability(tk_machine *m, uint8_t devfn, uint8_t cap_id)
{
    if (!(tk_config_read(m, devfn, 0x06, 2) & 0x10))
        return 0;
    uint8_t at = (uint8_t)tk_config_read(m, devfn, 0x34, 1) & 0xfc;
    for (unsigned hops = 0; at && hops < 48; hops++) {
        if (tk_config_read(m, devfn, at, 1) == cap_id)
            return at;
        at = (uint8_t)tk_config_read(m, devfn, at + 1u, 1) & 0xfc;
    }
    return 0;
}

TK_API void tk_device_enable(tk_machine *m, uint8_t devfn)
{
    uint32_t cmd = tk_config_read(m, devfn, 0x04, 2);
    tk_config_write(m, devfn, 0x04, cmd | 0x7, 2);
}

static bool bar_is_io(tk_machine *m, uint8_t devfn, unsigned bar)
{
    return tk_config_read(m, devfn, 0x10 + 4 * bar, 4) & 1;
}

static bool bar_is_64(tk_machine *m, uint8_t devfn, unsigned bar)
{
    uint32_t lo = tk_config_read(m, devfn, 0x10 + 4 * bar, 4);
    return !(lo & 1) && ((lo >> 1) & 3) == 2 && bar < 5;
}

TK_API uint64_t tk_bar_address(tk_machine *m, uint8_t devfn, unsigned bar)
{
    if (bar >= 6)
        return 0;
    uint32_t lo = tk_config_read(m, devfn, 0x10 + 4 * bar, 4);
    if (lo & 1)
        return lo & ~3u;
    uint64_t a = lo & ~0xfu;
    if (bar_is_64(m, devfn, bar))
        a |= (uint64_t)tk_config_read(m, devfn, 0x14 + 4 * bar, 4) << 32;
    return a;
}

TK_API uint64_t tk_bar_size(tk_machine *m, uint8_t devfn, unsigned bar)
{
    if (bar >= 6)
        return 0;
    uint32_t off = 0x10 + 4 * bar;
    uint32_t lo = tk_config_read(m, devfn, off, 4);
    bool io = lo & 1, is64 = bar_is_64(m, devfn, bar);
    uint32_t hi = is64 ? tk_config_read(m, devfn, off + 4, 4) : 0;
    tk_config_write(m, devfn, off, 0xffffffffu, 4);
    uint64_t mask = tk_config_read(m, devfn, off, 4);
    if (is64) {
        tk_config_write(m, devfn, off + 4, 0xffffffffu, 4);
        mask |= (uint64_t)tk_config_read(m, devfn, off + 4, 4) << 32;
        tk_config_write(m, devfn, off + 4, hi, 4);
    } else {
        mask |= 0xffffffff00000000ull;
    }
    tk_config_write(m, devfn, off, lo, 4);
    mask &= io ? ~3ull : ~0xfull;
    if (io)
        mask |= 0xffffffffffff0000ull; /* I/O BARs decode 16 bits on x86 */
    return (mask & 0xffffffffull) == 0 && !is64 ? 0 : ~mask + 1;
}

TK_API void tk_bar_set_address(tk_machine *m, uint8_t devfn, unsigned bar, uint64_t addr)
{
    if (bar >= 6)
        return;
    uint32_t off = 0x10 + 4 * bar;
    bool is64 = bar_is_64(m, devfn, bar);
    tk_config_write(m, devfn, off, (uint32_t)addr, 4);
    if (is64)
        tk_config_write(m, devfn, off + 4, (uint32_t)(addr >> 32), 4);
}

TK_API uint64_t tk_bar_read(tk_machine *m, uint8_t devfn, unsigned bar, uint64_t off, unsigned size)
{
    uint64_t a = tk_bar_address(m, devfn, bar) + off;
    return bar_is_io(m, devfn, bar) ? tk_pio_read(m, (uint16_t)a, size) : tk_mmio_read(m, a, size);
}

TK_API void tk_bar_write(tk_machine *m, uint8_t devfn, unsigned bar, uint64_t off, uint64_t value,
                         unsigned size)
{
    uint64_t a = tk_bar_address(m, devfn, bar) + off;
    if (bar_is_io(m, devfn, bar))
        tk_pio_write(m, (uint16_t)a, value, size);
    else
        tk_mmio_write(m, a, value, size);
}

/* --- MSI-X --- */

TK_API uint32_t tk_msix_table_size(tk_machine *m, uint8_t devfn)
{
    uint8_t cap = tk_pci_find_capability(m, devfn, 0x11);
    return cap ? (tk_config_read(m, devfn, cap + 2u, 2) & 0x7ff) + 1 : 0;
}

static void msgctl_bit(tk_machine *m, uint8_t devfn, uint16_t bit, bool on)
{
    uint8_t cap = tk_pci_find_capability(m, devfn, 0x11);
    if (!cap)
        return;
    uint32_t ctl = tk_config_read(m, devfn, cap + 2u, 2);
    tk_config_write(m, devfn, cap + 2u, on ? (ctl | bit) : (ctl & ~(uint32_t)bit), 2);
}

TK_API void tk_msix_enable(tk_machine *m, uint8_t devfn, bool on)
{
    msgctl_bit(m, devfn, 0x8000, on);
}

TK_API void tk_msix_function_mask(tk_machine *m, uint8_t devfn, bool on)
{
    msgctl_bit(m, devfn, 0x4000, on);
}

/* Guest-physical address of the table (pba = false) or the PBA; 0 without MSI-X. */
static uint64_t msix_struct(tk_machine *m, uint8_t devfn, bool pba)
{
    uint8_t cap = tk_pci_find_capability(m, devfn, 0x11);
    if (!cap)
        return 0;
    uint32_t v = tk_config_read(m, devfn, cap + (pba ? 8u : 4u), 4);
    return tk_bar_address(m, devfn, v & 7) + (v & ~7u);
}

TK_API void tk_msix_set_vector(tk_machine *m, uint8_t devfn, uint32_t vector, uint64_t address,
                               uint32_t data, bool masked)
{
    uint64_t e = msix_struct(m, devfn, false) + 16ull * vector;
    tk_mmio_write(m, e, (uint32_t)address, 4);
    tk_mmio_write(m, e + 4, (uint32_t)(address >> 32), 4);
    tk_mmio_write(m, e + 8, data, 4);
    tk_mmio_write(m, e + 12, masked ? 1 : 0, 4);
}

TK_API void tk_msix_mask(tk_machine *m, uint8_t devfn, uint32_t vector, bool masked)
{
    uint64_t e = msix_struct(m, devfn, false) + 16ull * vector;
    uint32_t ctl = (uint32_t)tk_mmio_read(m, e + 12, 4);
    tk_mmio_write(m, e + 12, masked ? (ctl | 1) : (ctl & ~1u), 4);
}

TK_API bool tk_msix_pending(tk_machine *m, uint8_t devfn, uint32_t vector)
{
    uint64_t p = msix_struct(m, devfn, true) + 8ull * (vector / 64);
    return (tk_mmio_read(m, p, 8) >> (vector % 64)) & 1;
}

/* --- observations --- */

TK_API unsigned tk_msi_count(tk_machine *m) { return fake_msi_count(m->fake); }
TK_API bool tk_msi_pop(tk_machine *m, tk_msi *out) { return fake_msi_pop(m->fake, out); }
TK_API void tk_msi_clear(tk_machine *m) { fake_msi_clear(m->fake); }
TK_API int tk_irq_level(tk_machine *m, uint32_t gsi) { return fake_irq_level(m->fake, gsi); }
TK_API unsigned tk_ioeventfd_count(tk_machine *m) { return fake_ioeventfd_count(m->fake); }
TK_API unsigned tk_irqfd_count(tk_machine *m) { return fake_irqfd_count(m->fake); }
TK_API unsigned tk_ram_map_count(tk_machine *m) { return fake_slot_count(m->fake); }
TK_API bool tk_ram_mapped_at(tk_machine *m, uint64_t gpa, uint64_t size) { return fake_slot_at(m->fake, gpa, size); }
