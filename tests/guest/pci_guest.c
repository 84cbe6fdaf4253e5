/* SPDX-License-Identifier: MIT */
/*
 * pci: the runtime's PCI, local APIC and MSI-X support against a real PCI bus.
 * Enumerates bus 0, checks configuration-space semantics, and — when a virtio-rng-pci
 * device (1af4:1005, transitional) is present — sizes its BARs, toggles decoding, moves
 * a BAR, walks its capabilities and receives MSI-X interrupts from it (a legacy virtqueue
 * request), including a pending bit while the vector is masked.
 *
 * Command line keys:
 *   expect_pci=1          bus 0 must have a host bridge at 00:00.0
 *   virtio_rng=required   the virtio-rng tests must run (else they are TAP SKIPs)
 */
#include "guest.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_RNG_LEGACY 0x1005
/* Legacy virtio-pci registers in BAR0 (I/O). */
#define VIO_HOST_FEATURES 0x00
#define VIO_GUEST_FEATURES 0x04
#define VIO_QUEUE_PFN 0x08
#define VIO_QUEUE_NUM 0x0c
#define VIO_QUEUE_SEL 0x0e
#define VIO_QUEUE_NOTIFY 0x10
#define VIO_STATUS 0x12
#define VIO_MSI_CONFIG_VECTOR 0x14
#define VIO_MSI_QUEUE_VECTOR 0x16
#define VIO_STATUS_ACK 1
#define VIO_STATUS_DRIVER 2
#define VIO_STATUS_DRIVER_OK 4
#define VIO_NO_VECTOR 0xffff
#define VRING_DESC_F_WRITE 2

#define IPI_VECTOR 0x40
#define MSIX_VECTOR 0x41
#define QUEUE_ENTRY 1 /* MSI-X table entry used for the request queue */

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static volatile unsigned ipi_count, msix_count;
static uint8_t vring_mem[16384] __attribute__((aligned(4096)));
static uint8_t random_buf[64];

static void on_ipi(uint8_t v) { (void)v; ipi_count++; }
static void on_msix(uint8_t v) { (void)v; msix_count++; }

struct vq {
    unsigned num;
    struct vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[num] */
    volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len}[num] */
};

static struct vq rng_vq;

static bool used_idx_is(void *arg)
{
    const uint16_t *want = arg;
    return rng_vq.used[1] == *want;
}

static void print_devices(const struct pci_dev *devs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        tap_diag("%02x:%02x.%x %04x:%04x class %06x", devs[i].bus, devs[i].dev, devs[i].fn,
                 devs[i].vendor, devs[i].device, devs[i].class_code);
}

/* An address for a BAR of size bytes, in the gap below every assigned 32-bit BAR. */
static uint64_t free_bar_address(const struct pci_dev *devs, unsigned n, uint64_t size,
                                 uint64_t ram_top)
{
    uint64_t lowest = 0xfec00000;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned b = 0; b < 6; b++) {
            struct pci_bar bar;
            pci_bar_probe(&devs[i], b, &bar);
            if (!bar.io && bar.size && bar.base && bar.base < lowest)
                lowest = bar.base;
            if (bar.is64)
                b++;
        }
    }
    uint64_t addr = (lowest - 0x100000) & ~(size - 1);
    return addr > ram_top ? addr : 0;
}

static uint64_t ram_top(const struct boot_info *bi)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < bi->memmap_entries; i++) {
        uint64_t end = bi->memmap[i].addr + bi->memmap[i].size;
        if (bi->memmap[i].type == HVM_MEMMAP_RAM && end <= 0x100000000ull && end > top)
            top = end;
    }
    return top;
}

