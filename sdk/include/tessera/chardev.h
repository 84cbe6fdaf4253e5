/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/chardev.h
 * @brief Character devices (sockets, files, stdio) for devices.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_CHARDEV_H
#define TESSERA_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** Character devices (-chardev): sockets, files, stdio. Filled by the KVM core; NULL where absent. */
typedef struct ts_chardev_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */
} ts_chardev_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_CHARDEV_H */
