/* SPDX-License-Identifier: MIT */
/*
 * The machine description: one model that both syntaxes (config file, QEMU-style
 * options) produce, that validation checks against plugin and core schemas, that
 * -print-config prints and that the launcher instantiates.
 */
#ifndef TESSERA_CORE_MACHINE_H
#define TESSERA_CORE_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "object/propval.h"

/* Where a piece of the description came from, for error messages. */
typedef struct md_origin {
    char *file;   /* config file path, or NULL */
    int line;     /* line in file (1-based), or 0 */
    char *option; /* command-line option text, e.g. "-object memory-backend-ram,id=m0", or NULL */
} md_origin;

/* Sections of a description. */
typedef enum md_class {
    MD_MACHINE, /* the single machine section (memory, cpus, kernel, ...) */
    MD_OBJECT,  /* -object / object: memory backends */
    MD_CHARDEV, /* -chardev / chardev: type is the backend (socket, file, stdio, null) */
    MD_DRIVE,   /* -drive / drive: type is always "drive" */
    MD_DEVICE,  /* -device / device */
    MD_SERIAL,  /* -serial / serial: type is always "serial" */
} md_class;

/* One key=value as the user wrote it. value NULL means a bare key ("share"). */
typedef struct md_prop {
    char *key;
    char *value;
    md_origin origin;
} md_prop;

/* One section instance. */
typedef struct md_item {
    md_class cls;
    char *type;       /* type name (see md_class) */
    char *id;         /* id, or NULL when the user gave none */
    GPtrArray *props; /* md_prop *, in the order given; "id" and the type are not in here */
    md_origin origin; /* where the section/option starts */

    /* Filled by machine_desc_validate(): */
    const ts_prop_desc *schema; /* the schema the props were checked against */
    prop_values *values;        /* typed values, defaults applied */
    const void *resolved;       /* const registry_type * for MD_OBJECT and MD_DEVICE, else NULL */
} md_item;

typedef struct machine_desc {
    GPtrArray *items;        /* md_item *, in the order given; exactly one MD_MACHINE item is created on demand */
    GPtrArray *plugin_paths; /* char *, from -plugin-path, in order */
} machine_desc;

machine_desc *machine_desc_new(void);
void machine_desc_free(machine_desc *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(machine_desc, machine_desc_free)

/* The MD_MACHINE item, created (with no props, origin unset) when missing. */
md_item *machine_desc_machine(machine_desc *d);

/* Appends a new item; takes copies of type and id; origin is copied. */
md_item *md_item_add(machine_desc *d, md_class cls, const char *type, const char *id,
                     const md_origin *origin);
/* Sets key on item (replacing an earlier value of the same key); value NULL = bare key. */
void md_item_set(md_item *it, const char *key, const char *value, const md_origin *origin);
/* Value string of key, or NULL if absent; *present tells a bare key from absence. */
const char *md_item_get(const md_item *it, const char *key, bool *present);

/* Section name as written in config files and errors ("object", "device", ...). */
const char *md_class_name(md_class cls);

/* "file:line" or "option TEXT" — for the start of error messages. Caller frees. */
char *md_origin_describe(const md_origin *o);
void md_origin_copy(md_origin *dst, const md_origin *src);
void md_origin_clear(md_origin *o);

/*
 * Splits QEMU-style "TYPE,k=v,k2=v2" (",," is a literal comma; a bare "k" means k with
 * value NULL). When first_is_type is true the first element must be a bare word and is
 * returned in *type. Adds props to it via md_item_set-like semantics into props.
 */
struct registry;
/*
 * Checks every item against its schema: resolves types through reg (objects and
 * devices) or the core schemas (machine, chardev, drive, serial), parses values, applies
 * defaults, checks required properties, ids (unknown, duplicate) and references (to a
 * missing id or to an object of the wrong kind). Returns 0, or -EINVAL with *err set to
 * a one-line message naming the origin and the property.
 */
int machine_desc_validate(machine_desc *d, struct registry *reg, GError **err);

#endif
