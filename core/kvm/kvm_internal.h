/* SPDX-License-Identifier: MIT */
/* What the files of core/kvm/ share: the vm and vcpu structures and their helpers. */
#ifndef TESSERA_CORE_KVM_INTERNAL_H
#define TESSERA_CORE_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "devices/devices.h"
#include "kvm/irq_routes.h"
#include "kvm/kvm.h"
#include "kvm/mem_slots.h"
#include "kvm/topology.h"

/* Guest-physical pages KVM needs for its own use on Intel hosts, inside the PCI hole. */
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ull /* one page */
#define KVM_TSS_GPA 0xfffbd000ull          /* three pages */

typedef struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    atomic_bool thread_started;
} vcpu;

struct vm {
    vm_config cfg;
    int kvm_fd;
    int vm_fd;
    guest_memory mem;
    io_bus *pio;
    io_bus *mmio;
    struct kvm_cpuid2 *cpuid; /* supported CPUID, filtered per vCPU at creation */
    unsigned nr_vcpus;
    cpu_topology topo;
    vcpu *vcpus;
    serial_uart *serial[VM_MAX_SERIALS];
    debug_exit_dev *debug_exit;
    i8042_dev *i8042;
    acpi_pm_dev *acpi_pm;
    irq_routes *routes;
    mem_slots slots;
    bool has_readonly_mem;
    atomic_bool stopping;
    atomic_int exit_status;
    atomic_uint running_threads; /* vCPU threads still in their loop */
    GMainContext *main_context; /* iterated by vm_run on the calling thread */
};

/* What kvm_open_system learnt about the host's KVM. */
typedef struct kvm_limits {
    uint32_t nr_memslots;  /* KVM_CAP_NR_MEMSLOTS */
    uint32_t max_gsi;      /* KVM_CAP_IRQ_ROUTING: routing entries allowed */
    uint32_t max_vcpus;    /* KVM_CAP_MAX_VCPUS (or NR_VCPUS) */
    uint32_t max_vcpu_id;  /* KVM_CAP_MAX_VCPU_ID: APIC ids must be below it */
    bool readonly_mem;     /* KVM_CAP_READONLY_MEM */
} kvm_limits;

/* kvm_open.c: the /dev/kvm fd after the API-version and capability checks. */
int kvm_open_system(kvm_limits *limits, GError **err);
/* The same for another path (tests point it at files that are not KVM). */
int kvm_open_path(const char *path, kvm_limits *limits, GError **err);

/* vm_irq.c: KVM_SET_GSI_ROUTING, as the irq_routes commit callback (opaque = vm). */
int vm_commit_routes(void *opaque, const struct kvm_irq_routing *table);

/* cpuid.c: KVM_GET_SUPPORTED_CPUID; and the per-vCPU filtered copy on a vCPU. */
struct kvm_cpuid2 *cpuid_get_supported(int kvm_fd, GError **err);
int cpuid_set_for_vcpu(vcpu *c, const struct kvm_cpuid2 *supported, const cpu_topology *topo,
                       GError **err);
/*
 * cpuid.c: what a VMM owns in CPUID, applied to a copy of the supported table for vCPU
 * index: APIC ids and topology (leaves 1, 4, 0xB, 0x1F), the hypervisor bit, HTT, and
 * features we do not virtualise hidden (EPB, the architectural PMU).
 */
void cpuid_filter(struct kvm_cpuid2 *cpuid, const cpu_topology *topo, unsigned index);

/* vcpu.c */
int vcpu_init(vm *v, vcpu *c, unsigned index, GError **err);
void vcpu_fini(vcpu *c);

/* vcpu_regs.c */
int vcpu_set_pvh_entry(vcpu *c, uint32_t entry, uint32_t start_info, GError **err);
/* The entry state a boot loader asked for (core/boot/boot_cpu.h). */
struct boot_cpu_state;
int vcpu_set_boot_state(vcpu *c, const struct boot_cpu_state *st, GError **err);
void vcpu_dump_state(vcpu *c, FILE *out);

/*
 * vcpu_run.c: the guest asked for a reset (triple fault, i8042, system event). With
 * no_reboot the VM stops with status 0; otherwise too, after saying that rebooting is
 * not supported. Any thread.
 */
void vm_guest_reset(vm *v, const char *why);

/* vcpu_run.c: the thread body of a vCPU. */
void *vcpu_thread(void *arg);
/* The signal that knocks a vCPU thread out of KVM_RUN. */
int vcpu_kick_signal(void);

#endif
