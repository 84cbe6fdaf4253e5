/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/block.h
 * @brief Block I/O for devices and the block-format plugin interface.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_BLOCK_H
#define TESSERA_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** Block I/O on the host files under a drive, for format plugins and disk devices. Filled by the block layer; NULL where absent. */
typedef struct ts_block_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */
} ts_block_api;


/**
 * Kind-specific operations of a TS_KIND_BLOCK_FORMAT type. The format interface (probe,
 * open, read, write, write-zeroes, discard, flush, block status, create, check, info) is
 * appended here by the ABI minor that brings the block layer.
 */
typedef struct ts_block_format_ops {
    uint32_t size;      /**< sizeof(ts_block_format_ops) as built by the plugin */
    uint32_t reserved0; /**< zero */
} ts_block_format_ops;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_BLOCK_H */
