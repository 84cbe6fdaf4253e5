/* SPDX-License-Identifier: MIT */
/* Objects: plugin-type instances driven through their lifecycle hooks. */
#include "util/error.h"
#include "object/object.h"

#include <errno.h>
#include <string.h>

#include "object/object_private.h"
#include "pci/devctx.h"

static char *object_origin_prefix(const ts_object *obj)
{
    g_autofree char *where = md_origin_describe(&obj->item->origin);
    return g_strdup_printf("%s: %s '%s' (%s)", where, md_class_name(obj->item->cls), obj->id,
                           obj->type->desc->name);
}

/* Turns a failed hook's result into the one-line error the user sees. */
static void report_hook_failure(ts_object *obj, const char *hook, int r, GError **err)
{
    g_autofree char *prefix = object_origin_prefix(obj);
    if (obj->error)
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s: %s", prefix, obj->error);
    else
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s: %s failed: %s", prefix, hook,
                    g_strerror(r < 0 ? -r : EIO));
    g_clear_pointer(&obj->error, g_free);
}

static ts_object *instantiate(md_item *it, struct devctx *ctx, GError **err)
{
    const registry_type *type = it->resolved;
    g_return_val_if_fail(type && it->values, NULL);
    ts_object *obj = g_new0(ts_object, 1);
    obj->item = it;
    obj->type = type;
    obj->dev = ctx;
    if (ctx)
        ctx->obj = obj;
    obj->id = it->id ? g_strdup(it->id) : g_strdup_printf("%s.anon%p", type->desc->name, (void *)obj);

    int r = type->desc->create(obj, &obj->state);
    if (r < 0) {
        report_hook_failure(obj, "create", r, err);
        goto fail;
    }
    if (type->desc->realize) {
        r = type->desc->realize(obj, obj->state);
        if (r < 0) {
            report_hook_failure(obj, "realize", r, err);
            goto fail;
        }
    }
    obj->realized = true;
    if (ctx)
        devctx_realized(ctx);
    return obj;
fail:
    object_destroy(obj);
    return NULL;
}

ts_object *object_instantiate(md_item *it, GError **err)
{
    return instantiate(it, NULL, err);
}

ts_object *object_instantiate_device(md_item *it, struct devctx *ctx, GError **err)
{
    return instantiate(it, ctx, err);
}

struct devctx *object_devctx(const ts_object *obj)
{
    return obj->dev;
}

void object_destroy(ts_object *obj)
{
    if (!obj)
        return;
    const ts_type_desc *t = obj->type->desc;
    if (obj->realized && t->unrealize)
        t->unrealize(obj, obj->state);
    obj->realized = false;
    devctx_release(obj->dev); /* what the device still holds: PCI function, regions, eventfds */
    obj->dev = NULL;
    if (t->destroy)
        t->destroy(obj, obj->state);
    g_free(obj->error);
    g_free(obj->id);
    g_free(obj);
}

const char *object_get_id(const ts_object *obj)
{
    return obj->id;
}

const registry_type *object_get_type(const ts_object *obj)
{
    return obj->type;
}

void *object_get_state(const ts_object *obj)
{
    return obj->state;
}

int object_memory_region(ts_object *obj, ts_memory_region *out)
{
    if (!obj || obj->type->desc->kind != TS_KIND_MEMORY_BACKEND || !obj->realized)
        return -EINVAL;
    const ts_memory_backend_ops *ops = obj->type->desc->kind_ops;
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    return ops->get_region(obj, obj->state, out);
}
