/* SPDX-License-Identifier: MIT */
/*
 * Interrupts and eventfds of a VM over KVM: GSI routes for MSIs, irqfds, ioeventfds,
 * direct MSI injection, line interrupts, and memory slots for RAM-backed device memory.
 * Every function returns 0 or a negative errno and prints nothing; callers report.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm_internal.h"

int vm_commit_routes(void *opaque, const struct kvm_irq_routing *table)
{
    vm *v = opaque;
    return ioctl(v->vm_fd, KVM_SET_GSI_ROUTING, table) < 0 ? -errno : 0;
}

int vm_msi_route_add(vm *v, uint64_t address, uint32_t data, uint32_t *gsi)
{
    return irq_routes_add_msi(v->routes, address, data, gsi);
}

int vm_msi_route_update(vm *v, uint32_t gsi, uint64_t address, uint32_t data)
{
    return irq_routes_update_msi(v->routes, gsi, address, data);
}

int vm_msi_route_remove(vm *v, uint32_t gsi)
{
    return irq_routes_remove_msi(v->routes, gsi);
}

static int irqfd(vm *v, uint32_t gsi, int fd, uint32_t flags)
{
    struct kvm_irqfd req = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags };
    if (fd < 0)
        return -EBADF;
    return ioctl(v->vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int vm_irqfd_bind(vm *v, uint32_t gsi, int fd)
{
    return irqfd(v, gsi, fd, 0);
}

int vm_irqfd_unbind(vm *v, uint32_t gsi, int fd)
{
    return irqfd(v, gsi, fd, KVM_IRQFD_FLAG_DEASSIGN);
}

int vm_signal_msi(vm *v, uint64_t address, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)address,
        .address_hi = (uint32_t)(address >> 32),
        .data = data,
    };
    /* > 0: delivered; 0: the guest blocked it (e.g. masked in the LAPIC). Both are fine. */
    return ioctl(v->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

int vm_set_irq_line(vm *v, uint32_t gsi, int level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
    return ioctl(v->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static int ioeventfd(vm *v, bool pio, uint64_t addr, unsigned len, bool has_datamatch,
                     uint64_t datamatch, int fd, uint32_t extra_flags)
{
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return -EINVAL;
    if (pio && (addr > 0xffff || addr + len > 0x10000))
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    struct kvm_ioeventfd req = {
        .datamatch = has_datamatch ? datamatch : 0,
        .addr = addr,
        .len = len,
        .fd = fd,
        .flags = extra_flags | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (has_datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0),
    };
    return ioctl(v->vm_fd, KVM_IOEVENTFD, &req) < 0 ? -errno : 0;
}

int vm_ioeventfd_add(vm *v, bool pio, uint64_t addr, unsigned len, bool has_datamatch,
                     uint64_t datamatch, int fd)
{
    return ioeventfd(v, pio, addr, len, has_datamatch, datamatch, fd, 0);
}

int vm_ioeventfd_remove(vm *v, bool pio, uint64_t addr, unsigned len, bool has_datamatch,
                        uint64_t datamatch, int fd)
{
    return ioeventfd(v, pio, addr, len, has_datamatch, datamatch, fd,
                     KVM_IOEVENTFD_FLAG_DEASSIGN);
}

static int set_slot(vm *v, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                    void *host)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .flags = flags,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)host,
    };
    return ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int vm_map_ram(vm *v, uint64_t gpa, uint64_t size, void *host, bool readonly, uint32_t *slot)
{
    int ret = mem_slots_check_mapping(gpa, size, host);
    if (ret < 0)
        return ret;
    if (readonly && !v->has_readonly_mem)
        return -ENOTSUP;
    ret = mem_slots_alloc(&v->slots, slot);
    if (ret < 0)
        return ret;
    /* The kernel refuses (-EEXIST) a range that overlaps another slot. */
    ret = set_slot(v, *slot, readonly ? KVM_MEM_READONLY : 0, gpa, size, host);
    if (ret < 0)
        mem_slots_release(&v->slots, *slot);
    return ret;
}

int vm_unmap_ram(vm *v, uint32_t slot)
{
    /* A size of 0 deletes the slot; the kernel zaps its mappings before returning. */
    int ret = set_slot(v, slot, 0, 0, 0, NULL);
    if (ret == 0)
        ret = mem_slots_release(&v->slots, slot);
    return ret;
}
