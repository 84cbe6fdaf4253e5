/* SPDX-License-Identifier: MIT */
/* What the files of core/kvm/ share: the vm and vcpu structures and their helpers. */
#ifndef TESSERA_CORE_KVM_INTERNAL_H
#define TESSERA_CORE_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "devices/devices.h"
#include "kvm/kvm.h"

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
    vcpu *vcpus;
    serial_uart *serial;
    debug_exit_dev *debug_exit;
    atomic_bool stopping;
    atomic_int exit_status;
};

/* kvm_open.c: the /dev/kvm fd after the API-version and capability checks. */
int kvm_open_system(GError **err);

/* cpuid.c: KVM_GET_SUPPORTED_CPUID; and the per-vCPU filtered copy on a vCPU. */
struct kvm_cpuid2 *cpuid_get_supported(int kvm_fd, GError **err);
int cpuid_set_for_vcpu(vcpu *c, const struct kvm_cpuid2 *supported, unsigned nr_vcpus,
                       GError **err);

/* vcpu.c */
int vcpu_init(vm *v, vcpu *c, unsigned index, GError **err);
void vcpu_fini(vcpu *c);

/* vcpu_regs.c */
int vcpu_set_pvh_entry(vcpu *c, uint32_t entry, uint32_t start_info, GError **err);
void vcpu_dump_state(vcpu *c, FILE *out);

/* vcpu_run.c: the thread body of a vCPU. */
void *vcpu_thread(void *arg);
/* The signal that knocks a vCPU thread out of KVM_RUN. */
int vcpu_kick_signal(void);

#endif
