/* SPDX-License-Identifier: MIT */
/*
 * The plugin registry: finds plugin files on the search path, loads them with libltdl,
 * checks their descriptors against the ABI rules and indexes the types they provide.
 */
#ifndef TESSERA_CORE_REGISTRY_H
#define TESSERA_CORE_REGISTRY_H

#include <glib.h>
#include <stdbool.h>

#include "tessera/plugin.h"

typedef struct registry registry;

/* A loaded plugin. */
typedef struct registry_plugin {
    char *path;                 /* file it came from ("(built-in)" for built-ins) */
    const ts_plugin_desc *desc; /* as exported */
    void *handle;               /* lt_dlhandle, NULL for built-ins */
} registry_plugin;

/* A type, with the plugin that provides it. */
typedef struct registry_type {
    const ts_type_desc *desc;
    const registry_plugin *plugin;
} registry_type;

/* A file on the search path that could not be used, and why. */
typedef struct registry_problem {
    char *path;
    char *message; /* one line */
} registry_problem;

/*
 * Creates a registry whose search path is, in order: extra_dirs (from -plugin-path),
 * the directories in $TESSERA_PLUGIN_PATH (colon-separated), the build tree's plugin
 * directory when the running executable lives in the build tree, the installed plugin
 * directory. Nothing is loaded yet.
 */
registry *registry_new(const char *const *extra_dirs, guint n_extra);
void registry_free(registry *reg);

/* Registers a descriptor compiled into the executable (core devices), after checking it like a file's. */
int registry_add_builtin(registry *reg, const ts_plugin_desc *desc, GError **err);

/*
 * Loads every *.so on the search path (each real file once), keeping problems for
 * later reporting. Calling it again does nothing.
 */
void registry_scan(registry *reg);

/*
 * Finds a type of kind (0 = any kind). On failure returns NULL with *err naming what was
 * asked, where the registry looked, the load problem of a file named after the type, or
 * both files when two plugins provide the type.
 */
const registry_type *registry_find(registry *reg, const char *name, uint32_t kind, GError **err);

/* All types found (registry_type *), sorted by name. Scans first. */
GPtrArray *registry_types(registry *reg);
/* Files that could not be used (registry_problem *), and duplicate-type conflicts. */
const GPtrArray *registry_problems(registry *reg);
/* The search path (char *), in order. */
const GPtrArray *registry_search_path(registry *reg);

/* "device", "block-format", "memory-backend", or "unknown". */
const char *registry_kind_name(uint32_t kind);

#endif
