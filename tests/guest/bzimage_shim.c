/* SPDX-License-Identifier: MIT */
/*
 * bzimage-shim: lets QEMU start a Linux kernel exactly the way tessera's bzImage loader
 * would, so the loader's boot_params, e820, page tables, GDT and ACPI tables meet a real
 * kernel on a machine without KVM (tests/boot/linux-boot.sh, variant qemu-loader).
 *
 * tests/boot/boot-dump writes what the loader put in guest RAM; QEMU's generic loader
 * device places the kernel and initrd at their final addresses and the low 1 MiB at a
 * staging address (SeaBIOS owns low memory until this shim runs). The shim copies the
 * low 1 MiB into place — opening the i440FX's PAM shadow registers so 0xe0000-0xfffff
 * takes the ACPI tables — then loads the loader's GDT and page tables and jumps to the
 * kernel's 64-bit entry with rsi = boot_params, as the boot vCPU would start.
 *
 * Command line: low=ADDR rip=ADDR rsi=ADDR cr3=ADDR gdt=ADDR (all from boot-dump).
 */
#include "guest.h"

#define I440FX_PAM0 0x59 /* 0xf0000-0xfffff in bits 5:4; 0x5a-0x5f: 16 KiB ranges */
#define PAM_READ_WRITE 0x33

static void copy(uint64_t dst, uint64_t src, uint64_t len)
{
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
}

int guest_main(const struct boot_info *bi)
{
    uint64_t low = cmdline_get_u64(bi->cmdline, "low", 0);
    uint64_t rip = cmdline_get_u64(bi->cmdline, "rip", 0);
    uint64_t rsi = cmdline_get_u64(bi->cmdline, "rsi", 0);
    uint64_t cr3 = cmdline_get_u64(bi->cmdline, "cr3", 0);
    uint64_t gdt = cmdline_get_u64(bi->cmdline, "gdt", 0);
    struct pci_dev host = { .bus = 0, .dev = 0, .fn = 0 };

    if (!low || !rip || !rsi || !cr3 || !gdt) {
        printf("Bail out! bzimage-shim needs low= rip= rsi= cr3= gdt= on its command line\n");
        return 1;
    }
    if (pci_read32(&host, 0) == 0x12378086) { /* i440FX: make the BIOS area writable RAM */
        pci_write8(&host, I440FX_PAM0, 0x30);
        for (unsigned r = 1; r < 7; r++)
            pci_write8(&host, I440FX_PAM0 + r, PAM_READ_WRITE);
    }
    printf("# bzimage-shim: entering the kernel at %#lx, boot_params at %#lx\n", rip, rsi);
    copy(0, low, 0x9fc00);                        /* everything below the EBDA */
    copy(0xe0000, low + 0xe0000, 0x20000);        /* ACPI tables */

    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = { 6 * 8 - 1, gdt };
    __asm__ volatile("lgdt (%0)\n\t"
                     "mov %1, %%cr3\n\t"
                     "pushq $0x10\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\tmovl $0x18, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     "movl %%eax, %%fs\n\t"
                     "movl %%eax, %%gs\n\t"
                     "movq $0x8ff0, %%rsp\n\t"
                     "movq %%rsp, %%rbp\n\t"
                     "xorl %%ebx, %%ebx\n\t"
                     "jmp *%3"
                     :
                     : "r"(&gdtr), "r"(cr3), "S"(rsi), "r"(rip)
                     : "rax", "rbx", "memory");
    return 1; /* not reached */
}
