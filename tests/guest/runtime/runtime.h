/* SPDX-License-Identifier: MIT */
/* Runtime internals shared between its files (not for guests). */
#ifndef TESSERA_GUEST_RUNTIME_H
#define TESSERA_GUEST_RUNTIME_H

#include <stdint.h>

/* Exit codes the runtime itself uses; guests use 0 (pass) and 1 (TAP failure). */
#define GUEST_EXIT_BAD_BOOT 0x7d  /* no valid hvm_start_info */
#define GUEST_EXIT_EXCEPTION 0x7e /* an unexpected CPU exception */

void cpu_init(void);
void cpu_init_ap(void);
/* Installs a DPL0 interrupt gate (IF cleared on entry) for vector. */
void idt_set_interrupt_gate(unsigned vector, uint64_t handler);
void runtime_main(uint32_t start_info_paddr);

#endif
