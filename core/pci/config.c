/* SPDX-License-Identifier: MIT */
/*
 * One PCI function's 256-byte configuration space: read-only, writable and
 * write-1-to-clear bits, the capability list, and the effects of writes (decode
 * toggles and BAR moves go to bar.c, MSI-X enable and masks to msix.c).
 */
#include <errno.h>
#include <string.h>

#include "pci/pci_internal.h"
#include "util/error.h"

pci_function *pci_function_new(pci_host *h, uint8_t devfn, ts_object *obj, const char *name)
{
    pci_function *fn = g_new0(pci_function, 1);
    fn->host = h;
    fn->devfn = devfn;
    fn->obj = obj;
    char b[8];
    fn->name = g_strdup_printf("%s at %s", name, pci_format_devfn(devfn, b));
    fn->next_cap = PCI_CAP_START;
    fn->bar_ioeventfds = g_ptr_array_new();
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        fn->bars[i].fn = fn;
        fn->bars[i].index = i;
    }
    /* The whole standard header is the host's. */
    memset(fn->managed, 1, PCI_CAP_START);
    fn->managed[PCI_INTERRUPT_LINE] = 0;
    pci_put_le(fn->wmask + PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
    pci_put_le(fn->w1cmask + PCI_STATUS, 2, PCI_STATUS_W1C);
    fn->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    fn->wmask[PCI_LATENCY_TIMER] = 0xff;
    fn->wmask[PCI_INTERRUPT_LINE] = 0xff;
    pci_lock(h);
    h->fns[devfn] = fn;
    pci_unlock(h);
    return fn;
}

void pci_function_set_identity(pci_function *fn, const ts_pci_identity *id)
{
    uint8_t *c = fn->cfg;
    pci_put_le(c + PCI_VENDOR_ID, 2, id->vendor_id);
    pci_put_le(c + PCI_DEVICE_ID, 2, id->device_id);
    c[PCI_REVISION_ID] = id->revision;
    pci_put_le(c + PCI_CLASS_PROG, 3, id->class_code & 0xffffff);
    bool default_sub = id->subsystem_vendor_id == 0 && id->subsystem_id == 0;
    pci_put_le(c + PCI_SUBSYSTEM_VENDOR_ID, 2, default_sub ? 0x1af4 : id->subsystem_vendor_id);
    pci_put_le(c + PCI_SUBSYSTEM_ID, 2, default_sub ? 0x1100 : id->subsystem_id);
    c[PCI_INTERRUPT_PIN] = id->interrupt_pin <= 4 ? id->interrupt_pin : 0;
    if (c[PCI_INTERRUPT_PIN]) {
        unsigned slot = fn->devfn >> 3;
        c[PCI_INTERRUPT_LINE] = (uint8_t)(PCI_INTX_GSI_BASE + ((slot + c[PCI_INTERRUPT_PIN] - 1) & 3));
    }
    pci_put_le(c + PCI_COMMAND, 2, id->command & (TS_PCI_COMMAND_IO | TS_PCI_COMMAND_MEMORY |
                                                  TS_PCI_COMMAND_MASTER));
}

void pci_function_go_live(pci_function *fn)
{
    pci_lock(fn->host);
    memcpy(fn->reset_cfg, fn->cfg, PCI_CFG_SIZE);
    fn->live = true;
    pci_host_update_mappings(fn->host);
    pci_unlock(fn->host);
}

void pci_function_free(pci_function *fn)
{
    pci_host *h = fn->host;
    pci_lock(h);
    fn->live = false;
    if (h->fns[fn->devfn] == fn)
        h->fns[fn->devfn] = NULL;
    pci_msix_free(fn);
    pci_function_unmap_all(fn);
    if (fn->intx_level && fn->cfg[PCI_INTERRUPT_PIN] && h->plat.ops->set_irq_line)
        h->plat.ops->set_irq_line(h->plat.opaque, fn->cfg[PCI_INTERRUPT_LINE], 0);
    /* ioeventfds on the BARs belong to the device context, which frees them; forget them here. */
    for (guint i = 0; i < fn->bar_ioeventfds->len; i++) {
        ts_ioeventfd *e = fn->bar_ioeventfds->pdata[i];
        e->fn = NULL;
    }
    g_ptr_array_free(fn->bar_ioeventfds, TRUE);
    pci_unlock(h);
    g_free(fn->name);
    g_free(fn);
}

