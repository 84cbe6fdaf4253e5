/* SPDX-License-Identifier: MIT */
/*
 * PVH entry: the VMM starts us in 32-bit protected mode, paging off, at the address in
 * the PHYS32_ENTRY note, with ebx = physical address of hvm_start_info. We load our own
 * GDT, switch on long mode with page tables that are already complete in the image
 * (no CPL0 loop to build them: CPL0 code is slow on the machines we test on), and call
 * runtime_main(start_info) in 64-bit mode.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10

#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

/* Page-table entry bits: present, writable, user (CPL3 tests need everything), 2 MiB page. */
#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PS 0x80

	.section .note.pvh, "a", @note
	.balign 4
	.long 4                         /* name size: "Xen\0" */
	.long 4                         /* descriptor size: a 32-bit address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_entry32
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	cld
	movl %ebx, %esi                 /* keep start_info across the switch */
	lgdt gdt_pointer
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_KCODE, $entry64

	.code64
entry64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leaq boot_stack_top(%rip), %rsp
	movl %esi, %edi                 /* zero-extends: the upper half is undefined after the switch */
	call runtime_main
1:	hlt
	jmp 1b

/*
 * GDT. The order of the user segments (data, then code) is the one SYSRET would want,
 * should a guest ever use it. The TSS descriptor is filled in at run time (its base
 * address has to be split into pieces the linker cannot compute).
 */
	.section .data.gdt, "aw"
	.balign 16
	.globl gdt
gdt:
	.quad 0                         /* 0x00 null */
	.quad 0x00af9b000000ffff        /* 0x08 kernel code, 64-bit */
	.quad 0x00cf93000000ffff        /* 0x10 kernel data */
	.quad 0x00cff3000000ffff        /* 0x18 user data, DPL 3 */
	.quad 0x00affb000000ffff        /* 0x20 user code, 64-bit, DPL 3 */
	.quad 0, 0                      /* 0x28 TSS (16 bytes in long mode) */
gdt_end:
	.balign 8
	.globl gdt_pointer
gdt_pointer:
	.word gdt_end - gdt - 1
	.quad gdt                       /* lgdt in 32-bit mode reads only the low 4 bytes */

/*
 * Page tables identity-mapping the first 4 GiB with 2 MiB pages: one PML4 entry, four
 * PDPT entries, four page directories, all assembled here so the CPU finds them ready.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill 511, 8, 0
pdpt:
	.quad page_dirs + 0x0000 + (PTE_P | PTE_RW | PTE_US)
	.quad page_dirs + 0x1000 + (PTE_P | PTE_RW | PTE_US)
	.quad page_dirs + 0x2000 + (PTE_P | PTE_RW | PTE_US)
	.quad page_dirs + 0x3000 + (PTE_P | PTE_RW | PTE_US)
	.fill 508, 8, 0
page_dirs:
	.set page, 0
	.rept 2048
	.quad (page << 21) | (PTE_P | PTE_RW | PTE_US | PTE_PS)
	.set page, page + 1
	.endr

	.section .bss.stacks, "aw", @nobits
	.balign 16
	.space 16384
	.globl boot_stack_top
boot_stack_top:
