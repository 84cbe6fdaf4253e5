/* SPDX-License-Identifier: MIT */
/*
 * CPUID for the guest: what KVM supports on this host, with the fields a VMM owns set
 * per vCPU (APIC ids, the hypervisor bit) and features we do not virtualise hidden.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm_internal.h"
#include "util/error.h"

#define CPUID_HYPERVISOR_BIT (1u << 31) /* leaf 1 ECX: "running under a hypervisor" */
#define CPUID_HTT_BIT (1u << 28)        /* leaf 1 EDX: more than one logical CPU */
#define CPUID_EPB_BIT (1u << 3)         /* leaf 6 ECX: energy/perf bias MSR, not emulated */

struct kvm_cpuid2 *cpuid_get_supported(int kvm_fd, GError **err)
{
    /* KVM says E2BIG until the buffer is large enough; grow until it fits. */
    for (unsigned nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + nent * sizeof(c->entries[0]));
        c->nent = nent;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        int e = errno;
        g_free(c);
        if (e != E2BIG) {
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                        "KVM_GET_SUPPORTED_CPUID failed: %s; check the host's KVM", g_strerror(e));
            return NULL;
        }
    }
    g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "KVM_GET_SUPPORTED_CPUID returns too many leaves");
    return NULL;
}

void cpuid_filter(struct kvm_cpuid2 *cpuid, const cpu_topology *topo, unsigned index)
{
    uint32_t apic_id = cpu_topology_apic_id(topo, index);
    unsigned smt_shift = topo->thread_bits;
    unsigned pkg_shift = topo->thread_bits + topo->core_bits;
    uint32_t ids_per_pkg = 1u << pkg_shift;

    for (unsigned i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        switch (e->function) {
        case 1:
            /* EBX: [31:24] initial APIC id, [23:16] addressable logical ids per package. */
            e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | (MIN(ids_per_pkg, 255u) << 16);
            e->ecx |= CPUID_HYPERVISOR_BIT;
            if (ids_per_pkg > 1)
                e->edx |= CPUID_HTT_BIT;
            else
                e->edx &= ~CPUID_HTT_BIT;
            break;
        case 4:
            /* EAX[31:26]: addressable core ids per package - 1 (every sub-leaf). */
            if (e->eax & 0x1f) /* a cache level is described */
                e->eax = (e->eax & 0x03ffffff) | (((1u << topo->core_bits) - 1) << 26);
            break;
        case 6:
            e->ecx &= ~CPUID_EPB_BIT;
            break;
        case 0xa:
            /* No virtual PMU: hide the architectural performance counters. */
            e->eax = e->ebx = e->ecx = e->edx = 0;
            break;
        case 0xb:
        case 0x1f:
            /* Extended topology: level 0 SMT, level 1 core, then the end marker. */
            if (e->index == 0) {
                e->eax = smt_shift;
                e->ebx = topo->threads;
                e->ecx = (1u << 8) | 0;
            } else if (e->index == 1) {
                e->eax = pkg_shift;
                e->ebx = topo->threads * topo->cores;
                e->ecx = (2u << 8) | 1;
            } else {
                e->eax = e->ebx = 0;
                e->ecx = e->index & 0xff;
            }
            e->edx = apic_id;
            break;
        default:
            break;
        }
    }
}

int cpuid_set_for_vcpu(vcpu *c, const struct kvm_cpuid2 *supported, const cpu_topology *topo,
                       GError **err)
{
    size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
    g_autofree struct kvm_cpuid2 *cpuid = g_memdup2(supported, size);

    cpuid_filter(cpuid, topo, c->index);
    if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0) {
        int e = errno;
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "KVM_SET_CPUID2 on vCPU %u failed: %s",
                    c->index, g_strerror(e));
        return -e;
    }
    return 0;
}
