/* SPDX-License-Identifier: MIT */
/* The PCI function both ivshmem devices show the guest; see ivshmem_pci_add. */
#include "ivshmem-dev.h"

int ivshmem_pci_add(const ts_host_api *host, ts_object *dev, const ts_io_ops *reg_ops,
                    void *reg_opaque, uint64_t msix_bar_size, const ts_memory_region *shm,
                    ts_pci_dev **pci)
{
    const ts_pci_identity id = {
        .size = sizeof(id),
        .vendor_id = IVSHMEM_PCI_VENDOR_ID, .device_id = IVSHMEM_PCI_DEVICE_ID,
        .subsystem_vendor_id = IVSHMEM_PCI_SUBSYS_VENDOR_ID, .subsystem_id = IVSHMEM_PCI_SUBSYS_ID,
        .class_code = IVSHMEM_PCI_CLASS, .revision = IVSHMEM_PCI_REVISION,
        .interrupt_pin = 0, /* no INTx: plain has no interrupts, doorbell uses MSI-X */
        .command = TS_PCI_COMMAND_IO | TS_PCI_COMMAND_MEMORY, /* what QEMU presets */
    };
    /* In the order QEMU adds them; BAR1 only with MSI-X. */
    const ts_pci_bar_desc bars[] = {
        { .size = sizeof(ts_pci_bar_desc), .index = IVSHMEM_REG_BAR, .type = TS_PCI_BAR_MEM32,
          .bar_size = IVSHMEM_REG_BAR_SIZE, .ops = reg_ops, .opaque = reg_opaque },
        { .size = sizeof(ts_pci_bar_desc), .index = IVSHMEM_MSIX_BAR, .type = TS_PCI_BAR_MEM32,
          .bar_size = msix_bar_size },
        { .size = sizeof(ts_pci_bar_desc), .index = IVSHMEM_SHM_BAR, .type = TS_PCI_BAR_MEM64,
          .flags = TS_PCI_BAR_PREFETCHABLE, .ram = shm },
    };
    int r = host->pci->function_add(dev, &id, pci);

    for (size_t i = 0; r >= 0 && i < sizeof(bars) / sizeof(bars[0]); i++) {
        if (bars[i].index != IVSHMEM_MSIX_BAR || msix_bar_size)
            r = host->pci->bar_add(*pci, &bars[i]);
    }
    return r < 0 ? r : 0;
}
