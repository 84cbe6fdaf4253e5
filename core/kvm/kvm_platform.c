/* SPDX-License-Identifier: MIT */
/* The PCI code's view of the machine (core/pci/platform.h), implemented over KVM. */
#include "kvm/kvm_internal.h"
#include "pci/platform.h"

static int plat_msi_route_add(void *opaque, const msi_msg *msg, uint32_t *gsi)
{
    return vm_msi_route_add(opaque, msg->address, msg->data, gsi);
}

static int plat_msi_route_update(void *opaque, uint32_t gsi, const msi_msg *msg)
{
    return vm_msi_route_update(opaque, gsi, msg->address, msg->data);
}

static void plat_msi_route_remove(void *opaque, uint32_t gsi)
{
    vm_msi_route_remove(opaque, gsi);
}

static int plat_irqfd_bind(void *opaque, uint32_t gsi, int fd)
{
    return vm_irqfd_bind(opaque, gsi, fd);
}

static int plat_irqfd_unbind(void *opaque, uint32_t gsi, int fd)
{
    return vm_irqfd_unbind(opaque, gsi, fd);
}

static int plat_msi_inject(void *opaque, const msi_msg *msg)
{
    return vm_signal_msi(opaque, msg->address, msg->data);
}

static int plat_set_irq_line(void *opaque, uint32_t gsi, int level)
{
    return vm_set_irq_line(opaque, gsi, level);
}

static int plat_ioeventfd_add(void *opaque, bool pio, uint64_t addr, unsigned len,
                              bool has_datamatch, uint64_t datamatch, int fd)
{
    return vm_ioeventfd_add(opaque, pio, addr, len, has_datamatch, datamatch, fd);
}

static int plat_ioeventfd_remove(void *opaque, bool pio, uint64_t addr, unsigned len,
                                 bool has_datamatch, uint64_t datamatch, int fd)
{
    return vm_ioeventfd_remove(opaque, pio, addr, len, has_datamatch, datamatch, fd);
}

static int plat_map_ram(void *opaque, uint64_t gpa, uint64_t size, void *host, int fd,
                        uint64_t fd_offset, bool readonly, uint32_t *slot)
{
    (void)fd; /* KVM maps the host address; the fd only matters to other implementations */
    (void)fd_offset;
    return vm_map_ram(opaque, gpa, size, host, readonly, slot);
}

static void plat_unmap_ram(void *opaque, uint32_t slot)
{
    vm_unmap_ram(opaque, slot);
}

static const pci_platform_ops kvm_platform_ops = {
    .msi_route_add = plat_msi_route_add,
    .msi_route_update = plat_msi_route_update,
    .msi_route_remove = plat_msi_route_remove,
    .irqfd_bind = plat_irqfd_bind,
    .irqfd_unbind = plat_irqfd_unbind,
    .msi_inject = plat_msi_inject,
    .set_irq_line = plat_set_irq_line,
    .ioeventfd_add = plat_ioeventfd_add,
    .ioeventfd_remove = plat_ioeventfd_remove,
    .map_ram = plat_map_ram,
    .unmap_ram = plat_unmap_ram,
};

void vm_pci_platform(vm *v, struct pci_platform *out)
{
    *out = (pci_platform){
        .ops = &kvm_platform_ops,
        .opaque = v,
        .pio = v->pio,
        .mmio = v->mmio,
        .ram = &v->mem,
        .main_context = v->main_context,
    };
}
