/* SPDX-License-Identifier: MIT */
/* MSI-X: finding the table and PBA, routing entries to a local APIC vector, masking. */
#include "guest.h"

#define MSIX_CONTROL 2
#define MSIX_TABLE 4
#define MSIX_PBA 8
#define MSIX_CONTROL_ENABLE 0x8000
#define MSIX_CONTROL_FUNCTION_MASK 0x4000
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CONTROL 12
#define MSIX_ENTRY_MASKED 1
#define MSI_ADDRESS_BASE 0xfee00000u

/* Guest-physical address of the structure a table/PBA offset register points at. */
static int locate(const struct pci_dev *d, uint32_t reg, const char *what, uint64_t *out)
{
    struct pci_bar bar;
    unsigned bir = reg & 7;
    uint32_t off = reg & ~7u;

    if (bir > 5) {
        tap_diag("MSI-X %s: BAR indicator %u is invalid", what, bir);
        return -1;
    }
    pci_bar_probe(d, bir, &bar);
    if (bar.io || bar.size == 0 || bar.base == 0 || off >= bar.size ||
        bar.base + bar.size > 0x100000000ull) {
        tap_diag("MSI-X %s: BAR%u (base %#lx size %#lx) is not a usable memory BAR below 4 GiB",
                 what, bir, bar.base, bar.size);
        return -1;
    }
    *out = bar.base + off;
    return 0;
}

int msix_init(const struct pci_dev *d, struct msix *m)
{
    *m = (struct msix){ .dev = *d };
    m->cap = pci_find_cap(d, PCI_CAP_ID_MSIX);
    if (!m->cap) {
        tap_diag("%02x:%02x.%x has no MSI-X capability", d->bus, d->dev, d->fn);
        return -1;
    }
    m->table_size = (pci_read16(d, m->cap + MSIX_CONTROL) & 0x7ff) + 1;
    if (locate(d, pci_read32(d, m->cap + MSIX_TABLE), "table", &m->table) < 0 ||
        locate(d, pci_read32(d, m->cap + MSIX_PBA), "PBA", &m->pba) < 0)
        return -1;
    pci_command(d, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0);
    return 0;
}

void msix_enable(const struct msix *m, bool enable, bool function_mask)
{
    uint16_t ctl = pci_read16(&m->dev, m->cap + MSIX_CONTROL);
    ctl &= (uint16_t)~(MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
    if (enable)
        ctl |= MSIX_CONTROL_ENABLE;
    if (function_mask)
        ctl |= MSIX_CONTROL_FUNCTION_MASK;
    pci_write16(&m->dev, m->cap + MSIX_CONTROL, ctl);
}

void msix_route(const struct msix *m, unsigned entry, uint8_t vector, uint32_t apic_id)
{
    uint64_t e = m->table + (uint64_t)entry * MSIX_ENTRY_SIZE;
    mmio_write32(e + MSIX_ENTRY_CONTROL, MSIX_ENTRY_MASKED); /* never half-programmed */
    mmio_write32(e + MSIX_ENTRY_ADDR_LO, MSI_ADDRESS_BASE | (apic_id & 0xff) << 12);
    mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
    mmio_write32(e + MSIX_ENTRY_DATA, vector); /* fixed delivery, edge */
    mmio_write32(e + MSIX_ENTRY_CONTROL, 0);
}

void msix_mask(const struct msix *m, unsigned entry, bool masked)
{
    mmio_write32(m->table + (uint64_t)entry * MSIX_ENTRY_SIZE + MSIX_ENTRY_CONTROL,
                 masked ? MSIX_ENTRY_MASKED : 0);
}

bool msix_pending(const struct msix *m, unsigned entry)
{
    return (mmio_read32(m->pba + (entry / 32) * 4) >> (entry % 32)) & 1;
}
