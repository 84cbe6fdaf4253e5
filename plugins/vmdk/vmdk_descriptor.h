/* SPDX-License-Identifier: MIT */
/*
 * The text descriptor: parsed as loosely as VMware's own documentation allows (keys in
 * any case, spaces around '=', CRLF or LF, comments anywhere, sections in any order),
 * written as strictly as the strictest reader (VirtualBox) wants.
 */
#ifndef VMDK_DESCRIPTOR_H
#define VMDK_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmdk_error.h"

enum vmdk_access { VMDK_ACCESS_RW, VMDK_ACCESS_RDONLY, VMDK_ACCESS_NOACCESS };

enum vmdk_extent_type {
    VMDK_EXTENT_FLAT,
    VMDK_EXTENT_SPARSE,
    VMDK_EXTENT_ZERO,
    VMDK_EXTENT_VMFS,
    VMDK_EXTENT_VMFSSPARSE,
    VMDK_EXTENT_SESPARSE,
    VMDK_EXTENT_VMFSRDM,
    VMDK_EXTENT_VMFSRAW,
};

struct vmdk_desc_extent {
    enum vmdk_access access;
    enum vmdk_extent_type type;
    uint64_t sectors;
    char *filename;     /* NULL for ZERO extents */
    uint64_t offset;    /* sectors into the file; FLAT/VMFS only */
};

struct vmdk_desc_kv {
    char *key;          /* as written, e.g. "ddb.adapterType" */
    char *value;        /* unquoted */
};

#define VMDK_CID_NONE 0xffffffffu

struct vmdk_descriptor {
    unsigned version;       /* 0 if absent */
    uint32_t cid;
    uint32_t parent_cid;    /* VMDK_CID_NONE without a parent */
    bool has_cid;
    char *create_type;      /* NULL if absent */
    char *parent_hint;      /* parentFileNameHint, NULL if absent */
    struct vmdk_desc_extent *extents;
    size_t n_extents;
    struct vmdk_desc_kv *ddb;
    size_t n_ddb;
};

/* Parses len bytes of text (a NUL ends it early: embedded descriptors are NUL-padded).
 * name is used in messages. On failure *d is left empty. */
int vmdk_descriptor_parse(const char *text, size_t len, const char *name,
                          struct vmdk_descriptor *d, struct vmdk_error *err);
void vmdk_descriptor_free(struct vmdk_descriptor *d);

/* Case-insensitive lookup of a ddb.* key; NULL if absent. */
const char *vmdk_descriptor_ddb(const struct vmdk_descriptor *d, const char *key);

const char *vmdk_extent_type_name(enum vmdk_extent_type t);
const char *vmdk_access_name(enum vmdk_access a);

/* True when the create type names a layout the engine can open. */
bool vmdk_create_type_supported(const char *create_type);

#endif
