/* SPDX-License-Identifier: MIT */
/* Type listings and property help; see help.h. */
#include "config/help.h"

#include <errno.h>
#include <string.h>

#include "config/core_schemas.h"
#include "util/error.h"

static uint32_t class_kind(md_class cls)
{
    return cls == MD_DEVICE ? TS_KIND_DEVICE : TS_KIND_MEMORY_BACKEND;
}

static const char *bus_name(const ts_type_desc *t)
{
    const ts_device_ops *ops = t->kind_ops;
    if (!ops)
        return NULL;
    switch (ops->bus) {
    case TS_BUS_PCI: return "PCI";
    case TS_BUS_ISA: return "ISA";
    default: return NULL;
    }
}

char *help_list_types(registry *reg, md_class cls)
{
    GString *s = g_string_new(NULL);
    if (cls == MD_CHARDEV) {
        g_string_append(s, "Available chardev backend types:\n");
        for (guint i = 0; core_chardev_backends[i]; i++)
            g_string_append_printf(s, "  %-22s %s\n", core_chardev_backends[i],
                                   core_type_description(MD_CHARDEV, core_chardev_backends[i]));
        return g_string_free(s, FALSE);
    }
    g_string_append(s, cls == MD_DEVICE ? "Available devices:\n"
                                        : "List of user creatable objects:\n");
    g_autoptr(GPtrArray) types = registry_types(reg);
    guint shown = 0;
    for (guint i = 0; i < types->len; i++) {
        const registry_type *t = types->pdata[i];
        if (t->desc->kind != class_kind(cls))
            continue;
        const char *desc = t->desc->description ? t->desc->description : "";
        const char *bus = cls == MD_DEVICE ? bus_name(t->desc) : NULL;
        if (cls == MD_DEVICE)
            g_string_append_printf(s, "name \"%s\"%s%s, desc \"%s\"\n", t->desc->name,
                                   bus ? ", bus " : "", bus ? bus : "", desc);
        else
            g_string_append_printf(s, "  %-22s %s\n", t->desc->name, desc);
        shown++;
    }
    if (!shown)
        g_string_append(s, "  (none found; see tessera -plugins)\n");
    return g_string_free(s, FALSE);
}

/* "<size>"-style type, the help text, enum choices, and what the user gets by default. */
static void format_prop(GString *s, const ts_prop_desc *d)
{
    g_autofree char *lhs = g_strdup_printf("%s=<%s>", d->name, prop_type_name(d->type));
    g_string_append_printf(s, "  %-24s - %s", lhs, d->help ? d->help : "");
    if (d->type == TS_PROP_ENUM) {
        g_autofree char *vals = g_strjoinv(", ", (char **)d->enum_values);
        g_string_append_printf(s, " (one of: %s)", vals);
    }
    if (d->flags & TS_PROP_REQUIRED)
        g_string_append(s, " (required)");
    else if (d->default_value)
        g_string_append_printf(s, " (default: %s)", d->default_value);
    g_string_append_c(s, '\n');
}

char *help_format_schema(const char *name, const ts_prop_desc *schema)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s options:\n", name);
    guint n = prop_schema_count(schema);
    if (!n)
        g_string_append(s, "  (no properties)\n");
    for (guint i = 0; i < n; i++)
        format_prop(s, &schema[i]);
    return g_string_free(s, FALSE);
}

char *help_describe_type(registry *reg, md_class cls, const char *type, GError **err)
{
    if (cls == MD_CHARDEV) {
        const ts_prop_desc *schema = core_schema_find(MD_CHARDEV, type);
        if (!schema) {
            g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND,
                        "unknown chardev backend '%s' (use socket, file, stdio or null)", type);
            return NULL;
        }
        return help_format_schema(type, schema);
    }
    const registry_type *t = registry_find(reg, type, class_kind(cls), err);
    if (!t)
        return NULL;
    return help_format_schema(t->desc->name, t->desc->props);
}
