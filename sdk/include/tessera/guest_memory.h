/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/guest_memory.h
 * @brief Guest-memory access for devices (DMA), filled by the KVM core.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_GUEST_MEMORY_H
#define TESSERA_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** Guest-memory access for devices (DMA). Filled by the KVM core; NULL where absent. */
typedef struct ts_guest_memory_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */
} ts_guest_memory_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_GUEST_MEMORY_H */
