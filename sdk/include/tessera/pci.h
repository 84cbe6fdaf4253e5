/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/pci.h
 * @brief PCI functions: identity, config space, BARs, capabilities, MSI-X.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_PCI_H
#define TESSERA_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** PCI functions: config space, BARs, capabilities, MSI-X. Filled by the KVM core; NULL where absent. */
typedef struct ts_pci_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */
} ts_pci_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_PCI_H */
