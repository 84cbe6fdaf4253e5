/* SPDX-License-Identifier: MIT */
/*
 * Running a virtual machine under KVM: create it from a vm_config, load a kernel,
 * run it until it stops, read the exit status.
 *
 *     vm_config cfg = { .ram = &region, .nr_vcpus = 1, .serial_fd = 1,
 *                       .debug_exit = true, .debug_exit_iobase = 0xf4 };
 *     vm *v;
 *     if (vm_create(&cfg, &v, &err) < 0 || vm_load_pvh(v, path, cmdline, &err) < 0) ...
 *     int status = vm_run(v);
 *     vm_destroy(v);
 *
 * Exit status (what a frontend should exit with; the same as QEMU's for the same guest):
 *   0                     the guest powered off, or reset with no_reboot set
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

typedef struct vm_config {
    const ts_memory_region *ram; /* guest RAM; the caller keeps it mapped until vm_destroy */
    unsigned nr_vcpus;           /* 1..VM_MAX_VCPUS; 0 means 1 */
    int serial_fd;               /* COM1 output goes here; -1 discards it */
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
/* Frees everything; the VM must not be running. NULL is allowed. */
void vm_destroy(vm *v);

/* Loads a PVH ELF kernel and points the boot vCPU at its entry. cmdline may be NULL. */
int vm_load_pvh(vm *v, const char *path, const char *cmdline, GError **err);

/* Runs every vCPU on its own thread until the VM stops; returns the exit status. */
int vm_run(vm *v);

/*
 * Stops the VM with the given exit status; the first request wins. Safe from any
 * thread, including vCPU threads inside device handlers.
 */
void vm_request_stop(vm *v, int status);

io_bus *vm_pio_bus(vm *v);
io_bus *vm_mmio_bus(vm *v);
const guest_memory *vm_guest_memory(vm *v);

#endif
