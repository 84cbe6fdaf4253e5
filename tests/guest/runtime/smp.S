/* SPDX-License-Identifier: MIT */
/*
 * Application-processor start-up. smp.c copies the trampoline (smp_trampoline_start ..
 * smp_trampoline_end) to a page below 1 MiB, patches the two absolute addresses it needs
 * (its GDT's base and the 32-bit entry), and sends INIT/SIPI. The AP then goes
 * real mode -> protected mode (trampoline GDT) -> long mode with the runtime's page
 * tables -> ap_entry64 in the image, which switches to the runtime's GDT and stack and
 * calls ap_main.
 *
 * The 16-bit part addresses its data relative to its own start (ds = cs = page >> 4);
 * the 32-bit part uses only absolute addresses of the image (linked at 1 MiB).
 */
#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

	.text
	.balign 16
	.globl smp_trampoline_start
smp_trampoline_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (tramp_gdtr - smp_trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *(tramp_far32 - smp_trampoline_start)

	.code32
	.globl smp_tramp32
smp_tramp32:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $0x18, $ap_entry64

	.balign 8
	.globl smp_tramp_gdt
smp_tramp_gdt:
	.quad 0
	.quad 0x00cf9b000000ffff        /* 0x08 32-bit code, flat */
	.quad 0x00cf93000000ffff        /* 0x10 data, flat */
	.quad 0x00af9b000000ffff        /* 0x18 64-bit code */
	.globl smp_tramp_gdtr
smp_tramp_gdtr:
tramp_gdtr:
	.word 4 * 8 - 1
	.long 0                         /* patched: linear address of smp_tramp_gdt's copy */
	.globl smp_tramp_far32
smp_tramp_far32:
tramp_far32:
	.long 0                         /* patched: linear address of smp_tramp32's copy */
	.word 0x08
	.globl smp_trampoline_end
smp_trampoline_end:

	.code64
ap_entry64:
	lgdt gdt_pointer(%rip)
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq smp_ap_stack_top(%rip), %rsp
	pushq $0x08
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	call ap_main
2:	cli
	hlt
	jmp 2b
