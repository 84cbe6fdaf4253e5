/* SPDX-License-Identifier: MIT */
/*
 * The test-guest runtime's hardware helpers (included by guest.h): PCI configuration
 * space through mechanism #1 (ports 0xcf8/0xcfc), BAR sizing and moves, capability
 * lists, the local APIC (xAPIC, MMIO at 0xfee00000), interrupt handlers, MSI-X tables,
 * and the few ACPI tables a guest reads to count its CPUs.
 *
 * All of it runs at CPL0 and is written to stay short: on the development machines
 * every CPL0 instruction is emulated (docs/guest-runtime.md).
 */
#ifndef TESSERA_GUEST_HW_H
#define TESSERA_GUEST_HW_H

#include <stdbool.h>
#include <stdint.h>

struct boot_info;

/* ---- PCI ---- */

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_MSIX 0x11

struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint32_t class_code; /* base class << 16 | subclass << 8 | programming interface */
    uint8_t header_type; /* without the multi-function bit */
};

struct pci_bar {
    uint64_t base;  /* as programmed (0 = unassigned) */
    uint64_t size;  /* 0 = BAR not implemented */
    bool io;        /* I/O space BAR */
    bool is64;      /* 64-bit memory BAR (occupies two slots) */
    bool prefetch;
};

uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v);

/* Fills out[] with the functions present on bus 0 (at most max); returns how many. */
unsigned pci_scan_bus0(struct pci_dev *out, unsigned max);
/* The first function with this vendor:device on bus 0. */
bool pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out);
/*
 * Sizes BAR bar (0-5) the standard way — decode off, write all-ones, read the mask,
 * restore — and reports what it found; the command register is restored too.
 */
void pci_bar_probe(const struct pci_dev *d, unsigned bar, struct pci_bar *out);
/* Programs BAR bar (and its upper half for a 64-bit BAR) with addr. */
void pci_bar_set(const struct pci_dev *d, unsigned bar, uint64_t addr);
/* Sets and clears bits of the command register. */
void pci_command(const struct pci_dev *d, uint16_t set, uint16_t clear);
/*
 * Offset of the first capability with this id, or 0. The walk trusts nothing: it stops
 * at pointers below 0x40 and after 48 hops, so a looping list cannot hang the guest.
 */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id);

/* ---- local APIC and interrupts ---- */

#define LAPIC_BASE 0xfee00000u
#define LAPIC_SPURIOUS_VECTOR 0xff
#define IRQ_FIRST_VECTOR 32
#define IRQ_LAST_VECTOR 254 /* handlers can be installed for vectors 32-254 ... */
#define IRQ_TIMER_VECTOR 32 /* ... but this one: the runtime's wake-up tick (irq_wait) */

/* Enables the local APIC (IA32_APIC_BASE and the spurious-vector register), TPR 0. */
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Sends vector to this CPU through the ICR (self IPI, fixed, edge). */
void lapic_self_ipi(uint8_t vector);

/*
 * Runs fn(vector) at CPL0 when vector (33-254) arrives; the runtime sends the EOI. An
 * interrupt without a handler is reported as a TAP diagnostic.
 */
void irq_set_handler(uint8_t vector, void (*fn)(uint8_t vector));
/*
 * Waits with interrupts enabled (sti; hlt) until *counter reaches target or about ms
 * milliseconds pass (the local APIC timer wakes the CPU every 10 ms). Returns true when
 * the count was reached. Needs lapic_enable() first. Interrupts are off again on return.
 */
bool irq_wait(volatile unsigned *counter, unsigned target, unsigned ms);
/* The same, until cond(arg) is true. */
bool irq_wait_cond(bool (*cond)(void *arg), void *arg, unsigned ms);

/* ---- MSI-X ---- */

struct msix {
    struct pci_dev dev;
    uint8_t cap;          /* capability offset */
    uint16_t table_size;  /* entries */
    uint64_t table;       /* guest-physical address of entry 0 */
    uint64_t pba;         /* pending-bit array */
};

/*
 * Finds the MSI-X capability and locates the table and PBA through their BARs (which
 * must be assigned, below 4 GiB); turns on memory decode and bus mastering. Returns 0,
 * or -1 when the device has no usable MSI-X (reason printed as a TAP diagnostic).
 */
int msix_init(const struct pci_dev *d, struct msix *m);
/* MSI-X enable bit and function mask in the message control register. */
void msix_enable(const struct msix *m, bool enable, bool function_mask);
/* Points entry at vector on the CPU with APIC id apic_id (fixed, edge) and unmasks it. */
void msix_route(const struct msix *m, unsigned entry, uint8_t vector, uint32_t apic_id);
void msix_mask(const struct msix *m, unsigned entry, bool masked);
bool msix_pending(const struct msix *m, unsigned entry);

/* ---- application processors ---- */

#define SMP_MAX_CPUS 16
#define SMP_TRAMPOLINE_GPA 0x10000 /* real-mode start page the SIPI points at */

/*
 * Starts every other processor the MADT lists (INIT, SIPI, SIPI), one at a time: each
 * enters long mode with the runtime's GDT, page tables and IDT, enables its local APIC,
 * runs fn(index) (index 1, 2, ... in start order) and then idles with interrupts enabled
 * (sti; hlt), so handlers installed with irq_set_handler run on it. Needs lapic_enable()
 * on the boot CPU first. APs must not print concurrently with the boot CPU (the UART is
 * not locked) and cannot use cpl3_call. Returns how many APs checked in; apic_ids[i]
 * receives the APIC id of AP i + 1 (max entries).
 */
unsigned smp_start_aps(const struct boot_info *bi, void (*fn)(unsigned index),
                       uint32_t *apic_ids, unsigned max);
/* Sends vector to the CPU with APIC id dest (fixed delivery, edge). */
void lapic_send_ipi(uint32_t dest, uint8_t vector);

/* ---- ACPI ---- */

/* The RSDP: from hvm_start_info, else found by scanning 0xe0000-0xfffff. NULL = none. */
const void *acpi_find_rsdp(const struct boot_info *bi);
/* A table by signature ("APIC") through the XSDT (or RSDT), checksum verified; or NULL. */
const void *acpi_find_table(const struct boot_info *bi, const char *sig);
/* Enabled processors in the MADT, or -1 without ACPI. */
int acpi_count_cpus(const struct boot_info *bi);
/* Their APIC ids, in MADT order (at most max); returns the count or -1 without ACPI. */
int acpi_cpu_apic_ids(const struct boot_info *bi, uint32_t *ids, unsigned max);

#endif
