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

/**
 * Guest-memory access for devices (DMA). Filled by the KVM core; NULL where absent.
 *
 * Addresses are guest-physical and usually come from the guest, so they are hostile:
 * every call checks that the whole range is guest RAM. Device memory (BARs, including
 * RAM-backed ones) and the PCI hole are not RAM here. A guest address can never reach
 * anything outside guest RAM.
 *
 * Threads: any thread (vCPU callbacks, the main loop, device threads), after the
 * object's realize hook has started. Accesses are plain memory copies, not atomic
 * with respect to the guest's vCPUs.
 */
typedef struct ts_guest_memory_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */

    /* --- ABI 1.1 --- */

    /** Copies len bytes at gpa into buf. Returns 0, or -EFAULT (nothing copied) when the range is not entirely guest RAM. */
    int (*read)(ts_object *obj, uint64_t gpa, void *buf, uint64_t len);
    /** Copies len bytes from buf to gpa. Returns 0, or -EFAULT (nothing copied) when the range is not entirely guest RAM. */
    int (*write)(ts_object *obj, uint64_t gpa, const void *buf, uint64_t len);
    /**
     * Host pointer to [gpa, gpa + len) when that range is guest RAM and contiguous in
     * the VMM's mapping (it does not cross the PCI hole), else NULL (then fall back to
     * read/write). The pointer stays valid for the VM's lifetime. len 0 gives NULL.
     */
    void *(*map)(ts_object *obj, uint64_t gpa, uint64_t len);
} ts_guest_memory_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_GUEST_MEMORY_H */
