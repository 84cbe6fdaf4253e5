/* SPDX-License-Identifier: MIT */
/*
 * The plugin ABI rules in code. A plugin's structures may be shorter than ours (built for
 * an older minor: we zero-extend) or longer (built with newer headers while asking only
 * for an older minor: we accept only when the bytes we do not know are all zero, so no
 * field we would ignore carries meaning).
 */
#include "util/error.h"
#include "plugin/descriptor_check.h"

#include <errno.h>
#include <string.h>

#include "object/propval.h"
#include "plugin/registry.h"

/* Copies a size-prefixed structure of declared size into a zeroed buffer of our size. */
static void *copy_sized(const void *src, uint32_t declared, size_t ours, size_t min,
                        const char *what, GError **err)
{
    if (declared < min) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "%s is %u bytes, smaller than the smallest valid size %zu", what, declared, min);
        return NULL;
    }
    const unsigned char *p = src;
    for (size_t i = ours; i < declared; i++) {
        if (p[i]) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s is %u bytes and its %zu bytes unknown to this tessera (ABI %d.%d) are not zero",
                        what, declared, declared - ours, TS_ABI_MAJOR, TS_ABI_MINOR);
            return NULL;
        }
    }
    void *copy = g_malloc0(ours);
    memcpy(copy, src, MIN((size_t)declared, ours));
    return copy;
}

static size_t kind_ops_size(uint32_t kind)
{
    switch (kind) {
    case TS_KIND_DEVICE: return sizeof(ts_device_ops);
    case TS_KIND_BLOCK_FORMAT: return sizeof(ts_block_format_ops);
    case TS_KIND_MEMORY_BACKEND: return sizeof(ts_memory_backend_ops);
    default: return 0;
    }
}

static ts_type_desc *check_type(const ts_type_desc *t, guint index, GError **err)
{
    g_autofree char *what = g_strdup_printf("type #%u descriptor", index);
    ts_type_desc *c = copy_sized(t, t->size, sizeof(*c), offsetof(ts_type_desc, kind_ops) + sizeof(void *),
                                 what, err);
    if (!c)
        return NULL;
    GError *e = NULL;
    const char *why = NULL;
    if (!c->name || !*c->name)
        why = "has no name";
    else if (!c->create)
        why = "has no create hook";
    else if (c->save_state || c->load_state)
        why = "sets the reserved save_state/load_state hooks";
    else if (!c->kind_ops)
        why = "has no kind operations";
    if (why) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s %s", c->name ? c->name : what, why);
        g_free(c);
        return NULL;
    }
    if (prop_schema_check(c->props, &e) < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "type %s: %s", c->name, e->message);
        g_error_free(e);
        g_free(c);
        return NULL;
    }
    /* Normalize the kind operations too: they are size-prefixed like everything else. */
    uint32_t ops_declared = *(const uint32_t *)c->kind_ops;
    g_autofree char *ops_what = g_strdup_printf("type %s's %s operations", c->name,
                                                registry_kind_name(c->kind));
    void *ops = copy_sized(c->kind_ops, ops_declared, kind_ops_size(c->kind), sizeof(uint32_t) * 2,
                           ops_what, err);
    if (!ops) {
        g_free(c);
        return NULL;
    }
    if (c->kind == TS_KIND_MEMORY_BACKEND && !((ts_memory_backend_ops *)ops)->get_region) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "memory backend %s has no get_region operation", c->name);
        g_free(ops);
        g_free(c);
        return NULL;
    }
    c->kind_ops = ops;
    return c;
}

static bool kind_known(uint32_t kind)
{
    return kind_ops_size(kind) != 0;
}

void descriptor_copy_free(ts_plugin_desc *copy)
{
    if (!copy)
        return;
    for (guint i = 0; copy->types && copy->types[i]; i++) {
        g_free((void *)copy->types[i]->kind_ops);
        g_free((void *)copy->types[i]);
    }
    g_free((void *)copy->types);
    g_free(copy);
}

ts_plugin_desc *descriptor_check_and_copy(const ts_plugin_desc *desc, GError **err)
{
    if (desc->magic != TS_PLUGIN_MAGIC) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "not a tessera plugin (descriptor magic 0x%08x, expected 0x%08x)",
                    desc->magic, TS_PLUGIN_MAGIC);
        return NULL;
    }
    if (desc->abi_major != TS_ABI_MAJOR) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "plugin is built for ABI %u.%u, this tessera speaks ABI %d.%d (major versions differ)",
                    desc->abi_major, desc->abi_minor, TS_ABI_MAJOR, TS_ABI_MINOR);
        return NULL;
    }
    if (desc->abi_minor > TS_ABI_MINOR) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "plugin needs ABI %u.%u, this tessera provides ABI %d.%d (plugin is too new; "
                    "upgrade tessera)", desc->abi_major, desc->abi_minor, TS_ABI_MAJOR, TS_ABI_MINOR);
        return NULL;
    }
    ts_plugin_desc *c = copy_sized(desc, desc->size, sizeof(*c), offsetof(ts_plugin_desc, init),
                                   "plugin descriptor", err);
    if (!c)
        return NULL;
    const ts_type_desc *const *types = c->types;
    c->types = NULL;
    if (!c->name || !*c->name || !c->version || !types) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "plugin descriptor lacks its %s", !c->name || !*c->name ? "name"
                                                      : !c->version ? "version" : "type list");
        g_free(c);
        return NULL;
    }
    GPtrArray *copies = g_ptr_array_new();
    for (guint i = 0; types[i]; i++) {
        if (!kind_known(types[i]->size >= 8 ? types[i]->kind : 0))
            continue; /* a kind from a newer minor: not for us */
        ts_type_desc *t = check_type(types[i], i, err);
        if (!t)
            goto fail;
        for (guint j = 0; j < copies->len; j++) {
            if (strcmp(((ts_type_desc *)copies->pdata[j])->name, t->name) == 0) {
                g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                            "type %s is listed twice", t->name);
                g_free((void *)t->kind_ops);
                g_free(t);
                goto fail;
            }
        }
        g_ptr_array_add(copies, t);
    }
    g_ptr_array_add(copies, NULL);
    c->types = (const ts_type_desc *const *)g_ptr_array_free(copies, FALSE);
    return c;
fail:
    g_ptr_array_add(copies, NULL);
    c->types = (const ts_type_desc *const *)g_ptr_array_free(copies, FALSE);
    descriptor_copy_free(c);
    return NULL;
}
