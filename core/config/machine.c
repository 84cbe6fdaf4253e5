/* SPDX-License-Identifier: MIT */
/* The machine description model: items, their user-written properties, and origins. */
#include "config/machine.h"

#include <string.h>

static void md_prop_free(gpointer p)
{
    md_prop *mp = p;
    g_free(mp->key);
    g_free(mp->value);
    md_origin_clear(&mp->origin);
    g_free(mp);
}

static void md_item_free(gpointer p)
{
    md_item *it = p;
    g_free(it->type);
    g_free(it->id);
    g_ptr_array_free(it->props, TRUE);
    md_origin_clear(&it->origin);
    prop_values_free(it->values);
    g_free(it);
}

machine_desc *machine_desc_new(void)
{
    machine_desc *d = g_new0(machine_desc, 1);
    d->items = g_ptr_array_new_with_free_func(md_item_free);
    d->plugin_paths = g_ptr_array_new_with_free_func(g_free);
    return d;
}

void machine_desc_free(machine_desc *d)
{
    if (!d)
        return;
    g_ptr_array_free(d->items, TRUE);
    g_ptr_array_free(d->plugin_paths, TRUE);
    g_free(d);
}

md_item *machine_desc_machine(machine_desc *d)
{
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls == MD_MACHINE)
            return it;
    }
    /* The machine section goes first so printed descriptions read top-down. */
    md_item *it = g_new0(md_item, 1);
    it->cls = MD_MACHINE;
    it->type = g_strdup("machine");
    it->props = g_ptr_array_new_with_free_func(md_prop_free);
    g_ptr_array_insert(d->items, 0, it);
    return it;
}

md_item *md_item_add(machine_desc *d, md_class cls, const char *type, const char *id,
                     const md_origin *origin)
{
    md_item *it = g_new0(md_item, 1);
    it->cls = cls;
    it->type = g_strdup(type);
    it->id = g_strdup(id);
    it->props = g_ptr_array_new_with_free_func(md_prop_free);
    if (origin)
        md_origin_copy(&it->origin, origin);
    g_ptr_array_add(d->items, it);
    return it;
}

static md_prop *find_prop(const md_item *it, const char *key)
{
    for (guint i = 0; i < it->props->len; i++) {
        md_prop *p = it->props->pdata[i];
        if (strcmp(p->key, key) == 0)
            return p;
    }
    return NULL;
}

void md_item_set(md_item *it, const char *key, const char *value, const md_origin *origin)
{
    md_prop *p = find_prop(it, key);
    if (!p) {
        p = g_new0(md_prop, 1);
        p->key = g_strdup(key);
        g_ptr_array_add(it->props, p);
    } else {
        g_free(p->value);
        md_origin_clear(&p->origin);
    }
    p->value = g_strdup(value);
    if (origin)
        md_origin_copy(&p->origin, origin);
}

const char *md_item_get(const md_item *it, const char *key, bool *present)
{
    md_prop *p = find_prop(it, key);
    if (present)
        *present = p != NULL;
    return p ? p->value : NULL;
}

const char *md_class_name(md_class cls)
{
    switch (cls) {
    case MD_MACHINE: return "machine";
    case MD_OBJECT: return "object";
    case MD_CHARDEV: return "chardev";
    case MD_DRIVE: return "drive";
    case MD_DEVICE: return "device";
    case MD_SERIAL: return "serial";
    }
    return "unknown";
}

char *md_origin_describe(const md_origin *o)
{
    if (o->file && o->line > 0)
        return g_strdup_printf("%s:%d", o->file, o->line);
    if (o->file)
        return g_strdup(o->file);
    if (o->option)
        return g_strdup_printf("option '%s'", o->option);
    return g_strdup("defaults");
}

void md_origin_copy(md_origin *dst, const md_origin *src)
{
    if (dst == src)
        return;
    md_origin_clear(dst);
    dst->file = g_strdup(src->file);
    dst->line = src->line;
    dst->option = g_strdup(src->option);
}

void md_origin_clear(md_origin *o)
{
    g_clear_pointer(&o->file, g_free);
    g_clear_pointer(&o->option, g_free);
    o->line = 0;
}
