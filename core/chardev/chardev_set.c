/* SPDX-License-Identifier: MIT */
/* The chardevs of a machine by id, and the SDK's ts_chardev_api over them. */
#include <errno.h>
#include <string.h>

#include "chardev/chardev_internal.h"
#include "object/object_private.h"
#include "object/propval.h"
#include "util/error.h"

struct chardev_set {
    GPtrArray *all;    /* chardev *, owned, in opening order */
    GHashTable *by_id; /* id -> chardev * */
};

static chardev_set *current_set;

chardev_set *chardev_set_new(void)
{
    chardev_set *set = g_new0(chardev_set, 1);
    set->all = g_ptr_array_new_with_free_func((GDestroyNotify)chardev_free);
    set->by_id = g_hash_table_new(g_str_hash, g_str_equal);
    return set;
}

int chardev_set_add(chardev_set *set, chardev *chr, GError **err)
{
    for (guint i = 0; chr->kind == CHARDEV_STDIO && i < set->all->len; i++) {
        chardev *other = set->all->pdata[i];
        if (other->kind == CHARDEV_STDIO) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "'%s' and '%s' both use stdio: only one may (use chardev:%s for the "
                        "second, or a file)",
                        other->id, chr->id, other->id);
            chardev_free(chr);
            return -EBUSY;
        }
    }
    g_ptr_array_add(set->all, chr);
    if (!g_hash_table_contains(set->by_id, chr->id))
        g_hash_table_insert(set->by_id, chr->id, chr);
    return 0;
}

chardev_set *chardev_set_build(machine_desc *d, GError **err)
{
    chardev_set *set = chardev_set_new();
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls != MD_CHARDEV)
            continue;
        chardev *chr = chardev_open_item(it, err);
        if (!chr || chardev_set_add(set, chr, err) < 0) {
            chardev_set_free(set);
            return NULL;
        }
    }
    return set;
}

chardev *chardev_set_find(chardev_set *set, const char *id)
{
    return set && id ? g_hash_table_lookup(set->by_id, id) : NULL;
}

void chardev_set_free(chardev_set *set)
{
    if (!set)
        return;
    if (current_set == set)
        current_set = NULL;
    g_hash_table_destroy(set->by_id);
    g_ptr_array_free(set->all, TRUE);
    g_free(set);
}

void chardev_set_make_current(chardev_set *set)
{
    current_set = set;
}

/* ---- ts_chardev_api ---- */

static ts_chardev *api_get(ts_object *obj, const char *prop)
{
    const ts_host_api *host = object_host_api();
    prop_value *v = prop_values_find(obj->item->values, prop);

    if (!v || (v->desc->type != TS_PROP_STRING &&
               !(v->desc->type == TS_PROP_REF && v->desc->ref_target == TS_REF_CHARDEV))) {
        host->set_error(obj, "property '%s' is not a chardev property (plugin bug)", prop);
        return NULL;
    }
    if (!v->has_value || !v->s) {
        host->set_error(obj, "property '%s' is not set: give it a chardev id (-chardev ...,id=ID)",
                        prop);
        return NULL;
    }
    chardev *chr = chardev_set_find(current_set, v->s);
    if (!chr)
        host->set_error(obj, "property '%s': there is no chardev '%s'", prop, v->s);
    return chr;
}

static const char *api_id(ts_chardev *chr)
{
    return chardev_id(chr);
}

const ts_chardev_api chardev_api_table = {
    .size = sizeof(ts_chardev_api),
    .get = api_get,
    .id = api_id,
    .write = chardev_write,
    .set_read_handler = chardev_set_read_handler,
    .socket_fd = chardev_socket_fd,
};
