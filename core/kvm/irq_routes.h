/* SPDX-License-Identifier: MIT */
/*
 * The GSI routing table of a VM with an in-kernel irqchip. KVM_SET_GSI_ROUTING replaces
 * the whole table, so we keep it here and re-issue it on every change.
 *
 * Layout (the same as QEMU's and kvmtool's for a PC with an in-kernel irqchip, matching
 * an ACPI MADT that overrides ISA IRQ 0 to GSI 2):
 *   GSI 0..15   ISA IRQs: the PIC pin (master 0-7, slave 8-15; none for the cascade, 2)
 *               and the IOAPIC pin of the same number, except GSI 0 -> IOAPIC pin 2
 *               (the PIT's IRQ 0, which the kernel's PIT raises on GSI 0)
 *   GSI 16..23  IOAPIC pins 16..23 (PCI INTx)
 *   GSI 24..    MSI routes, allocated by irq_routes_add_msi; freed GSIs are reused
 *
 * Thread-safe: every call takes the table's lock, and the commit callback runs under it,
 * so the kernel sees table versions in the order they were made.
 */
#ifndef TESSERA_CORE_IRQ_ROUTES_H
#define TESSERA_CORE_IRQ_ROUTES_H

#include <linux/kvm.h>
#include <stdint.h>

#define IRQ_ROUTES_ISA_GSIS 16
#define IRQ_ROUTES_IOAPIC_PINS 24
#define IRQ_ROUTES_FIRST_MSI_GSI 24

/* Installs table in the kernel (KVM_SET_GSI_ROUTING). Returns 0 or a negative errno. */
typedef int (*irq_routes_commit_fn)(void *opaque, const struct kvm_irq_routing *table);

typedef struct irq_routes irq_routes;

/*
 * A table with the legacy entries, not committed yet. max_gsi is one past the highest
 * GSI the kernel allows (KVM_CAP_IRQ_ROUTING's value, at least IRQ_ROUTES_FIRST_MSI_GSI).
 */
irq_routes *irq_routes_new(uint32_t max_gsi, irq_routes_commit_fn commit, void *opaque);
void irq_routes_free(irq_routes *r);

/* Installs the current table (the legacy entries at start-up). */
int irq_routes_commit(irq_routes *r);

/*
 * Adds an MSI route (address, data) and commits. Returns 0 and its GSI in *gsi;
 * -ENOSPC when every GSI up to max_gsi is in use; the commit's error (the table is
 * then as before).
 */
int irq_routes_add_msi(irq_routes *r, uint64_t address, uint32_t data, uint32_t *gsi);
/* Points the MSI route of gsi at (address, data) and commits. -ENOENT: no such MSI route. */
int irq_routes_update_msi(irq_routes *r, uint32_t gsi, uint64_t address, uint32_t data);
/* Removes the MSI route of gsi and commits. -ENOENT: no such MSI route. */
int irq_routes_remove_msi(irq_routes *r, uint32_t gsi);

/* Number of entries in the table (legacy and MSI). */
unsigned irq_routes_entries(irq_routes *r);
/* Number of MSI routes. */
unsigned irq_routes_msi_count(irq_routes *r);

#endif
