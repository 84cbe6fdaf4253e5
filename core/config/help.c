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

/* Device types built into the core (core/devices/), with their bus; schemas in core_schemas.c. */
static const struct {
    const char *name, *bus;
} builtin_devices[] = {
    { "isa-debug-exit", "ISA" },
};

typedef struct type_line {
    const char *name, *bus, *desc;
} type_line;

static gint type_line_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(((const type_line *)a)->name, ((const type_line *)b)->name);
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
    g_autoptr(GArray) lines = g_array_new(FALSE, FALSE, sizeof(type_line));
    g_autoptr(GPtrArray) types = registry_types(reg);
    for (guint i = 0; i < types->len; i++) {
        const registry_type *t = types->pdata[i];
        if (t->desc->kind != class_kind(cls))
            continue;
        type_line l = { t->desc->name, cls == MD_DEVICE ? bus_name(t->desc) : NULL,
                        t->desc->description ? t->desc->description : "" };
        g_array_append_val(lines, l);
    }
    guint plugin_types = lines->len;
    for (guint i = 0; cls == MD_DEVICE && i < G_N_ELEMENTS(builtin_devices); i++) {
        type_line l = { builtin_devices[i].name, builtin_devices[i].bus,
                        core_type_description(MD_DEVICE, builtin_devices[i].name) };
        g_array_append_val(lines, l);
    }
    g_array_sort(lines, type_line_cmp);
    for (guint i = 0; i < lines->len; i++) {
        const type_line *l = &g_array_index(lines, type_line, i);
        /* QEMU's shape: name "ivshmem-plain", bus PCI, desc "..." */
        if (cls == MD_DEVICE)
            g_string_append_printf(s, "name \"%s\"%s%s, desc \"%s\"\n", l->name,
                                   l->bus ? ", bus " : "", l->bus ? l->bus : "", l->desc);
        else
            g_string_append_printf(s, "  %-22s %s\n", l->name, l->desc);
    }
    if (!plugin_types)
        g_string_append_printf(s, "  (no %s found in plugins; see tessera -plugins)\n",
                               cls == MD_DEVICE ? "device types" : "types");
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

/*
 * Properties the core handles for every device of a bus, outside the type's schema:
 * core/config/validate.c accepts addr= on any device and core/pci places PCI devices by it.
 */
static const ts_prop_desc pci_bus_props[] = {
    TS_PROP_DESC_STRING("addr", 0, NULL, "slot[.function] on PCI bus 0 (hex), like QEMU"),
    TS_PROP_DESC_END,
};

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
    if (cls == MD_DEVICE && core_schema_find(MD_DEVICE, type)) /* built in, not on PCI */
        return help_format_schema(type, core_schema_find(MD_DEVICE, type));
    const registry_type *t = registry_find(reg, type, class_kind(cls), err);
    if (!t)
        return NULL;
    char *text = help_format_schema(t->desc->name, t->desc->props);
    const ts_device_ops *ops = cls == MD_DEVICE ? t->desc->kind_ops : NULL;
    if (!ops || ops->bus != TS_BUS_PCI)
        return text;
    GString *s = g_string_new(text);
    g_free(text);
    if (!prop_schema_count(t->desc->props)) /* drop "(no properties)": addr= is one */
        g_string_truncate(s, strlen(t->desc->name) + strlen(" options:\n"));
    for (guint i = 0; i < prop_schema_count(pci_bus_props); i++)
        format_prop(s, &pci_bus_props[i]);
    return g_string_free(s, FALSE);
}
