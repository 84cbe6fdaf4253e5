/* SPDX-License-Identifier: MIT */
/*
 * BARs: registers and sizing masks, placement by the VMM, and mapping whatever the
 * guest programmed (trapped BARs on the I/O buses, RAM BARs as memory slots, the
 * ioeventfds that live on BARs), following decode toggles and moves.
 *
 * A BAR is mapped when its decode bit is on and its address is usable: not zero, not
 * wrapping, below PCI_MMIO64_END (ports: below 0x10000), not over guest RAM, not over
 * the chipset's top of the hole (IOAPIC, local APIC, KVM's TSS pages) and not over
 * anything already mapped. Anything else leaves it unmapped, silently: the guest
 * can only hurt itself. After every change all BARs are re-evaluated, so a BAR that
 * collided becomes live as soon as the other one moves away.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pci/pci_internal.h"
#include "util/error.h"

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

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* The address the guest programmed into BAR index (type bits stripped). */
static uint64_t bar_programmed(pci_function *fn, const pci_bar *bar)
{
    uint32_t lo = pci_get_le(fn->cfg + PCI_BAR0 + 4 * bar->index, 4);
    if (bar->type == TS_PCI_BAR_IO)
        return lo & ~3u;
    uint64_t a = lo & ~0xfu;
    if (bar->type == TS_PCI_BAR_MEM64)
        a |= (uint64_t)pci_get_le(fn->cfg + PCI_BAR0 + 4 * (bar->index + 1), 4) << 32;
    return a;
}

static bool overlaps_ram(const guest_memory *gm, uint64_t a, uint64_t size)
{
    for (unsigned i = 0; i < gm->nr_banks; i++)
        if (a < gm->banks[i].gpa + gm->banks[i].size && gm->banks[i].gpa < a + size)
            return true;
    return false;
}

/* Where the BAR should be mapped now; false when it should not be. */
static bool bar_wanted(pci_function *fn, const pci_bar *bar, uint64_t *addr)
{
    if (!fn->live || !bar->present || bar->type > TS_PCI_BAR_MEM64)
        return false;
    uint16_t cmd = (uint16_t)pci_get_le(fn->cfg + PCI_COMMAND, 2);
    uint64_t a = bar_programmed(fn, bar);
    if (a == 0 || a + bar->size < a)
        return false;
    if (bar->type == TS_PCI_BAR_IO) {
        if (!(cmd & TS_PCI_COMMAND_IO) || a + bar->size > PCI_IO_END)
            return false;
    } else {
        if (!(cmd & TS_PCI_COMMAND_MEMORY) || a + bar->size > PCI_MMIO64_END ||
            overlaps_ram(fn->host->plat.ram, a, bar->size) ||
            (a < PCI_CHIPSET_END && PCI_CHIPSET_START < a + bar->size))
            return false;
    }
    *addr = a;
    return true;
}

/* --- guest accesses --- */

bool pci_bar_soft_ioeventfd(pci_bar *bar, uint64_t off, uint64_t val, unsigned len)
{
    pci_function *fn = bar->fn;
    bool hit = false;
    pci_lock(fn->host);
    for (guint i = 0; i < fn->bar_ioeventfds->len && !hit; i++) {
        ts_ioeventfd *e = fn->bar_ioeventfds->pdata[i];
        if (e->bar != bar->index || e->installed || e->addr != off || e->len != len)
            continue;
        if (e->has_datamatch && e->datamatch != val)
            continue;
        uint64_t one = 1;
        ssize_t w = write(e->fd, &one, sizeof(one));
        (void)w; /* EAGAIN means the counter is saturated: the event is already pending */
        hit = true;
    }
    pci_unlock(fn->host);
    return hit;
}

