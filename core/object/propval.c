/* SPDX-License-Identifier: MIT */
/* Property values: strict parsing of user text against a schema, canonical formatting. */
#include "util/error.h"
#include "object/propval.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

bool prop_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "on", "yes", "true", "y", "1", NULL };
    static const char *const no[] = { "off", "no", "false", "n", "0", NULL };
    for (int i = 0; yes[i]; i++) {
        if (g_ascii_strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (g_ascii_strcasecmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

bool prop_parse_int(const char *text, int64_t *out)
{
    const char *p = text;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!g_ascii_isdigit(*p))
        return false;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (!g_ascii_isxdigit(*p))
            return false;
    }
    char *end;
    errno = 0;
    guint64 mag = g_ascii_strtoull(p, &end, base);
    if (errno || *end != '\0')
        return false;
    if (neg) {
        if (mag > (guint64)INT64_MAX + 1)
            return false;
        *out = mag == (guint64)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > INT64_MAX)
            return false;
        *out = (int64_t)mag;
    }
    return true;
}

static int size_suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B': return 0;
    case 'K': return 10;
    case 'M': return 20;
    case 'G': return 30;
    case 'T': return 40;
    case 'P': return 50;
    case 'E': return 60;
    default: return -1;
    }
}

bool prop_parse_size(const char *text, uint64_t *out)
{
    if (!g_ascii_isdigit(text[0]))
        return false;
    char *end;
    errno = 0;
    /* Hex sizes have no fraction and no suffix (as QEMU's size parser). */
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        if (!g_ascii_isxdigit(text[2]))
            return false;
        guint64 v = g_ascii_strtoull(text + 2, &end, 16);
        if (errno || *end)
            return false;
        *out = v;
        return true;
    }
    guint64 whole = g_ascii_strtoull(text, &end, 10);
    if (errno)
        return false;
    double frac = 0;
    if (*end == '.') {
        const char *f = end + 1;
        if (!g_ascii_isdigit(*f))
            return false;
        double scale = 0.1;
        while (g_ascii_isdigit(*f)) {
            frac += (*f - '0') * scale;
            scale /= 10;
            f++;
        }
        end = (char *)f;
    }
    int shift = 0;
    if (*end) {
        shift = size_suffix_shift(*end);
        if (shift < 0)
            return false;
        end++;
        /* Accept "MB"/"MiB"-free forms only: "1M" and "1MB" are both fine. */
        if (shift > 0 && (*end == 'B' || *end == 'b'))
            end++;
        if (*end)
            return false;
    }
    if (frac > 0 && shift == 0)
        return false; /* a fraction of a byte */
    if (shift && whole > (UINT64_MAX >> shift))
        return false;
    uint64_t v = whole << shift;
    if (frac > 0) {
        double extra = frac * (double)(UINT64_C(1) << shift);
        if ((double)(UINT64_MAX - v) < extra)
            return false;
        v += (uint64_t)extra;
    }
    *out = v;
    return true;
}

const char *prop_type_name(uint32_t type)
{
    switch (type) {
    case TS_PROP_BOOL: return "bool";
    case TS_PROP_INT: return "int";
    case TS_PROP_SIZE: return "size";
    case TS_PROP_STRING: return "string";
    case TS_PROP_ENUM: return "enum";
    case TS_PROP_REF: return "ref";
    default: return "unknown";
    }
}

/* "a, b or c" from an enum's values, for messages. */
static char *enum_choices(const char *const *vals)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; vals[i]; i++) {
        if (i)
            g_string_append(s, vals[i + 1] ? ", " : " or ");
        g_string_append(s, vals[i]);
    }
    return g_string_free(s, FALSE);
}

static char *size_text(uint64_t v);

int prop_parse(const ts_prop_desc *d, const char *text, prop_value *v, GError **err)
{
    v->desc = d;
    if (!text && d->type != TS_PROP_BOOL) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "property '%s' needs a value (%s=...)", d->name, d->name);
        return -EINVAL;
    }
    switch (d->type) {
    case TS_PROP_BOOL:
        if (!text) {
            v->b = true;
            break;
        }
        if (!prop_parse_bool(text, &v->b)) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "property '%s': '%s' is not a boolean (use on or off)", d->name, text);
            return -EINVAL;
        }
        break;
    case TS_PROP_INT:
        if (!prop_parse_int(text, &v->i)) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "property '%s': '%s' is not an integer", d->name, text);
            return -EINVAL;
        }
        if (v->i < d->min || v->i > d->max) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "property '%s': %" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")",
                        d->name, v->i, d->min, d->max);
            return -ERANGE;
        }
        break;
    case TS_PROP_SIZE: {
        if (!prop_parse_size(text, &v->size)) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "property '%s': '%s' is not a size (use a number with an optional "
                        "K, M, G or T suffix)", d->name, text);
            return -EINVAL;
        }
        uint64_t lo = (uint64_t)d->min, hi = (uint64_t)d->max;
        if (v->size < lo || (hi && v->size > hi)) {
            g_autofree char *slo = size_text(lo);
            g_autofree char *shi = hi ? size_text(hi) : NULL;
            if (hi)
                g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                            "property '%s': %s is out of range (%s to %s)", d->name, text, slo, shi);
            else
                g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                            "property '%s': %s is too small (at least %s)", d->name, text, slo);
            return -ERANGE;
        }
        break;
    }
    case TS_PROP_STRING:
    case TS_PROP_REF:
        if (d->type == TS_PROP_REF && !*text) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "property '%s': an empty id names nothing", d->name);
            return -EINVAL;
        }
        g_free(v->s);
        v->s = g_strdup(text);
        break;
    case TS_PROP_ENUM: {
        for (uint32_t i = 0; d->enum_values[i]; i++) {
            if (strcmp(d->enum_values[i], text) == 0) {
                v->e = i;
                goto done;
            }
        }
        g_autofree char *choices = enum_choices(d->enum_values);
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "property '%s': '%s' is not one of %s", d->name, text, choices);
        return -EINVAL;
    }
    default:
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "property '%s' has unknown type %u", d->name, d->type);
        return -EINVAL;
    }
