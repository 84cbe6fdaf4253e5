/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/io.h
 * @brief Port-I/O and MMIO regions for devices, filled by the KVM core.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_IO_H
#define TESSERA_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** Port-I/O and MMIO region registration. Filled by the KVM core; NULL where absent. */
typedef struct ts_io_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */
} ts_io_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_IO_H */
