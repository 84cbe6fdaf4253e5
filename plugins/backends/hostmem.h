/* SPDX-License-Identifier: MIT */
/*
 * What the three memory-backend plugins share: the properties every backend has, page-size
 * detection, aligned mapping, madvise hints, preallocation and region reporting.
 *
 * hostmem.c is compiled into each plugin (nothing crosses between plugins: every symbol is
 * hidden), so each plugin has its own copy of hostmem_host.
 */
#ifndef TESSERA_PLUGINS_HOSTMEM_H
#define TESSERA_PLUGINS_HOSTMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "tessera/tessera.h"

/* The host's services, kept by hostmem_init (the plugin's init hook). */
extern const ts_host_api *hostmem_host;

/* Keeps host after checking that it offers what the backends call. Returns 0 or -ENOTSUP. */
int hostmem_init(const ts_host_api *host);

/* Property declarations common to every backend; share's default differs (memfd: on). */
#define HOSTMEM_COMMON_PROPS(share_default)                                                   \
    TS_PROP_DESC_SIZE("size", TS_PROP_REQUIRED, NULL, 1, 0, "size of the memory in bytes"),   \
    TS_PROP_DESC_BOOL("share", 0, share_default,                                              \
                      "map MAP_SHARED, so other mappings and processes see the writes"),       \
    TS_PROP_DESC_BOOL("prealloc", 0, "off", "allocate every page when the backend is created"), \
    TS_PROP_DESC_BOOL("merge", 0, "on", "let KSM merge identical pages (MADV_MERGEABLE)"),     \
    TS_PROP_DESC_BOOL("dump", 0, "on", "include the memory in core dumps (off: MADV_DONTDUMP)")

/* Values of the common properties. */
typedef struct hostmem_opts {
    uint64_t size;
    bool share;
    bool prealloc;
    bool merge;
    bool dump;
} hostmem_opts;

void hostmem_read_opts(ts_object *obj, hostmem_opts *o);

/* A backend's memory while realized. */
typedef struct hostmem_map {
    void *host;         /* start of the mapping, NULL when unmapped */
    uint64_t size;      /* bytes mapped */
    int fd;             /* backing file (owned), or -1 */
    uint64_t fd_offset; /* where the mapping starts in fd */
    uint64_t page_size; /* page size of the backing memory */
    uint32_t flags;     /* TS_MEM_* */
} hostmem_map;

/* An empty map (fd -1). */
void hostmem_map_init(hostmem_map *m);

/*
 * Page size of the file system of fd (path when fd < 0): the huge page size on hugetlbfs
 * (*hugetlb true), else the host page size. Returns 0 or -errno with the error set, naming
 * what (e.g. the mem-path).
 */
int hostmem_page_size(ts_object *obj, int fd, const char *path, const char *what,
                      uint64_t *page_size, bool *hugetlb);

/*
 * Checks that value (property name) is a multiple of a huge page size, saying where the
 * huge pages come from: "size 3M is not a multiple of the 2M huge page size of WHERE".
 */
int hostmem_check_huge_multiple(ts_object *obj, const char *name, uint64_t value,
                                uint64_t page_size, const char *where);

/* Writes the shortest exact text of a byte count ("2M", "1536K", "1000") into buf. */
const char *hostmem_size_text(uint64_t bytes, char buf[32]);

/* Rounds v up to a multiple of the power of two align. */
static inline uint64_t hostmem_round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/*
 * The last step of every backend's realize: maps m->size bytes of m->fd from m->fd_offset
 * (anonymous when fd < 0) at an address aligned to align (0: m->page_size), with prot and
 * MAP_SHARED or MAP_PRIVATE as o->share says; then applies the merge and dump hints and
 * preallocates when asked. On failure the caller releases m.
 */
int hostmem_map_with_opts(ts_object *obj, hostmem_map *m, uint64_t align, int prot,
                          const hostmem_opts *o);

/* Unmaps and closes whatever m holds; m becomes empty. */
void hostmem_release(hostmem_map *m);

/* Describes m to the host; fd is given only for shared mappings (see docs/memory-backends.md). */
void hostmem_fill_region(const hostmem_map *m, ts_memory_region *out);

/*
 * What every backend's state begins with, so that the hooks below serve all three
 * backends: each state struct has a hostmem_backend as its first member.
 */
typedef struct hostmem_backend {
    hostmem_opts opts;
    hostmem_map map;
} hostmem_backend;

/* unrealize hook: unmaps and closes the memory. */
void hostmem_unrealize(ts_object *obj, void *state);
/* destroy hook for states that own nothing beyond their hostmem_backend: releases, frees. */
void hostmem_destroy(ts_object *obj, void *state);
/* Memory-backend ops whose get_region describes the state's hostmem_backend map. */
extern const ts_memory_backend_ops hostmem_backend_ops;

/*
 * Defines a backend plugin's descriptors and its entry point: one memory-backend type,
 * named like the plugin, whose state begins with a hostmem_backend. prefix names the
 * statics (prefix_type, prefix_types, prefix_plugin).
 */
#define HOSTMEM_PLUGIN_DEFINE(prefix, type_name, type_help, plugin_help, props_, create_,  \
                              realize_, unrealize_, destroy_)                            \
    static const ts_type_desc prefix##_type = {                                          \
        .size = sizeof(ts_type_desc),                                                    \
        .kind = TS_KIND_MEMORY_BACKEND,                                                  \
        .name = type_name,                                                               \
        .description = type_help,                                                        \
        .props = props_,                                                                 \
        .create = create_,                                                               \
        .realize = realize_,                                                             \
        .unrealize = unrealize_,                                                         \
        .destroy = destroy_,                                                             \
        .kind_ops = &hostmem_backend_ops,                                                \
    };                                                                                   \
    static const ts_type_desc *const prefix##_types[] = { &prefix##_type, NULL };        \
    static const ts_plugin_desc prefix##_plugin = {                                      \
        TS_PLUGIN_DESC_HEAD,                                                             \
        .name = type_name,                                                               \
        .version = "1.0.0",                                                              \
        .license = "MIT",                                                                \
        .description = plugin_help,                                                      \
        .types = prefix##_types,                                                         \
        .init = hostmem_init,                                                            \
    };                                                                                   \
    TS_PLUGIN_DEFINE(prefix##_plugin)

#endif
