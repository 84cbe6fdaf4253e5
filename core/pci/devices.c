/* SPDX-License-Identifier: MIT */
/* Device objects from MD_DEVICE items: PCI address reservation, references, realize, reset. */
#include <errno.h>
#include <string.h>

#include "pci/devctx.h"
#include "pci/devices.h"
#include "util/error.h"

struct device_set {
    GPtrArray *objects; /* ts_object *, in creation order */
    pci_host *host;
};

static char *item_prefix(const md_item *it)
{
    g_autofree char *where = md_origin_describe(&it->origin);
    if (it->id)
        return g_strdup_printf("%s: device '%s' (%s)", where, it->id, it->type);
    return g_strdup_printf("%s: device (%s)", where, it->type);
}

static char *item_label(const md_item *it)
{
    return it->id ? g_strdup_printf("%s '%s'", it->type, it->id) : g_strdup(it->type);
}

static int item_fail(GError **err, const md_item *it, GError *why)
{
    g_autofree char *prefix = item_prefix(it);
    g_set_error(err, TS_ERROR, why ? why->code : TS_ERROR_FAILED, "%s: %s", prefix,
                why ? why->message : "failed");
    g_clear_error(&why);
    return -EINVAL;
}

static uint32_t item_bus(const md_item *it)
{
    const registry_type *t = it->resolved;
    const ts_device_ops *ops = t->desc->kind_ops;
    return ops ? ops->bus : 0;
}

static int bind_refs(md_item *it, const device_refs *refs, GError **err)
{
    for (guint i = 0; i < it->values->n; i++) {
        prop_value *v = &it->values->v[i];
        if (v->desc->type != TS_PROP_REF || !v->has_value)
            continue;
        GError *e = NULL;
        if (v->desc->ref_target == TS_REF_MEMORY_BACKEND) {
            v->ref = refs && refs->find_object ? refs->find_object(refs->opaque, v->s) : NULL;
            if (!v->ref)
                g_set_error(&e, TS_ERROR, TS_ERROR_NOT_FOUND, "property '%s': no memory backend '%s'",
                            v->desc->name, v->s);
        } else if (refs && refs->resolve_other) {
            v->ref = refs->resolve_other(refs->opaque, it, v, &e);
            if (!v->ref && e) {
                g_propagate_error(err, e); /* a complete message, origin included */
                return -EINVAL;
            }
        } else {
            g_set_error(&e, TS_ERROR, TS_ERROR_FAILED, "property '%s': %s references are not supported yet",
                        v->desc->name, v->desc->ref_target == TS_REF_CHARDEV ? "chardev" : "drive");
        }
        if (!v->ref) {
            if (!e)
                g_set_error(&e, TS_ERROR, TS_ERROR_NOT_FOUND, "property '%s': cannot resolve '%s'",
                            v->desc->name, v->s);
            return item_fail(err, it, e);
        }
    }
    return 0;
}

/* Reserves the devfn of a PCI item: its addr=, or any free slot. */
static int reserve(md_item *it, pci_host *host, uint8_t *devfn, GError **err)
{
    bool present = false;
    const char *addr = md_item_get(it, "addr", &present);
    g_autofree char *label = item_label(it);
    GError *e = NULL;
    if (present && pci_parse_addr(addr, devfn, &e) < 0)
        return item_fail(err, it, e);
    if (pci_host_reserve(host, !present, devfn, label, &e) < 0)
        return item_fail(err, it, e);
    return 0;
}

