/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge on bus 0 and its functions: configuration mechanism #1
 * (0xcf8/0xcfc), an ECAM window, config space with writable and write-1-to-clear masks,
 * BAR sizing, placement and moves, decode toggles, capability lists, MSI-X table and PBA
 * emulation, INTx. Device plugins reach all of it through ts_pci_api (core/pci/services.c).
 *
 * Guest-physical layout (see docs/pci.md):
 *   0xc0000000 .. 0xe0000000   32-bit memory BARs (VMM-placed, naturally aligned)
 *   0xe0000000 .. 0xe0100000   ECAM, bus 0 only (4 KiB per function)
 *   0xfec00000 .. 4 GiB        chipset (IOAPIC, LAPIC, KVM pages): never a BAR
 *   above RAM (>= 4 GiB)       64-bit prefetchable BARs
 *   ports 0xc000 .. 0xffff     I/O BARs
 *
 * Threading: one recursive lock per host serializes config-space accesses, BAR
 * mapping changes and MSI-X state; device callbacks for trapped BARs run without it.
 */
#ifndef TESSERA_CORE_PCI_H
#define TESSERA_CORE_PCI_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/platform.h"
#include "tessera/host.h"

#define PCI_ECAM_BASE 0xe0000000ull
#define PCI_ECAM_SIZE 0x100000ull /* bus 0: 32 slots x 8 functions x 4 KiB */
#define PCI_MMIO32_BASE 0xc0000000ull
#define PCI_MMIO32_END 0xe0000000ull /* exclusive */
#define PCI_MMIO64_ALIGN 0x40000000ull /* the 64-bit window starts at RAM end rounded up to 1 GiB */
#define PCI_MMIO64_END 0x10000000000ull /* 1 TiB, within every x86-64 CPU's physical address width */
/* The top of the 32-bit hole belongs to the chipset (IOAPIC 0xfec00000, local APIC, KVM's
 * TSS and identity-map pages, the reset vector): memory BARs are never mapped there. */
#define PCI_CHIPSET_START 0xfec00000ull
#define PCI_CHIPSET_END 0x100000000ull
#define PCI_IO_BASE 0xc000u
#define PCI_IO_END 0x10000u
#define PCI_CONFIG_ADDRESS_PORT 0xcf8u
#define PCI_CONFIG_DATA_PORT 0xcfcu

/* Host bridge identity: Intel 440FX (see docs/pci.md for why). */
#define PCI_HOST_VENDOR_ID 0x8086u
#define PCI_HOST_DEVICE_ID 0x1237u

/* INTx: pin P of slot S raises GSI 16 + ((S + P - 1) & 3) (IOAPIC pins 16..19). */
#define PCI_INTX_GSI_BASE 16u

#define PCI_SLOTS 32u
#define PCI_FUNCS 8u
/* devfn as in Linux: slot << 3 | function. */
#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))

typedef struct pci_host pci_host;
typedef struct pci_function pci_function;

/*
 * Creates the host bridge (slot 0) and registers 0xcf8..0xcff on plat->pio and the
 * ECAM window on plat->mmio. Returns 0, or a negative errno with *err set.
 */
int pci_host_new(const pci_platform *plat, pci_host **out, GError **err);
/* Removes every function and the host's regions. The vCPUs must be stopped. NULL is allowed. */
void pci_host_free(pci_host *h);

/* Restores every function's config space to its reset state (before devices' reset hooks run). */
void pci_host_reset(pci_host *h);

const pci_platform *pci_host_platform(pci_host *h);

/*
 * Parses "SLOT[.FN]" as QEMU's addr= does: SLOT 0..31 and FN 0..7, each decimal or hex
 * (with or without 0x: QEMU reads both as hex, so "10" is slot 16). Returns 0 and
 * *devfn, or -EINVAL with *err saying what is wrong.
 */
int pci_parse_addr(const char *text, uint8_t *devfn, GError **err);
/* Formats devfn as "SS.F" (hex, as lspci prints it) into buf of at least 8 bytes. */
const char *pci_format_devfn(uint8_t devfn, char buf[8]);

/*
 * Reserves devfn for a device that is about to be realized (owner names it in errors).
 * With any = true, picks the first free slot from 1 (function 0). Returns 0 and the
 * devfn in *devfn, -EEXIST when taken (the error names the holder) or -ENOSPC.
 */
int pci_host_reserve(pci_host *h, bool any, uint8_t *devfn, const char *owner, GError **err);
/* Gives back a reservation that never became a function. */
void pci_host_unreserve(pci_host *h, uint8_t devfn);

/*
 * Config-space access as the guest makes it: devfn on bus 0, offset < 4096 (ECAM) with
 * only the first 256 bytes implemented, size 1, 2 or 4. Used by the config mechanisms
 * and by the testkit. Reads of absent functions return all-ones.
 */
uint32_t pci_host_config_read(pci_host *h, uint8_t devfn, uint32_t offset, unsigned size);
void pci_host_config_write(pci_host *h, uint8_t devfn, uint32_t offset, unsigned size, uint32_t value);

/* The function at devfn (NULL if none). */
pci_function *pci_host_function(pci_host *h, uint8_t devfn);

#endif