static void virtio_rng_tests(const struct boot_info *bi, const struct pci_dev *rng,
                             const struct pci_dev *devs, unsigned n)
{
    struct pci_bar io, mem;
    struct msix m;

    /* BAR sizing */
    pci_bar_probe(rng, 0, &io);
    pci_bar_probe(rng, 1, &mem);
    tap_ok(io.io && io.size >= 0x20 && !(io.size & (io.size - 1)) && io.base &&
               !(io.base & (io.size - 1)),
           "BAR0 is an assigned I/O BAR of %lu bytes at %#lx, naturally aligned", io.size,
           io.base);
    tap_ok(!mem.io && mem.size >= 0x1000 && !(mem.size & (mem.size - 1)) && mem.base &&
               !(mem.base & (mem.size - 1)),
           "BAR1 is an assigned memory BAR of %#lx bytes at %#lx, naturally aligned", mem.size,
           mem.base);

    /* Decode toggles: with I/O decode off the registers vanish, and come back. */
    uint16_t port = (uint16_t)io.base;
    pci_command(rng, PCI_COMMAND_IO, 0);
    uint32_t features_on = inl(port + VIO_HOST_FEATURES);
    pci_command(rng, 0, PCI_COMMAND_IO);
    uint32_t features_off = inl(port + VIO_HOST_FEATURES);
    pci_command(rng, PCI_COMMAND_IO, 0);
    tap_ok(features_on != 0xffffffff && features_off == 0xffffffff &&
               inl(port + VIO_HOST_FEATURES) == features_on,
           "I/O decode toggle: features %#x, %#x with decode off, back after", features_on,
           features_off);

    /* Capabilities: MSI-X present, its table inside BAR1. */
    uint8_t cap = pci_find_cap(rng, PCI_CAP_ID_MSIX);
    uint32_t table_reg = cap ? pci_read32(rng, cap + 4) : 0;
    tap_ok(cap >= 0x40 && (table_reg & 7) == 1 && pci_find_cap(rng, 0x42) == 0,
           "capability walk: MSI-X at %#x (table in BAR%u), no capability 0x42", cap,
           table_reg & 7);
    uint64_t table = mem.base + (table_reg & ~7u);

    /* Memory decode toggle and a BAR move, seen through the MSI-X table's mask bit. */
    pci_command(rng, PCI_COMMAND_MEMORY, 0);
    uint32_t ctl_on = mmio_read32(table + 12);
    pci_command(rng, 0, PCI_COMMAND_MEMORY);
    uint32_t ctl_off = mmio_read32(table + 12);
    pci_command(rng, PCI_COMMAND_MEMORY, 0);
    tap_ok(ctl_on == 1 && ctl_off != 1,
           "memory decode toggle: MSI-X entry 0 control %#x, %#x with decode off", ctl_on,
           ctl_off);

    uint64_t to = free_bar_address(devs, n, mem.size, ram_top(bi));
    if (to) {
        pci_command(rng, 0, PCI_COMMAND_MEMORY);
        pci_bar_set(rng, 1, to);
        pci_command(rng, PCI_COMMAND_MEMORY, 0);
        uint32_t at_new = mmio_read32(to + (table_reg & ~7u) + 12);
        uint32_t at_old = mmio_read32(table + 12);
        pci_command(rng, 0, PCI_COMMAND_MEMORY);
        pci_bar_set(rng, 1, mem.base);
        pci_command(rng, PCI_COMMAND_MEMORY, 0);
        tap_ok(at_new == 1 && at_old != 1 && mmio_read32(table + 12) == 1,
               "BAR1 moved to %#lx and back: table there (%#x), not at the old place (%#x)", to,
               at_new, at_old);
    } else {
        tap_ok(false, "no free address to move BAR1 to");
    }

    /* MSI-X delivery from a virtqueue request. */
    if (msix_init(rng, &m) < 0 || m.table_size <= QUEUE_ENTRY) {
        tap_ok(false, "MSI-X set-up");
        tap_ok(false, "MSI-X delivery");
        tap_ok(false, "MSI-X pending bit");
        return;
    }
    outb(port + VIO_STATUS, 0);
    outb(port + VIO_STATUS, VIO_STATUS_ACK | VIO_STATUS_DRIVER);
    outl(port + VIO_GUEST_FEATURES, 0);
    msix_enable(&m, true, false);
    msix_route(&m, QUEUE_ENTRY, MSIX_VECTOR, lapic_id());
    outw(port + VIO_MSI_CONFIG_VECTOR, VIO_NO_VECTOR);
    outw(port + VIO_QUEUE_SEL, 0);
    outw(port + VIO_MSI_QUEUE_VECTOR, QUEUE_ENTRY);
    unsigned num = inw(port + VIO_QUEUE_NUM);
    uint16_t vector_back = inw(port + VIO_MSI_QUEUE_VECTOR);
    rng_vq.num = num;
    rng_vq.desc = (struct vring_desc *)vring_mem;
    rng_vq.avail = (volatile uint16_t *)(vring_mem + 16 * num);
    rng_vq.used = (volatile uint16_t *)(vring_mem + ((16 * num + 6 + 2 * num + 4095) & ~4095u));
    bool fits = num && num <= 256;
    tap_ok(fits && vector_back == QUEUE_ENTRY && m.table_size >= 2,
           "MSI-X set up: %u entries, table %#lx, PBA %#lx; queue of %u, vector %u accepted",
           m.table_size, m.table, m.pba, num, vector_back);
    if (!fits) {
        tap_ok(false, "MSI-X delivery");
        tap_ok(false, "MSI-X pending bit");
        return;
    }
    outl(port + VIO_QUEUE_PFN, (uint32_t)((uintptr_t)vring_mem >> 12));
    outb(port + VIO_STATUS, VIO_STATUS_ACK | VIO_STATUS_DRIVER | VIO_STATUS_DRIVER_OK);

    rng_vq.desc[0] = (struct vring_desc){ (uintptr_t)random_buf, sizeof(random_buf),
                                          VRING_DESC_F_WRITE, 0 };
    rng_vq.avail[2] = 0;
    __asm__ volatile("" ::: "memory");
    rng_vq.avail[1] = 1;
    outw(port + VIO_QUEUE_NOTIFY, 0);
    bool got = irq_wait(&msix_count, 1, 3000);
    uint32_t used_len = *(volatile uint32_t *)(rng_vq.used + 4);
    tap_ok(got && rng_vq.used[1] == 1 && used_len > 0,
           "MSI-X vector %#x delivered for a request (%u interrupt(s), %u random bytes)",
           MSIX_VECTOR, msix_count, used_len);

    /* Masked: the device sets the pending bit instead; unmasking delivers it. */
    msix_mask(&m, QUEUE_ENTRY, true);
    rng_vq.avail[3] = 0;
    __asm__ volatile("" ::: "memory");
    rng_vq.avail[1] = 2;
    outw(port + VIO_QUEUE_NOTIFY, 0);
    uint16_t want = 2;
    bool done = irq_wait_cond(used_idx_is, &want, 3000);
    bool pending = msix_pending(&m, QUEUE_ENTRY);
    unsigned before = msix_count;
    msix_mask(&m, QUEUE_ENTRY, false);
    bool delivered = irq_wait(&msix_count, before + 1, 3000);
    tap_ok(done && pending && before == 1 && delivered && !msix_pending(&m, QUEUE_ENTRY),
           "masked entry: request done %d, pending bit %d, %u interrupts while masked, "
           "delivered on unmask %d",
           done, pending, before - 1, delivered);
    outb(port + VIO_STATUS, 0);
    msix_enable(&m, false, false);
}

