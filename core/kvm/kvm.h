/* SPDX-License-Identifier: MIT */
/*
 * Running a virtual machine under KVM: create it from a vm_config, load a kernel,
 * run it until it stops, read the exit status.
 *
 *     vm_config cfg = { .ram = &region, .nr_vcpus = 1, .serial_fd = 1,
 *                       .debug_exit = true, .debug_exit_iobase = 0xf4 };
 *     vm *v;
 *     if (vm_create(&cfg, &v, &err) < 0 ||
 *         vm_load_kernel(v, path, NULL, cmdline, &err) < 0) ...
 *     int status = vm_run(v);
 *     vm_destroy(v);
 *
 * Exit status (what a frontend should exit with; the same as QEMU's for the same guest):
 *   0                     the guest powered off (ACPI S5) or reset (tessera does not
 *                         reboot: a reset always stops the VM; without no_reboot it says so)
 *   (V << 1) | 1          the guest wrote V to the isa-debug-exit port
 *   VM_STATUS_FAILURE     the VM could not go on (KVM internal error, failed entry, ...);
 *                         the reason and the registers were printed to stderr
 *
 * Signals: vm_create installs a do-nothing handler for SIGRTMIN + 1, which vm_request_stop
 * sends to vCPU threads to knock them out of KVM_RUN. The rest of the program must not
 * use that signal.
 */
#ifndef TESSERA_CORE_KVM_H
#define TESSERA_CORE_KVM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "kvm/guest_memory.h"
#include "tessera/host.h"

#define VM_STATUS_POWEROFF 0
#define VM_STATUS_FAILURE 2
#define VM_STATUS_DEBUG_EXIT(v) ((int)(((unsigned)(v) << 1) | 1))

#define VM_MAX_VCPUS 64
#define VM_MAX_SERIALS 4 /* COM1..COM4: 0x3f8 IRQ 4, 0x2f8 IRQ 3, 0x3e8 IRQ 4, 0x2e8 IRQ 3 */

struct ts_chardev;

typedef struct vm_config {
    const ts_memory_region *ram; /* guest RAM; the caller keeps it mapped until vm_destroy */
    unsigned nr_vcpus;           /* 1..VM_MAX_VCPUS; 0 means 1 */
    unsigned sockets, cores, threads; /* -smp topology; all 0: one socket of nr_vcpus cores */
    /*
     * Serial ports. With serial_chardevs set, port i exists when serial[i] is non-NULL
     * and talks to that chardev (output, and input into the UART's receive FIFO); the
     * caller keeps the chardevs until vm_destroy. Without it, COM1 writes to serial_fd
     * (-1 discards) and has no input.
     */
    bool serial_chardevs;
    struct ts_chardev *serial[VM_MAX_SERIALS];
    int serial_fd;
    bool debug_exit;             /* add an isa-debug-exit device */
    uint16_t debug_exit_iobase;  /* its port (QEMU's tests use 0xf4) */
    uint8_t debug_exit_iosize;   /* 1, 2 or 4; 0 means 4 */
    bool no_reboot;              /* a guest reset stops the VM (status 0) */
    bool log_unclaimed_io;       /* report accesses no device claims */
} vm_config;

typedef struct vm vm;

/*
 * Opens /dev/kvm, checks what the core needs, creates the VM with its irqchip, PIT,
 * guest RAM, platform devices and vCPUs. Returns 0, or a negative errno with *err set
 * to a one-line message that says what to do.
 */
int vm_create(const vm_config *cfg, vm **out, GError **err);
/*
 * Opens /dev/kvm and checks what vm_create would check, then closes it: for a launcher
 * that wants the one-line "what to do" error before doing anything slow. 0 or -errno.
 */
int vm_check_host(GError **err);
/* Frees everything; the VM must not be running. NULL is allowed. */
void vm_destroy(vm *v);

/*
 * Loads a kernel by its content (PVH ELF or bzImage, core/boot/boot.h) with its initrd
 * and command line (both may be NULL), writes the ACPI tables, and points the boot vCPU
 * at the entry. Errors name the file.
 */
int vm_load_kernel(vm *v, const char *kernel, const char *initrd, const char *cmdline,
                   GError **err);

/* Loads a PVH ELF kernel (no ACPI tables) and points the boot vCPU at its entry. cmdline may be NULL. */
int vm_load_pvh(vm *v, const char *path, const char *cmdline, GError **err);

/*
 * Runs every vCPU on its own thread until the VM stops and returns the exit status.
 * Meanwhile the calling thread (the main thread) runs the default GMainContext, where
 * chardev input, fd watches and timers are dispatched.
 */
int vm_run(vm *v);

/*
 * Stops the VM with the given exit status; the first request wins. Safe from any
 * thread, including vCPU threads inside device handlers.
 */
void vm_request_stop(vm *v, int status);

/*
 * Interrupts, eventfds and memory slots (vm_irq.c). All return 0 or a negative errno
 * and print nothing; any thread. See core/kvm/irq_routes.h for the GSI layout.
 */
int vm_msi_route_add(vm *v, uint64_t address, uint32_t data, uint32_t *gsi);
int vm_msi_route_update(vm *v, uint32_t gsi, uint64_t address, uint32_t data);
int vm_msi_route_remove(vm *v, uint32_t gsi);
int vm_irqfd_bind(vm *v, uint32_t gsi, int fd);   /* KVM_IRQFD */
int vm_irqfd_unbind(vm *v, uint32_t gsi, int fd); /* KVM_IRQFD, DEASSIGN */
int vm_signal_msi(vm *v, uint64_t address, uint32_t data); /* KVM_SIGNAL_MSI */
int vm_set_irq_line(vm *v, uint32_t gsi, int level);       /* KVM_IRQ_LINE */
/* KVM_IOEVENTFD; len 1, 2, 4 or 8; port ranges must lie below 0x10000. */
int vm_ioeventfd_add(vm *v, bool pio, uint64_t addr, unsigned len, bool has_datamatch,
                     uint64_t datamatch, int fd);
int vm_ioeventfd_remove(vm *v, bool pio, uint64_t addr, unsigned len, bool has_datamatch,
                        uint64_t datamatch, int fd);
/*
 * Maps host memory at gpa as a KVM memory slot (page-aligned; -EEXIST when it overlaps
 * another slot, -ENOSPC when slots run out, -ENOTSUP for readonly without
 * KVM_CAP_READONLY_MEM). To move a mapping, unmap it and map it again.
 */
int vm_map_ram(vm *v, uint64_t gpa, uint64_t size, void *host, bool readonly, uint32_t *slot);
int vm_unmap_ram(vm *v, uint32_t slot);

/*
 * The machine as the PCI code needs it (core/pci/platform.h): every op goes to the
 * vm_* functions above; the buses, guest RAM and main context are the VM's. Valid
 * until vm_destroy.
 */
struct pci_platform;
void vm_pci_platform(vm *v, struct pci_platform *out);

/* The APIC id of vCPU index (from the topology; what an ACPI MADT must list). */
uint32_t vm_vcpu_apic_id(vm *v, unsigned index);
unsigned vm_nr_vcpus(vm *v);

/* The main loop vm_run iterates while vCPUs run (chardevs, eventfd watches, timers). */
GMainContext *vm_main_context(vm *v);

io_bus *vm_pio_bus(vm *v);
io_bus *vm_mmio_bus(vm *v);
const guest_memory *vm_guest_memory(vm *v);

#endif
