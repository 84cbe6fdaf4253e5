/* SPDX-License-Identifier: MIT */
/*
 * machine_desc_validate(): every item against its schema, then ids, then references.
 * The first problem found ends validation: one precise line beats a page of follow-ups.
 * Every message reads "ORIGIN: SECTION 'ID' (TYPE): what is wrong".
 */
#include "config/machine.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "config/core_schemas.h"
#include "pci/pci.h"
#include "plugin/registry.h"
#include "util/error.h"

/* "object 'm0' (memory-backend-ram)", "device (ivshmem-plain)", "machine", "drive 'd0'". */
static char *item_label(const md_item *it)
{
    GString *s = g_string_new(md_class_name(it->cls));
    if (it->id)
        g_string_append_printf(s, " '%s'", it->id);
    if (it->cls == MD_OBJECT || it->cls == MD_DEVICE || it->cls == MD_CHARDEV)
        g_string_append_printf(s, " (%s)", it->type ? it->type : "?");
    return g_string_free(s, FALSE);
}

static int fail(GError **err, const md_origin *where, const md_item *it, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static int fail(GError **err, const md_origin *where, const md_item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *origin = md_origin_describe(where && (where->file || where->option)
                                                 ? where : &it->origin);
    g_autofree char *label = item_label(it);
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: %s: %s", origin, label, what);
    return -EINVAL;
}

/* QEMU's rule: a letter, then letters, digits, '-', '.' and '_'. */
static bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0]))
        return false;
    for (const char *c = id + 1; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.' && *c != '_')
            return false;
    return true;
}

static char *schema_names(const ts_prop_desc *schema)
{
    guint n = prop_schema_count(schema);
    if (!n)
        return g_strdup("it has no properties");
    GString *s = g_string_new("known: ");
    for (guint i = 0; i < n; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", schema[i].name);
    return g_string_free(s, FALSE);
}

/* Finds the schema of it: plugin types through the registry, core sections in core_schemas. */
static int resolve_schema(md_item *it, registry *reg, GError **err)
{
    it->resolved = NULL;
    it->schema = NULL;
    /* Built-in devices (isa-debug-exit) have a core schema and no plugin. */
    if (it->cls == MD_DEVICE && (it->schema = core_schema_find(MD_DEVICE, it->type)))
        return 0;
    if (it->cls == MD_OBJECT || it->cls == MD_DEVICE) {
        uint32_t kind = it->cls == MD_OBJECT ? TS_KIND_MEMORY_BACKEND : TS_KIND_DEVICE;
        GError *e = NULL;
        const registry_type *t = reg ? registry_find(reg, it->type, kind, &e) : NULL;
        if (!t) {
            int r = fail(err, NULL, it, "%s", e ? e->message : "no plugin registry");
            g_clear_error(&e);
            return r;
        }
        it->resolved = t;
        it->schema = t->desc->props;
        return 0;
    }
    it->schema = core_schema_find(it->cls, it->type);
    if (!it->schema && it->cls == MD_CHARDEV)
        return fail(err, NULL, it, "unknown chardev backend '%s' (use socket, file, stdio or null)",
                    it->type);
    if (!it->schema)
        return fail(err, NULL, it, "unknown %s type '%s'", md_class_name(it->cls), it->type);
    return 0;
}

/* Parses the user's values against the resolved schema and checks required properties. */
static int parse_values(md_item *it, GError **err)
{
    /* Built-in empty schema for types without properties, so prop_values has a schema. */
    static const ts_prop_desc no_props[] = { TS_PROP_DESC_END };
    const ts_prop_desc *schema = it->schema ? it->schema : no_props;
    prop_values_free(it->values);
    it->values = prop_values_new(schema);
    for (guint i = 0; i < it->props->len; i++) {
        md_prop *p = it->props->pdata[i];
        prop_value *v = prop_values_find(it->values, p->key);
        if (!v && it->cls == MD_DEVICE && strcmp(p->key, "addr") == 0) {
            /* addr=SLOT[.FN] is the core's (PCI placement, core/pci), valid on every device type. */
            GError *e = NULL;
            uint8_t devfn;
            if (pci_parse_addr(p->value, &devfn, &e) < 0) {
                int r = fail(err, &p->origin, it, "property 'addr': %s", e->message);
                g_error_free(e);
                return r;
            }
            continue;
        }
        if (!v) {
            g_autofree char *known = schema_names(schema);
            return fail(err, &p->origin, it, "unknown property '%s' (%s)", p->key, known);
        }
        GError *e = NULL;
        if (prop_parse(v->desc, p->value, v, &e) < 0) {
            int r = fail(err, &p->origin, it, "%s", e->message);
            g_error_free(e);
            return r;
        }
        v->is_set = true;
    }
    for (guint i = 0; i < it->values->n; i++) {
        const prop_value *v = &it->values->v[i];
        if ((v->desc->flags & TS_PROP_REQUIRED) && !v->is_set)
            return fail(err, NULL, it, "missing required property '%s' (add %s=...)",
                        v->desc->name, v->desc->name);
    }
    return 0;
}

static int check_item(md_item *it, registry *reg, GError **err)
{
    if (it->id && !id_wellformed(it->id))
        return fail(err, NULL, it, "invalid id '%s' (an id starts with a letter and holds letters, "
                    "digits, '-', '.' and '_')", it->id);
    if (!it->id && (it->cls == MD_OBJECT || it->cls == MD_CHARDEV))
        return fail(err, NULL, it, "missing id (add id=NAME)");
    int r = resolve_schema(it, reg, err);
    if (r < 0)
        return r;
    return parse_values(it, err);
}

/* One id space for objects, chardevs, drives and devices, as in QEMU. */
static int index_ids(machine_desc *d, GHashTable *ids, GError **err)
{
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (!it->id)
            continue;
        md_item *first = g_hash_table_lookup(ids, it->id);
        if (first) {
            g_autofree char *where = md_origin_describe(&first->origin);
            g_autofree char *label = item_label(first);
            return fail(err, NULL, it, "duplicate id '%s' (already used by %s at %s)", it->id, label,
                        where);
        }
        g_hash_table_insert(ids, it->id, it);
    }
    return 0;
}

