/* SPDX-License-Identifier: MIT */
/* The objects of a description, created so that each exists before anything referring to it. */
#include <errno.h>
#include <string.h>

#include "util/error.h"
#include "object/object_private.h"

struct object_set {
    GPtrArray *objects; /* ts_object *, in creation order */
    GHashTable *by_id;  /* id -> ts_object * */
};

/* True when every object reference of it names an object that already exists. */
static bool refs_ready(object_set *set, md_item *it)
{
    for (guint i = 0; i < it->values->n; i++) {
        prop_value *v = &it->values->v[i];
        if (v->desc->type == TS_PROP_REF && v->desc->ref_target == TS_REF_MEMORY_BACKEND &&
            v->has_value && !g_hash_table_contains(set->by_id, v->s))
            return false;
    }
    return true;
}

static void bind_refs(object_set *set, md_item *it)
{
    for (guint i = 0; i < it->values->n; i++) {
        prop_value *v = &it->values->v[i];
        if (v->desc->type == TS_PROP_REF && v->has_value)
            v->ref = g_hash_table_lookup(set->by_id, v->s);
    }
}

object_set *object_set_build(machine_desc *d, GError **err)
{
    object_set *set = g_new0(object_set, 1);
    set->objects = g_ptr_array_new();
    set->by_id = g_hash_table_new(g_str_hash, g_str_equal);

    GPtrArray *pending = g_ptr_array_new();
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls == MD_OBJECT)
            g_ptr_array_add(pending, it);
    }
    while (pending->len) {
        bool progress = false;
        for (guint i = 0; i < pending->len;) {
            md_item *it = pending->pdata[i];
            if (!refs_ready(set, it)) {
                i++;
                continue;
            }
            bind_refs(set, it);
            ts_object *obj = object_instantiate(it, err);
            if (!obj)
                goto fail;
            g_ptr_array_add(set->objects, obj);
            g_hash_table_insert(set->by_id, obj->id, obj);
            g_ptr_array_remove_index(pending, i);
            progress = true;
        }
        if (!progress) {
            md_item *it = pending->pdata[0];
            g_autofree char *where = md_origin_describe(&it->origin);
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: object '%s' is part of a reference cycle", where, it->id ? it->id : "?");
            goto fail;
        }
    }
    g_ptr_array_free(pending, TRUE);
    return set;
fail:
    g_ptr_array_free(pending, TRUE);
    object_set_free(set);
    return NULL;
}

ts_object *object_set_find(object_set *set, const char *id)
{
    return g_hash_table_lookup(set->by_id, id);
}

void object_set_free(object_set *set)
{
    if (!set)
        return;
    for (guint i = set->objects->len; i-- > 0;)
        object_destroy(set->objects->pdata[i]);
    g_ptr_array_free(set->objects, TRUE);
    g_hash_table_destroy(set->by_id);
    g_free(set);
}
