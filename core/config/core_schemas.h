/* SPDX-License-Identifier: MIT */
/*
 * Property schemas of the sections the core itself implements: machine, the chardev
 * backends, drive and serial. They use the same ts_prop_desc tables as plugins, so
 * parsing, validation, help and -print-config treat core and plugin sections alike.
 */
#ifndef TESSERA_CORE_CORE_SCHEMAS_H
#define TESSERA_CORE_CORE_SCHEMAS_H

#include <glib.h>

#include "config/machine.h"
#include "tessera/props.h"

/* Index of the machine schema's enum properties. */
extern const char *const core_machine_types[];   /* "pc", "q35", "microvm" */
extern const char *const core_chardev_backends[]; /* "socket", "file", "stdio", "null" */

/*
 * The schema of a core section, or NULL when cls is not core or type is unknown. For
 * MD_DEVICE: the built-in devices (isa-debug-exit); NULL means a plugin type.
 */
const ts_prop_desc *core_schema_find(md_class cls, const char *type);

/* One-line description of a core type, for help listings. */
const char *core_type_description(md_class cls, const char *type);

/* What a serial backend string ("stdio", "null", "none", "file:PATH", "chardev:ID") means. */
typedef enum core_serial_kind {
    CORE_SERIAL_NONE,
    CORE_SERIAL_STDIO,
    CORE_SERIAL_NULL,
    CORE_SERIAL_FILE,
    CORE_SERIAL_CHARDEV,
} core_serial_kind;

/*
 * Parses a serial backend string. *arg (caller frees) is the path or chardev id, NULL
 * otherwise. Returns 0, or -EINVAL with *err saying which forms are accepted.
 */
int core_serial_parse(const char *text, core_serial_kind *kind, char **arg, GError **err);

#endif
