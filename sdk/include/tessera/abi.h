/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/abi.h
 * @brief ABI version, entry-point name and export macro of the tessera plugin SDK.
 *
 * Version policy: a host accepts a plugin whose ABI major equals its own and whose
 * ABI minor is not newer than its own. Every structure that crosses the boundary starts
 * with (or carries) its own size; a released structure only ever grows at its end.
 */
#ifndef TESSERA_ABI_H
#define TESSERA_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version. A change here means old plugins no longer load. */
#define TS_ABI_MAJOR 1
/** ABI minor version. Grows when services or fields are appended. */
#define TS_ABI_MINOR 1

/** Magic value at the start of every plugin descriptor: "TSPL" read as a little-endian u32. */
#define TS_PLUGIN_MAGIC 0x4c505354u

/** Name of the one symbol a plugin exports (the ABI major is part of the name). */
#define TS_PLUGIN_ENTRY_SYMBOL "tessera_plugin_entry_v1"

/** Marks the one function a plugin exports; build plugins with -fvisibility=hidden. */
#define TS_EXPORT __attribute__((visibility("default")))

/**
 * Kinds of plugin-provided types. Stored as uint32_t in descriptors so that later
 * kinds can be added without changing any layout; a host skips types of kinds it does
 * not know.
 */
enum ts_kind {
    TS_KIND_DEVICE = 1,         /**< a guest-visible device (-device) */
    TS_KIND_BLOCK_FORMAT = 2,   /**< a disk-image format (-drive format=) */
    TS_KIND_MEMORY_BACKEND = 3, /**< a source of guest or shared memory (-object) */
};

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_ABI_H */
