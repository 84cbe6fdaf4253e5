/* SPDX-License-Identifier: MIT */
/* CPU set-up after the switch to long mode: TSS, IDT, exception reports, CPL3 calls. */
#include "guest.h"
#include "runtime.h"

#define SEL_KCODE 0x08
#define SEL_TSS 0x28
#define GATE_INTERRUPT_DPL0 0x8e

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    /* One bit per port, 0 = allowed at CPL3; the CPU reads a byte past the last port. */
    uint8_t iomap[65536 / 8 + 1];
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

/* What traps.S leaves on the stack before calling trap_report. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

extern uint64_t gdt[];
extern const uint64_t trap_stub_table[32];
uint64_t cpl3_enter(uint64_t (*fn)(uint64_t), uint64_t arg, void *user_stack_top);
void trap_report(const struct trap_frame *f);

static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
/* Stack for interrupts and exceptions taken at CPL3 (TSS.rsp0). */
static uint8_t kernel_trap_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[32768] __attribute__((aligned(16)));

static void idt_set(unsigned vector, uint64_t handler, uint8_t type_attr)
{
    struct idt_gate *g = &idt[vector];
    g->offset_low = handler & 0xffff;
    g->selector = SEL_KCODE;
    g->ist = 0;
    g->type_attr = type_attr;
    g->offset_mid = (handler >> 16) & 0xffff;
    g->offset_high = handler >> 32;
    g->reserved = 0;
}

static void tss_install(void)
{
    uint64_t base = (uint64_t)&tss;
    uint64_t limit = sizeof(tss) - 1;

    tss.rsp[0] = (uint64_t)(kernel_trap_stack + sizeof(kernel_trap_stack));
    tss.iomap_base = offsetof(struct tss64, iomap);
    tss.iomap[sizeof(tss.iomap) - 1] = 0xff;
    /* 64-bit available TSS (type 9), present. */
    gdt[SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                       (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[SEL_TSS / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

static void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) ptr = { sizeof(idt) - 1, (uint64_t)idt };

    __asm__ volatile("lidt %0" : : "m"(ptr));
}

static void idt_install(void)
{
    for (unsigned v = 0; v < 32; v++)
        idt_set(v, trap_stub_table[v], GATE_INTERRUPT_DPL0);
    idt_load();
}

/* An application processor shares the boot CPU's IDT (no TSS: APs never go to CPL3). */
void cpu_init_ap(void)
{
    idt_load();
}

void idt_set_interrupt_gate(unsigned vector, uint64_t handler)
{
    idt_set(vector, handler, GATE_INTERRUPT_DPL0);
}

void cpu_init(void)
{
    tss_install();
    idt_install();
}

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
    "#GP general protection", "#PF page fault", "reserved", "#MF x87 error",
    "#AC alignment check", "#MC machine check", "#XM SIMD error", "#VE virtualization",
    "#CP control protection",
};

void trap_report(const struct trap_frame *f)
{
    const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector]
                                                                   : "reserved";
    uint64_t cr2;

    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    printf("\n# guest exception %lu (%s), error code %#lx, at CPL%lu\n", f->vector, name,
           f->error_code, f->cs & 3);
    printf("# rip %016lx cs %04lx rflags %016lx rsp %016lx ss %04lx cr2 %016lx\n", f->rip,
           f->cs, f->rflags, f->rsp, f->ss, cr2);
    printf("# rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    printf("# rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
    printf("Bail out! unexpected exception %lu\n", f->vector);
    guest_exit(GUEST_EXIT_EXCEPTION);
}

uint64_t cpl3_call(uint64_t (*fn)(uint64_t), uint64_t arg)
{
    return cpl3_enter(fn, arg, user_stack + sizeof(user_stack));
}

unsigned current_cpl(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

#define PIT_HZ 1193182u
#define PIT_COUNT 23864u /* 20 ms of PIT ticks */

uint64_t tsc_hz(void)
{
    uint8_t ctl = inb(0x61);
    outb(0x61, (uint8_t)((ctl & 0xfc) | 0x01)); /* gate 2 on, speaker data off */
    outb(0x43, 0xb0);                           /* channel 2, lo/hi byte, mode 0 */
    outb(0x42, PIT_COUNT & 0xff);
    outb(0x42, PIT_COUNT >> 8);
    uint64_t start = rdtsc();
    /* The output (port 0x61 bit 5) rises at terminal count. */
    for (uint32_t polls = 0; !(inb(0x61) & 0x20); polls++)
        if (polls == 50000000u)
            return 0;
    uint64_t ticks = rdtsc() - start;
    outb(0x61, ctl);
    return ticks * PIT_HZ / PIT_COUNT;
}