static void bar_trapped_io(void *opaque, uint64_t off, uint8_t *data, unsigned len, bool is_write)
{
    pci_bar *bar = opaque;
    pci_function *fn = bar->fn;
    if (fn->msix && pci_msix_claims(fn, bar->index, off, len)) {
        pci_msix_bar_access(fn, bar->index, off, data, len, is_write);
        return;
    }
    if (is_write) {
        uint64_t v = le_get(data, len);
        if (fn->bar_ioeventfds->len && pci_bar_soft_ioeventfd(bar, off, v, len))
            return;
        if (bar->ops && bar->ops->write)
            bar->ops->write(bar->opaque, off, v, len);
        return;
    }
    uint64_t v = bar->ops && bar->ops->read ? bar->ops->read(bar->opaque, off, len) : 0;
    le_put(data, len, v);
}

/* RAM BARs are memory slots; this only runs when the platform could not map one. */
static void bar_ram_io(void *opaque, uint64_t off, uint8_t *data, unsigned len, bool is_write)
{
    pci_bar *bar = opaque;
    uint8_t *p = (uint8_t *)bar->ram.host + off;
    if (!is_write)
        memcpy(data, p, len);
    else if (!(bar->ram.flags & TS_MEM_READONLY))
        memcpy(p, data, len);
}

/* --- ioeventfds on BARs --- */

void pci_ioeventfd_install(ts_ioeventfd *e)
{
    pci_function *fn = e->fn;
    if (!fn || e->installed)
        return;
    pci_bar *bar = &fn->bars[e->bar];
    const pci_platform *p = &fn->host->plat;
    if (!bar->mapped || !p->ops->ioeventfd_add)
        return;
    bool pio = bar->type == TS_PCI_BAR_IO;
    uint64_t a = bar->addr + e->addr;
    if (p->ops->ioeventfd_add(p->opaque, pio, a, e->len, e->has_datamatch, e->datamatch, e->fd) == 0) {
        e->installed = true;
        e->inst_pio = pio;
        e->inst_addr = a;
    }
}

void pci_ioeventfd_uninstall(ts_ioeventfd *e)
{
    if (!e->fn || !e->installed)
        return;
    const pci_platform *p = &e->fn->host->plat;
    p->ops->ioeventfd_remove(p->opaque, e->inst_pio, e->inst_addr, e->len, e->has_datamatch,
                             e->datamatch, e->fd);
    e->installed = false;
}

/* --- mapping --- */

static void bar_unmap(pci_bar *bar)
{
    pci_function *fn = bar->fn;
    const pci_platform *p = &fn->host->plat;
    if (!bar->mapped)
        return;
    for (guint i = 0; i < fn->bar_ioeventfds->len; i++) {
        ts_ioeventfd *e = fn->bar_ioeventfds->pdata[i];
        if (e->bar == bar->index)
            pci_ioeventfd_uninstall(e);
    }
    if (bar->slot_valid)
        p->ops->unmap_ram(p->opaque, bar->slot);
    bar->slot_valid = false;
    io_bus_unregister(bar->type == TS_PCI_BAR_IO ? p->pio : p->mmio, bar->addr);
    bar->mapped = false;
}

static void bar_map(pci_bar *bar, uint64_t a)
{
    pci_function *fn = bar->fn;
    const pci_platform *p = &fn->host->plat;
    io_bus *bus = bar->type == TS_PCI_BAR_IO ? p->pio : p->mmio;
    GError *err = NULL;
    if (io_bus_register(bus, a, bar->size, bar->is_ram ? bar_ram_io : bar_trapped_io, bar,
                        bar->owner, &err) < 0) {
        /* Collides with another region: the guest's problem; try again after the next change. */
        g_clear_error(&err);
        return;
    }
    bar->mapped = true;
    bar->addr = a;
    if (bar->is_ram) {
        uint32_t slot;
        int r = p->ops->map_ram(p->opaque, a, bar->size, bar->ram.host, bar->ram.fd,
                                bar->ram.fd_offset, (bar->ram.flags & TS_MEM_READONLY) != 0, &slot);
        if (r == 0) {
            bar->slot_valid = true;
            bar->slot = slot;
        } else if (!bar->map_warned) {
            /* Served by bar_ram_io instead: slow but correct. Said once, a guest may retry forever. */
            bar->map_warned = true;
            fprintf(stderr, "tessera: warning: %s: cannot map RAM BAR%u at 0x%" PRIx64 " (%s); guest "
                    "accesses to it will be slow\n", fn->name, bar->index, a, g_strerror(-r));
        }
    }
    for (guint i = 0; i < fn->bar_ioeventfds->len; i++) {
        ts_ioeventfd *e = fn->bar_ioeventfds->pdata[i];
        if (e->bar == bar->index)
            pci_ioeventfd_install(e);
    }
}

