/* SPDX-License-Identifier: MIT */
/* The local APIC (xAPIC MMIO), interrupt dispatch, and waiting for interrupts. */
#include "guest.h"
#include "runtime.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_ICR_SELF (1u << 18)      /* destination shorthand: self */
#define LAPIC_ICR_PENDING (1u << 12)
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE 0x3e0
#define LAPIC_DIVIDE_BY_1 0xb
/* 10 ms at the 1 GHz APIC bus clock that both KVM and QEMU model. */
#define TICK_COUNT 10000000u
#define TICK_MS 10

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1
#define IRQ_STUB_SIZE 16

extern const char irq_stubs[];
void irq_spurious_stub(void);
void irq_dispatch(uint64_t vector);

static void (*handlers[IRQ_LAST_VECTOR + 1])(uint8_t);
static volatile unsigned ticks;

static uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }

void lapic_enable(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, (base & 0xfff & ~0x400ull) | APIC_BASE_ENABLE | LAPIC_BASE);
    /* Firmware may leave the 8259s unmasked: their interrupts are not ours. */
    outb(PIC_MASTER_DATA, 0xff);
    outb(PIC_SLAVE_DATA, 0xff);
    for (unsigned v = IRQ_FIRST_VECTOR; v < LAPIC_SPURIOUS_VECTOR; v++)
        idt_set_interrupt_gate(v, (uint64_t)(irq_stubs + (v - IRQ_FIRST_VECTOR) * IRQ_STUB_SIZE));
    idt_set_interrupt_gate(LAPIC_SPURIOUS_VECTOR, (uint64_t)irq_spurious_stub);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

uint32_t lapic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

void lapic_self_ipi(uint8_t vector)
{
    lapic_write(LAPIC_ICR_HIGH, 0);
    lapic_write(LAPIC_ICR_LOW, LAPIC_ICR_SELF | vector);
}

void irq_set_handler(uint8_t vector, void (*fn)(uint8_t vector))
{
    if (vector >= IRQ_FIRST_VECTOR && vector <= IRQ_LAST_VECTOR && vector != IRQ_TIMER_VECTOR)
        handlers[vector] = fn;
}

void irq_dispatch(uint64_t vector)
{
    if (vector == IRQ_TIMER_VECTOR)
        ticks++;
    else if (vector <= IRQ_LAST_VECTOR && handlers[vector])
        handlers[vector]((uint8_t)vector);
    else
        printf("# unexpected interrupt, vector %lu\n", vector);
    lapic_eoi();
}

bool irq_wait_cond(bool (*cond)(void *arg), void *arg, unsigned ms)
{
    unsigned start = ticks, limit = ms / TICK_MS + 1;
    bool done;

    lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_DIVIDE_BY_1);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | IRQ_TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INITIAL, TICK_COUNT);
    while (!(done = cond(arg)) && ticks - start < limit)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_TIMER_VECTOR);
    return done;
}

struct count_target {
    volatile unsigned *counter;
    unsigned target;
};

static bool count_reached(void *arg)
{
    const struct count_target *c = arg;
    return *c->counter >= c->target;
}

bool irq_wait(volatile unsigned *counter, unsigned target, unsigned ms)
{
    struct count_target c = { counter, target };
    return irq_wait_cond(count_reached, &c, ms);
}
