/* SPDX-License-Identifier: MIT */
/*
 * The register state a boot loader asks for on the boot vCPU, independent of KVM: the
 * KVM core copies it into kvm_regs/kvm_sregs (a segment maps field for field onto
 * struct kvm_segment). Every register not named here starts at its reset value (0).
 */
#ifndef TESSERA_CORE_BOOT_CPU_H
#define TESSERA_CORE_BOOT_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* A segment register as the CPU caches it (limit in bytes, after granularity). */
typedef struct boot_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type; /* descriptor type nibble: 0xb code exec/read accessed, 0x3 data r/w accessed */
    uint8_t present, dpl, db, s, l, g;
} boot_segment;

typedef struct boot_cpu_state {
    bool long_mode;                    /* true: 64-bit entry (bzImage); false: 32-bit (PVH) */
    uint64_t rip, rsp, rbp, rsi, rbx;  /* rsi = boot_params (bzImage), rbx = start_info (PVH) */
    uint64_t rflags;
    uint64_t cr0, cr3, cr4, efer;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    boot_segment cs;                   /* code */
    boot_segment ds;                   /* data: for ds, es, fs, gs and ss */
    boot_segment tr;                   /* task register (VMX wants a busy TSS) */
} boot_cpu_state;

#define BOOT_CR0_PE (1ull << 0)
#define BOOT_CR0_ET (1ull << 4)
#define BOOT_CR0_PG (1ull << 31)
#define BOOT_CR4_PAE (1ull << 5)
#define BOOT_EFER_LME (1ull << 8)
#define BOOT_EFER_LMA (1ull << 10)
#define BOOT_RFLAGS_RESERVED (1ull << 1)

#endif