void pci_host_update_mappings(pci_host *h)
{
    pci_lock(h);
    for (unsigned d = 0; d < 256; d++) {
        pci_function *fn = h->fns[d];
        if (!fn)
            continue;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            pci_bar *bar = &fn->bars[i];
            uint64_t a;
            bool want = bar_wanted(fn, bar, &a);
            if (bar->mapped && (!want || a != bar->addr))
                bar_unmap(bar);
        }
    }
    for (unsigned d = 0; d < 256; d++) {
        pci_function *fn = h->fns[d];
        if (!fn)
            continue;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            pci_bar *bar = &fn->bars[i];
            uint64_t a;
            if (!bar->mapped && bar_wanted(fn, bar, &a))
                bar_map(bar, a);
        }
    }
    pci_unlock(h);
}

void pci_function_unmap_all(pci_function *fn)
{
    pci_lock(fn->host);
    for (unsigned i = 0; i < PCI_NUM_BARS; i++)
        bar_unmap(&fn->bars[i]);
    pci_unlock(fn->host);
}

uint64_t pci_bar_current(pci_function *fn, unsigned index)
{
    if (index >= PCI_NUM_BARS)
        return TS_PCI_BAR_UNMAPPED;
    pci_lock(fn->host);
    pci_bar *bar = &fn->bars[index];
    uint64_t a = bar->mapped ? bar->addr : TS_PCI_BAR_UNMAPPED;
    pci_unlock(fn->host);
    return a;
}

/* --- adding --- */

