/* SPDX-License-Identifier: MIT */
/* PCI configuration mechanism #1, enumeration of bus 0, BAR sizing, capability walks. */
#include "guest.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc

static void select_reg(const struct pci_dev *d, uint16_t off)
{
    outl(PCI_CONFIG_ADDRESS, 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 |
                                 (uint32_t)d->fn << 8 | (off & 0xfc));
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{
    select_reg(d, off);
    return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{
    select_reg(d, off);
    return inw(PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{
    select_reg(d, off);
    return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
    select_reg(d, off);
    outl(PCI_CONFIG_DATA, v);
}

void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
    select_reg(d, off);
    outw(PCI_CONFIG_DATA + (off & 2), v);
}

void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
    select_reg(d, off);
    outb(PCI_CONFIG_DATA + (off & 3), v);
}

/* Reads the identity of bus 0 dev.fn into *d; false when nothing answers there. */
static bool probe(uint8_t dev, uint8_t fn, struct pci_dev *d)
{
    *d = (struct pci_dev){ .bus = 0, .dev = dev, .fn = fn };
    uint32_t id = pci_read32(d, PCI_VENDOR_ID);
    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
        return false;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    d->class_code = pci_read32(d, PCI_CLASS_REVISION) >> 8;
    d->header_type = pci_read8(d, PCI_HEADER_TYPE);
    return true;
}

unsigned pci_scan_bus0(struct pci_dev *out, unsigned max)
{
    unsigned n = 0;
    struct pci_dev d;

    for (uint8_t dev = 0; dev < 32; dev++) {
        if (!probe(dev, 0, &d))
            continue;
        bool multi = d.header_type & 0x80;
        d.header_type &= 0x7f;
        if (n < max)
            out[n++] = d;
        for (uint8_t fn = 1; multi && fn < 8; fn++) {
            if (probe(dev, fn, &d) && n < max) {
                d.header_type &= 0x7f;
                out[n++] = d;
            }
        }
    }
    return n;
}

bool pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out)
{
    struct pci_dev all[64];
    unsigned n = pci_scan_bus0(all, 64);

    for (unsigned i = 0; i < n; i++) {
        if (all[i].vendor == vendor && all[i].device == device) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

void pci_command(const struct pci_dev *d, uint16_t set, uint16_t clear)
{
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, (uint16_t)((cmd & ~clear) | set));
}

void pci_bar_probe(const struct pci_dev *d, unsigned bar, struct pci_bar *out)
{
    uint16_t reg = PCI_BAR0 + 4 * bar;
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    uint32_t lo = pci_read32(d, reg), hi = 0, mask_lo, mask_hi = 0xffffffff;

    *out = (struct pci_bar){ 0 };
    out->io = lo & 1;
    out->is64 = !out->io && ((lo >> 1) & 3) == 2 && bar < 5;
    out->prefetch = !out->io && (lo & 8);
    /* Sizing with decode off, so the transient all-ones address decodes nothing. */
    pci_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    pci_write32(d, reg, 0xffffffff);
    mask_lo = pci_read32(d, reg);
    pci_write32(d, reg, lo);
    if (out->is64) {
        hi = pci_read32(d, reg + 4);
        pci_write32(d, reg + 4, 0xffffffff);
        mask_hi = pci_read32(d, reg + 4);
        pci_write32(d, reg + 4, hi);
    }
    pci_write16(d, PCI_COMMAND, cmd);

    if (out->io) {
        uint32_t m = mask_lo & ~3u;
        out->base = lo & ~3u;
        /* I/O BARs decode 16 bits: size from the low 16 bits of the mask */
        out->size = m ? (uint64_t)((~m & 0xffff) + 1) : 0;
    } else {
        uint64_t m = ((uint64_t)mask_hi << 32 | (mask_lo & ~0xfu));
        if (!out->is64)
            m |= 0xffffffff00000000ull;
        out->base = ((uint64_t)hi << 32) | (lo & ~0xfu);
        out->size = (mask_lo & ~0xfu) ? ~m + 1 : 0;
    }
}

void pci_bar_set(const struct pci_dev *d, unsigned bar, uint64_t addr)
{
    uint16_t reg = PCI_BAR0 + 4 * bar;
    uint32_t lo = pci_read32(d, reg);
    bool io = lo & 1, is64 = !io && ((lo >> 1) & 3) == 2;

    pci_write32(d, reg, (uint32_t)addr | (lo & (io ? 3u : 0xfu)));
    if (is64)
        pci_write32(d, reg + 4, (uint32_t)(addr >> 32));
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id)
{
    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    uint8_t pos = pci_read8(d, PCI_CAP_PTR) & 0xfc;
    for (unsigned hops = 0; pos >= 0x40 && hops < 48; hops++) {
        uint16_t hdr = pci_read16(d, pos);
        if ((hdr & 0xff) == id)
            return pos;
        pos = (hdr >> 8) & 0xfc;
    }
    return 0;
}
