/* SPDX-License-Identifier: MIT */
/*
 * hostile-pci: a guest that attacks the VMM's PCI emulation and then checks that the
 * machine still answers. For rounds= iterations (default 20000) it picks, with a
 * xorshift64 generator seeded by seed= (default 1, so a run can be repeated), one of:
 *   - a configuration-space write of a random width, offset and value to a random
 *     function on bus 0 (the host bridge included): BARs, the command register,
 *     capability registers, MSI-X control, anything;
 *   - a 32-bit MMIO write of a random value to a random offset of one of the memory BARs
 *     below 4 GiB as they were first assigned (MSI-X tables and PBAs included), or a
 *     read there;
 *   - a port write of a random value into one of the I/O BARs as first assigned.
 * Interrupts stay disabled throughout. Afterwards bus 0 must still enumerate with the host
 * bridge at 00:00.0 and every function's vendor ID intact.
 *
 * Command line keys: rounds=N, seed=N.
 */
#include "guest.h"

#define MAX_FUNCS 32
#define MAX_REGIONS 64

struct region {
    uint64_t base, size;
    bool io;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned collect_regions(const struct pci_dev *f, unsigned nf, struct region *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nf; i++) {
        if (f[i].header_type != 0)
            continue;
        for (unsigned b = 0; b < 6 && n < MAX_REGIONS; b++) {
            struct pci_bar bar;
            pci_bar_probe(&f[i], b, &bar);
            /* The runtime identity-maps only the low 4 GiB; BARs above it are attacked
             * through their config registers only. */
            if (bar.size && bar.base && bar.base + bar.size <= (1ull << 32))
                r[n++] = (struct region){ bar.base, bar.size, bar.io };
            if (bar.is64)
                b++;
        }
    }
    return n;
}

static void attack(const struct pci_dev *f, unsigned nf, const struct region *r, unsigned nr)
{
    uint64_t x = rng();
    unsigned what = (unsigned)(x % 8);
    uint32_t value = (uint32_t)(rng() >> 7);
    if (what < 4 || !nr) {
        const struct pci_dev *d = &f[(x >> 8) % nf];
        uint16_t off = (uint16_t)((x >> 16) % 256);
        switch ((x >> 32) % 3) {
        case 0: pci_write8(d, off, (uint8_t)value); break;
        case 1: pci_write16(d, off & ~1u, (uint16_t)value); break;
        default: pci_write32(d, off & ~3u, value); break;
        }
        return;
    }
    const struct region *g = &r[(x >> 8) % nr];
    uint64_t off = ((x >> 16) % g->size) & ~3ull;
    if (g->io)
        outl((uint16_t)(g->base + off), value);
    else if (what == 7)
        (void)mmio_read32(g->base + off);
    else
        mmio_write32(g->base + off, value);
}

int guest_main(const struct boot_info *bi)
{
    static struct pci_dev before[MAX_FUNCS], after[MAX_FUNCS];
    static struct region regions[MAX_REGIONS];
    uint64_t rounds = cmdline_get_u64(bi->cmdline, "rounds", 20000);
    rng_state = cmdline_get_u64(bi->cmdline, "seed", 1) | 1;

    tap_plan(3);
    unsigned nf = pci_scan_bus0(before, MAX_FUNCS);
    unsigned nr = collect_regions(before, nf, regions);
    tap_ok(nf >= 2, "bus 0 has %u functions with %u BAR regions to attack", nf, nr);

    __asm__ volatile("cli");
    for (uint64_t i = 0; i < rounds; i++)
        attack(before, nf, regions, nr);
    tap_diag("%lu random writes and reads done", (unsigned long)rounds);

    unsigned na = pci_scan_bus0(after, MAX_FUNCS);
    tap_ok(na == nf, "bus 0 still has %u functions (before: %u)", na, nf);
    bool same = na == nf;
    for (unsigned i = 0; same && i < na; i++)
        same = after[i].vendor == before[i].vendor && after[i].device == before[i].device &&
               after[i].dev == before[i].dev && after[i].fn == before[i].fn;
    tap_ok(same && na && after[0].vendor == 0x8086 && after[0].dev == 0,
           "every function kept its identity; the host bridge is at 00:00.0");
    return tap_result();
}
