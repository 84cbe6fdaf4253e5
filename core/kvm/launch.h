/* SPDX-License-Identifier: MIT */
/*
 * Launching a machine from a validated description, in dependency order: memory
 * backends, guest RAM, chardevs and serial ports, the VM (KVM, irqchip, vCPUs, platform
 * devices), the PCI host and the devices, the kernel; then the vCPUs run until the VM
 * stops. The pieces a test can check without KVM are separate functions.
 */
#ifndef TESSERA_CORE_LAUNCH_H
#define TESSERA_CORE_LAUNCH_H

#include <glib.h>

#include "chardev/chardev.h"
#include "config/machine.h"
#include "kvm/kvm.h"
#include "object/object.h"
#include "plugin/registry.h"

/* Guest RAM: a memory backend's region, or an anonymous mapping we own. */
typedef struct launch_ram {
    ts_memory_region region;
    void *owned;       /* our anonymous mapping, or NULL when a backend provides the RAM */
    uint64_t owned_size;
} launch_ram;

/*
 * The machine's guest RAM: the region of the memory-backend object named by the
 * machine's memory-backend (fd-backed where the backend has one), else anonymous,
 * private, lazily allocated memory of the machine's memory size. Returns 0, or -errno
 * with *err naming the backend or the size.
 */
int launch_ram_get(machine_desc *d, object_set *objects, launch_ram *out, GError **err);
void launch_ram_release(launch_ram *r);

/*
 * The chardev behind each serial port, from the MD_SERIAL items in order (port i is
 * COM(i+1)): stdio, null, file:PATH (a new chardev added to chardevs), chardev:ID (one
 * of chardevs), none (no port). Without any MD_SERIAL item COM1 is on stdio (tessera
 * has no display, so it always behaves as with -nographic). Returns 0, or -EINVAL with
 * *err (more than VM_MAX_SERIALS ports, an unknown chardev, two stdio users).
 */
int launch_serial_ports(machine_desc *d, chardev_set *chardevs,
                        struct ts_chardev *ports[VM_MAX_SERIALS], GError **err);

/*
 * The built-in isa-debug-exit device of the description, if any (-device
 * isa-debug-exit,iobase=,iosize=): fills cfg's debug_exit fields. -EINVAL when there
 * are two.
 */
int launch_debug_exit(machine_desc *d, vm_config *cfg, GError **err);

/*
 * Launches and runs the machine. Returns the VM's exit status (kvm.h), or a negative
 * errno with *err set when it could not start (the frontend then exits with 1).
 */
int launch_machine(machine_desc *d, registry *reg, GError **err);

#endif
