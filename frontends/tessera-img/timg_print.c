/* SPDX-License-Identifier: MIT */
/* JSON and human printing of value trees, in qemu-img's layout and key order. */
#include "timg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

unsigned timg_key_rank(const char *key)
{
    /* The bucket qemu's QDict puts key in (tdb hash, 512 buckets): qemu-img prints
     * dictionaries bucket by bucket, so this rank reproduces its key order. */
    uint32_t v = 0x238F13AFu * (uint32_t)strlen(key);

    for (unsigned i = 0; key[i]; i++)
        v += (uint32_t)(unsigned char)key[i] << (i * 5 % 24);
    return (1103515243u * v + 12345u) % 512u;
}

static bool is_dict(GVariant *v)
{
    return g_variant_is_of_type(v, G_VARIANT_TYPE("a{s*}"));
}

static bool is_list(GVariant *v)
{
    return g_variant_is_of_type(v, G_VARIANT_TYPE_ARRAY) && !is_dict(v);
}

static GVariant *unwrap(GVariant *v)
{
    /* Returns a new reference to the innermost value of nested variants. */
    g_variant_ref(v);
    while (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
        GVariant *in = g_variant_get_variant(v);
        g_variant_unref(v);
        v = in;
    }
    return v;
}

struct entry {
    const char *key;
    GVariant *value; /* unwrapped, owned */
    unsigned rank;
    size_t index;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    /* Same bucket: qemu lists the entry inserted last first. */
    return x->index > y->index ? -1 : (x->index < y->index);
}

/* The dictionary's entries in qemu-img's order; free with free_entries. */
static struct entry *sorted_entries(GVariant *dict, size_t *n)
{
    size_t count = g_variant_n_children(dict);
    struct entry *e = g_new0(struct entry, count ? count : 1);

    for (size_t i = 0; i < count; i++) {
        GVariant *child = g_variant_get_child_value(dict, i);
        GVariant *k = g_variant_get_child_value(child, 0);
        GVariant *val = g_variant_get_child_value(child, 1);
        e[i].key = g_variant_get_string(k, NULL); /* k stays alive through child/dict */
        e[i].value = unwrap(val);
        e[i].rank = timg_key_rank(e[i].key);
        e[i].index = i;
        g_variant_unref(val);
        g_variant_unref(k);
        g_variant_unref(child);
    }
    qsort(e, count, sizeof(*e), entry_cmp);
    *n = count;
    return e;
}

static void free_entries(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_variant_unref(e[i].value);
    g_free(e);
}

void timg_json_string(GString *out, const char *s)
{
    const char *p = s;

    g_string_append_c(out, '"');
    while (*p) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            /* Not UTF-8: qemu substitutes U+FFFD. */
            g_string_append(out, "\\uFFFD");
            p++;
            continue;
        }
        switch (c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                if (c >= 0x10000) {
                    c -= 0x10000;
                    g_string_append_printf(out, "\\u%04X\\u%04X", 0xD800 + (c >> 10),
                                           0xDC00 + (c & 0x3FF));
                } else {
                    g_string_append_printf(out, "\\u%04X", c);
                }
            } else {
                g_string_append_c(out, (char)c);
            }
        }
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

/* A scalar as JSON (strings quoted) or as human text (strings bare). */
static void scalar_to(GString *out, GVariant *v, bool json)
{
    const GVariantType *t = g_variant_get_type(v);

    if (g_variant_type_equal(t, G_VARIANT_TYPE_BOOLEAN))
        g_string_append(out, g_variant_get_boolean(v) ? "true" : "false");
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_INT64))
        g_string_append_printf(out, "%" PRId64, g_variant_get_int64(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_UINT64))
        g_string_append_printf(out, "%" PRIu64, g_variant_get_uint64(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_INT32))
        g_string_append_printf(out, "%" PRId32, g_variant_get_int32(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_UINT32))
        g_string_append_printf(out, "%" PRIu32, g_variant_get_uint32(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_INT16))
        g_string_append_printf(out, "%d", g_variant_get_int16(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_UINT16))
        g_string_append_printf(out, "%u", g_variant_get_uint16(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_BYTE))
        g_string_append_printf(out, "%u", g_variant_get_byte(v));
    else if (g_variant_type_equal(t, G_VARIANT_TYPE_DOUBLE))
        g_string_append_printf(out, "%.17g", g_variant_get_double(v));
    else if (g_variant_type_is_basic(t) && g_variant_type_equal(t, G_VARIANT_TYPE_STRING)) {
        if (json)
            timg_json_string(out, g_variant_get_string(v, NULL));
        else
            g_string_append(out, g_variant_get_string(v, NULL));
    } else if (g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH) ||
               g_variant_is_of_type(v, G_VARIANT_TYPE_SIGNATURE)) {
        if (json)
            timg_json_string(out, g_variant_get_string(v, NULL));
        else
            g_string_append(out, g_variant_get_string(v, NULL));
    } else if (g_variant_is_of_type(v, G_VARIANT_TYPE_MAYBE)) {
        GVariant *in = g_variant_get_maybe(v);
        if (in) {
            GVariant *u = unwrap(in);
            scalar_to(out, u, json);
            g_variant_unref(u);
            g_variant_unref(in);
        } else {
            g_string_append(out, "null");
        }
    } else {
        /* Tuples and other shapes have no qemu-img form; print GVariant text. */
        gchar *s = g_variant_print(v, FALSE);
        if (json)
            timg_json_string(out, s);
        else
            g_string_append(out, s);
        g_free(s);
    }
}

