/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-doorbell: the guest side of inter-VM shared memory (docs/ivshmem.md). Finds the
 * ivshmem function (1af4:1110), sizes and enables BAR0 (registers), BAR1 (MSI-X) and BAR2
 * (the shared memory), routes every MSI-X vector to its own local APIC vector, reads
 * IVPosition, and then talks to one peer through the shared memory and doorbells:
 * ping-pong on every vector, a masked vector whose doorbell shows up in the PBA and is
 * delivered on unmask, doorbells to a missing peer and a missing vector that change nothing.
 * The same image runs under QEMU's devices and tessera's plugins.
 *
 * Command line keys:
 *   mode=pair     the peer is another VM running this guest; the higher ID (the later to
 *                 connect, which learnt the other's eventfds in its handshake) starts
 *   mode=client   host ivshmem-clients (run by tests/guest/run-ivshmem.sh): the guest rings
 *                 every vector of client peer=ID once, a second client rings each of the
 *                 guest's vectors once, a third rings vector 0 while it is masked
 *   mode=plain    ivshmem-plain: the host wrote HOST_TEXT at offset 0 of the backend file;
 *                 the guest checks it and writes GUEST_TEXT at offset GUEST_TEXT_OFF
 *   mode=bench    bench/ivshmem: `rounds` round trips on vector 0 with the peer (another VM
 *                 or bench/ivshmem/ivshmem_bench.py), between stages BENCH and BENCH_DONE,
 *                 which the benchmark watches in shared memory
 *   vectors=N     MSI-X vectors the device was given (default 4, at most 16)
 *   rounds=R      ping-pong rounds per vector in pair mode (default 4)
 *   move_bar2=1   move BAR2 below 4 GiB even when it is already there (proves the move,
 *                 which a VMM that puts 64-bit BARs above 4 GiB, like tessera, needs)
 *   peer=ID       the first host client's peer ID in client mode (default 0)
 *
 * Shared memory layout (all modes; peers agree on it): a 16-byte slot per peer ID (< 16)
 * at SLOT_BASE: u32 ready magic, u32 stage. Each side writes only its own slot.
 */
#include "guest.h"

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110
#define REG_INTR_MASK 0
#define REG_IVPOSITION 8
#define REG_DOORBELL 12

#define MAX_VECTORS 16
#define FIRST_VECTOR 0x50 /* local APIC vector of MSI-X entry 0; entry v gets +v */
#define MAX_SLOTS 16
#define SLOT_BASE 0x100
#define READY_MAGIC 0x59444552u /* "REDY" */
#define HOST_TEXT "host->guest ivshmem data"
#define GUEST_TEXT "guest->host ivshmem data"
#define GUEST_TEXT_OFF 0x1000
#define WAIT_MS 20000
/* The other VM may still be booting: a QEMU TCG peer inside the emulated KVM host, with
 * SeaBIOS first, has taken over 20 s under load. A bound on failure only. */
#define PEER_WAIT_MS 80000

/* Stages a side announces in its slot. */
/*
 * Stages a side announces in its slot (they only grow). A receiver of a masked doorbell
 * announces MASKED(turn) and then MASKED(turn) + 1 once it saw the interrupt delivered.
 */
enum { STAGE_PINGPONG = 1, STAGE_MASKED0 = 2, STAGE_MASKED1 = 4, STAGE_FINAL = 6,
       STAGE_BENCH = 10, STAGE_BENCH_DONE = 11 };

static volatile unsigned irq_count[MAX_VECTORS], irq_total;
static uint64_t regs, shm;
static unsigned my_id, n_vectors;

static void on_msix(uint8_t v)
{
    irq_count[v - FIRST_VECTOR]++;
    irq_total++;
}

static volatile uint32_t *slot(unsigned id, unsigned word)
{
    return (volatile uint32_t *)(uintptr_t)(shm + SLOT_BASE + id * 16 + word * 4);
}

static void ring(unsigned peer, unsigned vector)
{
    mmio_write32(regs + REG_DOORBELL, peer << 16 | vector);
}

struct stage_wait {
    unsigned id, stage;
};

static bool stage_reached(void *arg)
{
    const struct stage_wait *w = arg;
    return *slot(w->id, 0) == READY_MAGIC && *slot(w->id, 1) >= w->stage;
}

static bool wait_stage(unsigned id, unsigned stage)
{
    struct stage_wait w = { id, stage };
    return irq_wait_cond(stage_reached, &w, WAIT_MS);
}

static void set_stage(unsigned stage)
{
    __asm__ volatile("mfence" ::: "memory");
    *slot(my_id, 1) = stage;
}

/* The lowest other ID whose slot says ready, or MAX_SLOTS. */
static bool find_peer(void *arg)
{
    unsigned *peer = arg;
    for (unsigned id = 0; id < MAX_SLOTS; id++) {
        if (id != my_id && *slot(id, 0) == READY_MAGIC) {
            *peer = id;
            return true;
        }
    }
    return false;
}

static struct msix m;

static bool pending0(void *arg)
{
    (void)arg;
    return msix_pending(&m, 0);
}

/* Vector 0 masked; the peer rings it (told through our stage); pending, then delivered. */
static void masked_receive(const char *who, unsigned stage)
{
    unsigned before = irq_count[0];
    msix_mask(&m, 0, true);
    set_stage(stage);
    bool pending = irq_wait_cond(pending0, NULL, WAIT_MS);
    unsigned while_masked = irq_count[0] - before;
    msix_mask(&m, 0, false);
    bool delivered = irq_wait(&irq_count[0], before + 1, WAIT_MS);
    tap_ok(pending && while_masked == 0 && delivered && !msix_pending(&m, 0),
           "masked vector 0 rung by %s: PBA bit %d, %u interrupts while masked, delivered on "
           "unmask %d", who, pending, while_masked, delivered);
    set_stage(stage + 1);
}

/* Doorbells to a peer that does not exist and to a vector the peer lacks are ignored. */
static void ring_missing(unsigned peer)
{
    unsigned before = irq_total;
    ring(0xfffe, 0);
    ring(peer, MAX_VECTORS + 7);
    ring(peer, 0xffff);
    volatile unsigned never = 0;
    irq_wait(&never, 1, 200);
    tap_ok(irq_total == before, "doorbells to peer 0xfffe and to vectors %u, 65535 of peer %u "
           "change nothing here", MAX_VECTORS + 7, peer);
}

static bool counts_are(unsigned want0, unsigned want)
{
    bool ok = true;
    for (unsigned v = 0; v < n_vectors; v++) {
        unsigned w = v ? want : want0;
        if (irq_count[v] != w) {
            tap_diag("vector %u: %u interrupts, expected %u", v, irq_count[v], w);
            ok = false;
        }
    }
    return ok;
}

static void pair_mode(unsigned rounds)
{
    unsigned peer = MAX_SLOTS;
    bool found = irq_wait_cond(find_peer, &peer, PEER_WAIT_MS);
    tap_ok(found, "peer %u is ready in shared memory", peer);
    if (!found) {
        for (unsigned i = 0; i < 5; i++)
            tap_ok(false, "no peer");
        return;
    }
    bool first = my_id > peer;
    tap_diag("I am %u, peer %u: I %s each round", my_id, peer, first ? "start" : "answer");

    /* Ping-pong: the starter rings vector v and waits for the answer on v. */
    bool ok = true;
    for (unsigned r = 0; r < rounds && ok; r++) {
        for (unsigned v = 0; v < n_vectors && ok; v++) {
            if (first)
                ring(peer, v);
            ok = irq_wait(&irq_count[v], r + 1, WAIT_MS);
            if (!ok)
                tap_diag("round %u vector %u: no doorbell from peer %u", r, v, peer);
            else if (!first)
                ring(peer, v);
        }
    }
    tap_ok(ok && counts_are(rounds, rounds),
           "ping-pong with peer %u: %u rounds on %u vectors, each rung exactly %u times", peer,
           rounds, n_vectors, rounds);

    /* Masked vector: the lower ID receives first, then the higher one. */
    for (unsigned turn = 0; turn < 2; turn++) {
        unsigned stage = turn ? STAGE_MASKED1 : STAGE_MASKED0;
        if ((turn == 0) != first) {
            masked_receive("the peer VM", stage);
        } else {
            bool seen = wait_stage(peer, stage);
            if (seen)
                ring(peer, 0);
            tap_ok(seen && wait_stage(peer, stage + 1),
                   "rang the peer's masked vector 0; it reports it delivered");
        }
    }

    ring_missing(peer);
    set_stage(STAGE_FINAL);
    bool final = wait_stage(peer, STAGE_FINAL);
    volatile unsigned never = 0;
    irq_wait(&never, 1, 200);
    tap_ok(final && counts_are(rounds + 1, rounds),
           "at the end: vector 0 rung %u times, the others %u (nothing from missing IDs)",
           rounds + 1, rounds);
}

static void client_mode(unsigned peer)
{
    /*
     * The host client (ID peer) connected before this VM, so the device knew its eventfds
     * before the guest ran. Ping it on every vector; a second client rings each of ours.
     */
    for (unsigned v = 0; v < n_vectors; v++)
        ring(peer, v);
    tap_diag("rang the host client (ID %u) on %u vectors; it checks the count", peer, n_vectors);
    bool ok = true;
    for (unsigned v = 0; v < n_vectors && ok; v++)
        ok = irq_wait(&irq_count[v], 1, WAIT_MS);
    tap_ok(ok && counts_are(1, 1), "a host client rang each of %u vectors once", n_vectors);

    /* The host writes HOST_TEXT while we wait; we write ours for it to read. */
    memcpy((void *)(uintptr_t)(shm + GUEST_TEXT_OFF), GUEST_TEXT, sizeof(GUEST_TEXT));
    masked_receive("a third host client", STAGE_MASKED0);
    tap_ok(!memcmp((const void *)(uintptr_t)shm, HOST_TEXT, sizeof(HOST_TEXT)),
           "read the host's text from shared memory");
    ring_missing(peer);
    tap_ok(counts_are(2, 1), "at the end: vector 0 rung twice, the others once");
}

static void bench_mode(unsigned rounds)
{
    unsigned peer = MAX_SLOTS;
    bool found = irq_wait_cond(find_peer, &peer, PEER_WAIT_MS);
    tap_ok(found, "peer %u is ready in shared memory", peer);
    bool first = my_id > peer, ok = found;
    set_stage(STAGE_BENCH);
    for (unsigned r = 0; r < rounds && ok; r++) {
        if (first)
            ring(peer, 0);
        ok = irq_wait(&irq_count[0], r + 1, WAIT_MS);
        if (ok && !first)
            ring(peer, 0);
    }
    set_stage(STAGE_BENCH_DONE);
    tap_ok(ok && irq_count[0] == rounds, "%u round trips with peer %u on vector 0 (%s)", rounds,
           peer, first ? "started them" : "answered");
}

/*
 * This runtime maps only the low 4 GiB, so BAR2 must live there: place it just below the
 * lowest 32-bit memory BAR on bus 0 (above RAM), naturally aligned. Returns the new base or 0.
 */
static uint64_t move_bar2(const struct boot_info *bi, const struct pci_dev *d, uint64_t size)
{
    struct pci_dev devs[32];
    unsigned n = pci_scan_bus0(devs, 32);
    uint64_t lowest = 0xfec00000, ram_top = 0;

    for (unsigned i = 0; i < n; i++) {
        for (unsigned b = 0; b < 6; b++) {
            struct pci_bar bar;
            pci_bar_probe(&devs[i], b, &bar);
            if (!bar.io && bar.size && bar.base && bar.base < lowest && bar.base >= 0x80000000u)
                lowest = bar.base;
            if (bar.is64)
                b++;
        }
    }
    for (uint32_t i = 0; i < bi->memmap_entries; i++) {
        uint64_t end = bi->memmap[i].addr + bi->memmap[i].size;
        if (bi->memmap[i].type == HVM_MEMMAP_RAM && end <= 0x100000000ull && end > ram_top)
            ram_top = end;
    }
    uint64_t to = (lowest - size) & ~(size - 1);
    if (to < ram_top || to > lowest)
        return 0;
    pci_command(d, 0, PCI_COMMAND_MEMORY);
    pci_bar_set(d, 2, to);
    pci_command(d, PCI_COMMAND_MEMORY, 0);
    return to;
}

static void plain_mode(void)
{
    tap_ok(!memcmp((const void *)(uintptr_t)shm, HOST_TEXT, sizeof(HOST_TEXT)),
           "BAR2 holds the text the host wrote into the backend file");
    memcpy((void *)(uintptr_t)(shm + GUEST_TEXT_OFF), GUEST_TEXT, sizeof(GUEST_TEXT));
    tap_ok(!memcmp((const void *)(uintptr_t)(shm + GUEST_TEXT_OFF), GUEST_TEXT,
                   sizeof(GUEST_TEXT)),
           "wrote the guest's text at %#x (the host checks the file)", GUEST_TEXT_OFF);
}

int guest_main(const struct boot_info *bi)
{
    char mode[16] = "pair";
    struct pci_dev d;
    struct pci_bar b0, b1, b2;

    cmdline_get(bi->cmdline, "mode", mode, sizeof(mode));
    bool plain = !strcmp(mode, "plain"), client = !strcmp(mode, "client");
    n_vectors = (unsigned)cmdline_get_u64(bi->cmdline, "vectors", 4);
    unsigned rounds = (unsigned)cmdline_get_u64(bi->cmdline, "rounds", 4);
    unsigned peer = (unsigned)cmdline_get_u64(bi->cmdline, "peer", 0);
    if (n_vectors < 1 || n_vectors > MAX_VECTORS)
        n_vectors = 4;
    tap_plan(plain ? 5 : client ? 8 : !strcmp(mode, "bench") ? 5 : 9);

    if (!pci_find(IVSHMEM_VENDOR, IVSHMEM_DEVICE, &d)) {
        tap_ok(false, "no ivshmem function (1af4:1110) on bus 0");
        return tap_result();
    }
    pci_bar_probe(&d, 0, &b0);
    pci_bar_probe(&d, 1, &b1);
    pci_bar_probe(&d, 2, &b2);
    bool bars = !b0.io && b0.size == 256 && b0.base && b2.is64 && b2.prefetch &&
                b2.size >= 4096 && !(b2.size & (b2.size - 1)) &&
                (plain ? b1.size == 0 : !b1.io && b1.size >= 4096 && b1.base);
    uint64_t assigned = b2.base;
    if (bars && (cmdline_get_u64(bi->cmdline, "move_bar2", 0) || !b2.base ||
                 b2.base + b2.size > 0x100000000ull)) {
        move_bar2(bi, &d, b2.size);
        pci_bar_probe(&d, 2, &b2);
    }
    bars = bars && b2.base && b2.base + b2.size <= 0x100000000ull;
    tap_ok(bars, "%02x:%02x.%x: BAR0 %lu bytes at %#lx, BAR1 %#lx at %#lx, BAR2 %#lx at %#lx "
           "(assigned at %#lx)", d.bus, d.dev, d.fn, b0.size, b0.base, b1.size, b1.base, b2.size,
           b2.base, assigned);
    if (!bars)
        return tap_result();
    regs = b0.base;
    shm = b2.base;
    pci_command(&d, PCI_COMMAND_MEMORY, 0);
    my_id = mmio_read32(regs + REG_IVPOSITION);
    mmio_write32(regs + REG_IVPOSITION, 0x1234); /* read-only */
    tap_ok(mmio_read32(regs + REG_IVPOSITION) == my_id && mmio_read32(regs + REG_DOORBELL) == 0 &&
               (!plain || my_id == 0) && my_id < MAX_SLOTS,
           "IVPosition %u (read-only), Doorbell reads 0", my_id);

    if (plain) {
        tap_ok(pci_find_cap(&d, PCI_CAP_ID_MSIX) == 0, "ivshmem-plain has no MSI-X");
        plain_mode();
        return tap_result();
    }

    lapic_enable();
    int rc = msix_init(&d, &m);
    tap_ok(rc == 0 && m.table_size == n_vectors, "MSI-X: %u entries (expected %u), table %#lx, "
           "PBA %#lx", m.table_size, n_vectors, m.table, m.pba);
    if (rc < 0 || m.table_size < n_vectors)
        return tap_result();
    for (unsigned v = 0; v < n_vectors; v++) {
        irq_set_handler((uint8_t)(FIRST_VECTOR + v), on_msix);
        msix_route(&m, v, (uint8_t)(FIRST_VECTOR + v), lapic_id());
    }
    msix_enable(&m, true, false);
    mmio_write32(regs + REG_INTR_MASK, 0);

    *slot(my_id, 1) = STAGE_PINGPONG;
    __asm__ volatile("mfence" ::: "memory");
    *slot(my_id, 0) = READY_MAGIC;
    if (!strcmp(mode, "bench"))
        bench_mode(rounds);
    else if (client)
        client_mode(peer);
    else
        pair_mode(rounds);
    msix_enable(&m, false, false);
    return tap_result();
}