static md_class ref_class(uint32_t target)
{
    switch (target) {
    case TS_REF_MEMORY_BACKEND: return MD_OBJECT;
    case TS_REF_CHARDEV: return MD_CHARDEV;
    default: return MD_DRIVE;
    }
}

static const char *ref_what(uint32_t target)
{
    switch (target) {
    case TS_REF_MEMORY_BACKEND: return "a memory backend";
    case TS_REF_CHARDEV: return "a chardev";
    default: return "a drive";
    }
}

static bool is_memory_backend(const md_item *target)
{
    const registry_type *t = target->resolved;
    return target->cls == MD_OBJECT && t && t->desc->kind == TS_KIND_MEMORY_BACKEND;
}

/* The origin of the user's text for key, or NULL (then the item's origin is used). */
static const md_origin *prop_origin(const md_item *it, const char *key)
{
    for (guint i = 0; i < it->props->len; i++) {
        const md_prop *p = it->props->pdata[i];
        if (strcmp(p->key, key) == 0)
            return &p->origin;
    }
    return NULL;
}

static int check_ref(md_item *it, const char *prop, const char *id, uint32_t target,
                     GHashTable *ids, GError **err)
{
    const md_origin *where = prop_origin(it, prop);
    md_item *to = g_hash_table_lookup(ids, id);
    if (!to)
        return fail(err, where, it, "property '%s': no %s with id '%s'", prop,
                    ref_what(target) + 2, id);
    bool ok = to->cls == ref_class(target) &&
              (target != TS_REF_MEMORY_BACKEND || is_memory_backend(to));
    if (!ok) {
        g_autofree char *label = item_label(to);
        return fail(err, where, it, "property '%s': '%s' is %s, not %s", prop, id, label,
                    ref_what(target));
    }
    return 0;
}

