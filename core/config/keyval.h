/* SPDX-License-Identifier: MIT */
/*
 * QEMU-style option values: "TYPE,key=value,flag,key2=a,,b". ",," is a literal comma,
 * a bare "flag" is a key without value (meaning "on" for booleans), and a first element
 * without '=' is the value of an implied key ("memory-backend-ram" in -object, "256" in -m).
 */
#ifndef TESSERA_CORE_KEYVAL_H
#define TESSERA_CORE_KEYVAL_H

#include <glib.h>

typedef struct keyval_pair {
    char *key;
    char *value; /* NULL for a bare key */
} keyval_pair;

/*
 * Splits text into pairs (keyval_pair *, in order; the array frees them). When
 * implied_key is not NULL, a first element without '=' becomes implied_key=element.
 * Returns NULL with *err set (without location) on an empty key.
 */
GPtrArray *keyval_split(const char *text, const char *implied_key, GError **err);

/* Value of the last pair named key, or NULL; *present tells a bare key from absence. */
const char *keyval_get(const GPtrArray *pairs, const char *key, gboolean *present);

#endif
