/* SPDX-License-Identifier: MIT */
/* Splitting of QEMU-style "TYPE,k=v,..." option values; see keyval.h. */
#include "config/keyval.h"

#include <stdbool.h>
#include <string.h>

#include "util/error.h"

static void pair_free(gpointer p)
{
    keyval_pair *kv = p;
    g_free(kv->key);
    g_free(kv->value);
    g_free(kv);
}

/*
 * Reads one element starting at *p, undoing ",," escapes; *more tells whether a
 * separating comma followed (so another element, possibly empty, comes next).
 */
static char *next_element(const char **p, bool *more)
{
    GString *s = g_string_new(NULL);
    const char *c = *p;
    for (; *c; c++) {
        if (*c == ',') {
            if (c[1] != ',')
                break;
            c++; /* ",," stands for one comma */
        }
        g_string_append_c(s, *c);
    }
    *more = *c == ',';
    *p = *more ? c + 1 : c;
    return g_string_free(s, FALSE);
}

GPtrArray *keyval_split(const char *text, const char *implied_key, GError **err)
{
    GPtrArray *pairs = g_ptr_array_new_with_free_func(pair_free);
    const char *p = text;
    bool first = true, more = *p != '\0';
    /* An empty text has no elements; "a," ends with an empty one, which is an error. */
    while (more) {
        g_autofree char *elem = next_element(&p, &more);
        char *eq = strchr(elem, '=');
        keyval_pair *kv = g_new0(keyval_pair, 1);
        if (first && implied_key && !eq) {
            kv->key = g_strdup(implied_key);
            kv->value = g_strdup(elem);
        } else if (eq) {
            kv->key = g_strndup(elem, eq - elem);
            kv->value = g_strdup(eq + 1);
        } else {
            kv->key = g_strdup(elem);
        }
        first = false;
        g_ptr_array_add(pairs, kv);
        if (!*kv->key) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "empty parameter name in '%s'", text);
            g_ptr_array_free(pairs, TRUE);
            return NULL;
        }
    }
    return pairs;
}

const char *keyval_get(const GPtrArray *pairs, const char *key, gboolean *present)
{
    const char *value = NULL;
    gboolean found = FALSE;
    for (guint i = 0; i < pairs->len; i++) {
        const keyval_pair *kv = pairs->pdata[i];
        if (strcmp(kv->key, key) == 0) {
            value = kv->value;
            found = TRUE;
        }
    }
    if (present)
        *present = found;
    return value;
}
