/* SPDX-License-Identifier: MIT */
/* Creating a vCPU and giving it the state a freshly powered-on CPU of ours should have. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm_internal.h"
#include "util/error.h"

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10

#define MISC_ENABLE_FAST_STRING 0x1
#define MTRR_ENABLE_WRITEBACK ((1u << 11) | 6) /* MTRRs on, default type write-back */

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_DELIVERY_MASK (7u << 8)
#define APIC_DELIVERY_NMI (4u << 8)
#define APIC_DELIVERY_EXTINT (7u << 8)

static int fail_errno(GError **err, vcpu *c, const char *what)
{
    int e = errno;
    g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s on vCPU %u failed: %s", what, c->index,
                g_strerror(e));
    return -e;
}

/* MSRs with a defined value at boot (the ones a BIOS or the previous kernel would leave). */
static int set_boot_msrs(vcpu *c, GError **err)
{
    static const struct {
        uint32_t index;
        uint64_t data;
    } boot_msrs[] = {
        { MSR_IA32_SYSENTER_CS, 0 },  { MSR_IA32_SYSENTER_ESP, 0 },
        { MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 },
        { MSR_CSTAR, 0 },             { MSR_KERNEL_GS_BASE, 0 },
        { MSR_SYSCALL_MASK, 0 },      { MSR_LSTAR, 0 },
        { MSR_IA32_TSC, 0 },          { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
        { MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK },
    };
    const unsigned n = G_N_ELEMENTS(boot_msrs);
    g_autofree struct kvm_msrs *msrs = g_malloc0(sizeof(*msrs) + n * sizeof(msrs->entries[0]));

    msrs->nmsrs = n;
    for (unsigned i = 0; i < n; i++) {
        msrs->entries[i].index = boot_msrs[i].index;
        msrs->entries[i].data = boot_msrs[i].data;
    }
    int set = ioctl(c->fd, KVM_SET_MSRS, msrs);
    if (set < 0)
        return fail_errno(err, c, "KVM_SET_MSRS");
    if ((unsigned)set != n) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                    "KVM refused boot MSR %#x on vCPU %u; check the host's KVM",
                    boot_msrs[set].index, c->index);
        return -ENOTSUP;
    }
    return 0;
}

static int set_boot_fpu(vcpu *c, GError **err)
{
    struct kvm_fpu fpu = {
        .fcw = 0x37f,    /* x87 control word after FNINIT */
        .mxcsr = 0x1f80, /* SSE: all exceptions masked, round to nearest */
    };
    if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
        return fail_errno(err, c, "KVM_SET_FPU");
    return 0;
}

/* Wire the local APIC's LINT0 to the PIC (ExtINT) and LINT1 to NMI, as a PC's BIOS does. */
static int set_lapic_lint(vcpu *c, GError **err)
{
    struct kvm_lapic_state lapic;
    uint32_t reg;

    if (ioctl(c->fd, KVM_GET_LAPIC, &lapic) < 0)
        return fail_errno(err, c, "KVM_GET_LAPIC");
    memcpy(&reg, &lapic.regs[APIC_LVT_LINT0], 4);
    reg = (reg & ~APIC_DELIVERY_MASK) | APIC_DELIVERY_EXTINT;
    memcpy(&lapic.regs[APIC_LVT_LINT0], &reg, 4);
    memcpy(&reg, &lapic.regs[APIC_LVT_LINT1], 4);
    reg = (reg & ~APIC_DELIVERY_MASK) | APIC_DELIVERY_NMI;
    memcpy(&lapic.regs[APIC_LVT_LINT1], &reg, 4);
    if (ioctl(c->fd, KVM_SET_LAPIC, &lapic) < 0)
        return fail_errno(err, c, "KVM_SET_LAPIC");
    return 0;
}

int vcpu_init(vm *v, vcpu *c, unsigned index, GError **err)
{
    int ret;

    c->vm = v;
    c->index = index;
    c->run = MAP_FAILED;
    /* The vCPU id is the initial APIC id of the in-kernel LAPIC; 0 is the boot CPU. */
    c->fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, (unsigned long)cpu_topology_apic_id(&v->topo, index));
    if (c->fd < 0) {
        ret = fail_errno(err, c, "KVM_CREATE_VCPU");
        c->fd = -1;
        return ret;
    }
    int size = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run)) {
        ret = fail_errno(err, c, "KVM_GET_VCPU_MMAP_SIZE");
        goto fail;
    }
    c->run_size = (size_t)size;
    c->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED) {
        ret = fail_errno(err, c, "mmap of kvm_run");
        goto fail;
    }
    /* CPUID first: KVM decides which MSRs exist from it. */
    ret = cpuid_set_for_vcpu(c, v->cpuid, &v->topo, err);
    if (ret < 0)
        goto fail;
    ret = set_boot_msrs(c, err);
    if (ret < 0)
        goto fail;
    ret = set_boot_fpu(c, err);
    if (ret < 0)
        goto fail;
    ret = set_lapic_lint(c, err);
    if (ret < 0)
        goto fail;
    return 0;

fail:
    vcpu_fini(c);
    return ret;
}

void vcpu_fini(vcpu *c)
{
    if (c->run && c->run != MAP_FAILED)
        munmap(c->run, c->run_size);
    c->run = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
