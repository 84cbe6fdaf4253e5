/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/events.h
 * @brief Interrupts, eventfds (ioeventfd, irqfd) and main-loop watches.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_EVENTS_H
#define TESSERA_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** Interrupts and eventfds: irqfd, ioeventfd, MSI injection, main-loop fd watches. Filled by the KVM core; NULL where absent. */
typedef struct ts_event_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */
} ts_event_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_EVENTS_H */
