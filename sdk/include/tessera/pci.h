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

/** A PCI function owned by a device object (opaque; see ts_pci_api.function_add). */
typedef struct ts_pci_dev ts_pci_dev;
struct ts_io_ops;
struct ts_memory_region;

/**
 * Identity of a PCI function: the read-only header registers. Fields the device leaves
 * zero get the defaults noted.
 */
typedef struct ts_pci_identity {
    uint32_t size;                /**< sizeof(ts_pci_identity) as built by the plugin */
    uint16_t vendor_id;           /**< config 0x00; must not be 0 or 0xffff */
    uint16_t device_id;           /**< config 0x02 */
    uint32_t class_code;          /**< config 0x09..0x0b: base class << 16 | subclass << 8 | prog-if */
    uint8_t revision;             /**< config 0x08 */
    uint8_t interrupt_pin;        /**< config 0x3d: 0 none, 1..4 INTA..INTD */
    uint16_t subsystem_vendor_id; /**< config 0x2c; 0 with subsystem_id 0: 0x1af4 (QEMU's default) */
    uint16_t subsystem_id;        /**< config 0x2e; 0 with subsystem_vendor_id 0: 0x1100 */
    /**
     * Command register bits set at realize and at every reset (config 0x04; only
     * TS_PCI_COMMAND_IO, TS_PCI_COMMAND_MEMORY and TS_PCI_COMMAND_MASTER are honoured).
     * Usually 0: the guest enables decoding. With decoding preset the BARs are live at
     * the addresses the VMM placed them at.
     */
    uint16_t command;
    uint16_t reserved0;           /**< zero */
    uint32_t reserved1;           /**< zero */
    void *reserved[4];            /**< zero */
} ts_pci_identity;

/** Command register: I/O space decode. */
#define TS_PCI_COMMAND_IO 0x0001u
/** Command register: memory space decode. */
#define TS_PCI_COMMAND_MEMORY 0x0002u
/** Command register: bus master (DMA and MSI-X delivery need it on real hardware; tessera delivers MSI-X regardless, like QEMU with KVM irqfd). */
#define TS_PCI_COMMAND_MASTER 0x0004u

/** ts_pci_bar_desc.type: an I/O-space BAR (size 4..256 bytes). */
#define TS_PCI_BAR_IO 0u
/** ts_pci_bar_desc.type: a 32-bit memory BAR, placed in the PCI hole below 4 GiB. */
#define TS_PCI_BAR_MEM32 1u
/** ts_pci_bar_desc.type: a 64-bit memory BAR; uses index and index + 1; placed above RAM when prefetchable. */
#define TS_PCI_BAR_MEM64 2u
/** ts_pci_bar_desc.flags: the memory BAR is prefetchable. */
#define TS_PCI_BAR_PREFETCHABLE (1u << 0)

/**
 * One BAR. Exactly one of three kinds:
 *
 * - **trapped**: ops set, ram NULL. Guest accesses call ops on vCPU threads (see
 *   ts_io_ops) with offsets relative to the BAR, wherever the guest moves it.
 * - **RAM-backed**: ram set, ops NULL (memory BARs only). The memory is mapped into the
 *   guest zero-copy (a KVM memory slot straight from the region's mapping); guest
 *   accesses never leave the guest. The host maps it at the BAR's address while memory
 *   decode is on, unmaps it when the guest turns decode off, and remaps it when the
 *   guest moves the BAR. The region must stay mapped until the device's unrealize hook
 *   returns. bar_size 0 means ram->size; a RAM BAR must be at least 4 KiB.
 * - **host-only**: neither: the BAR holds only host-emulated structures (an MSI-X table
 *   and PBA, see msix_init); other reads return 0 and other writes are ignored.
 *
 * When a trapped or host-only BAR holds the MSI-X table or PBA, the host emulates those
 * ranges and passes every other access to ops.
 */
typedef struct ts_pci_bar_desc {
    uint32_t size;     /**< sizeof(ts_pci_bar_desc) as built by the plugin */
    uint32_t index;    /**< 0..5 (0..4 for TS_PCI_BAR_MEM64, which also takes index + 1) */
    uint32_t type;     /**< TS_PCI_BAR_IO, TS_PCI_BAR_MEM32 or TS_PCI_BAR_MEM64 */
    uint32_t flags;    /**< TS_PCI_BAR_PREFETCHABLE (memory BARs) */
    uint64_t bar_size; /**< bytes, a power of two: I/O 4..256, memory >= 16 */
    const struct ts_io_ops *ops;          /**< trapped BAR callbacks, or NULL */
    void *opaque;                         /**< passed to ops */
    const struct ts_memory_region *ram;   /**< RAM-backed BAR memory (copied at bar_add), or NULL */
    void *reserved[4];                    /**< zero */
} ts_pci_bar_desc;