done:
    v->has_value = true;
    return 0;
}

/* Exact sizes print with the largest suffix that keeps them whole: 1048576 -> "1M". */
static char *size_text(uint64_t v)
{
    static const char suffix[] = "KMGTPE";
    if (v == 0)
        return g_strdup("0");
    int i = -1;
    while (i < 5 && (v & 1023) == 0) {
        v >>= 10;
        i++;
    }
    if (i < 0)
        return g_strdup_printf("%" PRIu64, v);
    return g_strdup_printf("%" PRIu64 "%c", v, suffix[i]);
}

char *prop_format(const prop_value *v)
{
    const ts_prop_desc *d = v->desc;
    switch (d->type) {
    case TS_PROP_BOOL: return g_strdup(v->b ? "on" : "off");
    case TS_PROP_INT: return g_strdup_printf("%" PRId64, v->i);
    case TS_PROP_SIZE: return size_text(v->size);
    case TS_PROP_ENUM: return g_strdup(d->enum_values[v->e]);
    default: return g_strdup(v->s ? v->s : "");
    }
}

guint prop_schema_count(const ts_prop_desc *schema)
{
    guint n = 0;
    while (schema && schema[n].name)
        n++;
    return n;
}

const ts_prop_desc *prop_schema_find(const ts_prop_desc *schema, const char *name)
{
    for (guint i = 0; schema && schema[i].name; i++)
        if (strcmp(schema[i].name, name) == 0)
            return &schema[i];
    return NULL;
}

static bool reserved_zero(const ts_prop_desc *d)
{
    if (d->reserved0)
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(d->reserved); i++)
        if (d->reserved[i])
            return false;
    return true;
}

int prop_schema_check(const ts_prop_desc *schema, GError **err)
{
    for (guint i = 0; schema && schema[i].name; i++) {
        const ts_prop_desc *d = &schema[i];
        const char *why = NULL;
        if (!*d->name)
            why = "has an empty name";
        else if (prop_schema_find(schema, d->name) != d)
            why = "is declared twice";
        else if (d->type < TS_PROP_BOOL || d->type > TS_PROP_REF)
            why = "has an unknown type";
        else if (d->type == TS_PROP_ENUM && (!d->enum_values || !d->enum_values[0]))
            why = "is an enum without values";
        else if (d->type == TS_PROP_REF &&
                 (d->ref_target < TS_REF_MEMORY_BACKEND || d->ref_target > TS_REF_DRIVE))
            why = "refers to an unknown kind of object";
        else if (d->type == TS_PROP_INT && d->min > d->max)
            why = "has min greater than max";
        else if (!reserved_zero(d))
            why = "has non-zero reserved fields";
        if (why) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "property '%s' %s", d->name, why);
            return -EINVAL;
        }
        if (d->default_value) {
            prop_value v = { 0 };
            GError *e = NULL;
            int r = prop_parse(d, d->default_value, &v, &e);
            g_free(v.s);
            if (r < 0) {
                g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "bad default: %s", e->message);
                g_error_free(e);
                return -EINVAL;
            }
        }
    }
    return 0;
}

prop_values *prop_values_new(const ts_prop_desc *schema)
{
    prop_values *pv = g_new0(prop_values, 1);
    pv->schema = schema;
    pv->n = prop_schema_count(schema);
    pv->v = g_new0(prop_value, pv->n ? pv->n : 1);
    for (guint i = 0; i < pv->n; i++) {
        pv->v[i].desc = &schema[i];
        /* Defaults were checked by prop_schema_check when the plugin loaded. */
        if (schema[i].default_value)
            (void)prop_parse(&schema[i], schema[i].default_value, &pv->v[i], NULL);
    }
    return pv;
}

void prop_values_free(prop_values *pv)
{
    if (!pv)
        return;
    for (guint i = 0; i < pv->n; i++)
        g_free(pv->v[i].s);
    g_free(pv->v);
    g_free(pv);
}

prop_value *prop_values_find(prop_values *pv, const char *name)
{
    for (guint i = 0; pv && i < pv->n; i++)
        if (strcmp(pv->v[i].desc->name, name) == 0)
            return &pv->v[i];
    return NULL;
}
