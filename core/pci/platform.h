/* SPDX-License-Identifier: MIT */
/*
 * What the PCI and device-services code needs from the machine underneath it: interrupt
 * routes, irqfds, ioeventfds, memory slots, the two I/O buses, guest RAM and the main
 * loop. core/kvm/ implements it over KVM; the testkit (sdk/testkit/) implements a fake
 * that records MSI messages and keeps mappings in memory, so devices can be tested on
 * machines without /dev/kvm.
 *
 * Contract for implementers:
 *   - Every op may be called on any thread (vCPU threads write MSI-X tables and BARs,
 *     the main thread runs realize and eventfd watches) but the PCI code serializes its
 *     own calls with its lock, so an implementation only needs to be safe against its
 *     own other users. No op may call back into the PCI code.
 *   - Ops return 0 or a negative errno and never print; the PCI code reports.
 *   - A NULL op means "not supported": the PCI code falls back (no msi_route_* or
 *     irqfd_*: eventfds bound to MSI-X vectors are watched on the main loop and
 *     delivered with msi_inject; no ioeventfd_*: BAR writes are matched in userspace
 *     and signal the fd from the vCPU thread). msi_inject and map_ram are required.
 */
#ifndef TESSERA_CORE_PCI_PLATFORM_H
#define TESSERA_CORE_PCI_PLATFORM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "kvm/guest_memory.h"

/* One MSI message as the guest programmed it in an MSI-X table entry. */
typedef struct msi_msg {
    uint64_t address; /* 0xfeeXXXXX on x86 */
    uint32_t data;
} msi_msg;

typedef struct pci_platform_ops {
    /*
     * Adds a routing entry for msg and returns its GSI in *gsi (KVM: an MSI entry in the
     * GSI routing table, then KVM_SET_GSI_ROUTING). -ENOSPC when routes run out.
     */
    int (*msi_route_add)(void *opaque, const msi_msg *msg, uint32_t *gsi);
    /* Points an existing route at msg (the guest rewrote a table entry in use). */
    int (*msi_route_update)(void *opaque, uint32_t gsi, const msi_msg *msg);
    /* Drops a route; no irqfd is bound to it any more. */
    void (*msi_route_remove)(void *opaque, uint32_t gsi);

    /* KVM_IRQFD: signalling fd raises gsi in the kernel. At most one gsi per fd. */
    int (*irqfd_bind)(void *opaque, uint32_t gsi, int fd);
    /* KVM_IRQFD with KVM_IRQFD_FLAG_DEASSIGN. */
    int (*irqfd_unbind)(void *opaque, uint32_t gsi, int fd);

    /* KVM_SIGNAL_MSI: delivers msg now. Required. */
    int (*msi_inject)(void *opaque, const msi_msg *msg);

    /* Sets the level of a line interrupt (INTx) on gsi (KVM_IRQ_LINE). */
    int (*set_irq_line)(void *opaque, uint32_t gsi, int level);

    /*
     * KVM_IOEVENTFD: a guest write of len bytes at addr (port when pio) signals fd,
     * matching datamatch only when has_datamatch. remove takes the same arguments.
     */
    int (*ioeventfd_add)(void *opaque, bool pio, uint64_t addr, unsigned len,
                         bool has_datamatch, uint64_t datamatch, int fd);
    int (*ioeventfd_remove)(void *opaque, bool pio, uint64_t addr, unsigned len,
                            bool has_datamatch, uint64_t datamatch, int fd);

    /*
     * Maps [host, host + size) of the VMM's address space at guest-physical gpa as guest
     * memory (KVM: a user memory slot; readonly: KVM_MEM_READONLY). gpa, size and host
     * are page-aligned. *slot identifies the mapping for unmap_ram. Required. fd and
     * fd_offset describe the backing (fd -1: anonymous) for implementations that want
     * them; KVM needs only host.
     */
    int (*map_ram)(void *opaque, uint64_t gpa, uint64_t size, void *host, int fd,
                   uint64_t fd_offset, bool readonly, uint32_t *slot);
    /* Removes a mapping made by map_ram; the range is unbacked (MMIO) again. */
    void (*unmap_ram)(void *opaque, uint32_t slot);

    /*
     * A byte write to port 0xcf9, the chipset's reset control register, which shares
     * the dword at 0xcf8 with the config address latch (Linux's reboot=pci writes 0x02,
     * then 0x06 or 0x0e: bit 2 set means "reset now"). NULL: ignored. Reads return 0.
     */
    void (*reset_control_write)(void *opaque, uint8_t value);
} pci_platform_ops;

/* The machine as the PCI code sees it. Everything here outlives the pci_host. */
typedef struct pci_platform {
    const pci_platform_ops *ops;
    void *opaque;               /* passed to every op */
    io_bus *pio;                /* port-I/O bus: 0xcf8/0xcfc and I/O BARs are registered here */
    io_bus *mmio;               /* MMIO bus: the ECAM window and trapped memory BARs */
    const guest_memory *ram;    /* guest RAM: placement keeps BARs off it; guest_memory API */
    GMainContext *main_context; /* where fd watches and timers run; NULL = the default context */
} pci_platform;

#endif
