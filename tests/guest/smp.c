/* SPDX-License-Identifier: MIT */
/*
 * smp: starting the other vCPUs and using them. The runtime starts every processor the
 * ACPI MADT lists (INIT/SIPI); each reports its APIC id, adds to a shared counter with
 * locked instructions, and takes an IPI from the boot CPU in its own handler.
 *
 * Command line: cpus=N   the number of vCPUs the VMM was given (required)
 */
#include "guest.h"

#define IPI_VECTOR 0x50
#define ADDS_PER_CPU 1000

static volatile uint32_t reported_id[SMP_MAX_CPUS];
static volatile unsigned ipi_hits[SMP_MAX_CPUS];
static volatile uint64_t shared_counter;

static void add_many(void)
{
    for (unsigned i = 0; i < ADDS_PER_CPU; i++)
        __atomic_add_fetch(&shared_counter, 1, __ATOMIC_SEQ_CST);
}

static void ap_work(unsigned index)
{
    if (index < SMP_MAX_CPUS)
        reported_id[index] = lapic_id();
    add_many();
}

static void on_ipi(uint8_t v)
{
    (void)v;
    uint32_t id = lapic_id();
    if (id < SMP_MAX_CPUS)
        ipi_hits[id]++;
}

struct all_hit {
    const uint32_t *ids;
    unsigned n;
};

static bool every_ap_hit(void *arg)
{
    const struct all_hit *a = arg;
    for (unsigned i = 0; i < a->n; i++)
        if (a->ids[i] >= SMP_MAX_CPUS || !ipi_hits[a->ids[i]])
            return false;
    return true;
}

static bool counter_done(void *arg)
{
    return shared_counter >= *(uint64_t *)arg;
}

int guest_main(const struct boot_info *bi)
{
    unsigned want = (unsigned)cmdline_get_u64(bi->cmdline, "cpus", 0);
    uint32_t madt_ids[SMP_MAX_CPUS], ap_ids[SMP_MAX_CPUS];

    tap_plan(5);
    int n = acpi_cpu_apic_ids(bi, madt_ids, SMP_MAX_CPUS);
    tap_ok(want >= 2 && n == (int)want, "the MADT lists %d CPUs (cpus=%u)", n, want);

    lapic_enable();
    irq_set_handler(IPI_VECTOR, on_ipi);
    uint32_t self = lapic_id();
    unsigned started = smp_start_aps(bi, ap_work, ap_ids, SMP_MAX_CPUS);
    tap_ok(n > 1 && started == (unsigned)n - 1, "%u application processors started", started);

    bool ids_ok = started > 0;
    for (unsigned i = 0; i < started; i++) {
        bool listed = false;
        for (int j = 0; j < n; j++)
            listed |= madt_ids[j] == ap_ids[i];
        /* AP i + 1 reports the APIC id it was started at, and no one else's */
        ids_ok &= listed && ap_ids[i] != self && reported_id[i + 1] == ap_ids[i];
        tap_diag("AP %u: APIC id %u", i + 1, reported_id[i + 1]);
    }
    tap_ok(ids_ok, "each AP reports its own APIC id (the boot CPU is %u)", self);

    add_many();
    uint64_t total = (uint64_t)(started + 1) * ADDS_PER_CPU;
    bool counted = irq_wait_cond(counter_done, &total, 2000);
    tap_ok(counted && shared_counter == total, "locked adds from %u CPUs: %lu (want %lu)",
           started + 1, shared_counter, total);

    for (unsigned i = 0; i < started; i++)
        lapic_send_ipi(ap_ids[i], IPI_VECTOR);
    struct all_hit a = { ap_ids, started };
    tap_ok(started && irq_wait_cond(every_ap_hit, &a, 2000),
           "an IPI to each AP ran the handler on that AP");
    return tap_result();
}
