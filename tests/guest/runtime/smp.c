/* SPDX-License-Identifier: MIT */
/* Starting the application processors (INIT/SIPI) and sending IPIs. */
#include "guest.h"
#include "runtime.h"

#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LEVEL_ASSERT 0x4000
#define ICR_PENDING 0x1000
#define AP_STACK_SIZE 8192

extern char smp_trampoline_start[], smp_trampoline_end[], smp_tramp32[], smp_tramp_gdt[];
extern char smp_tramp_gdtr[], smp_tramp_far32[];
void ap_main(void);

uint64_t smp_ap_stack_top; /* read by ap_entry64 */
static uint8_t ap_stacks[SMP_MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));
static volatile unsigned ap_next_index, ap_checked_in;
static void (*ap_fn)(unsigned index);

static void icr_send(uint32_t dest, uint32_t low)
{
    for (unsigned i = 0; i < 100000 && (mmio_read32(LAPIC_BASE + LAPIC_ICR_LOW) & ICR_PENDING); i++)
        __asm__ volatile("pause");
    mmio_write32(LAPIC_BASE + LAPIC_ICR_HIGH, dest << 24);
    mmio_write32(LAPIC_BASE + LAPIC_ICR_LOW, low);
}

void lapic_send_ipi(uint32_t dest, uint8_t vector)
{
    icr_send(dest, vector);
}

void ap_main(void)
{
    unsigned index = ap_next_index;

    cpu_init_ap();
    lapic_enable();
    __atomic_add_fetch(&ap_checked_in, 1, __ATOMIC_SEQ_CST);
    if (ap_fn)
        ap_fn(index);
    for (;;)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

struct check_in {
    unsigned want;
};

static bool checked_in(void *arg)
{
    return ap_checked_in >= ((struct check_in *)arg)->want;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

/* Is the trampoline page RAM the boot loader left us? */
static bool trampoline_page_free(const struct boot_info *bi)
{
    for (uint32_t i = 0; i < bi->memmap_entries; i++) {
        const struct hvm_memmap_entry *e = &bi->memmap[i];
        if (e->type == HVM_MEMMAP_RAM && e->addr <= SMP_TRAMPOLINE_GPA &&
            SMP_TRAMPOLINE_GPA + 0x1000 <= e->addr + e->size)
            return bi->start_info->cmdline_paddr >> 12 != SMP_TRAMPOLINE_GPA >> 12 &&
                   (uintptr_t)bi->start_info >> 12 != SMP_TRAMPOLINE_GPA >> 12;
    }
    return false;
}

unsigned smp_start_aps(const struct boot_info *bi, void (*fn)(unsigned index),
                       uint32_t *apic_ids, unsigned max)
{
    uint32_t ids[SMP_MAX_CPUS];
    int n = acpi_cpu_apic_ids(bi, ids, SMP_MAX_CPUS);
    uint32_t self = lapic_id();
    unsigned started = 0;
    size_t len = (size_t)(smp_trampoline_end - smp_trampoline_start);
    uint8_t *page = (uint8_t *)(uintptr_t)SMP_TRAMPOLINE_GPA;

    if (n <= 1)
        return 0;
    if (!trampoline_page_free(bi)) {
        tap_diag("smp: page %#x is not free RAM; cannot start APs", SMP_TRAMPOLINE_GPA);
        return 0;
    }
    memcpy(page, smp_trampoline_start, len);
    uint32_t gdt = SMP_TRAMPOLINE_GPA + (uint32_t)(smp_tramp_gdt - smp_trampoline_start);
    uint32_t entry32 = SMP_TRAMPOLINE_GPA + (uint32_t)(smp_tramp32 - smp_trampoline_start);
    memcpy(page + (smp_tramp_gdtr - smp_trampoline_start) + 2, &gdt, 4);
    memcpy(page + (smp_tramp_far32 - smp_trampoline_start), &entry32, 4);

    ap_fn = fn;
    for (int i = 0; i < n && started + 1 < SMP_MAX_CPUS; i++) {
        if (ids[i] == self)
            continue;
        struct check_in c = { ap_checked_in + 1 };
        ap_next_index = started + 1;
        smp_ap_stack_top = (uint64_t)(uintptr_t)(ap_stacks[started + 1] + AP_STACK_SIZE);
        icr_send(ids[i], ICR_INIT | ICR_LEVEL_ASSERT);
        irq_wait_cond(never, NULL, 10);
        icr_send(ids[i], ICR_STARTUP | (SMP_TRAMPOLINE_GPA >> 12));
        if (!irq_wait_cond(checked_in, &c, 10)) {
            icr_send(ids[i], ICR_STARTUP | (SMP_TRAMPOLINE_GPA >> 12));
            if (!irq_wait_cond(checked_in, &c, 1000)) {
                tap_diag("smp: the CPU with APIC id %u did not start", ids[i]);
                continue;
            }
        }
        if (apic_ids && started < max)
            apic_ids[started] = ids[i];
        started++;
    }
    return started;
}
