/* SPDX-License-Identifier: MIT */
/*
 * Exception entry stubs (vectors 0-31) and the CPL3 round trip.
 *
 * Every exception stub brings the stack to one layout (struct trap_frame in cpu.c):
 * general registers, vector, error code (0 when the CPU pushes none), then the frame
 * the CPU pushed. The C handler prints it and ends the VM: a test guest that takes an
 * unexpected exception has failed.
 */

#define SEL_KDATA 0x10
#define SEL_UCODE (0x20 | 3)
#define SEL_UDATA (0x18 | 3)
/*
 * IOPL 3, IF clear, bit 1. IOPL 3 lets CPL3 code do port I/O under QEMU; the nested
 * KVM of our development machines drops IOPL at CPL3, so the TSS I/O bitmap (all ports
 * allowed, see cpu.c) is what grants it there.
 */
#define RFLAGS_USER 0x3002

	.text

.macro TRAP_STUB vector, has_error_code
	.balign 16
trap_stub_\vector:
	.if \has_error_code == 0
	pushq $0
	.endif
	pushq $\vector
	jmp trap_common
.endm

	TRAP_STUB 0, 0
	TRAP_STUB 1, 0
	TRAP_STUB 2, 0
	TRAP_STUB 3, 0
	TRAP_STUB 4, 0
	TRAP_STUB 5, 0
	/* #UD: first see whether it is a CPL3 call coming home (see cpl3_enter). */
	.balign 16
trap_stub_6:
	cmpq $cpl3_exit_ud2, (%rsp)
	jne 1f
	testb $3, 8(%rsp)
	jnz cpl3_return
1:	pushq $0
	pushq $6
	jmp trap_common
	TRAP_STUB 7, 0
	TRAP_STUB 8, 1
	TRAP_STUB 9, 0
	TRAP_STUB 10, 1
	TRAP_STUB 11, 1
	TRAP_STUB 12, 1
	TRAP_STUB 13, 1
	TRAP_STUB 14, 1
	TRAP_STUB 15, 0
	TRAP_STUB 16, 0
	TRAP_STUB 17, 1
	TRAP_STUB 18, 0
	TRAP_STUB 19, 0
	TRAP_STUB 20, 0
	TRAP_STUB 21, 1
	TRAP_STUB 22, 0
	TRAP_STUB 23, 0
	TRAP_STUB 24, 0
	TRAP_STUB 25, 0
	TRAP_STUB 26, 0
	TRAP_STUB 27, 0
	TRAP_STUB 28, 0
	TRAP_STUB 29, 1
	TRAP_STUB 30, 1
	TRAP_STUB 31, 0

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movl $SEL_KDATA, %eax           /* coming from CPL3, ds/es may be null */
	movl %eax, %ds
	movl %eax, %es
	movq %rsp, %rdi
	andq $-16, %rsp
	call trap_report                /* does not return */
1:	hlt
	jmp 1b

	.section .rodata
	.balign 8
	.globl trap_stub_table
trap_stub_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
	.endr

/*
 * uint64_t cpl3_enter(fn, arg, user_stack_top)
 * Saves the callee-saved registers and the kernel stack pointer, then iretq's to
 * cpl3_trampoline at CPL3. The trampoline calls fn(arg) and comes back to CPL0 by
 * executing ud2 at cpl3_exit_ud2, with the result in rax: the #UD stub recognises that
 * address and jumps to cpl3_return, which drops the exception frame, restores the saved
 * state and returns the result from cpl3_enter.
 *
 * Why an exception and not int $n or syscall: on the paravirtual nested KVM of our
 * development machines, int $n at CPL3 raises #UD and syscall does not leave CPL3,
 * while exceptions from CPL3 are delivered faithfully. QEMU handles all three.
 */
	.text
	.globl cpl3_enter
cpl3_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, cpl3_saved_rsp(%rip)
	pushq $SEL_UDATA
	pushq %rdx
	pushq $RFLAGS_USER
	pushq $SEL_UCODE
	leaq cpl3_trampoline(%rip), %rax
	pushq %rax
	iretq

cpl3_trampoline:
	movq %rdi, %rax
	movq %rsi, %rdi
	andq $-16, %rsp
	call *%rax
	.globl cpl3_exit_ud2
cpl3_exit_ud2:
	ud2

cpl3_return:
	movq cpl3_saved_rsp(%rip), %rsp
	movl $SEL_KDATA, %ecx
	movl %ecx, %ds
	movl %ecx, %es
	movl %ecx, %ss
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.bss
	.balign 8
cpl3_saved_rsp:
	.quad 0
