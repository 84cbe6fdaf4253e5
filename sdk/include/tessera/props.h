/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/props.h
 * @brief Typed property schemas, declared by plugins as data.
 *
 * A plugin never parses a string. It declares each property it accepts (name, type,
 * default, limits, help) in an array of ts_prop_desc; the host parses what the user wrote
 * (config file or command line), validates it against the schema, prints help from it,
 * and hands the plugin typed values through the property services of ts_host_api.
 */
#ifndef TESSERA_PROPS_H
#define TESSERA_PROPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Property value types (stored as uint32_t in ts_prop_desc.type). */
enum ts_prop_type {
    TS_PROP_BOOL = 1,   /**< on/off, yes/no, true/false; a bare key means on */
    TS_PROP_INT = 2,    /**< signed 64-bit integer, decimal or 0x hex, within [min, max] */
    TS_PROP_SIZE = 3,   /**< unsigned byte count with optional K/M/G/T/P/E suffix (powers of 1024) */
    TS_PROP_STRING = 4, /**< free text, passed through unchanged */
    TS_PROP_ENUM = 5,   /**< one of enum_values; the plugin receives the index */
    TS_PROP_REF = 6,    /**< the id of another object, of the kind given by ref_target */
};

/** What a TS_PROP_REF property may point to (ts_prop_desc.ref_target). */
enum ts_ref_target {
    TS_REF_MEMORY_BACKEND = 1, /**< an -object of kind memory-backend */
    TS_REF_CHARDEV = 2,        /**< a -chardev */
    TS_REF_DRIVE = 3,          /**< a -drive */
};

/** ts_prop_desc.flags: the user must give this property. */
#define TS_PROP_REQUIRED (1u << 0)

/**
 * One property of a plugin type. Arrays of these end with an entry whose name is NULL.
 * The reserved tail lets later ABI minors add fields without changing the element size;
 * plugins built against 1.0 leave it zero.
 */
typedef struct ts_prop_desc {
    const char *name;          /**< property name as the user writes it, e.g. "mem-path" */
    uint32_t type;             /**< enum ts_prop_type */
    uint32_t flags;            /**< TS_PROP_REQUIRED or 0 */
    const char *help;          /**< one line shown by "-device TYPE,help" */
    /**
     * Default, written as a user would write it ("on", "64M", "0x10", "auto"), parsed
     * by the host with the same rules as user input. NULL: no default (the property is
     * then unset unless the user gives it).
     */
    const char *default_value;
    int64_t min;                     /**< TS_PROP_INT: smallest value; TS_PROP_SIZE: smallest byte count (as uint64) */
    int64_t max;                     /**< TS_PROP_INT: largest value; TS_PROP_SIZE: largest byte count, 0 = no limit */
    const char *const *enum_values;  /**< TS_PROP_ENUM: NULL-terminated list of accepted names */
    uint32_t ref_target;             /**< TS_PROP_REF: enum ts_ref_target */
    uint32_t reserved0;              /**< zero */
    void *reserved[4];               /**< zero */
} ts_prop_desc;

/*
 * Declaration helpers. fl is TS_PROP_REQUIRED or 0. Example:
 *   static const ts_prop_desc props[] = {
 *       TS_PROP_DESC_SIZE("size", 0, TS_PROP_REQUIRED, 1, 0, "size of the memory"),
 *       TS_PROP_DESC_BOOL("share", 0, "off", "map the memory MAP_SHARED"),
 *       TS_PROP_DESC_END,
 *   };
 */
/** Declares a boolean property. */
#define TS_PROP_DESC_BOOL(n, fl, def, h) \
    { .name = (n), .type = TS_PROP_BOOL, .flags = (fl), .help = (h), .default_value = (def) }
/** Declares an integer property within [lo, hi]. */
#define TS_PROP_DESC_INT(n, fl, def, lo, hi, h) \
    { .name = (n), .type = TS_PROP_INT, .flags = (fl), .help = (h), .default_value = (def), \
      .min = (lo), .max = (hi) }
/** Declares a size property in bytes within [lo, hi]; hi 0 means no upper limit. */
#define TS_PROP_DESC_SIZE(n, fl, def, lo, hi, h) \
    { .name = (n), .type = TS_PROP_SIZE, .flags = (fl), .help = (h), .default_value = (def), \
      .min = (int64_t)(lo), .max = (int64_t)(hi) }
/** Declares a string property. */
#define TS_PROP_DESC_STRING(n, fl, def, h) \
    { .name = (n), .type = TS_PROP_STRING, .flags = (fl), .help = (h), .default_value = (def) }
/** Declares an enum property; vals is a NULL-terminated array of accepted names. */
#define TS_PROP_DESC_ENUM(n, fl, def, vals, h) \
    { .name = (n), .type = TS_PROP_ENUM, .flags = (fl), .help = (h), .default_value = (def), \
      .enum_values = (vals) }
/** Declares a reference to another object's id; tgt is an enum ts_ref_target. */
#define TS_PROP_DESC_REF(n, fl, tgt, h) \
    { .name = (n), .type = TS_PROP_REF, .flags = (fl), .help = (h), .ref_target = (tgt) }
/** Ends a ts_prop_desc array. */
#define TS_PROP_DESC_END { .name = 0 }

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_PROPS_H */
