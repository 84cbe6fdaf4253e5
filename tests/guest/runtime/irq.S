/* SPDX-License-Identifier: MIT */
/*
 * Interrupt entry stubs for vectors 32-254, 16 bytes apart from irq_stubs, and the
 * spurious vector 255. Each stub pushes its vector and joins irq_common, which saves the
 * registers a C call may clobber, calls irq_dispatch(vector) on a 16-byte aligned stack
 * and returns with iretq. Interrupts are taken at CPL0 only (CPL3 calls run with IF
 * clear).
 */
	.text
	.balign 16
	.globl irq_stubs
irq_stubs:
	.set vector, 32
	.rept 255 - 32
	.balign 16
	pushq $vector
	jmp irq_common
	.set vector, vector + 1
	.endr

irq_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbp
	movq 80(%rsp), %rdi             /* the vector pushed by the stub */
	movq %rsp, %rbp
	andq $-16, %rsp
	cld
	call irq_dispatch
	movq %rbp, %rsp
	popq %rbp
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp                   /* drop the vector */
	iretq

/* A spurious interrupt needs no EOI and no handler. */
	.globl irq_spurious_stub
	.balign 16
irq_spurious_stub:
	iretq
