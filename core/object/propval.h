/* SPDX-License-Identifier: MIT */
/*
 * Property values: parsing user text against a ts_prop_desc, canonical formatting, and
 * the typed value set an object's hooks read through ts_host_api.
 */
#ifndef TESSERA_CORE_PROPVAL_H
#define TESSERA_CORE_PROPVAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "tessera/props.h"

/* One typed value. For TS_PROP_REF, s holds the referenced id and ref the object once bound. */
typedef struct prop_value {
    const ts_prop_desc *desc;
    bool is_set;      /* user gave it */
    bool has_value;   /* given or defaulted */
    bool b;           /* TS_PROP_BOOL */
    int64_t i;        /* TS_PROP_INT */
    uint64_t size;    /* TS_PROP_SIZE */
    uint32_t e;       /* TS_PROP_ENUM index */
    char *s;          /* TS_PROP_STRING, TS_PROP_REF id */
    void *ref;        /* TS_PROP_REF: bound ts_object *, set when objects are created */
} prop_value;

/* Values of all properties of one schema, in schema order. */
typedef struct prop_values {
    const ts_prop_desc *schema;
    guint n;
    prop_value *v;
} prop_values;

/* Strict parsers of the user-facing value syntaxes. Return false on bad input. */
bool prop_parse_bool(const char *text, bool *out);     /* on/off yes/no true/false y/n 1/0 */
bool prop_parse_size(const char *text, uint64_t *out); /* 1048576, 1M, 1.5G, 64k; suffixes K M G T P E (1024-based), optional B */
bool prop_parse_int(const char *text, int64_t *out);   /* decimal, 0x hex, optional sign */

/*
 * Parses text (NULL = bare key, meaning "on" for bools and an error otherwise) into v
 * according to d. On error returns -EINVAL and sets *err to a message without location,
 * e.g. "property 'size': '12Q' is not a size (use a number with an optional K, M, G or T suffix)".
 */
int prop_parse(const ts_prop_desc *d, const char *text, prop_value *v, GError **err);

/* Canonical text of a value, parseable by prop_parse: on/off, "1M"-style exact sizes, decimal ints. */
char *prop_format(const prop_value *v);

/* Type name for help output: "bool", "int", "size", "string", "enum", "ref". */
const char *prop_type_name(uint32_t type);

/* Number of entries in a schema (NULL schema = 0). */
guint prop_schema_count(const ts_prop_desc *schema);
/* Entry named name, or NULL. */
const ts_prop_desc *prop_schema_find(const ts_prop_desc *schema, const char *name);

/*
 * Checks a plugin-declared schema: names unique and non-empty, types known, defaults
 * parse, enum lists present, ref targets known, reserved fields zero. Used by the loader.
 */
int prop_schema_check(const ts_prop_desc *schema, GError **err);

prop_values *prop_values_new(const ts_prop_desc *schema); /* defaults applied */
void prop_values_free(prop_values *pv);
prop_value *prop_values_find(prop_values *pv, const char *name);

#endif
