/* SPDX-License-Identifier: MIT */
/* ts_pci_api: PCI functions for device plugins, over core/pci. */
#include <errno.h>
#include <string.h>

#include "object/object.h"
#include "pci/devctx.h"
#include "pci/pci_internal.h"
#include "pci/services.h"
#include "util/error.h"

#define FN(dev) ((pci_function *)(dev))

static int fail_with(ts_object *obj, int code, GError *err)
{
    devsvc_set_error(obj, err ? err->message : g_strerror(-code));
    g_clear_error(&err);
    return code;
}

static int function_add(ts_object *obj, const ts_pci_identity *id, ts_pci_dev **out)
{
    devctx *c = obj ? object_devctx(obj) : NULL;
    ts_pci_identity ident;
    if (!c || !c->has_devfn || !out) {
        devsvc_set_error(obj, "function_add: the object is not a PCI device (its type's bus is not TS_BUS_PCI)");
        return -EINVAL;
    }
    if (c->fn) {
        devsvc_set_error(obj, "function_add: the device has a PCI function already");
        return -EEXIST;
    }
    if (!devsvc_copy_sized(&ident, sizeof(ident), id) || ident.vendor_id == 0 || ident.vendor_id == 0xffff) {
        devsvc_set_error(obj, "function_add: invalid PCI identity (vendor ID 0 or 0xffff)");
        return -EINVAL;
    }
    pci_host_unreserve(c->host, c->devfn);
    c->reserved = false;
    c->fn = pci_function_new(c->host, c->devfn, obj, c->label);
    pci_function_set_identity(c->fn, &ident);
    *out = (ts_pci_dev *)c->fn;
    return 0;
}

static int bar_add(ts_pci_dev *dev, const ts_pci_bar_desc *bar)
{
    pci_function *fn = FN(dev);
    ts_pci_bar_desc d;
    if (!devsvc_copy_sized(&d, sizeof(d), bar)) {
        devsvc_set_error(fn->obj, "bar_add: no BAR description");
        return -EINVAL;
    }
    GError *err = NULL;
    int r = pci_bar_add(fn, &d, &err);
    return r < 0 ? fail_with(fn->obj, r, err) : 0;
}

static int capability_add(ts_pci_dev *dev, uint8_t cap_id, const void *data, uint8_t len,
                          const void *wmask)
{
    pci_function *fn = FN(dev);
    GError *err = NULL;
    if (!data) {
        devsvc_set_error(fn->obj, "capability_add: no data");
        return -EINVAL;
    }
    int r = pci_function_add_capability(fn, cap_id, data, len, wmask, false, &err);
    return r < 0 ? fail_with(fn->obj, r, err) : r;
}

static void config_set_ops(ts_pci_dev *dev, const ts_pci_config_ops *ops, void *opaque)
{
    pci_function *fn = FN(dev);
    pci_lock(fn->host);
    fn->cfg_ops = ops;
    fn->cfg_opaque = opaque;
    pci_unlock(fn->host);
}

static bool access_ok(uint32_t offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && offset < PCI_CFG_SIZE && offset + size <= PCI_CFG_SIZE;
}

static uint32_t config_get(ts_pci_dev *dev, uint32_t offset, unsigned size)
{
    pci_function *fn = FN(dev);
    if (!access_ok(offset, size))
        return 0xffffffffu;
    pci_lock(fn->host);
    uint32_t v = pci_get_le(fn->cfg + offset, size);
    pci_unlock(fn->host);
    return v;
}

static int config_set(ts_pci_dev *dev, uint32_t offset, unsigned size, uint32_t value, bool wmask_too,
                      uint32_t wmask)
{
    pci_function *fn = FN(dev);
    if (!access_ok(offset, size))
        return -EINVAL;
    pci_lock(fn->host);
    int r = 0;
    for (unsigned i = 0; i < size; i++)
        if (fn->managed[offset + i])
            r = -EINVAL;
    if (r == 0) {
        pci_put_le(fn->cfg + offset, size, value);
        if (wmask_too)
            pci_put_le(fn->wmask + offset, size, wmask);
    }
    pci_unlock(fn->host);
    return r;
}

static uint64_t bar_address(ts_pci_dev *dev, uint32_t index)
{
    return pci_bar_current(FN(dev), index);
}

static int msix_init(ts_pci_dev *dev, uint32_t nvectors, uint32_t table_bar, uint32_t table_offset,
                     uint32_t pba_bar, uint32_t pba_offset)
{
    pci_function *fn = FN(dev);
    GError *err = NULL;
    int r = pci_msix_init(fn, nvectors, table_bar, table_offset, pba_bar, pba_offset, &err);
    return r < 0 ? fail_with(fn->obj, r, err) : r;
}

static int msix_notify(ts_pci_dev *dev, uint32_t vector)
{
    return pci_msix_notify(FN(dev), vector);
}

static bool msix_enabled(ts_pci_dev *dev)
{
    return pci_msix_enabled(FN(dev));
}

static bool msix_masked(ts_pci_dev *dev, uint32_t vector)
{
    return pci_msix_masked(FN(dev), vector);
}

static bool msix_pending(ts_pci_dev *dev, uint32_t vector)
{
    return pci_msix_pending(FN(dev), vector);
}

static int msix_bind_eventfd(ts_pci_dev *dev, uint32_t vector, int fd)
{
    return pci_msix_bind(FN(dev), vector, fd);
}

static void msix_unbind_eventfd(ts_pci_dev *dev, uint32_t vector)
{
    pci_msix_unbind(FN(dev), vector);
}

static void intx_set(ts_pci_dev *dev, int level)
{
    pci_function *fn = FN(dev);
    pci_lock(fn->host);
    if (fn->intx_level != (level != 0)) {
        fn->intx_level = level != 0;
        pci_function_update_intx(fn);
    }
    pci_unlock(fn->host);
}

const ts_pci_api devsvc_pci_api = {
    .size = sizeof(ts_pci_api),
    .function_add = function_add,
    .bar_add = bar_add,
    .capability_add = capability_add,
    .config_set_ops = config_set_ops,
    .config_get = config_get,
    .config_set = config_set,
    .bar_address = bar_address,
    .msix_init = msix_init,
    .msix_notify = msix_notify,
    .msix_enabled = msix_enabled,
    .msix_masked = msix_masked,
    .msix_pending = msix_pending,
    .msix_bind_eventfd = msix_bind_eventfd,
    .msix_unbind_eventfd = msix_unbind_eventfd,
    .intx_set = intx_set,
};
