/* SPDX-License-Identifier: MIT */
/*
 * Creating a VM: the KVM set-up sequence (VM, TSS and identity-map pages, in-kernel
 * irqchip and PIT, RAM slots), the buses and platform devices, then the vCPUs.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/pvh.h"
#include "kvm/kvm_internal.h"
#include "util/error.h"

#define COM1_BASE 0x3f8

static int fail_errno(GError **err, const char *what)
{
    int e = errno;
    g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s failed: %s", what, g_strerror(e));
    return -e;
}

static void ignore_signal(int sig)
{
    (void)sig;
}

/* The kick signal must interrupt KVM_RUN, not kill us: a handler that does nothing. */
static int install_kick_handler(GError **err)
{
    struct sigaction sa = { .sa_handler = ignore_signal };

    sigemptyset(&sa.sa_mask);
    if (sigaction(vcpu_kick_signal(), &sa, NULL) < 0)
        return fail_errno(err, "installing the vCPU kick signal handler");
    return 0;
}

static int setup_platform(vm *v, GError **err)
{
    /* Intel's VMX needs three pages for a real-mode TSS and one for an identity map. */
    if (ioctl(v->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
        return fail_errno(err, "KVM_SET_TSS_ADDR");
    uint64_t identity = KVM_IDENTITY_MAP_GPA;
    if (ioctl(v->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
        return fail_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
    /* PIC, IOAPIC and local APICs in the kernel: interrupts never need userspace. */
    if (ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return fail_errno(err, "KVM_CREATE_IRQCHIP");
    /* A dummy speaker keeps port 0x61 in the kernel too. */
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(v->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return fail_errno(err, "KVM_CREATE_PIT2");
    return 0;
}

static int setup_ram(vm *v, GError **err)
{
    int ret = guest_memory_init(&v->mem, v->cfg.ram, err);
    if (ret < 0)
        return ret;
    for (unsigned i = 0; i < v->mem.nr_banks; i++) {
        const guest_ram_bank *b = &v->mem.banks[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .guest_phys_addr = b->gpa,
            .memory_size = b->size,
            .userspace_addr = (uintptr_t)b->host,
        };
        if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
            return fail_errno(err, "KVM_SET_USER_MEMORY_REGION for guest RAM");
    }
    return 0;
}

static void debug_exit_stop(void *opaque, int status)
{
    vm_request_stop(opaque, status);
}

static int setup_devices(vm *v, GError **err)
{
    io_bus_set_log_unclaimed(v->pio, v->cfg.log_unclaimed_io);
    io_bus_set_log_unclaimed(v->mmio, v->cfg.log_unclaimed_io);
    int ret = legacy_ports_register(v->pio, err);
    if (ret < 0)
        return ret;
    v->serial = serial_uart_create(v->pio, COM1_BASE, v->cfg.serial_fd, err);
    if (!v->serial)
        return -EINVAL;
    if (v->cfg.debug_exit) {
        v->debug_exit = debug_exit_create(v->pio, v->cfg.debug_exit_iobase,
                                          v->cfg.debug_exit_iosize ? v->cfg.debug_exit_iosize : 4,
                                          debug_exit_stop, v, err);
        if (!v->debug_exit)
            return -EINVAL;
    }
    return 0;
}

int vm_create(const vm_config *cfg, vm **out, GError **err)
{
    vm *v = g_new0(vm, 1);
    int ret;

    v->cfg = *cfg;
    v->kvm_fd = v->vm_fd = -1;
    v->nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1;
    v->pio = io_bus_new("pio");
    v->mmio = io_bus_new("mmio");
    if (v->nr_vcpus > VM_MAX_VCPUS) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%u vCPUs requested; tessera supports at most %d",
                    v->nr_vcpus, VM_MAX_VCPUS);
        ret = -EINVAL;
        goto fail;
    }
    ret = install_kick_handler(err);
    if (ret < 0)
        goto fail;
    ret = v->kvm_fd = kvm_open_system(err);
    if (ret < 0)
        goto fail;
    v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0UL);
    if (v->vm_fd < 0) {
        ret = fail_errno(err, "KVM_CREATE_VM");
        goto fail;
    }
    ret = setup_platform(v, err);
    if (ret < 0)
        goto fail;
    ret = setup_ram(v, err);
    if (ret < 0)
        goto fail;
    ret = setup_devices(v, err);
    if (ret < 0)
        goto fail;
    v->cpuid = cpuid_get_supported(v->kvm_fd, err);
    if (!v->cpuid) {
        ret = -ENOTSUP;
        goto fail;
    }
    v->vcpus = g_new0(vcpu, v->nr_vcpus);
    for (unsigned i = 0; i < v->nr_vcpus; i++)
        v->vcpus[i].fd = -1;
    for (unsigned i = 0; i < v->nr_vcpus; i++) {
        ret = vcpu_init(v, &v->vcpus[i], i, err);
        if (ret < 0)
            goto fail;
    }
    *out = v;
    return 0;

fail:
    vm_destroy(v);
    *out = NULL;
    return ret;
}

void vm_destroy(vm *v)
{
    if (!v)
        return;
    for (unsigned i = 0; v->vcpus && i < v->nr_vcpus; i++)
        vcpu_fini(&v->vcpus[i]);
    g_free(v->vcpus);
    debug_exit_destroy(v->debug_exit);
    serial_uart_destroy(v->serial);
    g_free(v->cpuid);
    if (v->vm_fd >= 0)
        close(v->vm_fd);
    if (v->kvm_fd >= 0)
        close(v->kvm_fd);
    io_bus_free(v->pio);
    io_bus_free(v->mmio);
    g_free(v);
}

int vm_load_pvh(vm *v, const char *path, const char *cmdline, GError **err)
{
    pvh_boot boot;
    int ret = pvh_load_file(&v->mem, path, cmdline, &boot, err);
    if (ret < 0)
        return ret;
    /* The boot vCPU starts at the entry; the others wait for INIT/SIPI from the guest. */
    return vcpu_set_pvh_entry(&v->vcpus[0], boot.entry, boot.start_info, err);
}

io_bus *vm_pio_bus(vm *v)
{
    return v->pio;
}

io_bus *vm_mmio_bus(vm *v)
{
    return v->mmio;
}

const guest_memory *vm_guest_memory(vm *v)
{
    return &v->mem;
}