/**
 * Device hooks on configuration-space accesses, for device-specific registers. Both
 * may be NULL.
 *
 * Threads: vCPU threads (and the testkit's thread), serialized: the host holds its PCI
 * lock while calling them. A hook may call ts_pci_api services (the lock is
 * recursive) but must not wait for another thread that uses PCI services.
 */
typedef struct ts_pci_config_ops {
    uint32_t size;      /**< sizeof(ts_pci_config_ops) as built by the plugin */
    uint32_t reserved0; /**< zero */
    /**
     * A guest read of size (1, 2 or 4) bytes at offset (aligned to size, below 256);
     * value is what the host would return. Returns what the guest sees.
     */
    uint32_t (*read)(void *opaque, uint32_t offset, unsigned size, uint32_t value);
    /**
     * A guest write, called after the host has stored it through the writable masks
     * and applied its effects (decode, BAR moves, MSI-X enable and masks).
     */
    void (*write)(void *opaque, uint32_t offset, unsigned size, uint32_t value);
    void *reserved[4]; /**< zero */
} ts_pci_config_ops;

/** ts_pci_api.bar_address: the BAR is not decoded (decode off, or address unusable). */
#define TS_PCI_BAR_UNMAPPED UINT64_MAX

/**
 * PCI functions: config space, BARs, capabilities, MSI-X. Filled by the KVM core; NULL
 * where absent.
 *
 * A device object of a TS_BUS_PCI type owns at most one PCI function, on bus 0 at the
 * slot and function its `addr=SLOT[.FN]` property names (or one the host picks). It
 * creates the function in its realize hook with function_add and sets it up there
 * (BARs, capabilities, MSI-X); the guest sees the function once realize has returned.
 * The host removes the function, its BARs, mappings and bound eventfds after the
 * device's unrealize hook returns, so unrealize only undoes the device's own resources
 * (it must unbind eventfds it is about to close, see msix_unbind_eventfd).
 *
 * On a guest reset the host first restores the function's config space (command as in
 * the identity, BARs at the addresses the VMM placed them, capabilities as added, MSI-X
 * disabled with every vector masked and nothing pending), then calls the type's reset
 * hook.
 *
 * Unless a member says otherwise, call it on the main thread from realize or later.
 */