ts_object *device_instantiate(md_item *it, pci_host *host, const device_refs *refs,
                              int reserved_devfn, GError **err)
{
    g_return_val_if_fail(it->cls == MD_DEVICE && it->resolved && it->values, NULL);
    uint32_t bus = item_bus(it);
    bool has_addr = false;
    md_item_get(it, "addr", &has_addr);
    if (bus != TS_BUS_PCI && has_addr) {
        GError *e = g_error_new(TS_ERROR, TS_ERROR_INVALID,
                                "addr= places PCI devices, and %s is not one", it->type);
        item_fail(err, it, e);
        return NULL;
    }
    uint8_t devfn = 0;
    if (bus == TS_BUS_PCI) {
        if (reserved_devfn >= 0)
            devfn = (uint8_t)reserved_devfn;
        else if (reserve(it, host, &devfn, err) < 0)
            return NULL;
    }
    g_autofree char *label = item_label(it);
    devctx *ctx = devctx_new(host, bus, label);
    if (bus == TS_BUS_PCI) {
        ctx->has_devfn = true;
        ctx->reserved = true;
        ctx->devfn = devfn;
    }
    if (bind_refs(it, refs, err) < 0) {
        devctx_release(ctx);
        return NULL;
    }
    return object_instantiate_device(it, ctx, err);
}

void device_reset(ts_object *obj)
{
    const registry_type *t = object_get_type(obj);
    if (t->desc->reset)
        t->desc->reset(obj, object_get_state(obj));
}

static ts_object *find_in_set(void *opaque, const char *id)
{
    return opaque ? object_set_find(opaque, id) : NULL;
}

typedef struct build_refs {
    object_set *objects;
    void *(*resolve_other)(void *, md_item *, const prop_value *, GError **);
    void *opaque;
} build_refs;

static ts_object *build_find(void *opaque, const char *id)
{
    build_refs *b = opaque;
    return find_in_set(b->objects, id);
}

static void *build_other(void *opaque, md_item *it, const prop_value *v, GError **err)
{
    build_refs *b = opaque;
    return b->resolve_other(b->opaque, it, v, err);
}

device_set *device_set_build(machine_desc *d, object_set *objects, pci_host *host,
                             void *(*resolve_other)(void *opaque, md_item *it, const prop_value *v,
                                                    GError **err),
                             void *opaque, GError **err)
{
    device_set *s = g_new0(device_set, 1);
    s->objects = g_ptr_array_new();
    s->host = host;
    build_refs b = { objects, resolve_other, opaque };
    device_refs refs = { build_find, resolve_other ? build_other : NULL, &b };
    int *devfns = g_new(int, d->items->len);

    /* First every explicit address, so conflicts name both devices before anything runs. */
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        devfns[i] = -1;
        bool has_addr = false;
        if (it->cls != MD_DEVICE || item_bus(it) != TS_BUS_PCI)
            continue;
        md_item_get(it, "addr", &has_addr);
        if (!has_addr)
            continue;
        uint8_t devfn;
        if (reserve(it, host, &devfn, err) < 0)
            goto fail;
        devfns[i] = devfn;
    }
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls != MD_DEVICE)
            continue;
        int devfn = devfns[i];
        devfns[i] = -1; /* from here on the device context owns the reservation */
        ts_object *obj = device_instantiate(it, host, &refs, devfn, err);
        if (!obj)
            goto fail;
        g_ptr_array_add(s->objects, obj);
    }
    g_free(devfns);
    return s;
fail:
    for (guint i = 0; i < d->items->len; i++)
        if (devfns[i] >= 0)
            pci_host_unreserve(host, (uint8_t)devfns[i]);
    g_free(devfns);
    device_set_free(s);
    return NULL;
}

void device_set_reset(device_set *s)
{
    pci_host_reset(s->host);
    for (guint i = 0; i < s->objects->len; i++)
        device_reset(s->objects->pdata[i]);
}

void device_set_free(device_set *s)
{
    if (!s)
        return;
    for (guint i = s->objects->len; i-- > 0;)
        object_destroy(s->objects->pdata[i]);
    g_ptr_array_free(s->objects, TRUE);
    g_free(s);
}

guint device_set_count(const device_set *s)
{
    return s->objects->len;
}

ts_object *device_set_get(const device_set *s, guint i)
{
    return i < s->objects->len ? s->objects->pdata[i] : NULL;
}