static int bar_fail(GError **err, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int bar_fail(GError **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(err, TS_ERROR, code == -EINVAL ? TS_ERROR_INVALID : TS_ERROR_FAILED, msg);
    return code;
}

int pci_bar_add(pci_function *fn, const ts_pci_bar_desc *d, GError **err)
{
    pci_host *h = fn->host;
    unsigned idx = d->index;
    uint64_t size = d->bar_size;
    if (idx >= PCI_NUM_BARS || (d->type == TS_PCI_BAR_MEM64 && idx + 1 >= PCI_NUM_BARS))
        return bar_fail(err, -EINVAL, "BAR%u: no such BAR index (0..5, 0..4 for 64-bit BARs)", idx);
    if (d->type > TS_PCI_BAR_MEM64)
        return bar_fail(err, -EINVAL, "BAR%u: unknown BAR type %u", idx, d->type);
    if (d->ops && d->ram)
        return bar_fail(err, -EINVAL, "BAR%u: a BAR is either trapped (ops) or RAM-backed, not both", idx);
    if (d->ram) {
        if (d->type == TS_PCI_BAR_IO)
            return bar_fail(err, -EINVAL, "BAR%u: an I/O BAR cannot be RAM-backed", idx);
        if (!d->ram->host || !d->ram->size)
            return bar_fail(err, -EINVAL, "BAR%u: RAM-backed BAR without memory", idx);
        if (!size)
            size = d->ram->size;
        if (size != d->ram->size)
            return bar_fail(err, -EINVAL, "BAR%u: size %" PRIu64 " differs from its memory's size %" PRIu64,
                            idx, size, d->ram->size);
        if (((uintptr_t)d->ram->host & 4095) || size < 4096)
            return bar_fail(err, -EINVAL, "BAR%u: RAM-backed BARs need page-aligned memory of at least 4 KiB",
                            idx);
    }
    if (!is_pow2(size))
        return bar_fail(err, -EINVAL, "BAR%u: size %" PRIu64 " is not a power of two", idx, size);
    if (d->type == TS_PCI_BAR_IO && (size < 4 || size > 256))
        return bar_fail(err, -EINVAL, "BAR%u: I/O BAR size %" PRIu64 " is out of range (4..256)", idx, size);
    if (d->type != TS_PCI_BAR_IO && size < 16)
        return bar_fail(err, -EINVAL, "BAR%u: memory BAR size %" PRIu64 " is below 16", idx, size);
    if (d->type == TS_PCI_BAR_MEM32 && size > (PCI_MMIO32_END - PCI_MMIO32_BASE))
        return bar_fail(err, -ENOSPC, "BAR%u: %" PRIu64 " bytes do not fit below 4 GiB; make it a 64-bit "
                        "prefetchable BAR", idx, size);

    pci_lock(h);
    int r = 0;
    if (fn->bars[idx].present || (d->type == TS_PCI_BAR_MEM64 && fn->bars[idx + 1].present)) {
        r = bar_fail(err, -EEXIST, "BAR%u is already in use", idx);
        goto out;
    }
    bool prefetch = d->type != TS_PCI_BAR_IO && (d->flags & TS_PCI_BAR_PREFETCHABLE);
    uint64_t align = d->type == TS_PCI_BAR_IO ? size : MAX(size, 4096);
    uint64_t a;
    if (d->type == TS_PCI_BAR_IO) {
        a = align_up(h->next_io, align);
        if (a + size > PCI_IO_END) {
            r = bar_fail(err, -ENOSPC, "BAR%u: no I/O space left for %" PRIu64 " bytes", idx, size);
            goto out;
        }
        h->next_io = a + size;
    } else if (d->type == TS_PCI_BAR_MEM64 && prefetch) {
        a = align_up(h->next_mmio64, align);
        if (a + size > PCI_MMIO64_END || a + size < a) {
            r = bar_fail(err, -ENOSPC, "BAR%u: no room above RAM for %" PRIu64 " bytes", idx, size);
            goto out;
        }
        h->next_mmio64 = a + size;
    } else {
        a = align_up(h->next_mmio32, align);
        if (a + size > PCI_MMIO32_END) {
            r = bar_fail(err, -ENOSPC, "BAR%u: no room left in the 32-bit PCI hole for %" PRIu64 " bytes",
                         idx, size);
            goto out;
        }
        h->next_mmio32 = a + size;
    }

    pci_bar *bar = &fn->bars[idx];
    bar->present = true;
    bar->type = d->type;
    bar->flags = prefetch ? TS_PCI_BAR_PREFETCHABLE : 0;
    bar->size = size;
    bar->ops = d->ops;
    bar->opaque = d->opaque;
    bar->is_ram = d->ram != NULL;
    if (d->ram)
        bar->ram = *d->ram;
    bar->placed = a;
    g_snprintf(bar->owner, sizeof(bar->owner), "%s BAR%u", fn->name, idx);

    uint8_t *c = fn->cfg + PCI_BAR0 + 4 * idx;
    uint8_t *m = fn->wmask + PCI_BAR0 + 4 * idx;
    uint64_t mask = ~(size - 1);
    if (d->type == TS_PCI_BAR_IO) {
        pci_put_le(c, 4, (uint32_t)a | 1u);
        pci_put_le(m, 4, (uint32_t)mask & ~3u);
    } else {
        uint32_t bits = (d->type == TS_PCI_BAR_MEM64 ? 0x4u : 0) | (prefetch ? 0x8u : 0);
        pci_put_le(c, 4, ((uint32_t)a & ~0xfu) | bits);
        pci_put_le(m, 4, (uint32_t)mask & ~0xfu);
        if (d->type == TS_PCI_BAR_MEM64) {
            pci_put_le(c + 4, 4, (uint32_t)(a >> 32));
            pci_put_le(m + 4, 4, (uint32_t)(mask >> 32));
            fn->bars[idx + 1].present = true;
            fn->bars[idx + 1].type = UINT32_MAX; /* upper half of idx */
        }
    }
    if (fn->live)
        pci_host_update_mappings(h);
out:
    pci_unlock(h);
    return r;
}
