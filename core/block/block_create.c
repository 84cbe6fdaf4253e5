/* SPDX-License-Identifier: MIT */
/*
 * Image creation: the format's declared properties are its create options. The options
 * are parsed and validated like every other property (core/object/propval), held by a
 * transient object of the format's type, and handed to the format's create op.
 */
#include <errno.h>
#include <string.h>

#include "block/block_internal.h"
#include "config/keyval.h"
#include "object/object_private.h"
#include "util/error.h"

static const ts_prop_desc no_options[] = { TS_PROP_DESC_END };

static const ts_prop_desc *schema_of(const registry_type *t)
{
    return t->desc->props ? t->desc->props : no_options;
}

static char *option_names(const ts_prop_desc *schema)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; schema[i].name; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", schema[i].name);
    if (!s->len)
        g_string_append(s, "none");
    return g_string_free(s, FALSE);
}

int block_create_kv(const char *fmt, const char *filename, uint64_t size,
                    const char *const *keys, const char *const *values, guint n, GError **err)
{
    GError *e = NULL;
    const registry_type *t = block_find_format(fmt, &e);
    if (!t) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': unknown format '%s': %s", filename, fmt,
                    e->message);
        g_error_free(e);
        return -EINVAL;
    }
    const ts_block_format_ops *ops = t->desc->kind_ops;
    if (!ops->create) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': format %s does not support creating images",
                    filename, fmt);
        return -ENOTSUP;
    }
    const ts_prop_desc *schema = schema_of(t);
    g_autoptr(machine_desc) d = machine_desc_new();
    md_origin origin = { .option = g_strdup_printf("-o (format %s)", fmt) };
    md_item *it = md_item_add(d, MD_OBJECT, fmt, NULL, &origin);
    md_origin_clear(&origin);
    it->schema = schema;
    it->values = prop_values_new(schema);
    it->resolved = t;
    int r = 0;
    for (guint i = 0; i < n; i++) {
        prop_value *v = prop_values_find(it->values, keys[i]);
        if (!v) {
            g_autofree char *known = option_names(schema);
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "'%s': format %s has no option '%s' (options: %s)", filename, fmt, keys[i],
                        known);
            return -EINVAL;
        }
        if (prop_parse(v->desc, values[i], v, &e) < 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': option %s", filename,
                        e->message + (g_str_has_prefix(e->message, "property ") ? 9 : 0));
            g_error_free(e);
            return -EINVAL;
        }
        v->is_set = true;
    }
    for (guint i = 0; i < it->values->n; i++) {
        const prop_value *v = &it->values->v[i];
        if ((v->desc->flags & TS_PROP_REQUIRED) && !v->is_set) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': option '%s' is required for format %s",
                        filename, v->desc->name, fmt);
            return -EINVAL;
        }
    }
    ts_object *obj = object_instantiate(it, &e);
    if (!obj) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': %s", filename, e->message);
        g_error_free(e);
        return -EINVAL;
    }
    g_free(block_take_error());
    r = ops->create(obj, filename, size);
    if (r < 0) {
        g_autofree char *msg = block_take_error();
        const char *why = obj->error ? obj->error : msg;
        if (why)
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': %s", filename, why);
        else
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': could not create: %s", filename,
                        g_strerror(-r));
    }
    object_destroy(obj);
    return r;
}

int block_create(const char *fmt, const char *filename, uint64_t size, const char *options,
                 GError **err)
{
    g_autoptr(GPtrArray) pairs = NULL;
    if (options && *options) {
        GError *e = NULL;
        pairs = keyval_split(options, NULL, &e);
        if (!pairs) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': bad options '%s': %s", filename,
                        options, e->message);
            g_error_free(e);
            return -EINVAL;
        }
    }
    guint n = pairs ? pairs->len : 0;
    g_autofree const char **keys = g_new0(const char *, n + 1);
    g_autofree const char **values = g_new0(const char *, n + 1);
    for (guint i = 0; i < n; i++) {
        keyval_pair *p = pairs->pdata[i];
        keys[i] = p->key;
        values[i] = p->value;
    }
    return block_create_kv(fmt, filename, size, keys, values, n, err);
}

char *block_create_help(const char *fmt, GError **err)
{
    const registry_type *t = block_find_format(fmt, err);
    if (!t)
        return NULL;
    const ts_prop_desc *schema = schema_of(t);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "Supported options (format %s):\n", fmt);
    for (guint i = 0; schema[i].name; i++) {
        const ts_prop_desc *p = &schema[i];
        g_autofree char *type = NULL;
        if (p->type == TS_PROP_ENUM) {
            GString *v = g_string_new(NULL);
            for (guint k = 0; p->enum_values && p->enum_values[k]; k++)
                g_string_append_printf(v, "%s%s", k ? "|" : "", p->enum_values[k]);
            type = g_string_free(v, FALSE);
        } else {
            type = g_strdup(prop_type_name(p->type));
        }
        g_string_append_printf(s, "  %-20s <%s>\n    %s", p->name, type, p->help ? p->help : "");
        if (p->default_value)
            g_string_append_printf(s, " (default: %s)", p->default_value);
        g_string_append_c(s, '\n');
    }
    if (!schema[0].name)
        g_string_append(s, "  (none)\n");
    return g_string_free(s, FALSE);
}
