/* SPDX-License-Identifier: MIT */
/* Ending the VM through isa-debug-exit (QEMU-compatible; tessera implements the same). */
#include "guest.h"

void guest_exit(unsigned code)
{
    outb(GUEST_DEBUG_EXIT_PORT, (uint8_t)code);
    /*
     * Still here: there is no debug-exit device. Triple-fault (an empty IDT, then an
     * exception) so the VMM sees a shutdown rather than a guest spinning forever. At
     * CPL3 we cannot load the IDT; the ud2 faults into trap_report, which calls us
     * again at CPL0.
     */
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty = { 0, 0 };
    if (current_cpl() == 0)
        __asm__ volatile("lidt %0" : : "m"(empty));
    for (;;)
        __asm__ volatile("ud2");
}