/* Is another function present in fn's slot? Then function 0 reports multi-function. */
static bool slot_is_multifunction(pci_function *fn)
{
    uint8_t base = fn->devfn & ~7u;
    for (unsigned f = 1; f < PCI_FUNCS; f++)
        if (fn->host->fns[base + f] && fn->host->fns[base + f]->live)
            return true;
    return false;
}

uint32_t pci_function_config_read(pci_function *fn, uint32_t off, unsigned size)
{
    uint8_t bytes[4];
    memcpy(bytes, fn->cfg + off, size);
    if (off <= PCI_HEADER_TYPE && off + size > PCI_HEADER_TYPE && (fn->devfn & 7) == 0 &&
        slot_is_multifunction(fn))
        bytes[PCI_HEADER_TYPE - off] |= 0x80;
    uint32_t v = pci_get_le(bytes, size);
    if (fn->cfg_ops && fn->cfg_ops->read)
        v = fn->cfg_ops->read(fn->cfg_opaque, off, size, v);
    return v;
}

static bool overlaps(uint32_t off, unsigned size, uint32_t start, uint32_t len)
{
    return off < start + len && start < off + size;
}

void pci_function_update_intx(pci_function *fn)
{
    pci_host *h = fn->host;
    uint8_t pin = fn->cfg[PCI_INTERRUPT_PIN];
    if (!pin)
        return;
    uint16_t cmd = (uint16_t)pci_get_le(fn->cfg + PCI_COMMAND, 2);
    uint16_t status = (uint16_t)pci_get_le(fn->cfg + PCI_STATUS, 2);
    status = fn->intx_level ? (status | PCI_STATUS_INTERRUPT) : (status & ~PCI_STATUS_INTERRUPT);
    pci_put_le(fn->cfg + PCI_STATUS, 2, status);
    int level = fn->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE);
    if (h->plat.ops->set_irq_line)
        h->plat.ops->set_irq_line(h->plat.opaque,
                                  PCI_INTX_GSI_BASE + (((fn->devfn >> 3) + pin - 1) & 3), level);
}

void pci_function_config_write(pci_function *fn, uint32_t off, unsigned size, uint32_t val)
{
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i));
        uint8_t *c = &fn->cfg[off + i];
        *c = (uint8_t)((*c & ~fn->wmask[off + i]) | (b & fn->wmask[off + i]));
        *c &= (uint8_t)~(b & fn->w1cmask[off + i]);
    }
    if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BAR0, 24))
        pci_host_update_mappings(fn->host);
    if (overlaps(off, size, PCI_COMMAND, 2))
        pci_function_update_intx(fn);
    if (fn->msix && overlaps(off, size, fn->msix->cap, 12))
        pci_msix_config_changed(fn);
    if (fn->cfg_ops && fn->cfg_ops->write)
        fn->cfg_ops->write(fn->cfg_opaque, off, size, val);
}

void pci_function_reset(pci_function *fn)
{
    memcpy(fn->cfg, fn->reset_cfg, PCI_CFG_SIZE);
    fn->intx_level = 0;
    pci_function_update_intx(fn);
    if (fn->msix)
        pci_msix_reset(fn);
}

int pci_function_add_capability(pci_function *fn, uint8_t id, const void *data, uint8_t len,
                                const void *wmask, bool managed, GError **err)
{
    if (len < 2) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "capability 0x%02x: length %u is below 2", id, len);
        return -EINVAL;
    }
    uint32_t at = fn->next_cap;
    if (at + len > PCI_CFG_SIZE) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                    "capability 0x%02x (%u bytes) does not fit in config space", id, len);
        return -ENOSPC;
    }
    pci_lock(fn->host);
    memcpy(fn->cfg + at, data, len);
    if (wmask)
        memcpy(fn->wmask + at, wmask, len);
    fn->cfg[at] = id;
    fn->cfg[at + 1] = 0;
    fn->wmask[at] = fn->wmask[at + 1] = 0;
    if (managed)
        memset(fn->managed + at, 1, len);
    else
        fn->managed[at] = fn->managed[at + 1] = 1;
    if (fn->last_cap)
        fn->cfg[fn->last_cap + 1] = (uint8_t)at;
    else
        fn->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
    fn->last_cap = (uint8_t)at;
    fn->next_cap = (at + len + 3) & ~3u;
    pci_put_le(fn->cfg + PCI_STATUS, 2, pci_get_le(fn->cfg + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    pci_unlock(fn->host);
    return (int)at;
}
