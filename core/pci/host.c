/* SPDX-License-Identifier: MIT */
/*
 * The host bridge: bus 0, configuration mechanism #1 at 0xcf8/0xcfc, the ECAM window,
 * slot reservations for addr=SLOT[.FN], and the bridge's own config space (slot 0).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci_internal.h"
#include "util/error.h"

/* 0xcf8: bit 31 enable, bits 23..16 bus, 15..11 device, 10..8 function, 7..2 register. */
#define CF8_ENABLE 0x80000000u

static uint32_t config_read_locked(pci_host *h, uint8_t devfn, uint32_t off, unsigned size)
{
    pci_function *fn = h->fns[devfn];
    if (!fn || !fn->live)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return pci_function_config_read(fn, off, size);
}

uint32_t pci_host_config_read(pci_host *h, uint8_t devfn, uint32_t off, unsigned size)
{
    uint32_t all = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)))
        return all;
    if (off >= PCI_CFG_SIZE) {
        /* Extended config space (ECAM only) is not implemented: reads as zero on functions that exist. */
        pci_lock(h);
        bool present = h->fns[devfn] && h->fns[devfn]->live;
        pci_unlock(h);
        return present ? 0 : all;
    }
    pci_lock(h);
    uint32_t v = config_read_locked(h, devfn, off, size);
    pci_unlock(h);
    return v;
}

void pci_host_config_write(pci_host *h, uint8_t devfn, uint32_t off, unsigned size, uint32_t value)
{
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)) || off >= PCI_CFG_SIZE)
        return;
    pci_lock(h);
    pci_function *fn = h->fns[devfn];
    if (fn && fn->live)
        pci_function_config_write(fn, off, size, value);
    pci_unlock(h);
}

/* 0xcf8 (4 bytes: the address latch) and 0xcfc..0xcff (data, any size within the dword). */
static void conf1_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    pci_host *h = opaque;
    if (offset < 4) {
        /* Only dword accesses hit the latch; a byte at 0xcf9 is the reset control register. */
        if (offset != 0 || len != 4) {
            if (offset == 1 && len == 1) {
                if (is_write && h->plat.ops->reset_control_write)
                    h->plat.ops->reset_control_write(h->plat.opaque, data[0]);
                else if (!is_write)
                    data[0] = 0;
                return;
            }
            if (!is_write)
                memset(data, 0xff, len);
            return;
        }
        pci_lock(h);
        if (is_write)
            h->config_address = pci_get_le(data, 4) & 0x80fffffcu;
        else
            pci_put_le(data, 4, h->config_address);
        pci_unlock(h);
        return;
    }
    unsigned byte = (unsigned)offset - 4;
    pci_lock(h);
    uint32_t addr = h->config_address;
    pci_unlock(h);
    bool valid = (addr & CF8_ENABLE) && ((addr >> 16) & 0xff) == 0 && byte + len <= 4 &&
                 len != 8 && (byte & (len - 1)) == 0;
    uint8_t devfn = (uint8_t)(addr >> 8);
    uint32_t reg = (addr & 0xfc) + byte;
    if (is_write) {
        if (valid)
            pci_host_config_write(h, devfn, reg, len, pci_get_le(data, len));
        return;
    }
    if (!valid) {
        memset(data, 0xff, len);
        return;
    }
    pci_put_le(data, len, pci_host_config_read(h, devfn, reg, len));
}

/* ECAM: offset = bus << 20 | devfn << 12 | register; the window covers bus 0 only. */
static void ecam_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    pci_host *h = opaque;
    uint8_t devfn = (uint8_t)(offset >> 12);
    uint32_t reg = offset & 0xfff;
    if (len == 8 || (reg & (len - 1))) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    if (is_write)
        pci_host_config_write(h, devfn, reg, len, pci_get_le(data, len));
    else
        pci_put_le(data, len, pci_host_config_read(h, devfn, reg, len));
}

int pci_host_new(const pci_platform *plat, pci_host **out, GError **err)
{
    if (!plat || !plat->ops || !plat->ops->msi_inject || !plat->ops->map_ram || !plat->pio ||
        !plat->mmio || !plat->ram) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "PCI: incomplete platform description");
        return -EINVAL;
    }
    pci_host *h = g_new0(pci_host, 1);
    h->plat = *plat;
    g_rec_mutex_init(&h->lock);
    h->next_io = PCI_IO_BASE;
    h->next_mmio32 = PCI_MMIO32_BASE;
    uint64_t top = GUEST_HIGH_RAM_START;
    for (unsigned i = 0; i < plat->ram->nr_banks; i++) {
        uint64_t end = plat->ram->banks[i].gpa + plat->ram->banks[i].size;
        if (end > top)
            top = end;
    }
    h->mmio64_base = (top + PCI_MMIO64_ALIGN - 1) & ~(PCI_MMIO64_ALIGN - 1);
    h->next_mmio64 = h->mmio64_base;

    int r = io_bus_register(plat->pio, PCI_CONFIG_ADDRESS_PORT, 8, conf1_io, h, "pci conf1", err);
    if (r < 0)
        goto fail;
    r = io_bus_register(plat->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, ecam_io, h, "pci ecam", err);
    if (r < 0) {
        io_bus_unregister(plat->pio, PCI_CONFIG_ADDRESS_PORT);
        goto fail;
    }

    /* The host bridge, slot 0: an Intel 440FX, as QEMU's -machine pc shows it. */
    pci_function *br = pci_function_new(h, 0, NULL, "host bridge");
    ts_pci_identity id = {
        .size = sizeof(id), .vendor_id = PCI_HOST_VENDOR_ID, .device_id = PCI_HOST_DEVICE_ID,
        .class_code = 0x060000, .revision = 0x02,
    };
    pci_function_set_identity(br, &id);
    pci_function_go_live(br);
    *out = h;
    return 0;
