/* SPDX-License-Identifier: MIT */
/*
 * The smallest PVH guest: its first instruction sequence writes 0 to isa-debug-exit
 * (port 0xf4), so the VMM exits with status 1 as soon as the guest starts running.
 * Linked with tests/guest/guest.ld (load address 1 MiB, PT_NOTE with the PVH entry).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.pvh, "a", @note
	.balign 4
	.long 4
	.long 4
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_entry32
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	movw $0xf4, %dx
	xorl %eax, %eax
	outb %al, %dx
1:	hlt
	jmp 1b
