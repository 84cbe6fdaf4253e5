/* SPDX-License-Identifier: MIT */
/*
 * Help built from schemas, shaped like QEMU's: "-device help" lists the types of a kind,
 * "-device TYPE,help" lists a type's properties ("TYPE options:" then one line each).
 */
#ifndef TESSERA_CORE_HELP_H
#define TESSERA_CORE_HELP_H

#include <glib.h>

#include "config/machine.h"
#include "plugin/registry.h"

/* The types usable in sections of class cls (MD_DEVICE, MD_OBJECT, MD_CHARDEV). Caller frees. */
char *help_list_types(registry *reg, md_class cls);

/* The properties of type in sections of class cls, or NULL with *err when there is no such type. */
char *help_describe_type(registry *reg, md_class cls, const char *type, GError **err);

/* The properties of a schema under the heading "NAME options:". Caller frees. */
char *help_format_schema(const char *name, const ts_prop_desc *schema);

#endif