int guest_main(const struct boot_info *bi)
{
    struct pci_dev devs[64], rng;
    bool expect_pci = cmdline_get_u64(bi->cmdline, "expect_pci", 0) != 0;
    char want_rng[16] = "";

    cmdline_get(bi->cmdline, "virtio_rng", want_rng, sizeof(want_rng));
    tap_plan(13);

    lapic_enable();
    irq_set_handler(IPI_VECTOR, on_ipi);
    irq_set_handler(MSIX_VECTOR, on_msix);
    lapic_self_ipi(IPI_VECTOR);
    tap_ok(irq_wait(&ipi_count, 1, 1000) && ipi_count == 1,
           "local APIC %u: self IPI on vector %#x reached its handler", lapic_id(), IPI_VECTOR);

    unsigned n = pci_scan_bus0(devs, 64);
    print_devices(devs, n);
    struct pci_dev absent = { .bus = 0, .dev = 31, .fn = 7 };
    tap_ok(pci_read32(&absent, 0) == 0xffffffff, "an empty slot (00:1f.7) reads all-ones");
    if (expect_pci || n) {
        bool bridge = n && devs[0].dev == 0 && devs[0].fn == 0 && (devs[0].class_code >> 8) == 0x0600;
        tap_ok(bridge, "host bridge at 00:00.0 (%u functions on bus 0)", n);
        uint32_t id = pci_read32(&devs[0], 0), cls = pci_read32(&devs[0], PCI_CLASS_REVISION);
        pci_write32(&devs[0], 0, 0);
        pci_write32(&devs[0], PCI_CLASS_REVISION, 0);
        tap_ok(pci_read32(&devs[0], 0) == id && pci_read32(&devs[0], PCI_CLASS_REVISION) == cls,
               "vendor/device and class registers are read-only");
    } else {
        tap_skip("no PCI bus");
        tap_skip("no PCI bus");
    }

    bool have_rng = pci_find(VIRTIO_VENDOR, VIRTIO_RNG_LEGACY, &rng);
    if (have_rng) {
        virtio_rng_tests(bi, &rng, devs, n);
    } else if (!strcmp(want_rng, "required")) {
        for (unsigned i = 0; i < 9; i++)
            tap_ok(false, "virtio-rng-pci (1af4:1005) is required but absent");
    } else {
        for (unsigned i = 0; i < 9; i++)
            tap_skip("no virtio-rng-pci device (add -device virtio-rng-pci)");
    }
    return tap_result();
}
