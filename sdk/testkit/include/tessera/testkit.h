/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/testkit.h
 * @brief The device testkit: drive a device plugin's registers, config space and
 * interrupts without a VM (like QEMU's qtest), from Check or any test framework.
 *
 * A tk_machine is a machine without vCPUs: guest RAM, the port-I/O and MMIO buses, the
 * PCI host bridge (the same code tessera runs) and a fake interrupt/KVM layer that
 * records MSI messages, acts on ioeventfds and irqfds the way KVM does and keeps RAM BAR
 * mappings. It works on machines without /dev/kvm. Plugins are found through the
 * normal search path (plus tk_plugin_path_add), properties are parsed and validated
 * exactly as tessera does, and memory backends are the real backend plugins.
 *
 *     tk_machine *m = tk_machine_new(0);
 *     tk_object_add(m, "memory-backend-memfd,id=mb,size=1M");
 *     tk_device *d = tk_device_add(m, "ivshmem-plain,memdev=mb,addr=3");
 *     uint8_t devfn = tk_device_devfn(d);
 *     tk_device_enable(m, devfn);
 *     uint32_t v = (uint32_t)tk_bar_read(m, devfn, 0, 8, 4);
 *     tk_machine_free(m);
 *
 * Threads: one tk_machine is used from one thread (the "main thread" of the device:
 * fd watches, timers and eventfd deliveries run inside tk_process_events and
 * tk_wait_event on it). Accesses act like a vCPU making them: synchronously.
 *
 * Failures of setup calls return NULL or a negative errno and leave a one-line message
 * in tk_error(). Accesses never fail: like a guest, they read all-ones from nothing.
 */
#ifndef TESSERA_TESTKIT_H
#define TESSERA_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TK_API __attribute__((visibility("default")))

/** A machine without vCPUs. */
typedef struct tk_machine tk_machine;
/** A device instantiated in a tk_machine. */
typedef struct tk_device tk_device;

/** One MSI message the device sent (an MSI-X vector raised while unmasked). */
typedef struct tk_msi {
    uint64_t address;
    uint32_t data;
} tk_msi;

/* --- machine --- */

/** A machine with ram_size bytes of guest RAM (0: 64 MiB; laid out as tessera does). NULL on failure (message on stderr). */
TK_API tk_machine *tk_machine_new(uint64_t ram_size);
/** Destroys every device (unrealize, destroy), then the objects, then the machine. NULL is allowed. */
TK_API void tk_machine_free(tk_machine *m);
/** The message of the last failed call on m ("" when none). Valid until the next call. */
TK_API const char *tk_error(const tk_machine *m);
/** Adds a plugin directory to the search path. Only before the first tk_object_add/tk_device_add. 0 or -EBUSY. */
TK_API int tk_plugin_path_add(tk_machine *m, const char *dir);
/** Creates an object from a -object argument, e.g. "memory-backend-file,id=mb,size=1M,mem-path=/dev/shm/x". 0 or -errno. */
TK_API int tk_object_add(tk_machine *m, const char *spec);
/**
 * Opens a chardev from a -chardev argument, e.g. "socket,id=chr0,path=/tmp/ivshmem.sock"
 * (a client socket connects now). Devices name it with their chardev property. 0 or -errno.
 */
TK_API int tk_chardev_add(tk_machine *m, const char *spec);
/** Creates and realizes a device from a -device argument, e.g. "pci-testdev,vectors=4,addr=5.0". NULL on failure. */
TK_API tk_device *tk_device_add(tk_machine *m, const char *spec);
/** Unrealizes and destroys a device (like unplugging it). NULL is allowed. */
TK_API void tk_device_del(tk_device *d);
/** The PCI devfn (slot << 3 | function) of a PCI device, or -1. */
TK_API int tk_device_devfn(const tk_device *d);
/** System reset: every function's config space back to reset values, then every device's reset hook. */
TK_API void tk_reset(tk_machine *m);

/**
 * Runs ready main-loop work (fd watches, timers, eventfd deliveries, chardev input, which
 * runs in the default GMainContext) without blocking; returns how much ran.
 */
TK_API int tk_process_events(tk_machine *m);
/**
 * Waits up to timeout_ms for main-loop work and runs it (for events from other threads
 * or processes, and timers). Returns true when something ran. Use it as a bound on a
 * wait, never as a timing assertion.
 */
TK_API bool tk_wait_event(tk_machine *m, int timeout_ms);

/* --- accesses, as a vCPU makes them (size 1, 2, 4 or 8) --- */

/** Port read; all-ones from nothing. */
TK_API uint64_t tk_pio_read(tk_machine *m, uint16_t port, unsigned size);
/** Port write; ioeventfds match first, as in KVM. */
TK_API void tk_pio_write(tk_machine *m, uint16_t port, uint64_t value, unsigned size);
/** MMIO or RAM read (guest RAM, mapped RAM BARs, else the MMIO bus); all-ones from nothing. */
TK_API uint64_t tk_mmio_read(tk_machine *m, uint64_t addr, unsigned size);
/** MMIO or RAM write; ioeventfds match first, as in KVM. */
TK_API void tk_mmio_write(tk_machine *m, uint64_t addr, uint64_t value, unsigned size);
/** Reads len bytes at guest-physical addr (RAM and RAM BARs fast, MMIO byte by byte). */
TK_API void tk_memread(tk_machine *m, uint64_t addr, void *buf, size_t len);
/** Writes len bytes at guest-physical addr. */
TK_API void tk_memwrite(tk_machine *m, uint64_t addr, const void *buf, size_t len);
/** Host pointer to guest RAM [gpa, gpa + len), or NULL (not RAM). */
TK_API void *tk_guest_ram(tk_machine *m, uint64_t gpa, uint64_t len);

/* --- PCI through configuration mechanism #1 (0xcf8/0xcfc), as a guest does it --- */

/** Config read of size 1, 2 or 4 at off of bus 0 devfn. */
TK_API uint32_t tk_config_read(tk_machine *m, uint8_t devfn, uint32_t off, unsigned size);
/** Config write. */
TK_API void tk_config_write(tk_machine *m, uint8_t devfn, uint32_t off, uint32_t value, unsigned size);
/** devfn of the index-th function with this vendor and device ID (bus scan order), or -1. */
TK_API int tk_pci_find(tk_machine *m, uint16_t vendor, uint16_t device, unsigned index);
/** Offset of the first capability with this ID, or 0. */
TK_API uint8_t tk_pci_find_capability(tk_machine *m, uint8_t devfn, uint8_t cap_id);
/** Sets the command register's I/O, memory and bus-master bits. */
TK_API void tk_device_enable(tk_machine *m, uint8_t devfn);
/** The address programmed in BAR bar (64-bit BARs combined), type bits stripped. */
TK_API uint64_t tk_bar_address(tk_machine *m, uint8_t devfn, unsigned bar);
/** BAR size by sizing (write all-ones, read back, restore), 0 when the BAR is not implemented. */
TK_API uint64_t tk_bar_size(tk_machine *m, uint8_t devfn, unsigned bar);
/** Programs BAR bar with addr (both halves of a 64-bit BAR): moves it. */
TK_API void tk_bar_set_address(tk_machine *m, uint8_t devfn, unsigned bar, uint64_t addr);
/** Read at off inside BAR bar wherever it is programmed (I/O or memory). */
TK_API uint64_t tk_bar_read(tk_machine *m, uint8_t devfn, unsigned bar, uint64_t off, unsigned size);
/** Write at off inside BAR bar. */
TK_API void tk_bar_write(tk_machine *m, uint8_t devfn, unsigned bar, uint64_t off, uint64_t value,
                         unsigned size);

/* --- MSI-X, through the capability and the table as a guest driver does it --- */

/** Number of MSI-X vectors (0 without MSI-X). */
TK_API uint32_t tk_msix_table_size(tk_machine *m, uint8_t devfn);
/** Sets or clears MSI-X Enable. */
TK_API void tk_msix_enable(tk_machine *m, uint8_t devfn, bool on);
/** Sets or clears the function mask. */
TK_API void tk_msix_function_mask(tk_machine *m, uint8_t devfn, bool on);
/** Programs table entry vector (address, data) and its mask bit. */
TK_API void tk_msix_set_vector(tk_machine *m, uint8_t devfn, uint32_t vector, uint64_t address,
                               uint32_t data, bool masked);
/** Sets or clears the mask bit of vector. */
TK_API void tk_msix_mask(tk_machine *m, uint8_t devfn, uint32_t vector, bool masked);
/** Reads vector's pending bit from the PBA. */
TK_API bool tk_msix_pending(tk_machine *m, uint8_t devfn, uint32_t vector);

/* --- what reached the interrupt controller and "KVM" --- */

/** MSI messages delivered and not yet popped. */
TK_API unsigned tk_msi_count(tk_machine *m);
/** Pops the oldest delivered MSI message; false when none. */
TK_API bool tk_msi_pop(tk_machine *m, tk_msi *out);
/** Forgets delivered messages. */
TK_API void tk_msi_clear(tk_machine *m);
/** Level of line interrupt gsi (PCI INTx lands on GSI 16..19). */
TK_API int tk_irq_level(tk_machine *m, uint32_t gsi);
/** ioeventfds installed (as with KVM_IOEVENTFD) right now. */
TK_API unsigned tk_ioeventfd_count(tk_machine *m);
/** irqfds bound right now. */
TK_API unsigned tk_irqfd_count(tk_machine *m);
/** RAM regions mapped into the guest as memory slots right now (RAM-backed BARs). */
TK_API unsigned tk_ram_map_count(tk_machine *m);
/** Is exactly [gpa, gpa + size) mapped as a memory slot? */
TK_API bool tk_ram_mapped_at(tk_machine *m, uint64_t gpa, uint64_t size);

/* --- eventfds --- */

/** A new non-blocking eventfd, or -errno. */
TK_API int tk_eventfd_new(void);
/** Adds 1 to the eventfd's counter (what a peer does to ring it). */
TK_API void tk_eventfd_signal(int fd);
/** Reads and clears the counter; 0 when it is zero. */
TK_API uint64_t tk_eventfd_take(int fd);

/* --- drives (for disk devices) --- */

/**
 * Opens a drive from a -drive argument, e.g. "file=disk.vmdk,format=vmdk,id=d0" (also
 * readonly=on, cache=MODE), through tessera's block layer; devices name it with their
 * drive property. Drives are process-wide: one machine at a time has drives. Add them
 * before any device (adding one reopens the others; -EBUSY once a device exists).
 * 0 or -errno.
 */
TK_API int tk_drive_add(tk_machine *m, const char *spec);
/**
 * Flushes and closes every drive, e.g. to check the image files while the machine lives.
 * Delete the devices that use them first. tk_machine_free closes them after its devices.
 */
TK_API void tk_drives_close(tk_machine *m);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_TESTKIT_H */