fail:
    g_rec_mutex_clear(&h->lock);
    g_free(h);
    return r;
}

void pci_host_free(pci_host *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < 256; i++) {
        if (h->fns[i])
            pci_function_free(h->fns[i]);
        g_free(h->reserved[i]);
    }
    io_bus_unregister(h->plat.pio, PCI_CONFIG_ADDRESS_PORT);
    io_bus_unregister(h->plat.mmio, PCI_ECAM_BASE);
    g_rec_mutex_clear(&h->lock);
    g_free(h);
}

void pci_host_reset(pci_host *h)
{
    pci_lock(h);
    h->config_address = 0;
    for (unsigned i = 0; i < 256; i++)
        if (h->fns[i] && h->fns[i]->live)
            pci_function_reset(h->fns[i]);
    pci_host_update_mappings(h);
    pci_unlock(h);
}

const pci_platform *pci_host_platform(pci_host *h)
{
    return &h->plat;
}

pci_function *pci_host_function(pci_host *h, uint8_t devfn)
{
    pci_lock(h);
    pci_function *fn = h->fns[devfn];
    pci_unlock(h);
    return fn;
}

/* QEMU reads both parts as hex ("10" is slot 0x10); an optional 0x prefix is accepted too. */
static bool parse_hex(const char *s, size_t n, unsigned max, unsigned *out)
{
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
    }
    if (n == 0 || n > 4)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isxdigit(s[i]))
            return false;
        v = v * 16 + (unsigned)g_ascii_xdigit_value(s[i]);
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

int pci_parse_addr(const char *text, uint8_t *devfn, GError **err)
{
    const char *dot = text ? strchr(text, '.') : NULL;
    unsigned slot = 0, fn = 0;
    size_t slot_len = dot ? (size_t)(dot - text) : (text ? strlen(text) : 0);
    if (!text || !parse_hex(text, slot_len, PCI_SLOTS - 1, &slot) ||
        (dot && !parse_hex(dot + 1, strlen(dot + 1), PCI_FUNCS - 1, &fn))) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "invalid PCI address '%s' (expected SLOT[.FN], hex, slot 0..1f, function 0..7)",
                    text ? text : "");
        return -EINVAL;
    }
    *devfn = PCI_DEVFN(slot, fn);
    return 0;
}

const char *pci_format_devfn(uint8_t devfn, char buf[8])
{
    g_snprintf(buf, 8, "%02x.%u", devfn >> 3, devfn & 7);
    return buf;
}

int pci_host_reserve(pci_host *h, bool any, uint8_t *devfn, const char *owner, GError **err)
{
    pci_lock(h);
    int r = 0;
    if (any) {
        unsigned slot;
        for (slot = 1; slot < PCI_SLOTS; slot++) {
            bool used = false;
            for (unsigned f = 0; f < PCI_FUNCS; f++)
                if (h->fns[PCI_DEVFN(slot, f)] || h->reserved[PCI_DEVFN(slot, f)])
                    used = true;
            if (!used)
                break;
        }
        if (slot == PCI_SLOTS) {
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "no free PCI slot left for %s (bus 0 has 31)", owner);
            r = -ENOSPC;
            goto out;
        }
        *devfn = PCI_DEVFN(slot, 0);
    } else {
        char b[8];
        const char *holder = h->reserved[*devfn] ? h->reserved[*devfn]
                           : h->fns[*devfn] ? h->fns[*devfn]->name : NULL;
        if (holder) {
            g_set_error(err, TS_ERROR, TS_ERROR_EXISTS, "PCI address %s of %s is already used by %s",
                        pci_format_devfn(*devfn, b), owner, holder);
            r = -EEXIST;
            goto out;
        }
    }
    h->reserved[*devfn] = g_strdup(owner);
out:
    pci_unlock(h);
    return r;
}

void pci_host_unreserve(pci_host *h, uint8_t devfn)
{
    pci_lock(h);
    g_clear_pointer(&h->reserved[devfn], g_free);
    pci_unlock(h);
}