typedef struct ts_pci_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */

    /* --- ABI 1.1 --- */

    /**
     * Creates obj's PCI function with identity id. Call once, from realize. Returns 0
     * and *out, or -EINVAL (bad identity, or obj is not a PCI device), -EEXIST (called
     * twice); the host records an error with set_error.
     */
    int (*function_add)(ts_object *obj, const ts_pci_identity *id, ts_pci_dev **out);

    /**
     * Adds a BAR (see ts_pci_bar_desc). The VMM places it: I/O BARs from port 0xc000,
     * 32-bit and non-prefetchable memory BARs in the PCI hole below 4 GiB, 64-bit
     * prefetchable BARs above guest RAM, each naturally aligned. Returns 0, or -EINVAL
     * (bad index or type, size not a power of two or out of range, RAM BAR without
     * memory, both ops and ram) or -EEXIST (index taken), -ENOSPC (no room left), each
     * with an error recorded. Call from realize.
     */
    int (*bar_add)(ts_pci_dev *dev, const ts_pci_bar_desc *bar);

    /**
     * Appends a capability to the capability list (config 0x34, status bit 4). data and
     * wmask hold len bytes of the whole capability, its two header bytes (ID, next)
     * included; the host fills the header and keeps it read-only. wmask marks the bits
     * the guest may write (NULL: all read-only). Returns the capability's offset in
     * config space (0x40..0xfc, dword-aligned) or -EINVAL (len < 2) / -ENOSPC (no room).
     * Call from realize.
     */
    int (*capability_add)(ts_pci_dev *dev, uint8_t cap_id, const void *data, uint8_t len,
                          const void *wmask);

    /** Installs hooks for device-specific config registers (NULL removes them). ops and opaque must outlive the function. */
    void (*config_set_ops)(ts_pci_dev *dev, const ts_pci_config_ops *ops, void *opaque);

    /**
     * Reads size (1, 2 or 4) bytes of config space at offset as the guest would see them
     * without the read hook. Offsets or sizes out of range read as all-ones. Any thread.
     */
    uint32_t (*config_get)(ts_pci_dev *dev, uint32_t offset, unsigned size);

    /**
     * Sets size bytes of config space at offset directly, bypassing the writable mask
     * (for device-specific read-only values), and, when wmask_too is true, also sets the
     * writable mask of those bytes to wmask. Values set before realize returns are also
     * the reset values. Refuses (-EINVAL) the standard header registers the host manages
     * (0x00..0x3f except 0x3c, interrupt line) and the bytes of host-managed
     * capabilities (MSI-X). Any thread.
     */
    int (*config_set)(ts_pci_dev *dev, uint32_t offset, unsigned size, uint32_t value,
                      bool wmask_too, uint32_t wmask);

    /**
     * The guest-physical address (memory BARs) or port (I/O BARs) where BAR index is
     * decoded now, or TS_PCI_BAR_UNMAPPED. Any thread; the answer may be stale at once.
     */
    uint64_t (*bar_address)(ts_pci_dev *dev, uint32_t index);

    /**
     * Adds MSI-X with nvectors vectors (1..2048): the capability, and the table and
     * PBA emulated by the host at table_offset in BAR table_bar and at pba_offset in BAR
     * pba_bar. The BARs must be memory BARs added before, not RAM-backed; the table
     * (16 bytes a vector) and the PBA (one bit a vector, in 8-byte words) must fit in
     * them, be 8-byte aligned (the table 4 KiB-aligned is best) and not overlap. Every
     * vector starts masked. Returns the capability's offset, or -EINVAL / -ENOSPC with an
     * error recorded. Call once, from realize.
     */
    int (*msix_init)(ts_pci_dev *dev, uint32_t nvectors, uint32_t table_bar,
                     uint32_t table_offset, uint32_t pba_bar, uint32_t pba_offset);

    /**
     * Raises MSI-X vector: when MSI-X is enabled and neither the function nor the vector
     * is masked, the vector's message is delivered; when masked, its pending bit is set
     * and the message is delivered when the guest unmasks it (the bit then clears).
     * Returns 0 (delivered or pending), -EAGAIN (MSI-X disabled: the event is dropped,
     * as QEMU does) or -EINVAL (no such vector). Any thread.
     */
    int (*msix_notify)(ts_pci_dev *dev, uint32_t vector);

    /** True when the guest has enabled MSI-X (Message Control bit 15). Any thread. */
    bool (*msix_enabled)(ts_pci_dev *dev);
    /** True when vector is masked, by its own mask bit or the function mask (or does not exist). Any thread. */
    bool (*msix_masked)(ts_pci_dev *dev, uint32_t vector);
    /** True when vector's pending bit is set. Any thread. */
    bool (*msix_pending)(ts_pci_dev *dev, uint32_t vector);

    /**
     * Binds eventfd fd to vector, for interrupts that must not wake any VMM thread:
     * whoever signals fd (another process, another VM's ioeventfd) raises the vector.
     * While MSI-X is enabled and the vector unmasked, fd is a KVM irqfd on the vector's
     * MSI route (the kernel delivers; the route follows the guest's table writes). While
     * the vector is masked the host watches fd on the main loop, consumes its counter and
     * sets the pending bit, which delivers when the guest unmasks. While MSI-X is
     * disabled signals are consumed and dropped. The host does not take ownership of fd;
     * keep it open until msix_unbind_eventfd. One fd per vector. Returns 0, -EINVAL (no
     * such vector, bad fd) or -EBUSY (vector already bound). Main thread.
     */
    int (*msix_bind_eventfd)(ts_pci_dev *dev, uint32_t vector, int fd);
    /** Undoes msix_bind_eventfd (nothing when the vector is not bound). Main thread. */
    void (*msix_unbind_eventfd)(ts_pci_dev *dev, uint32_t vector);

    /**
     * Sets the level of the function's INTx pin (identity interrupt_pin; nothing when
     * it is 0). Level-triggered: keep it at 1 until the cause is acknowledged. Interrupt
     * Disable (command bit 10) holds the line low while keeping the level. Any thread.
     */
    void (*intx_set)(ts_pci_dev *dev, int level);
} ts_pci_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_PCI_H */