static void indent_to(GString *out, int level)
{
    for (int i = 0; i < level * 4; i++)
        g_string_append_c(out, ' ');
}

static void json_to(GString *out, GVariant *v, int level)
{
    GVariant *u = unwrap(v);

    if (is_dict(u)) {
        size_t n;
        struct entry *e = sorted_entries(u, &n);
        g_string_append_c(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                g_string_append_c(out, ',');
            g_string_append_c(out, '\n');
            indent_to(out, level + 1);
            timg_json_string(out, e[i].key);
            g_string_append(out, ": ");
            json_to(out, e[i].value, level + 1);
        }
        g_string_append_c(out, '\n');
        indent_to(out, level);
        g_string_append_c(out, '}');
        free_entries(e, n);
    } else if (is_list(u)) {
        size_t n = g_variant_n_children(u);
        g_string_append_c(out, '[');
        for (size_t i = 0; i < n; i++) {
            GVariant *c = g_variant_get_child_value(u, i);
            if (i)
                g_string_append_c(out, ',');
            g_string_append_c(out, '\n');
            indent_to(out, level + 1);
            json_to(out, c, level + 1);
            g_variant_unref(c);
        }
        g_string_append_c(out, '\n');
        indent_to(out, level);
        g_string_append_c(out, ']');
    } else {
        scalar_to(out, u, true);
    }
    g_variant_unref(u);
}

void timg_print_json(FILE *f, GVariant *v, int level)
{
    GString *s = g_string_new(NULL);

    json_to(s, v, level);
    fputs(s->str, f);
    g_string_free(s, TRUE);
}

static void human_value(GString *out, GVariant *v, int indent);

static void human_list(GString *out, GVariant *list, int indent)
{
    size_t n = g_variant_n_children(list);

    for (size_t i = 0; i < n; i++) {
        GVariant *c = g_variant_get_child_value(list, i);
        GVariant *u = unwrap(c);
        bool composite = is_dict(u) || is_list(u);
        indent_to(out, indent);
        g_string_append_printf(out, "[%zu]:%c", i, composite ? '\n' : ' ');
        human_value(out, u, indent + 1);
        g_variant_unref(u);
        g_variant_unref(c);
    }
}

static void human_dict(GString *out, GVariant *dict, int indent)
{
    size_t n;
    struct entry *e = sorted_entries(dict, &n);

    for (size_t i = 0; i < n; i++) {
        bool composite = is_dict(e[i].value) || is_list(e[i].value);
        char *key = g_strdup(e[i].key);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = ' ';
        indent_to(out, indent);
        g_string_append_printf(out, "%s:%c", key, composite ? '\n' : ' ');
        g_free(key);
        human_value(out, e[i].value, indent + 1);
    }
    free_entries(e, n);
}

static void human_value(GString *out, GVariant *v, int indent)
{
    if (is_dict(v)) {
        human_dict(out, v, indent);
    } else if (is_list(v)) {
        human_list(out, v, indent);
    } else {
        scalar_to(out, v, false);
        g_string_append_c(out, '\n');
    }
}

void timg_print_human_dict(FILE *f, GVariant *dict, int indent)
{
    GString *s = g_string_new(NULL);
    GVariant *u = unwrap(dict);

    if (is_dict(u))
        human_dict(s, u, indent);
    g_variant_unref(u);
    fputs(s->str, f);
    g_string_free(s, TRUE);
}
