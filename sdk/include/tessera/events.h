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

typedef struct ts_pci_dev ts_pci_dev;

/** A registered ioeventfd (opaque). */
typedef struct ts_ioeventfd ts_ioeventfd;
/** A main-loop watch on a file descriptor (opaque). */
typedef struct ts_fd_watch ts_fd_watch;
/** A main-loop timer (opaque). */
typedef struct ts_timer ts_timer;

/** ts_ioeventfd_desc.where: an offset in a BAR of a PCI function (follows moves and decode). */
#define TS_IOEVENTFD_BAR 0u
/** ts_ioeventfd_desc.where: an absolute I/O port. */
#define TS_IOEVENTFD_PIO 1u
/** ts_ioeventfd_desc.where: an absolute guest-physical MMIO address. */
#define TS_IOEVENTFD_MMIO 2u

/** ts_ioeventfd_desc.flags: only writes of exactly datamatch signal the fd. */
#define TS_IOEVENTFD_DATAMATCH (1u << 0)

/**
 * An ioeventfd: a guest write of len bytes at the address signals fd (adds 1 to the
 * eventfd counter) inside the kernel, without a userspace exit and without calling the
 * region's write callback. Other writes (other length, other data with
 * TS_IOEVENTFD_DATAMATCH) reach the region as usual. Several ioeventfds may share an
 * address with different datamatch values (one per peer and vector, say).
 */
typedef struct ts_ioeventfd_desc {
    uint32_t size;      /**< sizeof(ts_ioeventfd_desc) as built by the plugin */
    uint32_t where;     /**< TS_IOEVENTFD_BAR, TS_IOEVENTFD_PIO or TS_IOEVENTFD_MMIO */
    ts_pci_dev *pci;    /**< TS_IOEVENTFD_BAR: the function */
    uint32_t bar;       /**< TS_IOEVENTFD_BAR: BAR index (a trapped BAR) */
    uint32_t len;       /**< access width: 1, 2, 4 or 8 */
    uint64_t addr;      /**< offset in the BAR, or the absolute port / address */
    uint32_t flags;     /**< TS_IOEVENTFD_DATAMATCH */
    int32_t fd;         /**< the eventfd (not owned by the host; keep it open until removal) */
    uint64_t datamatch; /**< value that matches, with TS_IOEVENTFD_DATAMATCH */
    void *reserved[4];  /**< zero */
} ts_ioeventfd_desc;

/** ts_fd_watch_fn events: the fd is readable (or at end of file). */
#define TS_FD_READABLE (1u << 0)
/** ts_fd_watch_fn events: the fd is writable. */
#define TS_FD_WRITABLE (1u << 1)
/** ts_fd_watch_fn events (reported only): error or hang-up on the fd. */
#define TS_FD_ERROR (1u << 2)

/**
 * A watched fd is ready. Runs on the main thread. Level-triggered: it runs again while
 * the condition holds, so consume the data or change/remove the watch.
 */
typedef void (*ts_fd_watch_fn)(void *opaque, int fd, uint32_t events);
/** A timer expired. Runs on the main thread. */
typedef void (*ts_timer_fn)(void *opaque);

/**
 * Interrupts and eventfds: ioeventfd, main-loop fd watches and timers. (Interrupt
 * delivery and irqfd are per PCI function: ts_pci_api.msix_notify and
 * ts_pci_api.msix_bind_eventfd.) Filled by the KVM core; NULL where absent.
 *
 * Everything an object registered here and still holds after its unrealize hook
 * returns is removed by the host.
 */
typedef struct ts_event_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */

    /* --- ABI 1.1 --- */

    /**
     * Registers an ioeventfd (see ts_ioeventfd_desc). A BAR ioeventfd is active only
     * while the BAR is decoded and follows the guest's moves of the BAR. Returns 0 and
     * *out, or -EINVAL (bad length, BAR or address; the range must lie within the
     * BAR), -EEXIST (same address, length and datamatch registered already) or the
     * kernel's error, with an error recorded. Main thread.
     */
    int (*ioeventfd_add)(ts_object *obj, const ts_ioeventfd_desc *desc, ts_ioeventfd **out);
    /** Removes an ioeventfd; the fd is no longer signalled when it returns. NULL is allowed. Main thread. */
    void (*ioeventfd_remove)(ts_ioeventfd *ioeventfd);

    /**
     * Calls cb(opaque, fd, events) on the main thread whenever fd is ready for one of
     * events (TS_FD_READABLE, TS_FD_WRITABLE; errors and hang-ups are always reported).
     * Returns 0 and *out, or -EINVAL. Main thread.
     */
    int (*fd_watch_add)(ts_object *obj, int fd, uint32_t events, ts_fd_watch_fn cb,
                        void *opaque, ts_fd_watch **out);
    /** Changes the events a watch waits for (0 pauses it). Main thread. */
    void (*fd_watch_update)(ts_fd_watch *watch, uint32_t events);
    /** Removes a watch; cb is not called again once it returns. NULL is allowed. Main thread (also from inside cb). */
    void (*fd_watch_remove)(ts_fd_watch *watch);

    /** Creates a stopped timer calling cb(opaque) on the main thread. Returns 0 and *out. Main thread. */
    int (*timer_add)(ts_object *obj, ts_timer_fn cb, void *opaque, ts_timer **out);
    /** (Re)starts timer to expire once, delay_ns from now (monotonic clock, about 1 us resolution). Main thread. */
    void (*timer_start)(ts_timer *timer, uint64_t delay_ns);
    /** Stops timer if running. Main thread (also from inside cb). */
    void (*timer_stop)(ts_timer *timer);
    /** Stops and frees timer. NULL is allowed. Main thread (also from inside cb). */
    void (*timer_remove)(ts_timer *timer);
} ts_event_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_EVENTS_H */