static int check_refs(md_item *it, GHashTable *ids, GError **err)
{
    for (guint i = 0; i < it->values->n; i++) {
        prop_value *v = &it->values->v[i];
        if (v->desc->type != TS_PROP_REF || !v->has_value)
            continue;
        int r = check_ref(it, v->desc->name, v->s, v->desc->ref_target, ids, err);
        if (r < 0)
            return r;
    }
    if (it->cls == MD_SERIAL) {
        prop_value *v = prop_values_find(it->values, "backend");
        core_serial_kind kind;
        g_autofree char *arg = NULL;
        GError *e = NULL;
        if (core_serial_parse(v->s, &kind, &arg, &e) < 0) {
            int r = fail(err, prop_origin(it, "backend"), it, "%s", e->message);
            g_error_free(e);
            return r;
        }
        if (kind == CORE_SERIAL_CHARDEV)
            return check_ref(it, "backend", arg, TS_REF_CHARDEV, ids, err);
    }
    return 0;
}

static int check_drive_format(md_item *it, registry *reg, GError **err)
{
    prop_value *v = prop_values_find(it->values, "format");
    if (!v || !v->has_value || strcmp(v->s, "raw") == 0)
        return 0;
    GError *e = NULL;
    if (reg && registry_find(reg, v->s, TS_KIND_BLOCK_FORMAT, &e))
        return 0;
    int r = fail(err, prop_origin(it, "format"), it, "property 'format': %s",
                 e ? e->message : "no plugin registry");
    g_clear_error(&e);
    return r;
}

/* sockets*cores*threads must give cpus; a missing cores is derived as QEMU does. */
static int check_topology(md_item *m, GError **err)
{
    prop_value *cpus = prop_values_find(m->values, "cpus");
    prop_value *s = prop_values_find(m->values, "sockets");
    prop_value *c = prop_values_find(m->values, "cores");
    prop_value *t = prop_values_find(m->values, "threads");
    if (!s->is_set && !c->is_set && !t->is_set)
        return 0;
    int64_t ns = s->is_set ? s->i : 1, nt = t->is_set ? t->i : 1;
    int64_t nc = c->is_set ? c->i : 1;
    if (cpus->is_set && !c->is_set && cpus->i % (ns * nt) == 0)
        nc = cpus->i / (ns * nt);
    int64_t product = ns * nc * nt;
    if (!cpus->is_set && product <= 255) {
        cpus->i = product;
        return 0;
    }
    if (product != cpus->i)
        return fail(err, prop_origin(m, "cpus"), m,
                    "property 'cpus': %" PRId64 " does not match sockets*cores*threads = %" PRId64,
                    cpus->i, product);
    return 0;
}

/* Guest RAM from a backend: -m, when given, must agree with the backend's size. */
static int check_machine_memory(md_item *m, GHashTable *ids, GError **err)
{
    prop_value *be = prop_values_find(m->values, "memory-backend");
    prop_value *mem = prop_values_find(m->values, "memory");
    if (!be->has_value)
        return 0;
    md_item *obj = g_hash_table_lookup(ids, be->s);
    prop_value *size = obj ? prop_values_find(obj->values, "size") : NULL;
    if (!size || size->desc->type != TS_PROP_SIZE || !size->has_value)
        return 0;
    if (!mem->is_set) {
        mem->size = size->size;
        return 0;
    }
    if (mem->size != size->size) {
        g_autofree char *a = prop_format(mem);
        g_autofree char *b = prop_format(size);
        return fail(err, prop_origin(m, "memory"), m,
                    "property 'memory': %s does not match the size of memory-backend '%s' (%s)", a,
                    be->s, b);
    }
    return 0;
}

int machine_desc_validate(machine_desc *d, registry *reg, GError **err)
{
    md_item *machine = machine_desc_machine(d);
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    int r = 0;
    for (guint i = 0; i < d->items->len && r == 0; i++)
        r = check_item(d->items->pdata[i], reg, err);
    if (r == 0)
        r = index_ids(d, ids, err);
    for (guint i = 0; i < d->items->len && r == 0; i++) {
        md_item *it = d->items->pdata[i];
        r = check_refs(it, ids, err);
        if (r == 0 && it->cls == MD_DRIVE)
            r = check_drive_format(it, reg, err);
    }
    if (r == 0)
        r = check_topology(machine, err);
    if (r == 0)
        r = check_machine_memory(machine, ids, err);
    return r;
}
