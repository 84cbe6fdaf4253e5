/* SPDX-License-Identifier: MIT */
/* -print-config; see printconfig.h. */
#include "config/printconfig.h"

#include <string.h>

/* Words libconfuse reads unquoted; anything else is quoted so it survives the round trip. */
static bool plain_word(const char *s)
{
    if (!*s || (s[0] == '/' && (s[1] == '/' || s[1] == '*')))
        return false;
    for (const char *c = s; *c; c++)
        if (!g_ascii_isalnum(*c) && !strchr("-_./:", *c))
            return false;
    return true;
}

static void append_value(GString *out, const char *s)
{
    if (plain_word(s)) {
        g_string_append(out, s);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *c = s; *c; c++) {
        if (*c == '"' || *c == '\\')
            g_string_append_c(out, '\\');
        if (*c == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}

static void append_key(GString *out, const char *key, const char *value)
{
    g_string_append_printf(out, "    %s = ", key);
    append_value(out, value);
    g_string_append_c(out, '\n');
}

static void format_item(GString *out, const md_item *it)
{
    bool machine = it->cls == MD_MACHINE;
    g_string_append(out, md_class_name(it->cls));
    if (it->id) {
        g_string_append_c(out, ' ');
        append_value(out, it->id);
    }
    g_string_append(out, " {\n");
    if (it->cls == MD_OBJECT || it->cls == MD_CHARDEV || it->cls == MD_DEVICE)
        append_key(out, "type", it->type);
    for (guint i = 0; it->values && i < it->values->n; i++) {
        const prop_value *v = &it->values->v[i];
        /* The machine is printed whole: it is what the VM will be, defaults included. */
        if (!(v->is_set || (machine && v->has_value)))
            continue;
        g_autofree char *text = prop_format(v);
        append_key(out, v->desc->name, text);
    }
    /* addr= is the PCI core's, not in the type's schema (see validate.c). */
    bool has_addr = false;
    const char *addr = it->cls == MD_DEVICE ? md_item_get(it, "addr", &has_addr) : NULL;
    if (addr)
        append_key(out, "addr", addr);
    g_string_append(out, "}\n");
}

char *printconfig_format(const machine_desc *d)
{
    GString *out = g_string_new("# tessera configuration (validated; load with tessera -config FILE)\n");
    for (guint i = 0; i < d->items->len; i++) {
        g_string_append_c(out, '\n');
        format_item(out, d->items->pdata[i]);
    }
    return g_string_free(out, FALSE);
}
